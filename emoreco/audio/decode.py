"""Decoding audio files to mono float32 at the feature sample rate, block by block."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.audio.resample import StreamResampler, fit_length, resample
from emoreco.core.errors import AudioError
from emoreco.core.limits import MAX_SONG_ID

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
    """libsndfile: WAV, AIFF and other PCM files (it also reads FLAC, MP3 and Ogg, which
    FFmpeg decodes faster)."""
    import soundfile

    with soundfile.SoundFile(os.fsencode(path)) as source:  # any bytes of a name
        def blocks() -> Iterator[np.ndarray]:
            # read() until it returns nothing: blocks() trusts the header's frame count
            # and zero-pads a truncated MP3 to its announced length
            while len(block := source.read(BLOCK_FRAMES, dtype="float32", always_2d=True)):
                yield block

        yield source.samplerate, source.channels, blocks()


def _frame_samples(frame: Any, to_float: Any) -> np.ndarray:
    """A decoded FFmpeg frame as float32 of shape (channels, n).

    Float frames (Opus, Vorbis, MP3, AAC decode to them) are used as they are; others
    go through ``to_float()``, an FFmpeg resampler to float planar at the same rate and
    layout (a format conversion, no mixing, no rate change).
    """
    name = frame.format.name
    if name == "fltp":
        return frame.to_ndarray()
    if name == "flt":
        return frame.to_ndarray().reshape(-1, len(frame.layout.channels)).T
    return np.concatenate([converted.to_ndarray() for converted in to_float().resample(frame)],
                          axis=1)


@contextlib.contextmanager
def _ffmpeg_stream(path: Path) -> Iterator[Decoded]:
    """FFmpeg through PyAV: Opus, MP3, FLAC, Vorbis, M4A/AAC, ALAC, WMA, the audio track
    of MP4/MKV/WebM, ... (:func:`open_ffmpeg` on a file, in blocks of ``BLOCK_FRAMES``)."""
    with open_ffmpeg(str(path), path, gather=BLOCK_FRAMES) as decoded:
        yield decoded


@contextlib.contextmanager
def open_ffmpeg(source: Any, label: Path | str, gather: int = 0,
                options: dict[str, str] | None = None, **open_args: Any) -> Iterator[Decoded]:
    """Decode the first audio stream of ``source`` (a path, URL or binary file object)
    with FFmpeg through PyAV.

    Decoded frames (20 ms for Opus) are gathered into blocks of at least ``gather``
    frames, so that the per-block work downstream (mixing, resampling) runs on long
    arrays; ``gather=0`` yields each frame as it is decoded (a live stream). ``options``
    go to FFmpeg's demuxer (``probesize``, ...), ``open_args`` to ``av.open``
    (``io_open``, ``timeout``). ``label`` names the source in errors.
    """
    import av

    with av.open(source, metadata_errors="ignore", options=options or {},
                 **open_args) as container:
        if not container.streams.audio:
            raise AudioError(f"{label}: no audio stream (only {len(container.streams)} "
                             "other streams)")
        stream = container.streams.audio[0]

        def blocks() -> Iterator[np.ndarray]:
            resampler = None

            def to_float() -> Any:
                nonlocal resampler
                if resampler is None:
                    resampler = av.AudioResampler(format="fltp", layout=stream.layout,
                                                  rate=stream.rate)
                return resampler

            pending: list[np.ndarray] = []
            count = 0
            try:
                for frame in container.decode(stream):
                    samples = _frame_samples(frame, to_float)
                    pending.append(samples)
                    count += samples.shape[1]
                    if count >= gather:
                        yield np.concatenate(pending, axis=1).T
                        pending, count = [], 0
                if resampler is not None:
                    pending += [converted.to_ndarray() for converted in resampler.resample(None)]
            except av.FFmpegError as exc:
                raise AudioError(f"{label}: cannot decode audio ({exc})") from exc
            if pending:
                yield np.concatenate(pending, axis=1).T

        yield stream.rate, stream.channels, blocks()


# The decoder that reads each format fastest, from benchmarks/bench_decode.py (decoding
# to 12 kHz mono, 32-s 48 kHz stereo files, 2 cores, ms per file, libsndfile / FFmpeg):
# WAV 38 / 44, FLAC 55 / 43, MP3 48 / 38, Ogg Vorbis 68 / 46, Opus 218 / 75, AAC - / 55.
# So libsndfile for PCM (WAV, AIFF, ...) and FFmpeg for everything else, which also skips
# a failed libsndfile attempt on what it cannot read (AAC, ALAC, WMA, video containers).
# The choice depends on the file name only, so a file always gives the same samples; the
# other decoder is tried only when the first cannot open the file. MP3 goes to FFmpeg
# alone: libsndfile's MP3 decoder (libmpg123) prints three "Note:" lines on standard
# error for every file it cannot read, and FFmpeg reads every MP3 it reads.
SNDFILE_FIRST = frozenset({".wav", ".wave", ".aif", ".aiff", ".aifc", ".au", ".snd", ".w64",
                           ".caf", ".rf64"})
FFMPEG_ONLY = frozenset({".mp3", ".mp2", ".mpga"})


def decoders_for(path: Path) -> tuple[str, ...]:
    """The decoders to try for ``path``, fastest first: ``"sndfile"`` and ``"ffmpeg"``."""
    suffix = path.suffix.lower()
    if suffix in FFMPEG_ONLY:
        return ("ffmpeg",)
    return ("sndfile", "ffmpeg") if suffix in SNDFILE_FIRST else ("ffmpeg", "sndfile")


@contextlib.contextmanager
def open_audio(path: Path, decoders: tuple[str, ...] | None = None) -> Iterator[Decoded]:
    """Open ``path`` with the first of ``decoders`` (default :func:`decoders_for`) that
    can read it: libsndfile (``"sndfile"``) or FFmpeg through PyAV (``"ffmpeg"``).

    Yields
    ------
    (rate, channels, blocks)
        Native sample rate, channel count, and an iterator of float32 blocks of shape
        (n, channels).

    Raises
    ------
    AudioError
        No decoder can open the file; the message gives every reason.
    """
    reasons: list[str] = []
    for name in decoders or decoders_for(path):
        if name == "sndfile":
            import soundfile

            opener, errors, label = _soundfile_stream, soundfile.LibsndfileError, "libsndfile"
        else:
            import av  # imported only when a file needs it

            opener, errors, label = (_ffmpeg_stream, (av.FFmpegError, ValueError, OSError,
                                                      EOFError), "FFmpeg")
        with contextlib.ExitStack() as stack:
            try:
                decoded = stack.enter_context(opener(path))
            except errors as exc:
                reasons.append(f"{label}: {exc}")
                continue
            yield decoded
            return
    raise AudioError(f"{path}: cannot decode audio ({'; '.join(reasons)})")


def header_duration_s(path: Path) -> float | None:
    """The audio's duration as its header states it (a millisecond or so), None when no
    decoder can tell; for planning work, never for the samples. The decoders are asked
    in the order :func:`decoders_for` gives."""
    for name in decoders_for(path):
        if name == "sndfile":
            import soundfile

            try:
                return float(soundfile.info(os.fsencode(path)).duration)
            except (soundfile.LibsndfileError, RuntimeError, OSError):
                continue
        import av

        try:
            with av.open(str(path), metadata_errors="ignore") as container:
                if container.duration:
                    return container.duration / 1e6
        except (av.FFmpegError, ValueError, OSError, EOFError):
            continue
    return None


def decoder_blocks(path: Path, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
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


def load_audio(path: str | Path, sample_rate: int, min_duration_s: float = 0.0,
               decoders: tuple[str, ...] | None = None) -> np.ndarray:
    """Decode ``path`` to mono and resample it, one block at a time.

    Blocks of the file are decoded (:func:`open_audio`), checked, averaged to mono and
    resampled (:class:`MonoResampler`), so memory is set by the output (4
    bytes per sample at ``sample_rate``), never by the file at its native rate and
    channel count.

    Parameters
    ----------
    path : str or Path
        Any file libsndfile or FFmpeg reads (WAV, MP3, FLAC, OGG, Opus, AIFF, M4A/AAC,
        ALAC, WMA, MP4/MKV/WebM audio tracks, ...); any sample rate and channel count.
    sample_rate : int
        Output rate in Hz. The output has ``ceil(n * sample_rate / native_rate)``
        samples, as ``librosa.load``.
    min_duration_s : float
        Raise :class:`AudioError` if the decoded audio is shorter than this.
    decoders : tuple of str, optional
        For measurements only (``benchmarks/bench_decode.py``): the decoders to try.
        Everything else leaves the choice to :func:`decoders_for`, so that a file always
        gives the same samples, in training and in prediction.

    Returns
    -------
    np.ndarray, shape (n_samples,), float32

    Raises
    ------
    AudioError
        Missing, undecodable, empty (truncated), non-finite, silent or too-short audio,
        or an absurd sample rate or channel count. The message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: {_not_a_file(path)}")
    before = _fingerprint(path)
    mono = _decode_mono(path, sample_rate, decoders, int(SILENT_PREFIX_S * sample_rate))
    if mono is None:  # loud after a long silent start: decode again, keeping it all
        mono = _decode_mono(path, sample_rate, decoders, None)
    if _fingerprint(path) != before:
        raise AudioError(f"{path}: the file changed while it was read (still being written?); "
                         "run again once it is complete")
    assert mono is not None
    return _usable(str(path), mono, sample_rate, min_duration_s)


