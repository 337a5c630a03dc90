"""Per-song results written as they arrive, in crash-safe parts.

A prediction run appends each song's rows (``song, time_s, arousal, valence`` and the
bands' bounds, the columns of ``TestSongPredicted.csv``) to a buffer and writes it out as one part (a numpy
``.npz``: quick to write and read, no pandas or pyarrow at start-up) every
``songs_per_part`` songs or ``flush_s`` seconds, in one rename, so a part on disk is
always complete. Each part also records its songs (path, size and modification time of
the file, summary or error), so a resumed run knows what is done without reading the
curves, and a song whose file changed since is computed again (the latest part wins).
Parts are named ``part-<session>-<sequence>.npz`` and sort in the order they were
written.

The client's memory holds the per-song records, never the curves: the final tables are
assembled from the parts one part at a time (:class:`StoredCurves`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from emoreco.core.atomic import atomic_path
from emoreco.core.jsonfile import parse_json
from emoreco.model.curves import EmotionCurve, band_columns
from emoreco.model.targets import BAND_COLUMNS, TARGETS, VALUE_COLUMNS

log = logging.getLogger(__name__)
COLUMNS = ("song", "time_s", *VALUE_COLUMNS)  # those of the per-step table


@dataclass(frozen=True)
class SongRecord:
    """What a part records about one song (a result or a failure).

    ``size`` and ``mtime_ns`` are the audio file's when it was read; ``summary`` is
    :meth:`EmotionCurve.summary` (None for a failure, whose ``error`` says why).
    """

    name: str
    path: str
    size: int
    mtime_ns: int
    summary: dict[str, Any] | None = None
    error: str | None = None


def file_fingerprint(path: Path) -> tuple[int, int]:
    """(size in bytes, modification time in ns) of a file."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _part_arrays(curves: Sequence[EmotionCurve], songs: Sequence[SongRecord]
                 ) -> dict[str, np.ndarray]:
    """What a part file holds: the song records (JSON), a row's song (index into the
    curves), ``time_s`` (float64) and each target's values (float32, as predicted)."""
    def column(key: str, dtype: type) -> np.ndarray:
        parts = [np.asarray(c.times_s if key == "time_s" else c.column(key), dtype=dtype)
                 for c in curves]
        return np.concatenate(parts) if parts else np.zeros(0, dtype)

    return {"songs": np.array(json.dumps([asdict(s) for s in songs])),
            "curve_names": np.array([c.song for c in curves] or [""]),
            "row_curve": np.repeat(np.arange(len(curves), dtype=np.int32),
                                   [len(c.times_s) for c in curves]),
            "time_s": column("time_s", np.float64),
            **{key: column(key, np.float32) for key in COLUMNS[2:]}}


PART_NAME = re.compile(r"part-(\d{4,9})-(\d{6,9})\.npz")
TEMPORARY_PART = re.compile(r"\.part-\d{4,9}-\d{6,9}\.npz\.[0-9a-f]{12}\.tmp\.npz")
SET_ASIDE = "damaged-"  # prefix of a part that could not be read, kept for inspection


class DamagedPart(ValueError):
    """A part file whose content is not what this module writes."""


def _checked_record(record: Any) -> SongRecord:
    """A :class:`SongRecord` from a part's JSON, after checking every field's type."""
    fields = {f.name for f in dataclasses.fields(SongRecord)}
    if not isinstance(record, dict) or set(record) != fields:
        raise DamagedPart("a song record has other fields")
    if not (isinstance(record["name"], str) and isinstance(record["path"], str)
            and all(type(record[key]) is int and record[key] >= 0
                    for key in ("size", "mtime_ns"))
            and (record["summary"] is None) != (record["error"] is None)
            and isinstance(record["summary"] or {}, dict)
            and isinstance(record["error"] or "", str)):
        raise DamagedPart(f"the record of {record.get('name')!r} has fields of the wrong type")
    return SongRecord(**record)


def _checked_columns(arrays: Any, records: list[SongRecord]) -> dict[str, np.ndarray]:
    """A part's columns after checking their kinds, shapes and row ranges."""
    columns = {key: arrays[key] for key in ("curve_names", "row_curve", "time_s", *TARGETS)}
    names, rows = columns["curve_names"], columns["row_curve"]
    n_rows = len(rows)
    for key in BAND_COLUMNS:  # parts written before models had bands have none: NaN
        columns[key] = (arrays[key] if key in arrays.files
                        else np.full(n_rows, np.nan, np.float32))
    if not (names.ndim == 1 and names.dtype.kind == "U" and rows.ndim == 1
            and rows.dtype.kind == "i" and columns["time_s"].dtype == np.float64
            and all(columns[key].ndim == 1 and len(columns[key]) == n_rows
                    for key in COLUMNS[1:])
            and all(columns[key].dtype == np.float32 for key in COLUMNS[2:])):
        raise DamagedPart("columns of the wrong kind or length")
    if n_rows and (rows.min() < 0 or rows.max() >= len(names) or (np.diff(rows) < 0).any()):
        raise DamagedPart("rows refer to songs it does not hold")
    curves = set(names.tolist())
    if any(r.summary is not None and r.name not in curves for r in records):
        raise DamagedPart("a song it records as done has no curves")
    return columns


def read_part(part: Path) -> tuple[list[SongRecord], dict[str, np.ndarray]]:
    """Every record and column of a part, each checked (and the zip's CRCs with them).

    Raises
    ------
    DamagedPart
        Naming what is wrong.
    """
    try:
        with np.load(part, allow_pickle=False) as arrays:
            songs = parse_json(str(arrays["songs"]))
            if not isinstance(songs, list):
                raise DamagedPart("its song list is not a list")
            records = [_checked_record(record) for record in songs]
            return records, _checked_columns(arrays, records)
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        if isinstance(exc, DamagedPart):
            raise
        raise DamagedPart(f"{type(exc).__name__}: {exc}") from exc


