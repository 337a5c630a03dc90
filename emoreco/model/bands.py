"""A calibrated band around every predicted value: locally weighted split conformal (pure).

Each target's model comes with a :class:`Band`: for a predicted value ``y`` the interval
``y ± quantile * scale(y)``, where ``scale(y)`` is the root mean squared error of the
validation values predicted near ``y`` (on one half of the validation songs; at
:data:`KNOTS`, interpolated between them), and ``quantile`` is the conformal quantile
(Lei et al. 2018, locally weighted) of ``|truth - y| / scale(y)`` on the other half. On songs exchangeable with the validation songs, the interval holds
the mean annotation with probability ``level`` (at least, up to the dependence of values
within one song: the halves are split by song, the quantile is over values).

Why this method: the network stays the seed's (curves and ONNX exports unchanged), the
band costs a polynomial per value at prediction (an ensemble of K networks costs K
times the prediction), it needs only the value itself, so the live stream has it frame by
frame, and the scale follows where the errors are: networks trained on DEAM shrink
towards the mean, so the errors differ between values near it and far from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from emoreco.core.errors import ModelError

KNOTS = np.linspace(-1.0, 1.0, 9)  # predicted values at which the scale is estimated
KERNEL_WIDTH = 0.25  # values within this distance of a knot count towards it (triangle)
PRIOR_VALUES = 20.0  # a knot with few values near it leans on the overall RMS error
MIN_SCALE, MAX_SCALE = 1e-4, 4.0
MAX_QUANTILE = 1e3


@dataclass(frozen=True)
class Band:
    """A calibrated central interval around predicted values.

    Attributes
    ----------
    level : float
        Share of true values the interval promises to hold (0.8: an 80 % band).
    scales : tuple of float
        The scale at each of :data:`KNOTS` (linear in between).
    quantile : float
        Conformal quantile of ``|truth - y| / scale(y)`` on the calibration songs.
    n_songs, n_values : int
        Calibration songs and values behind ``quantile``.
    """

    level: float
    scales: tuple[float, ...]
    quantile: float
    n_songs: int
    n_values: int

    def half_width(self, predicted: np.ndarray) -> np.ndarray:
        """Half the interval's width at each predicted value, shape of ``predicted``."""
        y = np.asarray(predicted, dtype=np.float64)
        return self.quantile * np.interp(y, KNOTS, self.scales)

    def interval(self, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)``, float32 arrays shaped like ``predicted``, clipped to [-1, 1];
        NaN where the value is NaN."""
        y = np.asarray(predicted, dtype=np.float64)
        half = self.half_width(y)
        low = np.clip(y - half, -1.0, 1.0).astype(np.float32)
        high = np.clip(y + half, -1.0, 1.0).astype(np.float32)
        return low, high

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (inside the model's metadata)."""
        return {"method": "locally weighted split conformal", "level": self.level,
                "scales": list(self.scales), "quantile": self.quantile,
                "n_songs": self.n_songs, "n_values": self.n_values}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> "Band":
        """Parse and check a record from a model's metadata (untrusted).

        Raises
        ------
        ModelError
            Missing fields, wrong types, or values outside their bounds.
        """
        try:
            raw = record["scales"]
            if not isinstance(raw, list) or len(raw) != len(KNOTS):
                raise ValueError(f"'scales' is not a list of {len(KNOTS)} numbers")
            band = cls(level=float(record["level"]), scales=tuple(float(v) for v in raw),
                       quantile=float(record["quantile"]), n_songs=int(record["n_songs"]),
                       n_values=int(record["n_values"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"malformed band record ({exc!r})") from exc
        if (not all(MIN_SCALE <= v <= MAX_SCALE for v in band.scales)
                or not 0.5 <= band.level <= 0.99
                or not 0.0 < band.quantile <= MAX_QUANTILE
                or band.n_songs < 1 or band.n_values < 1):
            raise ModelError(f"band record out of bounds (level in [0.5, 0.99], quantile in "
                             f"(0, {MAX_QUANTILE:g}], scales in [{MIN_SCALE:g}, {MAX_SCALE:g}])")
        return band


def fit_scales(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, ...]:
    """The root mean squared error of the values predicted near each of :data:`KNOTS`.

    Each value weighs ``max(0, 1 - |y - knot| / KERNEL_WIDTH)`` at a knot, and every knot
    also holds :data:`PRIOR_VALUES` values at the overall mean squared error, so a knot
    that few predictions reach gets about the overall RMS error.

    Parameters
    ----------
    predicted, truth : np.ndarray, shape (n,)

    Returns
    -------
    tuple of float
        One scale per knot, in [:data:`MIN_SCALE`, :data:`MAX_SCALE`]; only their
        ratios matter, the conformal quantile sets the band's size.
    """
    y = np.asarray(predicted, dtype=np.float64)
    squared = (np.asarray(truth, dtype=np.float64) - y) ** 2
    overall = float(squared.mean())
    weights = np.clip(1.0 - np.abs(y[None, :] - KNOTS[:, None]) / KERNEL_WIDTH, 0.0, None)
    mean_squared = ((weights @ squared + PRIOR_VALUES * overall)
                    / (weights.sum(axis=1) + PRIOR_VALUES))
    return tuple(float(v) for v in np.clip(np.sqrt(mean_squared), MIN_SCALE, MAX_SCALE))


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ``ceil((n + 1) level)``-th smallest of ``n`` scores: split conformal's
    finite-sample quantile (the largest score when ``n`` is too small for ``level``)."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    rank = min(math.ceil((len(ordered) + 1) * level), len(ordered))
    return float(ordered[rank - 1])


def calibrate_band(predicted: np.ndarray, truth: np.ndarray, song_ids: np.ndarray,
                   level: float, seed: int, adaptive: bool = True) -> Band:
    """Fit the scale on half of the songs and the conformal quantile on the other half.

    Parameters
    ----------
    predicted, truth, song_ids : np.ndarray, shape (n,)
        Values of the validation songs, scored as :func:`~emoreco.model.scoring.song_curve`
        scores them.
    level : float
        The band's promised coverage.
    seed : int
        Which songs fall in which half.
    adaptive : bool
        False gives one width for every value (the reference the benchmark measures).
        With fewer than 4 songs both halves are all songs (the promise is then weaker).

    Raises
    ------
    ModelError
        No values to calibrate on.
    """
    predicted, truth = np.asarray(predicted, np.float64), np.asarray(truth, np.float64)
    keep = np.isfinite(predicted) & np.isfinite(truth)
    predicted, truth, song_ids = predicted[keep], truth[keep], np.asarray(song_ids)[keep]
    songs = np.unique(song_ids)
    if not len(songs):
        raise ModelError("no validation values to calibrate the band on")
    shuffled = np.random.default_rng(seed).permutation(songs)
    if len(songs) >= 4:
        scale_songs, quantile_songs = shuffled[:len(songs) // 2], shuffled[len(songs) // 2:]
    else:
        scale_songs = quantile_songs = shuffled
    on_scale = np.isin(song_ids, scale_songs)
    scales = (fit_scales(predicted[on_scale], truth[on_scale]) if adaptive
              else (1.0,) * len(KNOTS))
    on_quantile = np.isin(song_ids, quantile_songs)
    unit = Band(level, scales, 1.0, 1, 1)
    scores = (np.abs(truth[on_quantile] - predicted[on_quantile])
              / unit.half_width(predicted[on_quantile]))
    quantile = min(max(conformal_quantile(scores, level), 1e-6), MAX_QUANTILE)
    return Band(level, scales, quantile, int(len(quantile_songs)),
                int(on_quantile.sum()))


def band_metrics(low: np.ndarray, high: np.ndarray, truth: np.ndarray, predicted: np.ndarray,
                 level: float, rater_std: np.ndarray | None = None) -> dict[str, float]:
    """How a band did on scored values.

    Parameters
    ----------
    low, high, truth, predicted : np.ndarray, shape (n,)
    level : float
        The band's promised coverage.
    rater_std : np.ndarray, shape (n,), optional
        The annotators' standard deviation at each value (NaN where unknown).

    Returns
    -------
    dict
        ``band_level``; ``band_coverage`` (share of true values inside), ``band_width``
        (mean width); ``band_coverage_worst_third``: the lowest coverage among the thirds
        of the values ordered by predicted value (a band that is right on average but
        wrong at the extremes shows here). With ``rater_std``: ``rater_std`` (its mean)
        and ``band_narrower_than_raters``, the share of values whose band is narrower
        than the raters' own central interval at the same level (normal approximation).
    """
    inside = (truth >= low) & (truth <= high)
    thirds = np.array_split(np.argsort(predicted, kind="stable"), 3)
    metrics = {"band_level": float(level), "band_coverage": float(inside.mean()),
               "band_width": float((high - low).mean()),
               "band_coverage_worst_third": float(min(inside[third].mean()
                                                      for third in thirds if len(third)))}
    if rater_std is not None and np.isfinite(rater_std).any():
        known = np.isfinite(rater_std)
        z = NormalDist().inv_cdf((1.0 + level) / 2.0)
        metrics["rater_std"] = float(rater_std[known].mean())
        metrics["band_narrower_than_raters"] = float(
            ((high - low)[known] / 2.0 < z * rater_std[known]).mean())
    return metrics
