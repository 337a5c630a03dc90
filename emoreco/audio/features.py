"""Pure array functions: song-level features, framing into windows, target alignment.

The feature front end is numpy only (filterbanks in :mod:`emoreco.audio.filterbanks`).

Time conventions: frame ``k`` belongs to time ``k * hop_length / sample_rate`` seconds from
the start of the file. MFCC frames are centred on it (``center=True``, as librosa);
chroma frames end at it (:func:`chroma_span`: the 171 ms of audio before the time), so a
500-ms chroma segment needs no audio after its own end, and a live stream can give
valence as soon as the segment has been heard. A window ``[start, start + length)``
holds the frames whose times fall inside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from emoreco.core.config import FeatureParams
from emoreco.core.errors import ConfigError
from emoreco.audio.filterbanks import centred_hann, chroma_filterbank, mel_filterbank

N_CHROMA = 12
STFT_BLOCK_FRAMES = 4096  # frames transformed at once: about 100 MB with n_fft 2048


@dataclass(frozen=True)
class SongFeatures:
    """Song-level frame features on one shared time axis.

    Attributes
    ----------
    mfcc : np.ndarray, shape (n_mfcc, n_frames), float32
    chroma : np.ndarray, shape (12, n_frames), float32
    frame_times_s : np.ndarray, shape (n_frames,)
        Time of each frame, seconds from the start of the audio.
    duration_s : float
        Time of the last frame, ``(n_frames - 1) * hop_length / sample_rate``: the
        audio length rounded down to the frame grid, identical whether the features were
        just computed or read back from the cache.
    """

    mfcc: np.ndarray
    chroma: np.ndarray
    frame_times_s: np.ndarray
    duration_s: float


def frame_times(n_frames: int, params: FeatureParams) -> np.ndarray:
    """Times in seconds of ``n_frames`` STFT frames, shape (n_frames,)."""
    return np.arange(n_frames) * params.frame_period_s


@dataclass(frozen=True)
class FrameSpan:
    """The samples an STFT frame reads around its time (sample ``k * hop_length``):
    ``[k * hop_length - before, k * hop_length + after)``, zero outside the audio; of
    those after the time only the first ``needed`` have a nonzero window weight, so the
    frame is final once they have arrived. ``before + after == n_fft``."""

    before: int
    after: int
    needed: int


def mfcc_span(params: FeatureParams) -> FrameSpan:
    """Centred MFCC frames: ``n_fft // 2`` samples on either side, the Hann window of
    ``win_length`` in the middle (128 samples after the time with the defaults)."""
    half = params.n_fft // 2
    window_end = (params.n_fft - params.win_length) // 2 + params.win_length  # centred_hann
    return FrameSpan(before=params.n_fft - half, after=half, needed=window_end - half)


def chroma_span(params: FeatureParams) -> FrameSpan:
    """Trailing chroma frames: the ``chroma_n_fft`` samples that end at the frame's time."""
    return FrameSpan(before=params.chroma_n_fft, after=0, needed=0)


def frame_power(padded: np.ndarray, n_fft: int, win_length: int, hop_length: int,
                n_frames: int) -> np.ndarray:
    """Power spectra of ``n_frames`` frames of ``n_fft`` samples every ``hop_length``, the
    first starting at ``padded[0]`` (periodic Hann of ``win_length`` in the middle of
    each frame).

    Returns
    -------
    np.ndarray, shape (n_frames, 1 + n_fft // 2), float32, C-contiguous
    """
    from scipy import fft  # its float32 transform is 2-3x faster than numpy's here

    window = centred_hann(win_length, n_fft).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]
    spectrum = fft.rfft(frames * window, axis=1)
    return spectrum.real ** 2 + spectrum.imag ** 2