SILENT_PREFIX_S = 600.0  # silent audio kept before a file counts as silent unless loud later


def _fingerprint(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _not_a_file(path: Path) -> str:
    """Why ``path`` is not an audio file, in words."""
    if not os.path.lexists(path):
        return "no such audio file"
    if path.is_dir():
        return "a folder, not an audio file"
    return "not a regular file (a pipe or a device); give an audio file"


def _decode_mono(path: Path, sample_rate: int, decoders: tuple[str, ...] | None,
                 keep_silent: int | None) -> np.ndarray | None:
    """Decode ``path`` to mono at ``sample_rate``, shape (n,).

    With ``keep_silent``, silent audio beyond that many samples from the start is not
    kept: a file silent to its end is then refused with bounded memory
    (:class:`AudioError`), and one that becomes loud gives None (decode it again).
    """
    with open_audio(path, decoders) as (rate, channels, blocks):
        mixer = MonoResampler(path, rate, channels, sample_rate)
        parts: list[np.ndarray] = []
        kept, peak, dropped = 0, 0.0, False
        for block in decoder_blocks(path, blocks):
            out = mixer.push(block)
            peak = max(peak, float(np.abs(out).max(initial=0.0)))
            if dropped:
                if peak >= SILENCE_PEAK:
                    return None
                continue
            parts.append(out)
            kept += len(out)
            if keep_silent is not None and kept > keep_silent and peak < SILENCE_PEAK:
                parts, dropped = [], True
        tail = mixer.finish()
    if dropped:
        if max(peak, float(np.abs(tail).max(initial=0.0))) >= SILENCE_PEAK:
            return None
        raise AudioError(f"{path}: audio is silent (peak below {SILENCE_PEAK:g})")
    parts.append(tail)
    mono = np.concatenate(parts) if len(parts) > 1 else parts[0]
    del parts
    return mono


class MonoResampler:
    """Decoded blocks to checked mono samples at ``target_rate``, piece by piece.

    Each block (n, channels) is checked (finite), averaged to mono and fed to a
    :class:`~emoreco.audio.resample.StreamResampler`, whose output does not depend on how
    the audio is cut into blocks and lags it by 1.3 ms; :meth:`finish` flushes it and trims
    or pads the total to ``ceil(n * target_rate / rate)`` samples, as ``librosa.load``.
    :func:`load_audio` and a live stream share it, so both give the same samples.
    """

    def __init__(self, label: Path | str, rate: int, channels: int, target_rate: int) -> None:
        _check_stream(Path(label), rate, channels)
        self.label, self.rate, self.channels, self.target_rate = label, rate, channels, \
            target_rate
        self._resampler = (StreamResampler(rate, target_rate) if rate != target_rate
                           else None)
        self.n_native = 0  # input samples (per channel) so far
        self.n_out = 0  # output samples so far

    def push(self, block: np.ndarray) -> np.ndarray:
        """Mono samples at ``target_rate`` for ``block`` (n, channels) float32, shape
        (m,); fewer than ``n * target_rate / rate`` while the resampler fills up."""
        if not np.isfinite(block).all():
            bad = self.n_native + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
            raise AudioError(f"{self.label}: decoded audio contains NaN or infinite samples "
                             f"(first at {bad / self.rate:.3f} s)")
        mono = block.mean(axis=1, dtype=np.float32) if self.channels > 1 else block[:, 0]
        self.n_native += len(mono)
        out = self._resampler.push(mono) if self._resampler else mono.copy()
        self.n_out += len(out)
        return out

    def finish(self) -> np.ndarray:
        """The last samples: the resampler's tail, trimmed or zero-padded so that the
        total is ``ceil(n_native * target_rate / rate)``.

        Raises
        ------
        AudioError
            Nothing was decoded (an empty or truncated file).
        """
        if self.n_native == 0:
            raise AudioError(f"{self.label}: decoded to 0 samples (empty or truncated file)")
        tail = (self._resampler.finish() if self._resampler is not None
                else np.zeros(0, np.float32))
        wanted = int(np.ceil(self.n_native * self.target_rate / self.rate)) - self.n_out
        if wanted < 0:  # the resampler gave more than the length before its tail
            raise AudioError(f"{self.label}: resampler overshoot of {-wanted} samples")
        self.n_out += wanted
        return fit_length(tail, wanted)


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
        array = resample(array, sample_rate, target_rate)
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


def song_id_from_path(path: Path) -> int | None:
    """DEAM names audio ``<song_id>.<ext>``; return the id or None for other names."""
    stem = path.stem.strip()
    if not (stem.isascii() and stem.isdigit()) or int(stem) > MAX_SONG_ID:
        return None
    return int(stem)


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
