"""The user's own annotations: one long CSV ``audio,time_s,arousal,valence``.

``audio`` is a path relative to the CSV's folder (subfolders allowed, no ``..``;
``a/./b.wav`` and ``a//b.wav`` are ``a/b.wav``, and two names of one file are refused),
``time_s`` seconds from the start of that file, values in [-1, 1] every 0.5 s. A song may
leave one target's cells empty (annotated for the other only). Songs get ids 1, 2, ...
in the order of their paths, and are named by their path in every message.

Example::

    audio,time_s,arousal,valence
    songs/intro.wav,15.0,0.10,-0.20
    songs/intro.wav,15.5,0.12,-0.18
"""

from __future__ import annotations

import posixpath
from pathlib import Path

import numpy as np

from emoreco.core.checks import is_relative_path
from emoreco.core.errors import AnnotationError, DataLayoutError
from emoreco.data.annotations import read_annotation_csv
from emoreco.data.corpus import Corpus
from emoreco.data.long_annotations import ValueScale, long_series, require_columns

COLUMNS = ("audio", "time_s", "arousal", "valence")
VALUES = ValueScale(-1.0, 1.0)
STEP_S = 0.5


def load_user_csv(path: Path, target: str) -> Corpus:
    """The songs of the CSV that have audio and ``target`` values.

    Raises
    ------
    AnnotationError
        A bad row (named by file and line): an empty or absolute audio path, or one with
        ``..``; a bad time or value; a gap or a repeated time in a song's series.
    DataLayoutError
        No CSV at ``path``, or none of its audio files exists.
    """
    if path.is_dir():
        raise DataLayoutError(f"{path}: a csv corpus is a CSV file ({','.join(COLUMNS)}), "
                              "not a folder")
    frame = read_annotation_csv(path)
    require_columns(frame, path, COLUMNS)
    written = frame["audio"].str.strip()
    normal = {}  # each way a path is written -> its normal form (checked once per name)
    for name in written.unique().tolist():
        if not is_relative_path(name):
            row = int(np.flatnonzero((written == name).to_numpy())[0])
            raise AnnotationError(f"{path}, line {row + 2}: audio {name!r} is not a path "
                                  "relative to the CSV's folder (without '..')")
        normal[name] = posixpath.normpath(name)  # "a/./b.wav", "a//b.wav" -> "a/b.wav"
    names = written.map(normal)
    unique = sorted(set(normal.values()))
    number = {name: song_id for song_id, name in enumerate(unique, start=1)}
    song_ids = names.map(number).to_numpy(dtype=np.int64)
    by_id = {song_id: name for name, song_id in number.items()}
    annotations = long_series(frame, path, song_ids, "time_s", target, VALUES, STEP_S,
                              allow_empty=True, song_names=by_id)
    folder = path.parent
    present = {i: folder / name for name, i in number.items() if (folder / name).is_file()}
    if not present:
        raise DataLayoutError(f"{path}: none of its {len(unique)} audio files exists "
                              f"(paths are relative to {folder})")
    _refuse_one_file_named_twice(path, present, by_id)
    return Corpus.matched(annotations, present, by_id)


def _refuse_one_file_named_twice(path: Path, present: dict[int, Path],
                                 names: dict[int, str]) -> None:
    """Two names of one file (a link) would be two songs, which could land on both
    sides of a split.

    Raises
    ------
    AnnotationError
        Naming both.
    """
    seen: dict[Path, int] = {}
    for song_id, audio in present.items():
        real = audio.resolve()
        if real in seen:
            raise AnnotationError(f"{path}: {names[seen[real]]!r} and {names[song_id]!r} are "
                                  "the same audio file; name each song once")
        seen[real] = song_id