def power_spectrogram_blocks(samples: np.ndarray, n_fft: int, win_length: int,
                             hop_length: int, span: FrameSpan,
                             block_frames: int = STFT_BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Power spectrogram of an STFT (zero padding, periodic Hann), block by block.

    Frame ``k`` reads the samples ``span`` gives around sample ``k * hop_length`` (with
    :func:`mfcc_span`, as ``librosa.stft(center=True, pad_mode="constant")``; with
    :func:`chroma_span`, as that of the audio delayed by ``n_fft // 2`` zeros); only
    ``block_frames`` frames are transformed at a time, so
    memory does not grow with the song beyond its samples. The transform runs in float32
    (relative difference to librosa's float64 transform about 2e-7), one frame's spectrum
    the same whatever else is in its block.

    Yields
    ------
    np.ndarray, shape (n_block_frames, 1 + n_fft // 2), float32, C-contiguous
        Consecutive blocks of frames (rows); ``1 + len(samples) // hop_length`` in all.
    """
    padded = np.pad(np.asarray(samples, dtype=np.float32), (span.before, span.after))
    n_frames = 1 + len(samples) // hop_length
    for first in range(0, n_frames, block_frames):
        count = min(first + block_frames, n_frames) - first
        yield frame_power(padded[first * hop_length:], n_fft, win_length, hop_length, count)


@lru_cache(maxsize=8)
def _sparse_mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> Any:
    """:func:`mel_filterbank` as a SciPy CSR matrix (each FFT bin feeds at most 2 bands)."""
    from scipy import sparse

    return sparse.csr_array(mel_filterbank(sample_rate, n_fft, n_mels))


TOP_DB = 80.0  # dynamic range kept below the loudest mel band heard so far


def causal_db_floor(decibels: np.ndarray, loudest_so_far: float = -np.inf) -> np.ndarray:
    """Raise every value to ``TOP_DB`` below the loudest band of its frame or any frame
    before it (librosa's ``power_to_db(top_db=80)`` takes the song's loudest band
    instead, which a live stream cannot know; the two agree from the loudest frame on).

    Parameters
    ----------
    decibels : np.ndarray, shape (n_bands, n_frames)
    loudest_so_far : float
        The loudest value of the frames before these (streaming).

    Returns
    -------
    np.ndarray, shape (n_bands, n_frames), the dtype of ``decibels``
    """
    if not decibels.shape[1]:
        return decibels
    loudest = np.maximum.accumulate(np.maximum(decibels.max(axis=0), loudest_so_far))
    return np.maximum(decibels, (loudest - TOP_DB).astype(decibels.dtype)[None, :])


def compute_song_features(samples: np.ndarray, params: FeatureParams) -> SongFeatures:
    """Compute MFCCs and chroma of a whole song on one frame grid.

    MFCCs: power STFT (``n_fft``, ``win_length``, ``hop_length``) -> ``n_mels`` Slaney
    mel bands -> dB (floor 80 dB below the loudest band so far: :func:`causal_db_floor`,
    so that a frame depends on no later audio) -> orthonormal DCT-II.
    Chroma: power STFT with ``chroma_n_fft`` on the same hop, each frame ending at its
    time (:func:`chroma_span`) -> 12 pitch classes -> each frame divided by its largest
    class. Both equal librosa 0.11's ``feature.mfcc`` (with that causal floor) and
    ``feature.chroma_stft`` (of the audio delayed by ``chroma_n_fft // 2`` zeros),
    checked in the tests, without importing librosa.

    No step goes through BLAS, whose float32 sums change with its thread count: the mel
    product is a sparse one (SciPy), the chroma product a NumPy ``einsum`` and the DCT
    ``scipy.fft.dct``, each with a summation order of its own. So a song's features are
    bit-identical whichever process, thread count or engine computes them (on one kind of
    CPU; another instruction set may round differently).

    Parameters
    ----------
    samples : np.ndarray, shape (n_samples,)
        Mono audio at ``params.sample_rate``.
    params : FeatureParams

    Returns
    -------
    SongFeatures
        ``n_frames = 1 + n_samples // hop_length`` for both matrices.
    """
    samples = np.asarray(samples, dtype=np.float32)
    decibels = np.concatenate([mel_decibels(block, params) for block in power_spectrogram_blocks(
        samples, params.n_fft, params.win_length, params.hop_length, mfcc_span(params))],
        axis=1)
    mfcc = decibels_to_mfcc(causal_db_floor(decibels), params)
    chroma = np.concatenate([chroma_frames(block, params) for block in power_spectrogram_blocks(
        samples, params.chroma_n_fft, params.chroma_n_fft, params.hop_length,
        chroma_span(params))], axis=1)
    n_frames = mfcc.shape[1]
    return SongFeatures(mfcc=mfcc, chroma=chroma, frame_times_s=frame_times(n_frames, params),
                        duration_s=(n_frames - 1) * params.frame_period_s)


def mel_decibels(power: np.ndarray, params: FeatureParams) -> np.ndarray:
    """Mel band levels in dB (floor 1e-10) of power spectra (n_frames, 1 + n_fft // 2),
    shape (n_mels, n_frames), float32; each frame on its own."""
    weights = _sparse_mel_filterbank(params.sample_rate, params.n_fft, params.n_mels)
    mel = weights @ np.ascontiguousarray(power.T)
    return 10.0 * np.log10(np.maximum(mel, 1e-10))


def decibels_to_mfcc(decibels: np.ndarray, params: FeatureParams) -> np.ndarray:
    """MFCCs (orthonormal DCT-II of each frame), shape (n_mfcc, n_frames), float32."""
    from scipy import fft

    return np.ascontiguousarray(fft.dct(decibels, type=2, norm="ortho", axis=0)[: params.n_mfcc],
                                dtype=np.float32)


def chroma_frames(power: np.ndarray, params: FeatureParams) -> np.ndarray:
    """Chroma of power spectra (n_frames, 1 + chroma_n_fft // 2), each frame divided by its
    largest class, shape (12, n_frames), float32."""
    weights = chroma_filterbank(params.sample_rate, params.chroma_n_fft, params.chroma_tuning)
    chroma = np.einsum("tb,cb->ct", power, weights, optimize=False)
    peak = chroma.max(axis=0, keepdims=True)
    return (chroma / np.where(peak < np.finfo(np.float32).tiny, 1.0, peak)).astype(np.float32)


def window_grid(first_start_s: float, last_end_s: float, hop_s: float,
                window_s: float) -> np.ndarray:
    """Start times of windows ``[s, s + window_s)`` every ``hop_s`` that end by ``last_end_s``.

    Returns
    -------
    np.ndarray, shape (n_windows,)
        ``first_start_s + k * hop_s``; empty when not even one window fits.
    """
    span = last_end_s - first_start_s - window_s
    if span < -1e-9:
        return np.zeros(0)
    count = int(np.floor(span / hop_s + 1e-9)) + 1
    return first_start_s + hop_s * np.arange(count)


def grid_indices(times_s: np.ndarray, period_s: float, message: str) -> np.ndarray:
    """Indices ``k`` with ``times_s == k * period_s``, shape of ``times_s``, int64.

    Raises
    ------
    ConfigError
        With ``message``, if a time is not on the grid (tolerance 1e-6 periods).
    """
    position = np.asarray(times_s, dtype=np.float64) / period_s
    index = np.round(position).astype(np.int64)
    if not np.allclose(position, index, atol=1e-6):
        raise ConfigError(message)
    return index


def window_first_frames(starts_s: np.ndarray, params: FeatureParams) -> np.ndarray:
    """Index of the first frame of each window (the frame whose centre is at the start).

    Raises
    ------
    ConfigError
        If a start time does not fall on a frame centre.
    """
    return grid_indices(starts_s, params.frame_period_s,
                        "window start times must be multiples of hop_length / sample_rate")


def frame_windows(matrix: np.ndarray, starts_s: np.ndarray, frames_per_window: int,
                  params: FeatureParams) -> np.ndarray:
    """Cut windows out of a song-level frame matrix without recomputing anything.

    Parameters
    ----------
    matrix : np.ndarray, shape (n_rows, n_frames)
    starts_s : np.ndarray, shape (n_windows,)
        Window start times, on the frame grid.
    frames_per_window : int

    Returns
    -------
    np.ndarray, shape (n_windows, n_rows, frames_per_window)
        A copy (contiguous, safe to keep after ``matrix`` is freed).

    Raises
    ------
    ValueError
        If a window runs outside the matrix (a caller's bug: times come from
        :func:`emoreco.model.windows.output_times`).
    """
    first = window_first_frames(starts_s, params)
    if len(first) and (first.min() < 0 or first.max() + frames_per_window > matrix.shape[1]):
        raise ValueError(
            f"window beyond the audio: frames {first.min()}..{first.max() + frames_per_window}"
            f" requested from {matrix.shape[1]}")
    views = np.lib.stride_tricks.sliding_window_view(matrix, frames_per_window, axis=1)
    return np.ascontiguousarray(views[:, first, :].transpose(1, 0, 2))


def align_window_targets(annotation_times_s: np.ndarray, annotation_values: np.ndarray,
                         window_starts_s: np.ndarray, window_s: float,
                         annotation_step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Target of each window: the mean of the annotation values inside it.

    A window ``[start, start + window_s)`` holds the annotations whose times ``t``
    satisfy ``start <= t < start + window_s``. It is kept only if it is fully covered,
    i.e. it holds exactly ``window_s / annotation_step_s`` annotations (a window that
    starts before the first annotation or runs past the last one is dropped).

    Parameters
    ----------
    annotation_times_s : np.ndarray, shape (n_annotations,)
        Uniformly spaced, increasing.
    annotation_values : np.ndarray, shape (n_annotations,)
    window_starts_s : np.ndarray, shape (n_windows,)
    window_s, annotation_step_s : float

    Returns
    -------
    targets : np.ndarray, shape (n_kept,)
    keep : np.ndarray of bool, shape (n_windows,)
        Which windows are kept, in order.

    Examples
    --------
    Annotations at 15.0, 15.5, ..., 44.5 s and 1.5 s windows every 0.5 s from 15 s: the
    first window's target is mean(values[0:3]) and the last kept window starts at 43.5 s.
    """
    times = np.asarray(annotation_times_s, dtype=np.float64)
    values = np.asarray(annotation_values, dtype=np.float64)
    starts = np.asarray(window_starts_s, dtype=np.float64)
    per_window = window_s / annotation_step_s
    if not np.isclose(per_window, round(per_window)):
        raise ConfigError(f"window_s={window_s} is not a whole number of annotation steps "
                          f"({annotation_step_s} s)")
    per_window_count = int(round(per_window))
    tolerance = 1e-6  # seconds; annotation times come from integer milliseconds
    first = np.searchsorted(times, starts - tolerance, side="left")
    stop = np.searchsorted(times, starts + window_s - tolerance, side="left")
    keep = (stop - first) == per_window_count
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    sums = cumulative[stop[keep]] - cumulative[first[keep]]
    return sums / per_window_count, keep


def segment_means(matrix: np.ndarray, frames_per_segment: int) -> np.ndarray:
    """Average a frame matrix over consecutive non-overlapping segments from frame 0.

    Parameters
    ----------
    matrix : np.ndarray, shape (n_rows, n_frames)

    Returns
    -------
    np.ndarray, shape (n_frames // frames_per_segment, n_rows)
        Row ``j`` describes ``[j * segment_s, (j + 1) * segment_s)``.
    """
    n_segments = matrix.shape[1] // frames_per_segment
    trimmed = matrix[:, : n_segments * frames_per_segment]
    return trimmed.reshape(matrix.shape[0], n_segments, frames_per_segment).mean(axis=2).T


def segment_sequences(segments: np.ndarray, target_times_s: np.ndarray,
                      params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of ``context_segments`` segments ending with the one starting at each target.

    The sequence for annotation time ``t`` covers
    ``[t - (context - 1) * segment_s, t + segment_s)``: the segment at ``t`` and those
    leading up to it.

    Parameters
    ----------
    segments : np.ndarray, shape (n_segments, n_features)
        Output of :func:`segment_means`.
    target_times_s : np.ndarray, shape (n_targets,)
        On the segment grid.

    Returns
    -------
    sequences : np.ndarray, shape (n_kept, context_segments, n_features), float32
    keep : np.ndarray of bool, shape (n_targets,)
        False where the context would start before 0 s or end after the last segment.
    """
    last = grid_indices(target_times_s, params.segment_s,
                        "target times must be multiples of segment_s")
    context = params.context_segments
    keep = (last - context + 1 >= 0) & (last < len(segments))
    if len(segments) < context:
        return np.zeros((0, context, segments.shape[1]), np.float32), np.zeros_like(keep)
    views = np.lib.stride_tricks.sliding_window_view(segments, context, axis=0)
    sequences = views[last[keep] - context + 1].transpose(0, 2, 1)
    return np.ascontiguousarray(sequences, dtype=np.float32), keep
