"""What each predicted target is, in one place: a :class:`TargetSpec` per target.

Everything that differs between arousal and valence lives here: how inputs are cut out
of a song's features, their shape, how the scaler standardises them, the architecture,
the training augmentation and the audio span each output refers to. Training, scoring,
prediction, the command line and the benchmarks read these specs; adding a target (say
dominance, or a second valence model) means adding one spec to :data:`TARGETS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from emoreco.core.config import FeatureParams
from emoreco.core.errors import ConfigError
from emoreco.audio.features import N_CHROMA, SongFeatures
from emoreco.model.curves import band_columns
from emoreco.model.architectures import build_arousal_cnn, build_valence_lstm, random_transpose
from emoreco.model.windows import chroma_sequences, mfcc_windows, output_times


@dataclass(frozen=True)
class TargetSpec:
    """One predicted quantity and its model.

    Attributes
    ----------
    name : str
        Target name: annotation file ``<name>.csv``, output column, default model name.
    model_summary : str
        One line for help texts.
    input_shape : callable
        ``params -> (rows, columns)`` of one input.
    build_inputs : callable
        ``(features, times_s, params) -> inputs`` of shape (n_times, rows, columns), for
        times from :meth:`output_times`.
    feature : str
        The :class:`SongFeatures` matrix the inputs read (``mfcc`` or ``chroma``): a live
        stream computes a target as soon as that matrix's frames are final.
    context_s, span_s : callable
        ``params -> seconds``: the input for time ``t`` covers ``[t - context_s,
        t + span_s)``, and its training target is the mean annotation in
        ``[t, t + span_s)``.
    scaler_axes : tuple of int
        Axes of an input batch (n, rows, columns) over which the scaler averages.
    build_model : callable
        ``(input_shape, learning_rate) -> compiled keras.Model``.
    augmentation : str or None
        Name of the training augmentation (recorded with the model), if any.
    augment : callable or None
        ``(tf batch, seed) -> tf batch``, applied to training batches when enabled.
    """

    name: str
    model_summary: str
    input_shape: Callable[[FeatureParams], tuple[int, int]]
    build_inputs: Callable[[SongFeatures, np.ndarray, FeatureParams], np.ndarray]
    feature: str
    context_s: Callable[[FeatureParams], float]
    span_s: Callable[[FeatureParams], float]
    scaler_axes: tuple[int, ...]
    build_model: Callable[[tuple[int, int], float], Any]
    augmentation: str | None = None
    augment: Callable[[Any, int], Any] | None = None

    def output_times(self, duration_s: float, params: FeatureParams, start_s: float,
                     end_s: float | None = None) -> np.ndarray:
        """Times with a complete input in a song of ``duration_s``, shape (n,)."""
        return output_times(duration_s, params, self.context_s(params), self.span_s(params),
                            start_s, end_s)


AROUSAL = TargetSpec(
    name="arousal",
    model_summary="CNN over MFCC windows",
    input_shape=lambda p: (p.n_mfcc, p.frames_per_window),
    build_inputs=mfcc_windows,
    feature="mfcc",
    context_s=lambda p: 0.0,
    span_s=lambda p: p.window_s,
    scaler_axes=(0, 2),  # one mean and std per MFCC coefficient
    build_model=build_arousal_cnn,
)

VALENCE = TargetSpec(
    name="valence",
    model_summary="LSTM over chroma sequences",
    input_shape=lambda p: (p.context_segments, N_CHROMA),
    build_inputs=chroma_sequences,
    feature="chroma",
    context_s=lambda p: p.context_s,
    span_s=lambda p: p.segment_s,
    scaler_axes=(0, 1, 2),  # one value, so transposed chroma keeps its statistics
    build_model=build_valence_lstm,
    augmentation="random transposition of whole chroma sequences",
    augment=random_transpose,
)

TARGETS: dict[str, TargetSpec] = {spec.name: spec for spec in (AROUSAL, VALENCE)}
BAND_COLUMNS = tuple(key for target in TARGETS for key in band_columns(target))
VALUE_COLUMNS = (*TARGETS, *BAND_COLUMNS)  # every per-time column after song and time_s


def get_target(name: str) -> TargetSpec:
    """The spec of target ``name``."""
    try:
        return TARGETS[name]
    except KeyError:
        raise ConfigError(f"unknown target {name!r}; known: {', '.join(TARGETS)}") from None
