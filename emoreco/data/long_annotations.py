"""Annotations in long format: one row per song and time (PMEmo's files, the user's CSV).

Every row is checked, and a bad one is named by its file and line: a time that is not a
number, a value that is not a number or lies outside the corpus' range, two values for one
song and time, a series with a gap. Values are mapped onto [-1, 1] by the corpus' linear
mapping, times kept as given (seconds from the start of the audio).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emoreco.core.errors import AnnotationError
from emoreco.data.annotations import AnnotationSeries

TIME_TOLERANCE_S = 1e-3  # annotation times are written with millisecond precision at best


@dataclass(frozen=True)
class ValueScale:
    """How a corpus' annotation values map onto [-1, 1]: ``scale * x + offset``.

    Attributes
    ----------
    low, high : float
        The corpus' own range, checked before mapping.
    """

    low: float
    high: float

    @property
    def scale(self) -> float:
        """Slope of the mapping (2 for PMEmo's [0, 1], 1 for values already in [-1, 1])."""
        return 2.0 / (self.high - self.low)

    @property
    def offset(self) -> float:
        """Intercept of the mapping."""
        return -1.0 - self.scale * self.low

    def describe(self) -> str:
        """The mapping as a formula, for the model's metadata."""
        if (self.low, self.high) == (-1.0, 1.0):
            return "x (values already in [-1, 1])"
        return f"{self.scale:g} * x {'-' if self.offset < 0 else '+'} {abs(self.offset):g}"


def require_columns(frame: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
    """Raise naming the missing columns and those found."""
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise AnnotationError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")


def long_series(frame: pd.DataFrame, path: Path, song_ids: np.ndarray, time_column: str,
                value_column: str, scale: ValueScale, step_s: float,
                allow_empty: bool = False,
                song_names: dict[int, str] | None = None) -> dict[int, AnnotationSeries]:
    """One series per song from rows of (song, time, value).

    Parameters
    ----------
    frame : pandas.DataFrame
        Text cells, as :func:`~emoreco.data.annotations.read_annotation_csv` reads them.
    song_ids : np.ndarray of int64, shape (n_rows,)
        Each row's song (already validated by the caller).
    step_s : float
        Required spacing of each song's times (0.5 s).
    allow_empty : bool
        Rows with an empty value cell are skipped (a song annotated for one target only);
        otherwise they are an error.
    song_names : dict of int to str, optional
        How messages name a song (its file in a CSV corpus); else by its id.

    Returns
    -------
    dict of int to AnnotationSeries
        Sorted by time, values mapped onto [-1, 1]; songs in order of first appearance.
    """
    lines = np.arange(len(frame)) + 2  # line 1 is the header
    time_text = frame[time_column].str.strip()
    times = pd.to_numeric(time_text, errors="coerce").to_numpy(dtype=np.float64)
    bad_time = ~np.isfinite(times) | (times < 0)
    value_text = frame[value_column].str.strip()
    values = pd.to_numeric(value_text, errors="coerce").to_numpy(dtype=np.float64)
    empty = (value_text == "").to_numpy()
    if allow_empty:
        keep = ~empty
        lines, times, values, song_ids = lines[keep], times[keep], values[keep], song_ids[keep]
        bad_time, time_text, value_text = bad_time[keep], time_text[keep], value_text[keep]
    if bad_time.any():
        row = int(np.flatnonzero(bad_time)[0])
        raise AnnotationError(f"{path}, line {lines[row]}: {time_column} "
                              f"{time_text.iloc[row]!r} is not a number of seconds >= 0")
    outside = ~np.isfinite(values) | (values < scale.low) | (values > scale.high)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise AnnotationError(f"{path}, line {lines[row]}: {value_column} "
                              f"{value_text.iloc[row]!r} is not a number in "
                              f"[{scale.low:g}, {scale.high:g}]")
    series: dict[int, AnnotationSeries] = {}
    for song_id in pd.unique(song_ids):
        rows = np.flatnonzero(song_ids == song_id)
        rows = rows[np.argsort(times[rows], kind="stable")]
        steps = np.diff(times[rows])
        wrong = np.flatnonzero(np.abs(steps - step_s) > TIME_TOLERANCE_S)
        if len(wrong):
            first, second = rows[wrong[0]], rows[wrong[0] + 1]
            problem = ("two values for the same time" if steps[wrong[0]] < TIME_TOLERANCE_S
                       else f"a step of {steps[wrong[0]]:g} s, expected {step_s:g} s")
            name = repr(song_names[song_id]) if song_names else song_id
            raise AnnotationError(
                f"{path}, lines {lines[first]} and {lines[second]}: song {name} has "
                f"{problem} ({times[first]:g} s -> {times[second]:g} s)")
        mapped = np.clip(scale.scale * values[rows] + scale.offset, -1.0, 1.0)
        series[int(song_id)] = AnnotationSeries(int(song_id), times[rows], mapped)
    return series
