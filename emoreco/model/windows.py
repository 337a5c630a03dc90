"""Pure functions that cut model inputs out of song-level features.

Every output of a model refers to a time ``t`` on the grid ``k * hop_s``. The input for
``t`` covers ``[t - context_s, t + span_s)``: arousal reads the MFCC window
``[t, t + window_s)`` (no context), valence the chroma segment ``[t, t + segment_s)``
and the ``context_segments - 1`` segments before it. :func:`output_times` gives the
times whose inputs lie inside a song; the builders below turn times into arrays.
"""

from __future__ import annotations

import numpy as np

from emoreco.core.config import FeatureParams
from emoreco.audio.features import (SongFeatures, frame_windows, segment_means, segment_sequences,
                              window_grid)


def output_times(duration_s: float, params: FeatureParams, context_s: float, span_s: float,
                 start_s: float, end_s: float | None = None) -> np.ndarray:
    """Times ``t`` on the ``hop_s`` grid whose input ``[t - context_s, t + span_s)`` fits.

    Parameters
    ----------
    duration_s : float
        Song length on the frame grid (:attr:`SongFeatures.duration_s`).
    context_s, span_s : float
        Audio needed before and from ``t``.
    start_s : float
        Earliest time wanted; times before ``context_s`` are never returned.
    end_s : float, optional
        Inputs must end by this time too (default: the end of the song).

    Returns
    -------
    np.ndarray, shape (n_times,)
        Increasing; empty when no input fits.
    """
    hop = params.hop_s
    first = float(np.ceil(max(start_s, context_s) / hop - 1e-9)) * hop
    last_end = duration_s if end_s is None else min(end_s, duration_s)
    return window_grid(first, last_end, hop, span_s)


def mfcc_windows(features: SongFeatures, times_s: np.ndarray,
                 params: FeatureParams) -> np.ndarray:
    """MFCC windows ``[t, t + window_s)``.

    Returns
    -------
    np.ndarray, shape (n_times, n_mfcc, frames_per_window), float32
    """
    return frame_windows(features.mfcc, times_s, params.frames_per_window, params)


def chroma_sequences(features: SongFeatures, times_s: np.ndarray,
                     params: FeatureParams) -> np.ndarray:
    """Chroma sequences of ``context_segments`` segments ending with ``[t, t + segment_s)``.

    Returns
    -------
    np.ndarray, shape (n_times, context_segments, 12), float32

    Raises
    ------
    AssertionError
        If a time lacks context or runs past the song: callers pass
        :func:`output_times`, which never does.
    """
    segments = segment_means(features.chroma, params.frames_per_segment)
    sequences, keep = segment_sequences(segments, times_s, params)
    assert keep.all(), "chroma_sequences called with times outside the song"
    return sequences
