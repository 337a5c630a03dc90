"""Pure array functions: song-level features, framing into windows, target alignment.

Time conventions: STFT frames are centred (``center=True``), so frame ``k`` describes the
audio around ``k * hop_length / sample_rate`` seconds from the start of the file. A window
``[start, start + length)`` holds the frames whose centres fall inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emoreco.config import FeatureParams
from emoreco.errors import ConfigError

N_CHROMA = 12


@dataclass(frozen=True)
class SongFeatures:
    """Song-level frame features on one shared time axis.

    Attributes
    ----------
    mfcc : np.ndarray, shape (n_mfcc, n_frames), float32
    chroma : np.ndarray, shape (12, n_frames), float32
    frame_times_s : np.ndarray, shape (n_frames,)
        Centre time of each frame, seconds from the start of the audio.
    duration_s : float
        Time of the last frame centre, ``(n_frames - 1) * hop_length / sample_rate``: the
        audio length rounded down to the frame grid, identical whether the features were
        just computed or read back from the cache.
    """

    mfcc: np.ndarray
    chroma: np.ndarray
    frame_times_s: np.ndarray
    duration_s: float


def frame_times(n_frames: int, params: FeatureParams) -> np.ndarray:
    """Centre times in seconds of ``n_frames`` STFT frames, shape (n_frames,)."""
    return np.arange(n_frames) * params.frame_period_s


def compute_song_features(samples: np.ndarray, params: FeatureParams) -> SongFeatures:
    """Compute MFCCs and chroma of a whole song, each from one spectrogram.

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
    import librosa

    sr = params.sample_rate
    power = np.abs(librosa.stft(samples, n_fft=params.n_fft, hop_length=params.hop_length,
                                win_length=params.win_length, center=True)) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_fft=params.n_fft,
                                         n_mels=params.n_mels)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=params.n_mfcc)
    chroma = librosa.feature.chroma_stft(y=samples, sr=sr, n_fft=params.chroma_n_fft,
                                         hop_length=params.hop_length, center=True,
                                         tuning=params.chroma_tuning)
    n_frames = min(mfcc.shape[1], chroma.shape[1])
    return SongFeatures(
        mfcc=mfcc[:, :n_frames].astype(np.float32),
        chroma=chroma[:, :n_frames].astype(np.float32),
        frame_times_s=frame_times(n_frames, params),
        duration_s=(n_frames - 1) * params.frame_period_s,
    )


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
        :func:`emoreco.windows.output_times`).
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
