"""The one scoring path: song features -> model inputs -> standardised model call -> curves.

:func:`song_curve` is what ``MAIN.py`` runs for every song and what training runs on
every test song before computing its metrics, so reported scores describe exactly the
curves users get.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from emoreco.config import FeatureParams
from emoreco.curves import EmotionCurve
from emoreco.features import SongFeatures
from emoreco.scaler import Scaler
from emoreco.targets import TargetSpec
from emoreco.windows import output_times


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
    """

    spec: TargetSpec
    params: FeatureParams
    scaler: Scaler
    call: Callable[[np.ndarray], np.ndarray]
    batch_size: int = 512  # bounds the network's activations for hour-long songs

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """Predictions for inputs (n, rows, columns), shape (n,), clipped to [-1, 1]."""
        outputs = [np.asarray(self.call(self.scaler.apply(inputs[i:i + self.batch_size])),
                              dtype=np.float32).reshape(-1)
                   for i in range(0, len(inputs), self.batch_size)]
        if not outputs:
            return np.zeros(0, np.float32)
        return np.clip(np.concatenate(outputs), -1.0, 1.0)


def song_curve(song: str, features: SongFeatures, models: Mapping[str, ScaledModel],
               start_s: float, end_s: float | None = None) -> EmotionCurve:
    """Curves of every target in ``models`` for one song, on one shared time axis.

    Parameters
    ----------
    song : str
        Name recorded in the curve.
    features : SongFeatures
        Computed with the models' audio feature parameters.
    models : mapping of str to ScaledModel
        Target name -> model; all share ``hop_s``.
    start_s, end_s : float
        Time span wanted; the axis holds the times at which every model has a complete
        input (:func:`emoreco.windows.output_times`).

    Returns
    -------
    EmotionCurve
        Possibly with zero time steps when the song or span is too short.
    """
    params = _common_params(models)
    context = max(m.spec.context_s(m.params) for m in models.values())
    span = max(m.spec.span_s(m.params) for m in models.values())
    times = output_times(features.duration_s, params, context, span, start_s, end_s)
    values = {name: model(model.spec.build_inputs(features, times, model.params))
              for name, model in models.items()}
    return EmotionCurve(song, times, values)


def _common_params(models: Mapping[str, ScaledModel]) -> FeatureParams:
    first = next(iter(models.values())).params
    assert all(m.params.hop_s == first.hop_s for m in models.values()), "models disagree on hop_s"
    return first
