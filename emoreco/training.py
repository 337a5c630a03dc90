"""Training and evaluating the arousal CNN and the valence LSTM on song-level splits."""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.config import FeatureParams, TrainParams
from emoreco.dataset import WindowSet
from emoreco.errors import ConfigError
from emoreco.metrics import evaluate
from emoreco.models import build_arousal_cnn, build_valence_lstm, model_summary, random_transpose
from emoreco.persistence import ModelFiles, save_model, write_json
from emoreco.split import kfold_songs, mediaeval_split, split_songs

log = logging.getLogger(__name__)
SUMMARY_METRICS = ("rmse", "rmse_per_song_mean", "pearson_per_song_mean", "ccc", "baseline_rmse")


@dataclass(frozen=True)
class Scaler:
    """Input standardisation fitted on training songs: ``(x - mean) / std``.

    ``mean`` and ``std`` broadcast against a batch: shape (1, n_mfcc, 1) for arousal
    (per coefficient), (1, 1, 1) for valence (one value, so transposing chroma stays
    harmless).
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, target: str, inputs: np.ndarray) -> "Scaler":
        """Statistics of ``inputs`` (n, rows, columns) for ``target``."""
        axes = (0, 2) if target == "arousal" else (0, 1, 2)
        mean = inputs.mean(axis=axes, keepdims=True, dtype=np.float64)
        std = inputs.std(axis=axes, keepdims=True, dtype=np.float64)
        return cls(mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32))

    def apply(self, inputs: np.ndarray) -> np.ndarray:
        """Standardised copy, float32."""
        return ((inputs - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> "Scaler":
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(record["mean"], np.float32), np.asarray(record["std"], np.float32))


@dataclass
class FitResult:
    """A trained model with what is needed to use and describe it."""

    model: Any
    scaler: Scaler
    history: dict[str, list[float]]
    seconds: float
    transposed: bool  # whether training chroma was randomly transposed


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape results."""
    versions = {"python": platform.python_version()}
    for package in ("numpy", "librosa", "keras", "tensorflow", "tensorflow-cpu", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def build_model(target: str, input_shape: tuple[int, int], learning_rate: float) -> Any:
    """The architecture for ``target`` with input shape (rows, columns)."""
    if target == "arousal":
        return build_arousal_cnn(*input_shape, learning_rate=learning_rate)
    if target == "valence":
        return build_valence_lstm(*input_shape, learning_rate=learning_rate)
    raise ConfigError(f"unknown target {target!r}")


def _training_data(inputs: np.ndarray, targets: np.ndarray, batch_size: int, seed: int,
                   augment: bool) -> Any:
    """A ``tf.data`` pipeline: reshuffled every epoch, chroma randomly transposed if asked.

    (Keras' own ``shuffle`` is then off: the pipeline does it, seeded.)
    """
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((inputs, targets))
    data = data.shuffle(len(targets), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    if augment:
        data = data.map(lambda x, y: (random_transpose(x, seed), y))
    return data.prefetch(tf.data.AUTOTUNE)


def fit_model(target: str, train: WindowSet, validation: WindowSet, train_params: TrainParams,
              augment: bool = True, verbose: int = 2) -> FitResult:
    """Fit a fresh model: Adam + MSE, early stopping on the validation songs.

    Parameters
    ----------
    train, validation : WindowSet
        Disjoint songs; the scaler is fitted on ``train`` only.
    augment : bool
        Random transpositions of the chroma (valence only).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(train_params.seed)
    tf.config.experimental.enable_op_determinism()
    scaler = Scaler.fit(target, train.inputs)
    model = build_model(target, train.inputs.shape[1:], train_params.learning_rate)
    transpose = augment and target == "valence"
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=train_params.patience,
                                            restore_best_weights=True)
    started = time.perf_counter()
    history = model.fit(
        _training_data(scaler.apply(train.inputs), train.targets, train_params.batch_size,
                       train_params.seed, transpose),
        validation_data=(scaler.apply(validation.inputs), validation.targets),
        epochs=train_params.epochs, callbacks=[stopper], shuffle=False, verbose=verbose)
    losses = {k: [float(v) for v in values] for k, values in history.history.items()}
    return FitResult(model, scaler, losses, time.perf_counter() - started, transpose)


def predict_windows(model: Any, scaler: Scaler, inputs: np.ndarray,
                    batch_size: int = 512) -> np.ndarray:
    """Model output for each window, shape (n,), clipped to [-1, 1]."""
    if not len(inputs):
        return np.zeros(0, np.float32)
    output = model.predict(scaler.apply(inputs), batch_size=batch_size, verbose=0)
    return np.clip(output.reshape(-1), -1.0, 1.0)


def _fit_and_test(target: str, windows: WindowSet, train_ids: np.ndarray, test_ids: np.ndarray,
                  train_params: TrainParams, augment: bool,
                  verbose: int) -> tuple[FitResult, dict[str, Any], dict[str, list[int]]]:
    """Carve validation songs from ``train_ids``, fit, and score on ``test_ids``."""
    fit_ids, val_ids = split_songs(train_ids, train_params.val_fraction, train_params.seed + 1)
    assert not set(fit_ids) & set(test_ids) and not set(val_ids) & set(test_ids)
    train_set = windows.subset(fit_ids)
    result = fit_model(target, train_set, windows.subset(val_ids), train_params, augment, verbose)
    ids = {"train": fit_ids.tolist(), "validation": val_ids.tolist(), "test": test_ids.tolist()}
    if not len(test_ids):
        return result, {}, ids
    test = windows.subset(test_ids)
    predictions = predict_windows(result.model, result.scaler, test.inputs)
    scores = evaluate(test.targets, predictions, test.song_ids, float(train_set.targets.mean()))
    return result, scores, ids


def _mean_std(folds: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for key in SUMMARY_METRICS:
        values = np.array([fold[key] for fold in folds], dtype=float)
        summary[key] = float(np.nanmean(values))
        summary[f"{key}_std"] = float(np.nanstd(values))
    summary["n_test_songs"] = int(sum(fold["n_test_songs"] for fold in folds))
    summary["n_test_windows"] = int(sum(fold["n_test_windows"] for fold in folds))
    return summary


def train_and_evaluate(target: str, windows: WindowSet, feature_params: FeatureParams,
                       train_params: TrainParams, models_dir: str | Path, name: str,
                       loss_plot: str | Path | None, augment: bool = True,
                       verbose: int = 2) -> dict[str, Any]:
    """Run the chosen protocol, save the model, metrics and loss curves.

    Protocols: ``split`` (random song split, ``test_fraction``), ``kfold`` (``n_folds``
    folds over songs, mean and std reported; the saved model is then refitted on all
    songs), ``mediaeval`` (train on ids <= 2000, test on 2001-2058).

    Returns
    -------
    dict
        The metrics written to ``<models_dir>/<name>.metrics.json``.
    """
    song_ids = np.unique(windows.song_ids)
    seed = train_params.seed
    if train_params.protocol == "kfold":
        folds = []
        for number, (train_ids, test_ids) in enumerate(
                kfold_songs(song_ids, train_params.n_folds, seed), start=1):
            log.info("fold %d/%d: %d training songs, %d test songs", number,
                     train_params.n_folds, len(train_ids), len(test_ids))
            _, scores, _ = _fit_and_test(target, windows, train_ids, test_ids, train_params,
                                         augment, verbose)
            folds.append(scores)
        metrics: dict[str, Any] = _mean_std(folds) | {"folds": folds}
        result, _, ids = _fit_and_test(target, windows, song_ids, np.zeros(0, np.int64),
                                       train_params, augment, verbose)
    else:
        train_ids, test_ids = (mediaeval_split(song_ids) if train_params.protocol == "mediaeval"
                               else split_songs(song_ids, train_params.test_fraction, seed))
        result, metrics, ids = _fit_and_test(target, windows, train_ids, test_ids, train_params,
                                             augment, verbose)
    metrics = {"target": target, "protocol": train_params.protocol, **metrics,
               "epochs_run": len(result.history.get("loss", [])),
               "training_seconds": round(result.seconds, 1)}
    meta = {
        "target": target,
        "name": name,
        "created_unix": int(time.time()),
        "input_shape": list(windows.inputs.shape[1:]),
        "feature_params": feature_params.to_dict(),
        "train_params": vars(train_params) | {"transpose_augment": result.transposed},
        "scaler": result.scaler.to_dict(),
        "song_ids": ids,
        "history": result.history,
        "metrics": metrics,
        "versions": library_versions(),
        "summary": model_summary(result.model),
    }
    log.info("%s", meta["summary"])
    files = save_model(result.model, meta, models_dir, name)
    write_json(ModelFiles.at(models_dir, name).metrics, metrics)
    if loss_plot is not None:
        from emoreco.report import plot_loss

        plot_loss(result.history, loss_plot, title=f"{target} model loss (MSE)")
    log.info("saved %s, %s and %s", files.architecture, files.weights, files.meta)
    return metrics
