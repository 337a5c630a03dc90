"""Loading and validating DEAM annotation CSVs (dynamic 2 Hz series and static 1-9 scores).

Dynamic files (``arousal.csv``, ``valence.csv``): first column ``song_id``, then one
column per annotation time named ``sample_<ms>ms``. Rows of shorter songs end in empty
cells; a song's series is its values up to its last non-empty cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emoreco.core.limits import MAX_SONG_ID
from emoreco.core.errors import AnnotationError

SAMPLE_COLUMN = re.compile(r"^sample_(\d+)ms$")
VALUE_RANGE = (-1.0, 1.0)
STATIC_RANGE = (1.0, 9.0)


@dataclass(frozen=True)
class AnnotationSeries:
    """One song's dynamic annotation.

    Attributes
    ----------
    song_id : int
    times_s : np.ndarray, shape (n,)
        Annotation times in seconds, uniformly spaced.
    values : np.ndarray, shape (n,)
        Values in [-1, 1], float64.
    """

    song_id: int
    times_s: np.ndarray
    values: np.ndarray

    @property
    def step_s(self) -> float:
        """Spacing of the annotation grid in seconds (0.5 in DEAM)."""
        return float(self.times_s[1] - self.times_s[0]) if len(self.times_s) > 1 else 0.0


def read_annotation_csv(path: Path) -> pd.DataFrame:
    """A CSV as text cells (quoted commas kept, header names stripped).

    Raises
    ------
    AnnotationError
        Missing or unreadable file, naming it.
    """
    if not path.is_file():
        raise AnnotationError(f"{path}: annotation file not found")
    try:
        frame = pd.read_csv(path, skipinitialspace=True, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{path}: not a readable CSV ({exc})") from exc
    frame.columns = [str(name).strip() for name in frame.columns]
    return frame


def song_id_column(text: pd.Series, path: Path, column: str) -> np.ndarray:
    """A column of song ids (whole numbers from 0 to :data:`~emoreco.core.limits.
    MAX_SONG_ID`, ``12`` or ``12.0``) as int64; the first bad row named by its line.

    Parsed as text, never through floats: ``9223372036854775808`` or ``1e19`` would
    otherwise wrap or collapse into another song's id.

    Raises
    ------
    AnnotationError
        A cell that is not such a number.
    """
    raw = text.str.strip()
    whole = raw.str.extract(r"^(\d{1,12})(?:\.0*)?$", expand=False)
    numbers = pd.to_numeric(whole, errors="coerce")
    bad = (numbers.isna() | (numbers > MAX_SONG_ID)).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise AnnotationError(f"{path}, line {row + 2}: {column} {raw.iloc[row]!r} is not a "
                              f"whole number from 0 to {MAX_SONG_ID}")
    return numbers.to_numpy(dtype=np.int64)


def _song_ids(frame: pd.DataFrame, path: Path) -> np.ndarray:
    """Parse the ``song_id`` column as ints; rows are reported as file line numbers."""
    ids = song_id_column(frame["song_id"], path, "song_id")
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = int(unique[counts > 1][0])
        lines = [int(i) + 2 for i in np.flatnonzero(ids == dup)]
        raise AnnotationError(f"{path}, lines {lines}: duplicate song_id {dup}")
    return ids


def load_dynamic_annotations(path: str | Path) -> dict[int, AnnotationSeries]:
    """Read a DEAM dynamic annotation CSV and validate it.

    Parameters
    ----------
    path : str or Path
        ``arousal.csv`` or ``valence.csv``.

    Returns
    -------
    dict of int to AnnotationSeries
        One series per song, in file order.

    Raises
    ------
    AnnotationError
        Wrong header, non-integer or duplicate ids, non-uniform time steps, non-numeric
        values, gaps inside a series, empty rows, values outside [-1, 1]; the message names
        the file and the line.
    """
    path = Path(path)
    frame = read_annotation_csv(path)
    if not len(frame.columns) or frame.columns[0] != "song_id":
        first = frame.columns[0] if len(frame.columns) else ""
        raise AnnotationError(
            f"{path}: first column must be 'song_id', found {first!r} "
            "(is this a dynamic annotation file?)")
    time_columns = list(frame.columns[1:])
    times_ms = []
    for name in time_columns:
        match = SAMPLE_COLUMN.match(name)
        if not match:
            raise AnnotationError(
                f"{path}: column {name!r} is not of the form 'sample_<milliseconds>ms'")
        times_ms.append(int(match.group(1)))
    if not times_ms:
        raise AnnotationError(f"{path}: no 'sample_<ms>ms' columns")
    order = np.argsort(times_ms, kind="stable")
    times_ms_sorted = np.asarray(times_ms, dtype=np.int64)[order]
    steps = np.diff(times_ms_sorted)
    if len(steps) and (steps.min() <= 0 or steps.min() != steps.max()):
        where = int(np.flatnonzero(steps != steps[0])[0]) if steps.min() > 0 else int(
            np.flatnonzero(steps <= 0)[0])
        raise AnnotationError(
            f"{path}: annotation times are not uniformly spaced "
            f"(sample_{times_ms_sorted[where]}ms -> sample_{times_ms_sorted[where + 1]}ms, "
            f"expected steps of {steps[0]} ms)")

    ids = _song_ids(frame, path)
    text = frame[[time_columns[i] for i in order]].apply(lambda col: col.str.strip())
    values = text.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    empty = (text == "").to_numpy()
    non_numeric = np.isnan(values) & ~empty
    if non_numeric.any():
        row, col = map(int, np.argwhere(non_numeric)[0])
        raise AnnotationError(
            f"{path}, line {row + 2}: value {text.iat[row, col]!r} in "
            f"sample_{times_ms_sorted[col]}ms is not a number")

    times_s = times_ms_sorted / 1000.0
    series: dict[int, AnnotationSeries] = {}
    low, high = VALUE_RANGE
    for row, song_id in enumerate(ids):
        row_values = values[row]
        present = np.flatnonzero(~np.isnan(row_values))
        if not len(present):
            raise AnnotationError(f"{path}, line {row + 2}: song {song_id} has no values")
        last = int(present[-1]) + 1
        if present[0] != 0 or len(present) != last:
            gap = int(np.flatnonzero(np.isnan(row_values[:last]))[0])
            raise AnnotationError(
                f"{path}, line {row + 2}: song {song_id} has an empty cell at "
                f"sample_{times_ms_sorted[gap]}ms before its last value")
        row_values = row_values[:last]
        outside = (row_values < low) | (row_values > high)
        if outside.any():
            col = int(np.flatnonzero(outside)[0])
            raise AnnotationError(
                f"{path}, line {row + 2}: song {song_id} value {row_values[col]} at "
                f"sample_{times_ms_sorted[col]}ms is outside [{low:g}, {high:g}]")
        series[int(song_id)] = AnnotationSeries(int(song_id), times_s[:last].copy(), row_values)
    return series


def load_static_annotations(path: str | Path) -> pd.DataFrame:
    """Read a DEAM song-level (static) annotation CSV.

    Header quirks of the real files are normalised: leading spaces are stripped and inner
    spaces removed (``valence_ max_mean`` becomes ``valence_max_mean``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``song_id`` (int); float columns including ``valence_mean`` and
        ``arousal_mean`` on the 1-9 scale.
    """
    path = Path(path)
    frame = read_annotation_csv(path)
    frame.columns = [name.replace(" ", "") for name in frame.columns]
    required = ("song_id", "valence_mean", "arousal_mean")
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise AnnotationError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    ids = _song_ids(frame, path)
    numeric = frame.drop(columns="song_id").apply(
        lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    for name in ("valence_mean", "arousal_mean"):
        column = numeric[name].to_numpy()
        bad = np.isnan(column) | (column < STATIC_RANGE[0]) | (column > STATIC_RANGE[1])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise AnnotationError(
                f"{path}, line {row + 2}: {name} {frame[name].iloc[row]!r} is not a number "
                f"in [{STATIC_RANGE[0]:g}, {STATIC_RANGE[1]:g}]")
    numeric.index = pd.Index(ids, name="song_id")
    return numeric


def write_dynamic_annotations(path: str | Path, series: dict[int, AnnotationSeries]) -> None:
    """Write series in DEAM's dynamic CSV format (shorter songs end in empty cells).

    All series must share one time grid start and step. Used by the demo generator.
    """
    longest = max(series.values(), key=lambda s: len(s.times_s))
    columns = [f"sample_{int(round(t * 1000))}ms" for t in longest.times_s]
    table = np.full((len(series), len(columns)), np.nan)
    for row, item in enumerate(series.values()):
        if not np.allclose(item.times_s, longest.times_s[: len(item.times_s)]):
            raise AnnotationError(f"song {item.song_id}: time grid differs from the others")
        table[row, : len(item.values)] = item.values
    frame = pd.DataFrame(table, columns=columns)
    frame.insert(0, "song_id", list(series.keys()))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.6g", na_rep="")
