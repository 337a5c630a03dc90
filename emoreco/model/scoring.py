"""The one scoring path: song features -> model inputs -> standardised model call -> curves.

:func:`song_curve` is what ``MAIN.py`` runs for every song and what training runs on
every test song before computing its metrics, so reported scores describe exactly the
curves users get.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from emoreco.core.config import FeatureParams
from emoreco.model.bands import Band
from emoreco.model.curves import EmotionCurve
from emoreco.audio.features import SongFeatures
from emoreco.model.scaler import Scaler
from emoreco.model.targets import TargetSpec


@dataclass(frozen=True)
class ScaledModel:
    """A trained model of one target, as scoring calls it.

    Attributes
    ----------
    spec : TargetSpec
    params : FeatureParams
        The parameters it was trained with.
    scaler : Scaler
        Fitted on its training songs.
    call : callable
        Raw model on standardised inputs: (n, rows, columns) -> (n,). Keras during
        training, the saved model when predicting.
    band : Band or None
        The calibrated band around its values (None: no band, as while it is calibrated).
    """

    spec: TargetSpec
    params: FeatureParams
    scaler: Scaler
    call: Callable[[np.ndarray], np.ndarray]
    batch_size: int = 512  # bounds the network's activations for hour-long songs
    band: Band | None = None

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """Predictions for inputs (n, rows, columns), shape (n,), clipped to [-1, 1]."""
        outputs = [np.asarray(self.call(self.scaler.apply(inputs[i:i + self.batch_size])),
                              dtype=np.float32).reshape(-1)
                   for i in range(0, len(inputs), self.batch_size)]
        if not outputs:
            return np.zeros(0, np.float32)
        return np.clip(np.concatenate(outputs), -1.0, 1.0)


def song_curve(song: str, features: SongFeatures, models: Mapping[str, ScaledModel],
               start_s: float = 0.0, end_s: float | None = None) -> EmotionCurve:
    """Curves of every target in ``models`` for one song, on one time axis.

    Parameters
    ----------
    song : str
        Name recorded in the curve.
    features : SongFeatures
        Computed with the models' audio feature parameters.
    models : mapping of str to ScaledModel
        Target name -> model; all share ``hop_s``.
    start_s, end_s : float
        Time span wanted (default: the whole song). Each target has values at the times
        where its input is complete (:meth:`TargetSpec.output_times`): arousal from the
        first full window, valence from the first full context.

    Returns
    -------
    EmotionCurve
        Times from the earliest to the latest value of any target; a target's curve is
        NaN where its input is incomplete. Zero time steps when the song or span is too
        short for every target. The band of every model that has one is in ``bands``.
    """
    params = common_params(models)
    per_target = {name: m.spec.output_times(features.duration_s, m.params, start_s, end_s)
                  for name, m in models.items()}
    nonempty = [times for times in per_target.values() if len(times)]
    if not nonempty:
        empty = np.zeros(0, np.float32)
        return EmotionCurve(song, np.zeros(0), {name: empty for name in models},
                            {name: (empty, empty) for name, m in models.items() if m.band})
    first = min(times[0] for times in nonempty)
    last = max(times[-1] for times in nonempty)
    axis = first + params.hop_s * np.arange(int(round((last - first) / params.hop_s)) + 1)
    values = {}
    for name, model in models.items():
        times = per_target[name]
        curve = np.full(len(axis), np.nan, np.float32)
        index = np.round((times - first) / params.hop_s).astype(np.int64)
        curve[index] = model(model.spec.build_inputs(features, times, model.params))
        values[name] = curve
    bands = {name: model.band.interval(values[name]) for name, model in models.items()
             if model.band is not None}
    return EmotionCurve(song, axis, values, bands)


def common_params(models: Mapping[str, ScaledModel]) -> FeatureParams:
    """The feature parameters of the first model (all share one output time step)."""
    first = next(iter(models.values())).params
    assert all(m.params.hop_s == first.hop_s for m in models.values()), "models disagree on hop_s"
    return first
