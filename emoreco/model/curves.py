"""Predicted emotion curves of one song and the valence-arousal quadrants (pure)."""

from __future__ import annotations

import importlib.util
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emoreco.core.errors import EmorecoError

QUADRANTS = {  # (valence >= 0, arousal >= 0) -> label, as on the valence-arousal diagram
    (True, True): "happy / excited",
    (False, True): "angry / tense",
    (False, False): "sad / depressed",
    (True, False): "calm / relaxed",
}


BAND_SIDES = ("low", "high")  # a band's bounds, in the outputs' column order


def band_columns(target: str) -> tuple[str, str]:
    """The output columns of ``target``'s band: ``("arousal_low", "arousal_high")``."""
    return (f"{target}_{BAND_SIDES[0]}", f"{target}_{BAND_SIDES[1]}")


def target_columns(targets: Iterable[str], banded: Collection[str]) -> list[str]:
    """Each target's columns in turn: the target, then its band's bounds when ``banded``
    holds it (``["arousal", "arousal_low", "arousal_high", "valence"]``)."""
    return [key for target in targets
            for key in (target, *(band_columns(target) if target in banded else ()))]


ENDS_S = 15.0  # the span of a song's start and end values (its first and last 15 s)


def span_mean(values: np.ndarray, times_s: np.ndarray, first_s: float, last_s: float) -> float:
    """Mean of the values at ``first_s <= t <= last_s`` (NaN ignored; NaN if none)."""
    inside = values[(times_s >= first_s) & (times_s <= last_s) & ~np.isnan(values)]
    return float(inside.mean()) if inside.size else float("nan")


def quadrant(valence: float, arousal: float) -> str:
    """Emotion label of a point of the valence-arousal plane."""
    return QUADRANTS[(valence >= 0, arousal >= 0)]


@dataclass(frozen=True)
class EmotionCurve:
    """Predicted curves of one song on one time axis.

    Attributes
    ----------
    song : str
        Name of the song in the outputs.
    times_s : np.ndarray, shape (n,)
        Output times (see :mod:`emoreco.model.windows` for what each refers to).
    values : mapping of str to np.ndarray, each shape (n,)
        One curve per target (``"arousal"``, ``"valence"``, ...), in [-1, 1]; NaN at
        times where the target's input is incomplete (valence's first 2.5 s).
    bands : mapping of str to (np.ndarray, np.ndarray), each shape (n,)
        Per target whose model has a calibrated band (:mod:`emoreco.model.bands`): the
        ``(low, high)`` bounds around each value, NaN where the value is.
    """

    song: str
    times_s: np.ndarray
    values: Mapping[str, np.ndarray]
    bands: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def column(self, key: str) -> np.ndarray:
        """A per-time column by its output name: a target (``"arousal"``) or a side of
        its band (``"arousal_low"``, ``"arousal_high"``); NaN where the curve has no
        band for that target, shape (n,)."""
        if key in self.values:
            return self.values[key]
        target, _, side = key.rpartition("_")
        if target in self.bands and side in BAND_SIDES:
            return self.bands[target][BAND_SIDES.index(side)]
        if target in self.values:
            return np.full(len(self.times_s), np.nan, np.float32)
        raise KeyError(key)

    @property
    def arousal(self) -> np.ndarray:
        """The arousal curve, shape (n,)."""
        return self.values["arousal"]

    @property
    def valence(self) -> np.ndarray:
        """The valence curve, shape (n,)."""
        return self.values["valence"]

    def to_frame(self) -> Any:
        """The curves as a pandas DataFrame: columns ``song``, ``time_s`` and
        one per target and side of its band present in the curve, one row per time
        step (NaN where a target has no value)."""
        return curves_frame([self])

    def summary(self) -> dict[str, Any]:
        """Time span; per curve its mean, std, start and end values (the means of its
        first and last :data:`ENDS_S` seconds of values: how the song begins and ends)
        and ``<target>_band``, its band's mean half-width (NaN without a band);
        ``valence_01`` and ``energy_01``, the valence and arousal means on [0, 1]; and the
        quadrant of the mean point."""
        record: dict[str, Any] = {"song": self.song, "n_steps": int(len(self.times_s)),
                                  "start_s": float(self.times_s[0]),
                                  "end_s": float(self.times_s[-1])}
        for target, curve in self.values.items():
            record[f"{target}_mean"] = float(np.nanmean(curve))
            record[f"{target}_std"] = float(np.nanstd(curve))
            valid = self.times_s[~np.isnan(curve)]
            first, last = (valid[0], valid[-1]) if valid.size else (0.0, 0.0)
            record[f"{target}_start"] = span_mean(curve, self.times_s, first, first + ENDS_S)
            record[f"{target}_end"] = span_mean(curve, self.times_s, last - ENDS_S, last)
            if target in self.bands:  # the band's mean half-width: "0.31 ± 0.18"
                low, high = self.bands[target]
                half = (np.asarray(high, np.float64) - low) / 2.0
                record[f"{target}_band"] = (float(np.nanmean(half)) if np.isfinite(half).any()
                                            else float("nan"))
            else:
                record[f"{target}_band"] = float("nan")
        if "arousal" in self.values and "valence" in self.values:
            # per-track numbers in the shape of the Spotify API's audio features (closed in
            # November 2024): the means mapped from [-1, 1] onto [0, 1]; arousal stands for
            # energy. Perceived emotion as DEAM's annotators rated it, not Spotify's models.
            record["valence_01"] = (record["valence_mean"] + 1.0) / 2.0
            record["energy_01"] = (record["arousal_mean"] + 1.0) / 2.0
            record["quadrant"] = quadrant(record["valence_mean"], record["arousal_mean"])
        return record


def curves_frame(curves: Iterable[EmotionCurve]) -> Any:
    """The rows of ``TestSongPredicted.csv`` for ``curves`` as a pandas DataFrame (raw
    float32 values, not rounded).

    Raises
    ------
    EmorecoError
        pandas is not installed.
    """
    if importlib.util.find_spec("pandas") is None:
        raise EmorecoError("a DataFrame needs pandas: pip install pandas")
    import pandas as pd

    frames = [pd.DataFrame({"song": curve.song, "time_s": curve.times_s,
                            **{key: curve.column(key) for key in curve.values},
                            **{key: curve.column(key) for target in curve.bands
                               for key in band_columns(target)}})
              for curve in curves]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
