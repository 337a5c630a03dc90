"""The trained models, loaded for prediction: valence and arousal curves of a song.

One song's walk: :func:`emoreco.audio.decode.load_audio` -> :func:`emoreco.audio.features.
compute_song_features` -> :func:`emoreco.model.scoring.song_curve` (inputs of each target,
scaler, model, clipping) -> :class:`emoreco.model.curves.EmotionCurve`. Models are read
from their files after checking them (:func:`read_model_metas`) and run by ONNX Runtime.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from emoreco.audio.decode import load_audio, prepare_samples
from emoreco.core.config import FeatureParams
from emoreco.model.curves import EmotionCurve
from emoreco.core.errors import ConfigError, ModelError
from emoreco.core.limits import MAX_INPUT_VALUES
from emoreco.audio.features import compute_song_features
from emoreco.model.meta import ModelMeta
from emoreco.model.architectures import keras_call
from emoreco.model.files import ModelFiles, add_onnx_export, load_keras, read_meta
from emoreco.model.onnx_runtime import onnx_call
from emoreco.model.scoring import ScaledModel, song_curve
from emoreco.model.targets import TARGETS, get_target

log = logging.getLogger(__name__)

HOW_TO_TRAIN = ("train them first: `make demo` (demo corpus), or `python MAIN_arousal.py "
                "--deam-dir DIR` and `python MAIN_valence.py --deam-dir DIR`; or install "
                "shared models: `emoreco models install BUNDLE --sha256 HEX`")


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
    if rows * columns > MAX_INPUT_VALUES:
        raise ModelError(f"{models_dir}/{name}: inputs of {rows} x {columns} values; at most "
                         f"{MAX_INPUT_VALUES:,} are allowed")
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
            return ScaledModel(spec, meta.feature_params, meta.scaler, keras_call(model),
                               band=meta.band), meta
        log.info("%s: exported for prediction without TensorFlow (once)", files.onnx)
    call, shape = onnx_call(files.onnx, threads)
    expected = list(meta.input_shape)
    if any(d is not None and d != e for d, e in zip(shape, expected)) or len(shape) != 2:
        raise ModelError(f"{files.onnx}: input {shape} does not match its feature parameters "
                         f"{expected}")
    return ScaledModel(spec, meta.feature_params, meta.scaler, call, band=meta.band), meta


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

    @property
    def band_levels(self) -> dict[str, float]:
        """Target -> the level of its model's band (0.8: 80 %), for targets that have one."""
        return {target: meta.band.level for target, meta in self.metas.items()
                if meta.band is not None}

    def min_duration_s(self, start_s: float = 0.0) -> float:
        """Shortest audio with a value of every target at or after ``start_s`` (3 s from
        0 s: one valence context)."""
        return max(max(start_s, m.spec.context_s(m.params)) + m.spec.span_s(m.params)
                   for m in self.models.values())

    def predict_file(self, path: str | Path, start_s: float = 0.0, end_s: float | None = None,
                     name: str | None = None) -> EmotionCurve:
        """Curves of one file from ``start_s`` (default: the whole song) to ``end_s``.

        ``name`` is the song's name in the outputs (default: the file name).

        Raises
        ------
        AudioError
            The file cannot be decoded or is unusable (too short, silent, ...).
        """
        path = Path(path)
        samples = load_audio(path, self.params.sample_rate,
                             min_duration_s=self.min_duration_s(start_s))
        return self._curve(str(path), name or path.name, samples, start_s, end_s)

    def predict_samples(self, samples: np.ndarray, sample_rate: int, start_s: float = 0.0,
                        end_s: float | None = None, name: str = "samples") -> EmotionCurve:
        """Curves of audio in memory: ``samples`` of shape (n,) or (n, channels) in
        [-1, 1] at ``sample_rate`` Hz (mixed to mono and resampled as files are)."""
        mono = prepare_samples(samples, sample_rate, self.params.sample_rate,
                               self.min_duration_s(start_s), name)
        return self._curve(name, name, mono, start_s, end_s)

    def _curve(self, label: str, name: str, samples: np.ndarray, start_s: float,
               end_s: float | None) -> EmotionCurve:
        features = compute_song_features(samples, self.params)
        curve = song_curve(name, features, self.models, start_s, end_s)
        empty = [t for t, values in curve.values.items() if not np.isfinite(values).any()]
        if empty:
            raise ConfigError(f"{label}: --end {end_s:g} s leaves no complete {empty[0]} "
                              f"input after {start_s:g} s")
        return curve
