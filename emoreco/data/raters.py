"""What DEAM says beside the averaged annotations: the raters' spread and the genres.

* ``annotations/annotations per each rater/dynamic (per second annotations)/<target>/
  <song_id>.csv``: one row per rater (an optional ``WorkerId`` column, then the
  ``sample_<ms>ms`` columns of the averaged files). Their standard deviation at each
  time is the annotators' disagreement there.
* ``metadata/metadata_2013.csv``, ``_2014``, ``_2015`` (``metadata.zip``): the song id in
  the first column and a ``Genre`` column.

Both are optional and untrusted: a file that is too large or malformed is skipped with
one warning for the lot, never a failed training run.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from emoreco.data.annotations import SAMPLE_COLUMN, AnnotationSeries

log = logging.getLogger(__name__)
RATER_DYNAMIC = Path("annotations", "annotations per each rater",
                     "dynamic (per second annotations)")
METADATA = Path("metadata")
MAX_FILE_BYTES = 4 << 20  # a real per-rater file is a few kB; metadata files < 200 kB
MAX_GENRE_CHARS = 40
GENRE_TEXT = re.compile(r"^[\w &'/+.,-]+$")
SONG_ID = re.compile(r"^\d{1,9}$", re.ASCII)


def _sniffed_rows(path: Path) -> list[list[str]]:
    """The rows of a small CSV (header first); ValueError if it is too large or binary."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
    text = path.read_bytes().decode("utf-8-sig")
    return [row for row in csv.reader(io.StringIO(text), skipinitialspace=True) if row]


def rater_spread_file(path: Path, song_id: int) -> AnnotationSeries:
    """The raters' standard deviation at each time of one per-rater file.

    Returns
    -------
    AnnotationSeries
        ``values`` is the population standard deviation of the raters' values at each
        ``sample_<ms>ms`` time (NaN where fewer than two raters gave one), shape (n,).

    Raises
    ------
    ValueError
        Too large, no time columns, non-numeric cells or values outside [-1, 1].
    """
    rows = _sniffed_rows(path)
    if len(rows) < 2:
        raise ValueError("no rater rows")
    header = [name.strip() for name in rows[0]]
    columns = [(index, int(match.group(1))) for index, name in enumerate(header)
               if (match := SAMPLE_COLUMN.match(name))]
    if not columns:
        raise ValueError("no sample_<ms>ms columns")
    values = np.full((len(rows) - 1, len(columns)), np.nan)
    for row_number, row in enumerate(rows[1:]):
        for column_number, (index, _) in enumerate(columns):
            cell = row[index].strip() if index < len(row) else ""
            if cell:
                values[row_number, column_number] = float(cell)
    if not np.isfinite(values[~np.isnan(values)]).all() or (np.abs(values) > 1.0).any():
        raise ValueError("values outside [-1, 1]")
    order = np.argsort([ms for _, ms in columns], kind="stable")
    values = values[:, order]
    counts = (~np.isnan(values)).sum(axis=0)
    spread = np.full(len(columns), np.nan)
    enough = counts >= 2
    spread[enough] = np.nanstd(values[:, enough], axis=0)
    times_s = np.array(sorted(ms for _, ms in columns), dtype=np.float64) / 1000.0
    return AnnotationSeries(song_id, times_s, spread)


def load_rater_spread(deam_root: Path | None, target: str,
                      song_ids: Iterable[int]) -> dict[int, AnnotationSeries]:
    """The raters' spread of every song in ``song_ids`` that has a per-rater file
    (nothing when the folder does not exist)."""
    if deam_root is None or not (deam_root / RATER_DYNAMIC / target).is_dir():
        return {}
    folder = deam_root / RATER_DYNAMIC / target
    spreads: dict[int, AnnotationSeries] = {}
    skipped: list[str] = []
    for song_id in song_ids:
        path = folder / f"{song_id}.csv"
        if not path.is_file():
            continue
        try:
            spreads[song_id] = rater_spread_file(path, song_id)
        except (ValueError, OSError, UnicodeDecodeError, csv.Error) as exc:
            skipped.append(f"{path.name} ({exc})")
    if skipped:
        log.warning("%s: %d per-rater file(s) skipped, e.g. %s", folder, len(skipped),
                    skipped[0])
    return spreads


def load_genres(deam_root: Path | None) -> dict[int, str]:
    """Song id -> genre from ``metadata/*.csv`` (nothing when the folder does not exist).

    Genres are stripped and capitalised (``rock`` and ``Rock`` are one genre); names that
    are too long or hold other characters than letters, digits and ``&'/+.,-`` are left
    out.
    """
    if deam_root is None or not (deam_root / METADATA).is_dir():
        return {}
    genres: dict[int, str] = {}
    skipped: list[str] = []
    for path in sorted((deam_root / METADATA).glob("*.csv")):
        try:
            rows = _sniffed_rows(path)
        except (ValueError, OSError, UnicodeDecodeError, csv.Error) as exc:
            skipped.append(f"{path.name} ({exc})")
            continue
        header = [name.strip().lower() for name in rows[0]] if rows else []
        if "genre" not in header:
            continue
        column = header.index("genre")
        for row in rows[1:]:
            if len(row) <= column or not SONG_ID.match(row[0].strip()):
                continue
            genre = row[column].strip()
            if genre and len(genre) <= MAX_GENRE_CHARS and GENRE_TEXT.match(genre):
                genres[int(row[0].strip())] = genre[:1].upper() + genre[1:].lower()
    if skipped:
        log.warning("%s: %d metadata file(s) skipped, e.g. %s", deam_root / METADATA,
                    len(skipped), skipped[0])
    return genres