class PartStore:
    """The parts of one run's work folder: read and checked once, then kept up to date
    by the :class:`PartWriter` s it makes.

    Temporary files of a part being written when a run was killed are removed; a part
    that cannot be read (damaged by a power cut, or not written by emoreco) is reported
    and renamed ``damaged-<name>`` (kept for inspection), and its songs are computed
    again. Files of other names are left alone.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.records: list[tuple[Path, SongRecord]] = []
        self.sessions = [0]
        for entry in sorted(folder.iterdir()):
            if TEMPORARY_PART.fullmatch(entry.name) and entry.is_file():
                entry.unlink()
            elif (match := PART_NAME.fullmatch(entry.name)) and not entry.is_symlink():
                self.sessions.append(int(match.group(1)))
                try:
                    records, _ = read_part(entry)
                except DamagedPart as exc:
                    log.warning("%s: unreadable part (%s); set aside as %s%s, its songs are "
                                "computed again", entry, exc, SET_ASIDE, entry.name)
                    entry.rename(entry.with_name(SET_ASIDE + entry.name))
                    continue
                self.records.extend((entry, record) for record in records)

    def latest(self, fingerprints: dict[str, tuple[str, int, int]]
               ) -> dict[str, tuple[Path, SongRecord]]:
        """Each file's most recent record that still describes it.

        ``fingerprints`` maps a resolved path to (song name, size, mtime_ns) now; a
        record of another name, size or time (the file changed, or the run's names did)
        is stale.
        """
        latest = {}
        for part, record in self.records:
            if fingerprints.get(record.path) == (record.name, record.size, record.mtime_ns):
                latest[record.path] = (part, record)
        return latest

    def writer(self, songs_per_part: int = 256, flush_s: float = 60.0) -> "PartWriter":
        """A writer of new parts (a new session) whose records join this store."""
        session = max(self.sessions) + 1
        self.sessions.append(session)
        return PartWriter(self, session, songs_per_part, flush_s)


class PartWriter:
    """Buffers finished songs and writes them out as parts of a :class:`PartStore`.

    Parameters
    ----------
    store : PartStore
    session : int
        Number of this run in the folder (part names sort in the order written).
    songs_per_part : int
        Songs per part file (also the most work a kill can lose, with ``flush_s``).
    flush_s : float
        A part is also written when the oldest buffered song is this old.
    """

    def __init__(self, store: PartStore, session: int, songs_per_part: int = 256,
                 flush_s: float = 60.0) -> None:
        self.store = store
        self.session = session
        self.songs_per_part = songs_per_part
        self.flush_s = flush_s
        self.sequence = 0
        self.songs: list[SongRecord] = []
        self.curves: list[EmotionCurve] = []
        self.since = time.monotonic()

    def add(self, record: SongRecord, curve: EmotionCurve | None) -> None:
        """Buffer one song (``curve`` None for a failure); write a part when due."""
        if not self.songs:
            self.since = time.monotonic()
        self.songs.append(record)
        if curve is not None:
            self.curves.append(curve)
        if (len(self.songs) >= self.songs_per_part
                or time.monotonic() - self.since >= self.flush_s):
            self.flush()

    def flush(self) -> None:
        """Write the buffered songs as one part (nothing if none)."""
        if not self.songs:
            return
        path = self.store.folder / f"part-{self.session:04d}-{self.sequence:06d}.npz"
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **_part_arrays(self.curves, self.songs))
        self.store.records.extend((path, record) for record in self.songs)
        self.sequence += 1
        self.songs, self.curves = [], []


class StoredCurves(Sequence[EmotionCurve]):
    """The curves of the given songs, read from their parts when needed.

    Reading in order touches each part once when parts were written in that order; a
    few recently read parts are kept (``cached_parts``).
    """

    def __init__(self, locations: Sequence[tuple[Path, str]], cached_parts: int = 4) -> None:
        self.locations = list(locations)
        self.cached_parts = cached_parts
        self.cache: OrderedDict[Path, dict[str, EmotionCurve]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.locations)

    def _part(self, part: Path) -> dict[str, EmotionCurve]:
        if part in self.cache:
            self.cache.move_to_end(part)
            return self.cache[part]
        _, columns = read_part(part)
        edges = np.searchsorted(columns["row_curve"], np.arange(len(columns["curve_names"]) + 1))
        curves = {}
        for number, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
            if hi > lo:
                name = str(columns["curve_names"][number])
                bands = {target: (columns[low][lo:hi], columns[high][lo:hi])
                         for target in TARGETS for low, high in [band_columns(target)]
                         if not np.isnan(columns[low][lo:hi]).all()}
                curves[name] = EmotionCurve(name, columns["time_s"][lo:hi],
                                            {key: columns[key][lo:hi] for key in TARGETS},
                                            bands)
        self.cache[part] = curves
        while len(self.cache) > self.cached_parts:
            self.cache.popitem(last=False)
        return curves

    @overload
    def __getitem__(self, index: int) -> EmotionCurve: ...

    @overload
    def __getitem__(self, index: slice) -> list[EmotionCurve]: ...

    def __getitem__(self, index: int | slice) -> EmotionCurve | list[EmotionCurve]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        part, song = self.locations[index]
        return self._part(part)[song]

    def __iter__(self) -> Iterator[EmotionCurve]:
        return (self[i] for i in range(len(self)))
