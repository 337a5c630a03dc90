"""Per-song results written as they arrive, in crash-safe parts.

A prediction run appends each song's rows (``song, time_s, arousal, valence``, the
columns of ``TestSongPredicted.csv``) to a buffer and writes it out as one part (a numpy
``.npz``: quick to write and read, no pandas or pyarrow at start-up) every
``songs_per_part`` songs or ``flush_s`` seconds, in one rename, so a part on disk is
always complete. Each part also records its songs (path, size and modification time of
the file, summary or error), so a resumed run knows what is done without reading the
curves, and a song whose file changed since is computed again (the latest part wins).
Parts are named ``part-<session>-<sequence>.npz`` and sort in the order they were
written. :func:`write_parquet_dataset` turns them into the Parquet dataset of a catalog.

The client's memory holds the per-song records, never the curves: the final tables are
assembled from the parts one part at a time (:class:`StoredCurves`).
"""

from __future__ import annotations

import json
import logging
import time
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from emoreco.atomic import atomic_path
from emoreco.curves import EmotionCurve

log = logging.getLogger(__name__)
PART_PATTERN = "part-*.npz"
COLUMNS = ("song", "time_s", "arousal", "valence")


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
        parts = [np.asarray(c.times_s if key == "time_s" else c.values[key], dtype=dtype)
                 for c in curves]
        return np.concatenate(parts) if parts else np.zeros(0, dtype)

    return {"songs": np.array(json.dumps([asdict(s) for s in songs])),
            "curve_names": np.array([c.song for c in curves] or [""]),
            "row_curve": np.repeat(np.arange(len(curves), dtype=np.int32),
                                   [len(c.times_s) for c in curves]),
            "time_s": column("time_s", np.float64),
            **{key: column(key, np.float32) for key in COLUMNS[2:]}}


class PartWriter:
    """Buffers finished songs and writes them out as parts in ``folder``.

    Parameters
    ----------
    folder : Path
    songs_per_part : int
        Songs per part file (also the most work a kill can lose, with ``flush_s``).
    flush_s : float
        A part is also written when the oldest buffered song is this old.
    """

    def __init__(self, folder: Path, songs_per_part: int = 256, flush_s: float = 60.0) -> None:
        self.folder = folder
        self.songs_per_part = songs_per_part
        self.flush_s = flush_s
        self.session = 1 + max((int(p.name.split("-")[1]) for p in folder.glob(PART_PATTERN)),
                               default=0)
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
        path = self.folder / f"part-{self.session:04d}-{self.sequence:06d}.npz"
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **_part_arrays(self.curves, self.songs))
        self.sequence += 1
        self.songs, self.curves = [], []


def _read_columns(part: Path) -> dict[str, np.ndarray]:
    """A part's rows: ``curve_names``, ``row_curve`` and the columns after ``song``."""
    with np.load(part) as arrays:
        return {key: arrays[key] for key in ("curve_names", "row_curve", *COLUMNS[1:])}


def read_records(folder: Path) -> list[tuple[Path, SongRecord]]:
    """Every song record of the complete parts in ``folder``, in the order written.

    Temporary files of a part being written when a run was killed are removed.
    """
    for leftover in folder.glob(".part-*"):
        leftover.unlink()
    found = []
    for part in sorted(folder.glob(PART_PATTERN)):
        try:
            with np.load(part) as arrays:
                records = [SongRecord(**record) for record in json.loads(str(arrays["songs"]))]
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            # renamed but never written out (a power cut before the disk caught up)
            log.warning("%s: unreadable part (%s); its songs are computed again", part, exc)
            part.unlink()
            continue
        found.extend((part, record) for record in records)
    return found


def latest_records(folder: Path, fingerprints: dict[str, tuple[str, int, int]]
                   ) -> dict[str, tuple[Path, SongRecord]]:
    """Each file's most recent record that still describes it.

    ``fingerprints`` maps a resolved path to (song name, size, mtime_ns) now; a record
    of another name, size or time (the file changed, or the run's names did) is stale.
    """
    latest = {}
    for part, record in read_records(folder):
        if fingerprints.get(record.path) == (record.name, record.size, record.mtime_ns):
            latest[record.path] = (part, record)
    return latest


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
        columns = _read_columns(part)
        edges = np.searchsorted(columns["row_curve"], np.arange(len(columns["curve_names"]) + 1))
        curves = {}
        for number, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
            if hi > lo:
                name = str(columns["curve_names"][number])
                curves[name] = EmotionCurve(name, columns["time_s"][lo:hi],
                                            {key: columns[key][lo:hi] for key in COLUMNS[2:]})
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


def write_parquet_dataset(curves: StoredCurves, folder: Path) -> None:
    """The rows of ``curves`` as a Parquet dataset ``folder/part-NNNNN.parquet``, one
    file per part that holds any of them (columns of ``TestSongPredicted.csv``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    wanted: dict[Path, list[str]] = {}
    for part, song in curves.locations:
        wanted.setdefault(part, []).append(song)
    folder.mkdir(parents=True, exist_ok=True)
    for number, (part, songs) in enumerate(wanted.items()):
        columns = _read_columns(part)
        keep = np.isin(columns["curve_names"], songs)[columns["row_curve"]]
        names = columns["curve_names"][columns["row_curve"][keep]]
        table = pa.table({"song": pa.array(names.tolist(), pa.string()),
                          **{key: pa.array(columns[key][keep]) for key in COLUMNS[1:]}})
        with atomic_path(folder / f"part-{number:05d}.parquet") as tmp:
            pq.write_table(table, tmp)
