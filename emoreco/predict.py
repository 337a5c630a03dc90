"""Valence and arousal curves for any audio file, with the trained models.

One song's walk: :func:`emoreco.audio.load_audio` -> :func:`emoreco.features.
compute_song_features` -> :func:`emoreco.scoring.song_curve` (inputs of each target,
scaler, model, clipping) -> :class:`emoreco.curves.EmotionCurve`. A run
(:func:`predict_catalog`) sends :class:`SongJob` s to an engine (this process or Dask
workers, each with its own :class:`Predictor`) and writes the curves into resumable
parts (:mod:`emoreco.result_parts`) as they arrive.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from emoreco.audio import AUDIO_SUFFIXES, load_audio
from emoreco.config import FeatureParams
from emoreco.curves import EmotionCurve
from emoreco.engine import DaskEngine, InProcessEngine, open_engine
from emoreco.errors import ConfigError, DataLayoutError, EmorecoError, ModelError
from emoreco.features import compute_song_features
from emoreco.model_meta import ModelMeta
from emoreco.models import keras_call
from emoreco.persistence import ModelFiles, add_onnx_export, load_keras, read_meta
from emoreco.result_parts import (PartStore, PartWriter, SongRecord, StoredCurves,
                                  file_fingerprint)
from emoreco.runtime import onnx_call
from emoreco.scoring import ScaledModel, song_curve
from emoreco.targets import TARGETS, get_target

log = logging.getLogger(__name__)

HOW_TO_TRAIN = ("train them first: `make demo` (demo corpus), or `python MAIN_arousal.py "
                "--deam-dir DIR` and `python MAIN_valence.py --deam-dir DIR`")


def read_model_meta(models_dir: Path, name: str, target: str) -> ModelMeta:
    """The metadata of model ``name``, after checking its files (digests) and that it
    predicts ``target`` from inputs and a scaler of the shapes its parameters give.

    Raises
    ------
    ModelError
        No such model, a folder that is not one, or any mismatch (naming the file).
    """
    spec = get_target(target)
    if models_dir.exists() and not models_dir.is_dir():
        raise ModelError(f"{models_dir}: not a folder (--models-dir names the folder of the "
                         "trained models)")
    if not ModelFiles.at(models_dir, name).meta.is_file():
        raise ModelError(f"no trained {target} model '{name}' in {models_dir}/: {HOW_TO_TRAIN}")
    _, meta = read_meta(models_dir, name)
    if meta.target != target:
        raise ModelError(f"{models_dir}/{name}: was trained to predict {meta.target}, "
                         f"not {target}")
    rows, columns = expected = spec.input_shape(meta.feature_params)
    if list(meta.input_shape) != list(expected):
        raise ModelError(f"{models_dir}/{name}: model input {list(meta.input_shape)} does "
                         f"not match its feature parameters {list(expected)}")
    scaler_shape = tuple(1 if axis in spec.scaler_axes else size
                         for axis, size in enumerate((1, rows, columns)))
    scaler = meta.scaler
    if (scaler.mean.shape != scaler_shape or scaler.std.shape != scaler_shape
            or not (np.isfinite(scaler.mean).all() and (scaler.std > 0).all()
                    and np.isfinite(scaler.std).all())):
        raise ModelError(f"{models_dir}/{name}: its scaler has shape {scaler.mean.shape} or "
                         f"non-finite values; the {target} model needs shape {scaler_shape}")
    return meta


def read_model_metas(models_dir: str | Path,
                     model_names: dict[str, str] | None = None) -> dict[str, ModelMeta]:
    """The checked metadata (:func:`read_model_meta`) of the model of every target.

    ``model_names``: target -> model name (default: the target's name).

    Raises
    ------
    ModelError
        Also when the models were trained with different audio feature parameters.
    """
    names = {target: target for target in TARGETS} | (model_names or {})
    metas = {target: read_model_meta(Path(models_dir), name, target)
             for target, name in names.items()}
    keys = {m.feature_params.cache_key() for m in metas.values()}
    hops = {m.feature_params.hop_s for m in metas.values()}
    if len(keys) > 1 or len(hops) > 1:
        raise ModelError("the models were trained with different audio feature "
                         "parameters; retrain one of them")
    return metas


def load_model_call(models_dir: Path, meta: ModelMeta,
                    threads: int = 1) -> tuple[ScaledModel, ModelMeta]:
    """The checked model ``meta`` describes, ready to predict.

    The ONNX export runs in ONNX Runtime, without TensorFlow. A model saved before
    exports existed is exported once (this needs TensorFlow and tf2onnx), or, where that
    fails, predicted with Keras; either way one line says so.
    """
    spec = get_target(meta.target)
    files = ModelFiles.at(models_dir, meta.name)
    if "onnx" not in meta.sha256:
        model = load_keras(files, meta.name)
        try:
            meta = add_onnx_export(model, files, meta)
        except (ImportError, OSError, ValueError) as exc:
            log.warning("%s: predicting with Keras; no ONNX export (%s)", files.weights, exc)
            return ScaledModel(spec, meta.feature_params, meta.scaler, keras_call(model)), meta
        log.info("%s: exported for prediction without TensorFlow (once)", files.onnx)
    call, shape = onnx_call(files.onnx, threads)
    expected = list(meta.input_shape)
    if any(d is not None and d != e for d, e in zip(shape, expected)) or len(shape) != 2:
        raise ModelError(f"{files.onnx}: input {shape} does not match its feature parameters "
                         f"{expected}")
    return ScaledModel(spec, meta.feature_params, meta.scaler, call), meta


class Predictor:
    """The trained model of every target, ready to turn audio files into curves.

    ``metas`` (from :func:`read_model_metas`) spares reading the metadata again.
    """

    def __init__(self, models_dir: str | Path = "models",
                 model_names: dict[str, str] | None = None,
                 metas: dict[str, ModelMeta] | None = None) -> None:
        metas = metas or read_model_metas(models_dir, model_names)
        loaded = {target: load_model_call(Path(models_dir), meta)
                  for target, meta in metas.items()}
        self.models = {target: model for target, (model, _) in loaded.items()}
        self.metas = {target: meta for target, (_, meta) in loaded.items()}
        self.params: FeatureParams = next(iter(self.models.values())).params

    def min_duration_s(self, start_s: float = 0.0) -> float:
        """Shortest audio with a value of every target at or after ``start_s`` (3 s from
        0 s: one valence context)."""
        return max(max(start_s, m.spec.context_s(m.params)) + m.spec.span_s(m.params)
                   for m in self.models.values())

    def predict_file(self, path: str | Path, start_s: float = 0.0, end_s: float | None = None,
                     name: str | None = None) -> EmotionCurve:
        """Curves of one file from ``start_s`` (default: the whole song) to ``end_s``.

        ``name`` is the song's name in the outputs (default: the file name).
        """
        path = Path(path)
        samples = load_audio(path, self.params.sample_rate,
                             min_duration_s=self.min_duration_s(start_s))
        features = compute_song_features(samples, self.params)
        curve = song_curve(name or path.name, features, self.models, start_s, end_s)
        empty = [t for t, values in curve.values.items() if not np.isfinite(values).any()]
        if empty:
            raise ConfigError(f"{path}: --end {end_s:g} s leaves no complete {empty[0]} input "
                              f"after {start_s:g} s")
        return curve


def _walk(folder: Path, recursive: bool, seen_folders: set[tuple[int, int]]) -> Iterator[Path]:
    """Files of ``folder`` (and, if ``recursive``, of its subfolders), sorted by name.

    Symbolic links are followed, each real folder once, so a link loop ends.
    """
    stat = folder.stat()
    if (stat.st_dev, stat.st_ino) in seen_folders:
        return
    seen_folders.add((stat.st_dev, stat.st_ino))
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    for entry in entries:
        if entry.is_file():
            yield entry
    if recursive:
        for entry in entries:
            if entry.is_dir():
                yield from _walk(entry, recursive, seen_folders)


def find_audio_files(inputs: Iterable[str | Path], recursive: bool = False,
                     pattern: str | None = None) -> list[Path]:
    """Expand files and folders into a list of audio files, each listed once.

    Parameters
    ----------
    inputs : iterable of path
        Files are taken as given (any name); folders contribute their audio files
        (:data:`AUDIO_SUFFIXES`), sorted by name.
    recursive : bool
        Also search subfolders (symbolic links followed, each folder once).
    pattern : str, optional
        Shell pattern that a folder's file names must match (``*.m4a``, ``*live*``).

    Raises
    ------
    DataLayoutError
        A path that does not exist, or no audio file at all.
    """
    found: list[Path] = []
    seen_folders: set[tuple[int, int]] = set()
    for item in map(Path, inputs):
        if item.is_dir():
            found.extend(p for p in _walk(item, recursive, seen_folders)
                         if p.suffix.lower() in AUDIO_SUFFIXES
                         and (pattern is None or fnmatch.fnmatch(p.name, pattern)))
        elif item.is_file():
            found.append(item)
        else:
            raise DataLayoutError(f"{item}: no such file or folder")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)  # the same file by two routes: once
    if not unique:
        raise DataLayoutError("no audio files (" + " ".join(AUDIO_SUFFIXES) + ") in "
                              + ", ".join(map(str, inputs))
                              + ("" if recursive else "; add -r for subfolders")
                              + (f" matching {pattern!r}" if pattern else ""))
    return list(unique.values())


def unique_song_names(files: list[Path]) -> dict[Path, str]:
    """A name per file, unique within the run: the file name, or, where two files share
    it, the path relative to the folder that holds all the files."""
    counts: dict[str, int] = {}
    for path in files:
        counts[path.name] = counts.get(path.name, 0) + 1
    if all(count == 1 for count in counts.values()):
        return {path: path.name for path in files}
    common = Path(os.path.commonpath([str(p.resolve().parent) for p in files]))
    return {path: (path.name if counts[path.name] == 1
                   else path.resolve().relative_to(common).as_posix()) for path in files}


@dataclass(frozen=True)
class SongJob:
    """One song of a run, as a worker needs it: where, under which name, which span.

    ``size`` and ``mtime_ns`` identify the file's content when the run was planned.
    """

    path: str
    name: str
    size: int
    mtime_ns: int
    start_s: float = 0.0
    end_s: float | None = None


def song_jobs(files: list[Path], names: dict[Path, str], start_s: float,
              end_s: float | None) -> list[SongJob]:
    """A job per file, with absolute paths (workers may run in another folder)."""
    return [SongJob(str(path.resolve()), names[path], *file_fingerprint(path), start_s, end_s)
            for path in files]


@dataclass(frozen=True)
class PredictorSetup:
    """Builds a :class:`Predictor` (once per worker): picklable, with absolute paths."""

    models_dir: str
    model_names: tuple[tuple[str, str], ...]

    def __call__(self) -> Predictor:
        return Predictor(self.models_dir, dict(self.model_names))


def predict_song(predictor: Predictor, job: SongJob) -> EmotionCurve | str:
    """The curves of one job's song, or the one-line reason it failed.

    Nothing one file does stops the batch: unusable audio and read errors are reported
    as such, anything else as an internal error with its type.
    """
    try:
        return predictor.predict_file(job.path, job.start_s, job.end_s, job.name)
    except (EmorecoError, OSError) as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - one song's bug must not lose the others
        return f"{job.path}: internal error {type(exc).__name__}: {exc}"


def predict_into_parts(engine: InProcessEngine | DaskEngine, setup: PredictorSetup,
                       predictor: Predictor, jobs: list[SongJob], writer: PartWriter,
                       progress: bool = True, done: int = 0) -> None:
    """Run every job on ``engine`` and write each result to ``writer`` as it arrives.

    ``predictor`` (already loaded here) serves the in-process engine; workers build
    theirs with ``setup``. ``done`` songs of an earlier run count on the progress bar.
    """
    from tqdm import tqdm

    with tqdm(total=done + len(jobs), initial=done, desc="songs", unit="song",
              disable=not progress, smoothing=0.05) as bar:
        try:
            for outcome in engine.map_unordered(setup, predict_song, jobs, state=predictor):
                job, result = outcome.item, outcome.value
                if outcome.error is not None:
                    result = f"{job.path}: {outcome.error}"
                record = SongRecord(job.name, job.path, job.size, job.mtime_ns)
                if isinstance(result, EmotionCurve):
                    writer.add(replace(record, summary=result.summary()), result)
                else:
                    writer.add(replace(record, error=str(result)), None)
                bar.update()
        finally:  # Ctrl-C or a cluster failure: keep the songs finished so far
            writer.flush()


def predict_catalog(predictor: Predictor, setup: PredictorSetup, jobs: list[SongJob],
                    work_dir: Path, scheduler: str | None = None, n_jobs: int = -1,
                    songs_per_part: int = 256, progress: bool = True
                    ) -> tuple[StoredCurves, dict[str, str]]:
    """Predict every job into parts in ``work_dir``, resuming the work found there.

    Songs with a result in ``work_dir`` for their unchanged file are skipped (failed
    ones are tried again); the others run on the engine (:func:`open_engine`).

    Returns
    -------
    curves : StoredCurves
        The songs that have curves, in the order of ``jobs``, read from the parts.
    failures : dict of str to str
        File (absolute path) -> why it has none.
    """
    fingerprints = {job.path: (job.name, job.size, job.mtime_ns) for job in jobs}
    store = PartStore(work_dir)
    done = {path for path, (_, record) in store.latest(fingerprints).items()
            if record.error is None}
    if done:
        log.info("resuming: %d of %d songs already done", len(done), len(jobs))
    todo = [job for job in jobs if job.path not in done]
    with open_engine(scheduler, n_jobs, len(todo)) as engine:
        predict_into_parts(engine, setup, predictor, todo, store.writer(songs_per_part),
                           progress, len(done))
    if done:
        log.info("%d songs predicted now, %d in the interrupted run", len(todo), len(done))
    latest = store.latest(fingerprints)
    failures = {job.path: latest[job.path][1].error or "" for job in jobs
                if latest[job.path][1].error is not None}
    return StoredCurves([(latest[job.path][0], job.name) for job in jobs
                         if job.path not in failures]), failures
