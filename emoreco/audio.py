"""Decoding audio files to mono float32 at the feature sample rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoreco.errors import AudioError

AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg", ".opus")
SILENCE_PEAK = 1e-4  # peak amplitude below which a file counts as silent (-80 dBFS)


def load_audio(path: str | Path, sample_rate: int, min_duration_s: float = 0.0) -> np.ndarray:
    """Decode ``path`` to mono and resample it.

    Parameters
    ----------
    path : str or Path
        WAV, MP3, FLAC, OGG/Vorbis or Opus file; any sample rate and channel count.
    sample_rate : int
        Output rate in Hz (soxr high-quality resampling, as ``librosa.load``, whose
        output length ``ceil(n * sample_rate / native_rate)`` is kept).
    min_duration_s : float
        Raise :class:`AudioError` if the decoded audio is shorter than this.

    Returns
    -------
    np.ndarray, shape (n_samples,), float32

    Raises
    ------
    AudioError
        Missing, undecodable, empty (truncated), silent or too-short audio. The message
        names the file.
    """
    import soundfile
    import soxr

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        data, native_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, EOFError, OSError) as exc:
        raise AudioError(f"{path}: cannot decode audio ({exc})") from exc
    if data.size == 0:
        raise AudioError(f"{path}: decoded to 0 samples (empty or truncated file)")
    mono = data.mean(axis=1)
    if native_rate != sample_rate:
        mono = _fit_length(soxr.resample(mono, native_rate, sample_rate, quality="HQ"),
                           int(np.ceil(len(mono) * sample_rate / native_rate)))
    duration_s = len(mono) / sample_rate
    if duration_s < min_duration_s:
        raise AudioError(
            f"{path}: audio is {duration_s:.2f} s long, at least {min_duration_s:.2f} s "
            "is needed (start offset + one window)")
    if not np.isfinite(mono).all():
        raise AudioError(f"{path}: decoded audio contains NaN or infinite samples")
    if np.abs(mono).max() < SILENCE_PEAK:
        raise AudioError(f"{path}: audio is silent (peak below {SILENCE_PEAK:g})")
    return mono.astype(np.float32, copy=False)


def _fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad to ``length`` samples (as ``librosa.resample(fix=True)``)."""
    if len(samples) >= length:
        return samples[:length]
    return np.pad(samples, (0, length - len(samples)))


def song_id_from_path(path: Path) -> int | None:
    """DEAM names audio ``<song_id>.<ext>``; return the id or None for other names."""
    stem = path.stem.strip()
    return int(stem) if stem.isdigit() else None


def index_audio_folder(folder: str | Path) -> dict[int, Path]:
    """Map song id to audio file for the ``<song_id>.<ext>`` files in ``folder``.

    Raises
    ------
    AudioError
        If two files claim the same song id (e.g. ``2.mp3`` and ``2.wav``).
    """
    index: dict[int, Path] = {}
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
            continue
        song_id = song_id_from_path(path)
        if song_id is None:
            continue
        if song_id in index:
            raise AudioError(f"{folder}: song {song_id} has two audio files: "
                             f"{index[song_id].name} and {path.name}")
        index[song_id] = path
    return index
