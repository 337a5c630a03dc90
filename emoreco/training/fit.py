"""Fitting a target's model on song-level splits and scoring it on its test songs.

Test songs are scored through :func:`emoreco.model.scoring.song_curve`, the function that
``MAIN.py`` uses, so the metrics describe the curves users get. Nothing here draws
pictures or sets process-wide state (seeds, op determinism): the caller does, with
:func:`make_deterministic`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.core.config import FeatureParams, TrainParams
from emoreco.core.errors import ConfigError
from emoreco.training.examples import LabelledSongs, WindowSet, annotated_targets
from emoreco.audio.features import align_window_targets
from emoreco.model.bands import Band, band_metrics, calibrate_band
from emoreco.model.keras_import import import_keras
from emoreco.model.curves import band_columns
from emoreco.model.metrics import evaluate
from emoreco.model.meta import ModelMeta
from emoreco.model.architectures import keras_call, model_summary
from emoreco.data.provenance import describe
from emoreco.model.card import model_card
from emoreco.model.files import ModelFiles, save_model
from emoreco.model.scaler import Scaler
from emoreco.model.scoring import ScaledModel, song_curve
from emoreco.training.split import mediaeval_split, stratified_kfold, stratified_split
from emoreco.model.targets import TargetSpec

log = logging.getLogger(__name__)
SUMMARY_METRICS = ("rmse", "rmse_per_song_mean", "pearson_per_song_mean", "ccc", "bias",
                   "baseline_rmse", "band_level", "band_coverage", "band_width",
                   "band_coverage_worst_third", "rater_std", "band_narrower_than_raters")


@dataclass
class FitResult:
    """A freshly trained Keras model with its scaler and loss history."""

    model: Any
    scaler: Scaler
    history: dict[str, list[float]]
    seconds: float
    augmented: bool
    band: Band | None = None
    band_seconds: float = 0.0  # scoring the validation songs and calibrating the band

    def scaled(self, spec: TargetSpec, params: FeatureParams) -> ScaledModel:
        """The model as scoring calls it (with its band once calibrated)."""
        return ScaledModel(spec, params, self.scaler, keras_call(self.model), band=self.band)


@dataclass(frozen=True)
class Evaluation:
    """Test metrics and the per-window values they were computed from.

    Attributes
    ----------
    metrics : dict
        See :func:`emoreco.model.metrics.evaluate`.
    song_ids, times_s, truth, predicted : np.ndarray, shape (n,)
        One entry per scored output time.
    low, high : np.ndarray, shape (n,)
        The band's bounds (NaN while the model has no band).
    """

    metrics: dict[str, Any]
    song_ids: np.ndarray
    times_s: np.ndarray
    truth: np.ndarray
    predicted: np.ndarray
    low: np.ndarray
    high: np.ndarray


def make_deterministic(seed: int) -> None:
    """Seed Python, NumPy and Keras and turn on TensorFlow op determinism: process-wide
    state, set by the caller (the command line does), never by the training functions.

    Two runs with the same seed start identically; on a busy 2-core machine two
    ``make demo`` runs were seen to drift in the fourth decimal after a few epochs.
    """
    keras = import_keras()
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def training_data(inputs: np.ndarray, targets: np.ndarray, batch_size: int, seed: int,
                   augment: Any) -> Any:
    """A ``tf.data`` pipeline, reshuffled every epoch, with ``augment`` on each batch.

    (Keras' own ``shuffle`` is then off: the pipeline does it, seeded.)
    """
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((inputs, targets))
    data = data.shuffle(len(targets), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size)
    if augment is not None:
        data = data.map(lambda x, y: (augment(x, seed), y))
    return data.prefetch(tf.data.AUTOTUNE)


def fit_model(spec: TargetSpec, train: WindowSet, validation: WindowSet,
              train_params: TrainParams, verbose: int = 2) -> FitResult:
    """Fit a fresh model: Adam + MSE, early stopping on the validation songs.

    Parameters
    ----------
    train, validation : WindowSet
        Disjoint songs; the scaler is fitted on ``train`` only.
    """
    import keras

    scaler = Scaler.fit(train.inputs, spec.scaler_axes)
    model = spec.build_model(train.inputs.shape[1:], train_params.learning_rate)
    augment = spec.augment if train_params.augment else None
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=train_params.patience,
                                            restore_best_weights=True)
    started = time.perf_counter()
    history = model.fit(
        training_data(scaler.apply(train.inputs), train.targets, train_params.batch_size,
                       train_params.seed, augment),
        validation_data=(scaler.apply(validation.inputs), validation.targets),
        epochs=train_params.epochs, callbacks=[stopper], shuffle=False, verbose=verbose)
    losses = {k: [float(v) for v in values] for k, values in history.history.items()}
    return FitResult(model, scaler, losses, time.perf_counter() - started, augment is not None)


def _rater_std(spec: TargetSpec, songs: LabelledSongs, key: int, times_s: np.ndarray,
               params: FeatureParams) -> np.ndarray:
    """The raters' standard deviation averaged over each output's span, shape (n,) like
    ``times_s`` (NaN where the corpus has no per-rater annotations)."""
    spread = songs.rater_spread(key)
    aligned = np.full(len(times_s), np.nan)
    if spread is not None and len(spread.times_s) > 1:
        values, keep = align_window_targets(spread.times_s, spread.values, times_s,
                                            spec.span_s(params), params.annotation_step_s)
        aligned[keep] = values
    return aligned


def evaluate_model(model: ScaledModel, songs: LabelledSongs, song_keys: Iterable[int],
                   train_mean: float) -> Evaluation:
    """Score ``model`` on whole songs through :func:`~emoreco.model.scoring.song_curve`.

    Each song's curve is computed from ``params.start_s`` on, exactly as ``MAIN.py``
    computes it; the times whose span the annotations cover are scored. When the model
    has a band, the metrics include how it did (:func:`~emoreco.model.bands.band_metrics`,
    with the raters' spread where the corpus has per-rater annotations). When ``songs``
    holds several corpora, ``metrics["per_corpus"]`` has the same metrics for each corpus
    among the scored songs; where the corpora name genres, ``metrics["per_genre"]`` too.
    """
    spec, params = model.spec, model.params
    parts: list[tuple[np.ndarray, ...]] = []
    for key in song_keys:
        curve = song_curve(songs.name(key), songs.features(key), {spec.name: model},
                           start_s=params.start_s)
        truth, keep = annotated_targets(spec, songs.annotation(key), curve.times_s, params)
        rater_std = _rater_std(spec, songs, key, curve.times_s, params)
        parts.append((np.full(int(keep.sum()), key, np.int64), curve.times_s[keep], truth,
                      *(curve.column(column)[keep]
                        for column in (spec.name, *band_columns(spec.name))),
                      rater_std[keep]))
    ids, times, truth, predicted, low, high, rater_std = (
        np.concatenate([p[k] for p in parts]) for k in range(7))

    def score(mask: np.ndarray) -> dict[str, Any]:
        metrics = evaluate(truth[mask], predicted[mask], ids[mask], train_mean)
        if model.band is not None:
            metrics |= band_metrics(low[mask], high[mask], truth[mask], predicted[mask],
                                    model.band.level, rater_std[mask])
        return metrics

    metrics: dict[str, Any] = score(np.ones(len(ids), bool))
    if len(songs.parts) > 1:
        labels = np.array([songs.label(key) for key in ids])
        metrics["per_corpus"] = {label: score(labels == label)
                                 for label in dict.fromkeys(labels.tolist())}
    genres = np.array([songs.genre(key) or "" for key in ids])
    if genres.any():
        metrics["per_genre"] = {genre: score(genres == genre)
                                for genre in sorted(set(genres.tolist()) - {""})}
    return Evaluation(metrics, ids, times, truth, predicted, low, high)


def _fit_and_test(spec: TargetSpec, songs: LabelledSongs, windows: WindowSet,
                  params: FeatureParams, train_ids: np.ndarray, test_ids: np.ndarray,
                  train_params: TrainParams, verbose: int
                  ) -> tuple[FitResult, Evaluation | None, dict[str, list[int]]]:
    """Carve validation songs from ``train_ids`` (stratified by corpus), fit, calibrate
    the band on the validation songs, and score on ``test_ids``."""
    fit_ids, val_ids = stratified_split(songs.strata(train_ids), train_params.val_fraction,
                                        train_params.seed + 1)
    assert not set(fit_ids) & set(test_ids) and not set(val_ids) & set(test_ids)
    train_set = windows.subset(fit_ids)
    result = fit_model(spec, train_set, windows.subset(val_ids), train_params, verbose)
    train_mean = float(train_set.targets.mean())
    started = time.perf_counter()
    validation = evaluate_model(result.scaled(spec, params), songs, val_ids.tolist(),
                                train_mean)
    result.band = calibrate_band(validation.predicted, validation.truth, validation.song_ids,
                                 train_params.band_level, train_params.seed + 2)
    result.band_seconds = time.perf_counter() - started
    ids = {"train": fit_ids.tolist(), "validation": val_ids.tolist(), "test": test_ids.tolist()}
    if not len(test_ids):
        return result, None, ids
    evaluation = evaluate_model(result.scaled(spec, params), songs, test_ids.tolist(),
                                train_mean)
    return result, evaluation, ids


def _mean_std(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and std over folds of each summary metric the folds have (and of each
    corpus' and genre's metrics)."""
    summary: dict[str, Any] = {}
    for key in SUMMARY_METRICS:
        if not any(key in fold for fold in folds):
            continue
        values = np.array([fold.get(key, np.nan) for fold in folds], dtype=float)
        summary[key] = float(np.nanmean(values))
        summary[f"{key}_std"] = float(np.nanstd(values))
    summary["n_test_songs"] = int(sum(fold["n_test_songs"] for fold in folds))
    summary["n_test_windows"] = int(sum(fold["n_test_windows"] for fold in folds))
    for group in ("per_corpus", "per_genre"):
        labels = dict.fromkeys(label for fold in folds for label in fold.get(group, {}))
        if labels:
            summary[group] = {
                label: _mean_std([fold[group][label] for fold in folds
                                  if label in fold.get(group, {})]) for label in labels}
    return summary


@dataclass(frozen=True)
class TrainingOutcome:
    """What a training run saved: the model's metadata and the files."""

    meta: ModelMeta
    files: ModelFiles
    evaluation: Evaluation | None


def train_and_evaluate(spec: TargetSpec, songs: LabelledSongs, windows: WindowSet,
                       feature_params: FeatureParams, train_params: TrainParams,
                       models_dir: str | Path, name: str, verbose: int = 2,
                       data: dict[str, Any] | None = None,
                       test_keys: Iterable[int] = ()) -> TrainingOutcome:
    """Run the chosen protocol, then save the model, its metadata and metrics.

    Protocols: ``split`` (random song split, ``test_fraction``), ``kfold`` (``n_folds``
    folds over songs, mean and std reported, each fold's songs recorded; the saved model
    is then refitted on all songs), ``mediaeval`` (train on ids <= 2000, test on
    2001-2058), ``cross-corpus`` (train on every song of ``windows``, test on the songs
    ``test_keys``, those of another corpus). Splits are stratified by corpus. ``data`` is
    the corpora's provenance, recorded in the metadata.
    """
    song_ids = np.unique(windows.song_ids)
    seed = train_params.seed
    evaluation: Evaluation | None
    if train_params.protocol == "kfold":
        folds = []
        for number, (train_ids, test_ids) in enumerate(
                stratified_kfold(songs.strata(song_ids), train_params.n_folds, seed), start=1):
            log.info("fold %d/%d: %d training songs, %d test songs", number,
                     train_params.n_folds, len(train_ids), len(test_ids))
            _, fold_evaluation, fold_ids = _fit_and_test(
                spec, songs, windows, feature_params, train_ids, test_ids, train_params,
                verbose)
            assert fold_evaluation is not None
            folds.append(fold_evaluation.metrics | {"song_ids": fold_ids})
        metrics: dict[str, Any] = _mean_std(folds) | {"folds": folds}
        result, evaluation, ids = _fit_and_test(spec, songs, windows, feature_params, song_ids,
                                                np.zeros(0, np.int64), train_params, verbose)
    else:
        if train_params.protocol == "cross-corpus":
            train_ids, test_ids = song_ids, np.unique(np.asarray(list(test_keys), np.int64))
            if not len(test_ids):
                raise ConfigError("the cross-corpus protocol needs test songs (--test-corpus)")
        elif train_params.protocol == "mediaeval":
            train_ids, test_ids = mediaeval_split(song_ids)
        else:
            train_ids, test_ids = stratified_split(songs.strata(song_ids),
                                                   train_params.test_fraction, seed)
        result, evaluation, ids = _fit_and_test(spec, songs, windows, feature_params, train_ids,
                                                test_ids, train_params, verbose)
        assert evaluation is not None
        metrics = dict(evaluation.metrics)
    metrics = {"target": spec.name, "protocol": train_params.protocol, **metrics,
               "epochs_run": len(result.history.get("loss", [])),
               "training_seconds": round(result.seconds, 1),
               "band_calibration_seconds": round(result.band_seconds, 2)}
    meta = ModelMeta(
        target=spec.name, name=name, input_shape=tuple(windows.inputs.shape[1:]),
        feature_params=feature_params, train_params=train_params, scaler=result.scaler,
        augmentation=spec.augmentation if result.augmented else None, song_ids=ids,
        history=result.history, metrics=metrics, summary=model_summary(result.model),
        created_unix=int(time.time()), data=dict(data or {}), band=result.band)
    files = save_model(result.model, meta, models_dir, model_card(meta, describe(meta.data)))
    log.info("%s", meta.summary)
    log.info("saved %s, %s and %s", files.architecture, files.weights, files.meta)
    return TrainingOutcome(meta, files, evaluation)
