"""PMEmo2019 (Zhang et al., ICMR 2018) as users have it after unpacking its archive.

Layout: ``PMEmo2019/chorus/<musicId>.mp3`` (the chorus clips), ``PMEmo2019/metadata.csv``
(``musicId,fileName,title,artist,...``; titles may hold quoted commas) and
``PMEmo2019/annotations/dynamic_annotations.csv`` in long format:
``musicId,frameTime,Arousal(mean),Valence(mean)``, one row per song and 0.5 s, frameTime in
seconds within the clip from 15.5 on, values in [0, 1].

Mapping onto DEAM's conventions: a value ``x`` becomes ``2x - 1``; ``frameTime`` is the
annotation's time in the clip, as DEAM's ``sample_<ms>ms`` columns are, so both corpora
share one window grid. ``annotations/dynamic_annotations_std.csv`` (same rows,
``Arousal(std),Valence(std)``) gives the raters' spread, which the evaluation compares
with the bands; on [-1, 1]'s scale it is twice PMEmo's.
"""

from __future__ import annotations

from pathlib import Path

import logging

import numpy as np
import pandas as pd

from emoreco.audio.decode import index_audio_folder
from emoreco.core.checks import is_relative_path
from emoreco.core.errors import AnnotationError, DataLayoutError, EmorecoError
from emoreco.data.annotations import AnnotationSeries, read_annotation_csv, song_id_column
from emoreco.data.corpus import Corpus
from emoreco.data.long_annotations import ValueScale, long_series, require_columns

ROOT_NAME = "PMEmo2019"
AUDIO = Path("chorus")
METADATA = Path("metadata.csv")
DYNAMIC = Path("annotations", "dynamic_annotations.csv")
DYNAMIC_STD = Path("annotations", "dynamic_annotations_std.csv")
ID_COLUMN = "musicId"
TIME_COLUMN = "frameTime"
VALUE_COLUMNS = {"arousal": "Arousal(mean)", "valence": "Valence(mean)"}
STD_COLUMNS = {"arousal": "Arousal(std)", "valence": "Valence(std)"}
VALUES = ValueScale(0.0, 1.0)
STEP_S = 0.5
log = logging.getLogger(__name__)


def pmemo_root(folder: Path) -> Path:
    """``folder`` itself or its ``PMEmo2019/`` subfolder, whichever holds the annotations.

    Raises
    ------
    DataLayoutError
        Naming both places looked at.
    """
    for root in (folder / ROOT_NAME, folder):
        if (root / DYNAMIC).is_file():
            return root
    raise DataLayoutError(f"{folder}: no PMEmo corpus here (looked for "
                          f"'{folder / ROOT_NAME / DYNAMIC}' and '{folder / DYNAMIC}')")


def _integer_ids(frame: pd.DataFrame, path: Path) -> np.ndarray:
    """The ``musicId`` column as ints, the first bad row named by its line."""
    return song_id_column(frame[ID_COLUMN], path, ID_COLUMN)


def audio_files(root: Path) -> dict[int, Path]:
    """Song id to chorus clip, from ``metadata.csv`` (``fileName``) when there is one, else
    from the ``<musicId>.<ext>`` names in ``chorus/``.

    Raises
    ------
    AnnotationError
        A bad ``metadata.csv`` row (id, duplicate, a file name with a folder in it).
    """
    audio_dir = root / AUDIO
    if not audio_dir.is_dir():
        raise DataLayoutError(f"{audio_dir}: PMEmo's chorus folder not found")
    path = root / METADATA
    if not path.is_file():
        return index_audio_folder(audio_dir)
    frame = read_annotation_csv(path)
    require_columns(frame, path, (ID_COLUMN, "fileName"))
    ids = _integer_ids(frame, path)
    files: dict[int, Path] = {}
    for row, (song_id, name) in enumerate(zip(ids, frame["fileName"].str.strip())):
        if not (is_relative_path(name) and "/" not in name):  # a file in chorus/, no more
            raise AnnotationError(f"{path}, line {row + 2}: fileName {name!r} is not a plain "
                                  "file name in chorus/")
        if int(song_id) in files:
            raise AnnotationError(f"{path}, line {row + 2}: duplicate {ID_COLUMN} {song_id}")
        files[int(song_id)] = audio_dir / name
    return files


def load_pmemo(folder: Path, target: str) -> tuple[Corpus, Path]:
    """The songs of a PMEmo corpus with chorus audio and ``target``'s dynamic annotations.

    Returns
    -------
    corpus : Corpus
        Values mapped onto [-1, 1] (``2x - 1``).
    annotation_file : Path
        ``dynamic_annotations.csv``, for the provenance record.
    """
    root = pmemo_root(folder)
    path = root / DYNAMIC
    frame = read_annotation_csv(path)
    require_columns(frame, path, (ID_COLUMN, TIME_COLUMN, VALUE_COLUMNS[target]))
    annotations = long_series(frame, path, _integer_ids(frame, path), TIME_COLUMN,
                              VALUE_COLUMNS[target], VALUES, STEP_S)
    files = audio_files(root)
    present = {i: p for i, p in files.items() if p.is_file()}
    if not present:
        raise DataLayoutError(f"{root / AUDIO}: none of the {len(files)} chorus clips found")
    corpus = Corpus.matched(annotations, present)
    corpus.rater_spread = load_pmemo_spread(root, target, corpus.song_ids)
    return corpus, path


def load_pmemo_spread(root: Path, target: str,
                      song_ids: list[int]) -> dict[int, AnnotationSeries]:
    """The raters' spread of ``target`` per song of ``song_ids``, on [-1, 1]'s scale (twice
    PMEmo's std), from ``dynamic_annotations_std.csv``: nothing when the file is missing;
    a file that cannot be read (columns, numbers, a std outside [0, 1]) is skipped with one
    warning, as the spread only serves the evaluation."""
    path = root / DYNAMIC_STD
    if not path.is_file():
        return {}
    try:
        frame = read_annotation_csv(path)
        require_columns(frame, path, (ID_COLUMN, TIME_COLUMN, STD_COLUMNS[target]))
        mapped = long_series(frame, path, _integer_ids(frame, path), TIME_COLUMN,
                             STD_COLUMNS[target], VALUES, STEP_S)
    except (EmorecoError, ValueError, OSError, UnicodeDecodeError) as exc:
        log.warning("%s: not used for the raters' spread (%s)", path, exc)
        return {}
    wanted = set(song_ids)
    # a spread scales by the slope alone: 2 * std = (2 * std - 1) + 1
    return {song_id: AnnotationSeries(song_id, series.times_s, series.values + 1.0)
            for song_id, series in mapped.items() if song_id in wanted}
