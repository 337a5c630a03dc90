"""Regression metrics for dynamic emotion prediction (pure numpy)."""

from __future__ import annotations

import numpy as np


def rmse(truth: np.ndarray, prediction: np.ndarray) -> float:
    """Root mean squared error over all windows."""
    truth, prediction = np.asarray(truth, float), np.asarray(prediction, float)
    return float(np.sqrt(np.mean((truth - prediction) ** 2)))


def ccc(truth: np.ndarray, prediction: np.ndarray) -> float:
    """Lin's concordance correlation coefficient (1 = perfect agreement)."""
    truth, prediction = np.asarray(truth, float), np.asarray(prediction, float)
    covariance = np.mean((truth - truth.mean()) * (prediction - prediction.mean()))
    denominator = truth.var() + prediction.var() + (truth.mean() - prediction.mean()) ** 2
    return float(2 * covariance / denominator) if denominator > 0 else float("nan")


def pearson(truth: np.ndarray, prediction: np.ndarray) -> float:
    """Pearson correlation; NaN when either series is constant."""
    truth, prediction = np.asarray(truth, float), np.asarray(prediction, float)
    if truth.std() == 0 or prediction.std() == 0:
        return float("nan")
    return float(np.corrcoef(truth, prediction)[0, 1])


def evaluate(truth: np.ndarray, prediction: np.ndarray, song_ids: np.ndarray,
             train_mean: float) -> dict[str, float | int]:
    """All reported metrics.

    Parameters
    ----------
    truth, prediction, song_ids : np.ndarray, shape (n,)
    train_mean : float
        Mean training target, the baseline's constant prediction.

    Returns
    -------
    dict
        ``rmse``, ``rmse_per_song_mean``, ``pearson_per_song_mean`` (MediaEval's; songs
        with a constant series are left out), ``ccc``, ``bias`` (mean of prediction minus
        truth: a model that reads a corpus as calmer or sadder than its annotators did),
        ``baseline_rmse``, ``n_test_songs``, ``n_test_windows``.
    """
    songs = np.unique(song_ids)
    per_song_rmse = [rmse(truth[song_ids == s], prediction[song_ids == s]) for s in songs]
    per_song_r = np.array([pearson(truth[song_ids == s], prediction[song_ids == s])
                           for s in songs])
    return {
        "rmse": rmse(truth, prediction),
        "rmse_per_song_mean": float(np.mean(per_song_rmse)),
        "pearson_per_song_mean": (float(np.nanmean(per_song_r))
                                  if np.isfinite(per_song_r).any() else float("nan")),
        "ccc": ccc(truth, prediction),
        "bias": float(np.mean(np.asarray(prediction, float) - np.asarray(truth, float))),
        "baseline_rmse": rmse(truth, np.full_like(truth, train_mean, dtype=float)),
        "n_test_songs": int(len(songs)),
        "n_test_windows": int(len(truth)),
    }
