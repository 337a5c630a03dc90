"""Filterbanks and windows of the feature front end, in plain numpy (pure functions).

They reproduce librosa 0.11's ``filters.mel`` (Slaney scale and area normalisation),
``filters.chroma`` (Ellis' Gaussian chroma bins, base C) and the periodic Hann window of
``scipy.signal.get_window`` — checked against librosa and scipy in
``tests/test_filterbanks.py``. They are written out here so that prediction does not
import librosa (about 1.9 s per process, more than decoding and predicting a song).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_F_SP = 200.0 / 3  # Slaney mel scale: linear below 1 kHz ...
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0  # ... logarithmic above


def hz_to_mel(frequencies: np.ndarray) -> np.ndarray:
    """Slaney mel value of each frequency in Hz, same shape."""
    f = np.asarray(frequencies, dtype=np.float64)
    log_part = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log_part, f / _F_SP)


def mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`, same shape."""
    m = np.asarray(mels, dtype=np.float64)
    log_part = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log_part, _F_SP * m)


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular Slaney-normalised mel filters from 0 Hz to Nyquist.

    Returns
    -------
    np.ndarray, shape (n_mels, 1 + n_fft // 2), float32, read-only
    """
    fft_freqs = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_freqs)
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # equal area per filter
    return _frozen(weights.astype(np.float32))


@lru_cache(maxsize=8)
def chroma_filterbank(sample_rate: int, n_fft: int, tuning: float = 0.0,
                      n_chroma: int = 12) -> np.ndarray:
    """Gaussian pitch-class weights of each FFT bin, rows C, C#, ..., B.

    ``tuning`` is in fractions of a bin (0 = A440). Each bin's weights are L2-normalised
    over pitch classes, then weighted by a Gaussian over octaves centred on octave 5
    (about 520 Hz) with a width of 2 octaves.

    Returns
    -------
    np.ndarray, shape (n_chroma, 1 + n_fft // 2), float32, read-only
    """
    frequencies = np.linspace(0, sample_rate, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    bins = n_chroma * np.log2(frequencies / (a440 / 16))
    bins = np.concatenate(([bins[0] - 1.5 * n_chroma], bins))
    widths = np.concatenate((np.maximum(bins[1:] - bins[:-1], 1.0), [1.0]))
    distance = np.subtract.outer(bins, np.arange(n_chroma, dtype=np.float64)).T
    half = np.round(n_chroma / 2)
    distance = np.remainder(distance + half + 10 * n_chroma, n_chroma) - half
    weights = np.exp(-0.5 * (2 * distance / widths[None, :]) ** 2)
    norms = np.sqrt(np.sum(weights ** 2, axis=0, keepdims=True))
    weights = weights / np.where(norms < np.finfo(np.float64).tiny, 1.0, norms)
    weights *= np.exp(-0.5 * ((bins / n_chroma - 5.0) / 2.0) ** 2)[None, :]
    weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)  # start at C, not A
    return _frozen(np.ascontiguousarray(weights[:, : 1 + n_fft // 2], dtype=np.float32))


@lru_cache(maxsize=8)
def centred_hann(win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hann window of ``win_length`` zero-padded on both sides to ``n_fft``.

    Returns
    -------
    np.ndarray, shape (n_fft,), float64, read-only
    """
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length) / win_length)
    left = (n_fft - win_length) // 2
    return _frozen(np.pad(window, (left, n_fft - win_length - left)))


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
