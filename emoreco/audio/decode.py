"""Decoding audio files to mono float32 at the feature sample rate, block by block."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from emoreco.core.errors import AudioError

AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg", ".opus", ".oga", ".aif", ".aiff", ".aifc",
                  ".m4a", ".m4b", ".aac", ".alac", ".wma", ".mka", ".mkv", ".mp4", ".m4v",
                  ".mov", ".webm", ".wv", ".ape", ".ac3", ".caf", ".au", ".w64")
SILENCE_PEAK = 1e-4  # peak amplitude below which a file counts as silent (-80 dBFS)
SAMPLE_RATE_RANGE = (1000, 768_000)  # Hz; outside it a header is broken, not unusual
MAX_CHANNELS = 64
BLOCK_FRAMES = 1 << 18  # native-rate frames decoded at once (about 6 s at 44.1 kHz)


def _check_stream(path: Path, rate: int, channels: int) -> None:
    low, high = SAMPLE_RATE_RANGE
    if not low <= rate <= high:
        raise AudioError(f"{path}: sample rate {rate} Hz is outside {low}-{high} Hz "
                         "(broken header?)")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"{path}: {channels} channels (1 to {MAX_CHANNELS} are readable)")


Decoded = tuple[int, int, Iterator[np.ndarray]]  # native rate, channels, (n, channels) blocks


@contextlib.contextmanager
def _soundfile_stream(path: Path) -> Iterator[Decoded]:
    """libsndfile (WAV, FLAC, MP3, OGG/Vorbis/Opus, AIFF, ...): the fast path."""
    import soundfile

    with soundfile.SoundFile(path) as source:
        def blocks() -> Iterator[np.ndarray]:
            # read() until it returns nothing: blocks() trusts the header's frame count
            # and zero-pads a truncated MP3 to its announced length
            while len(block := source.read(BLOCK_FRAMES, dtype="float32", always_2d=True)):
                yield block

        yield source.samplerate, source.channels, blocks()


@contextlib.contextmanager
def _ffmpeg_stream(path: Path) -> Iterator[Decoded]:
    """FFmpeg through PyAV: M4A/AAC, ALAC, WMA, the audio track of MP4/MKV/WebM, ..."""
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            raise AudioError(f"{path}: no audio stream (only {len(container.streams)} "
                             "other streams)")
        stream = container.streams.audio[0]

        def blocks() -> Iterator[np.ndarray]:
            resampler = None  # to float32 planar, same rate and layout: no mixing by FFmpeg
            try:
                for frame in container.decode(stream):
                    if resampler is None:
                        resampler = av.AudioResampler(format="fltp", layout=frame.layout,
                                                      rate=frame.sample_rate)
                    for converted in resampler.resample(frame):
                        yield converted.to_ndarray().T
                for converted in resampler.resample(None) if resampler is not None else ():
                    yield converted.to_ndarray().T
            except av.FFmpegError as exc:
                raise AudioError(f"{path}: cannot decode audio ({exc})") from exc

        yield stream.rate, stream.channels, blocks()


@contextlib.contextmanager
def open_audio(path: Path) -> Iterator[Decoded]:
    """Open ``path`` with libsndfile, or with FFmpeg where libsndfile cannot read it.

    Yields
    ------
    (rate, channels, blocks)
        Native sample rate, channel count, and an iterator of float32 blocks of shape
        (n, channels).

    Raises
    ------
    AudioError
        Neither decoder can open the file; the message gives both reasons.
    """
    import soundfile

    with contextlib.ExitStack() as stack:
        try:
            decoded = stack.enter_context(_soundfile_stream(path))
        except soundfile.LibsndfileError as sndfile_error:
            import av  # only for what libsndfile cannot read

            try:
                decoded = stack.enter_context(_ffmpeg_stream(path))
            except (av.FFmpegError, ValueError, OSError, EOFError) as ffmpeg_error:
                raise AudioError(f"{path}: cannot decode audio (libsndfile: {sndfile_error}; "
                                 f"FFmpeg: {ffmpeg_error})") from ffmpeg_error
        yield decoded


def _decoder_blocks(path: Path, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """``blocks``, with what the decoder raises while decoding turned into an
    :class:`AudioError` naming the file (errors of the caller's code pass unchanged)."""
    import soundfile

    while True:
        try:
            block = next(blocks)
        except StopIteration:
            return
        except (soundfile.LibsndfileError, RuntimeError, EOFError, OSError) as exc:
            raise AudioError(f"{path}: cannot decode audio ({exc})") from exc
        yield block


def load_audio(path: str | Path, sample_rate: int, min_duration_s: float = 0.0) -> np.ndarray:
    """Decode ``path`` to mono and resample it, one block at a time.

    Blocks of the file are decoded (:func:`open_audio`), checked, averaged to mono and
    fed to soxr's streaming high-quality resampler, so memory is set by the output (4
    bytes per sample at ``sample_rate``), never by the file at its native rate and
    channel count.

    Parameters
    ----------
    path : str or Path
        Any file libsndfile or FFmpeg reads (WAV, MP3, FLAC, OGG, Opus, AIFF, M4A/AAC,
        ALAC, WMA, MP4/MKV/WebM audio tracks, ...); any sample rate and channel count.
    sample_rate : int
        Output rate in Hz. The output has ``ceil(n * sample_rate / native_rate)``
        samples, as ``librosa.load`` (same soxr quality, identical values).
    min_duration_s : float
        Raise :class:`AudioError` if the decoded audio is shorter than this.

    Returns
    -------
    np.ndarray, shape (n_samples,), float32

    Raises
    ------
    AudioError
        Missing, undecodable, empty (truncated), non-finite, silent or too-short audio,
        or an absurd sample rate or channel count. The message names the file.
    """
    import soxr

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    parts: list[np.ndarray] = []
    n_native = 0
    with open_audio(path) as (rate, channels, blocks):
        _check_stream(path, rate, channels)
        resampler = (soxr.ResampleStream(rate, sample_rate, 1, dtype="float32",
                                         quality="HQ") if rate != sample_rate else None)
        for block in _decoder_blocks(path, blocks):
            if not np.isfinite(block).all():
                bad = n_native + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
                raise AudioError(f"{path}: decoded audio contains NaN or infinite samples "
                                 f"(first at {bad / rate:.3f} s)")
            mono = block.mean(axis=1, dtype=np.float32) if channels > 1 else block[:, 0]
            n_native += len(mono)
            parts.append(resampler.resample_chunk(mono) if resampler else mono.copy())
        if resampler is not None:
            parts.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    if n_native == 0:
        raise AudioError(f"{path}: decoded to 0 samples (empty or truncated file)")
    mono = np.concatenate(parts) if len(parts) > 1 else parts[0]
    del parts
    mono = _fit_length(mono, int(np.ceil(n_native * sample_rate / rate)))
    return _usable(str(path), mono, sample_rate, min_duration_s)


def _usable(label: str, mono: np.ndarray, sample_rate: int,
            min_duration_s: float) -> np.ndarray:
    """``mono`` after checking that it is long enough and not silent."""
    duration_s = len(mono) / sample_rate
    if duration_s < min_duration_s:
        raise AudioError(
            f"{label}: audio is {duration_s:.2f} s long, at least {min_duration_s:.2f} s "
            "is needed")
    if np.abs(mono).max() < SILENCE_PEAK:
        raise AudioError(f"{label}: audio is silent (peak below {SILENCE_PEAK:g})")
    return mono


def prepare_samples(samples: np.ndarray, sample_rate: int, target_rate: int,
                    min_duration_s: float = 0.0, label: str = "samples") -> np.ndarray:
    """Audio already in memory as :func:`load_audio` returns a file's: mono, at
    ``target_rate``, checked.

    Parameters
    ----------
    samples : np.ndarray, shape (n,) or (n, channels)
        Floating-point samples in [-1, 1].
    sample_rate : int
        Their rate in Hz.

    Returns
    -------
    np.ndarray, shape (ceil(n * target_rate / sample_rate),), float32

    Raises
    ------
    AudioError
        Not 1-D or 2-D, no samples, non-finite values, an absurd rate or channel count,
        too short or silent (named ``label``).
    """
    import soxr

    array = np.asarray(samples, dtype=np.float32)
    if array.ndim not in (1, 2) or not array.size:
        raise AudioError(f"{label}: expected samples of shape (n,) or (n, channels), got "
                         f"{array.shape}")
    if array.ndim == 2:
        _check_stream(Path(label), sample_rate, array.shape[1])
        array = array.mean(axis=1, dtype=np.float32)
    else:
        _check_stream(Path(label), sample_rate, 1)
    if not np.isfinite(array).all():
        raise AudioError(f"{label}: samples contain NaN or infinite values")
    if sample_rate != target_rate:
        array = _fit_length(soxr.resample(array, sample_rate, target_rate, quality="HQ"),
                            int(np.ceil(len(array) * target_rate / sample_rate)))
    return _usable(label, array, target_rate, min_duration_s)


def encode_opus(samples: np.ndarray, sample_rate: int, bit_rate: int = 24000) -> bytes:
    """Mono float32 samples as an Ogg/Opus file in memory (for a portable report).

    ``sample_rate`` must be one of Opus' rates (8, 12, 16, 24 or 48 kHz).
    """
    import io

    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as sink:
        stream = sink.add_stream("libopus", rate=sample_rate)
        stream.layout, stream.bit_rate = "mono", bit_rate
        frame = av.AudioFrame.from_ndarray(
            (np.clip(samples, -1, 1) * 32767).astype(np.int16)[None, :], format="s16",
            layout="mono")
        frame.sample_rate, frame.pts = sample_rate, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            sink.mux(packet)
    return buffer.getvalue()


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
