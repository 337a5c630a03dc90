"""Live curves: ``emoreco listen SOURCE`` as one function.

Audio from standard input (any container and codec FFmpeg reads from a pipe), a URL or a
file goes block by block through the loader's own mixing and resampling
(:class:`~emoreco.audio.decode.MonoResampler`), the frames of
:class:`~emoreco.audio.stream.FeatureStream` and :class:`~emoreco.model.live.LiveCurves`;
each new value is reported as soon as it is computed. A file is decoded as ``MAIN.py``
decodes it, so its live values are those of ``MAIN.py``, value for value.
"""

from __future__ import annotations

import contextlib
import math
import queue
import socket
import stat
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.audio.decode import (Decoded, MonoResampler, decoder_blocks, open_audio,
                                  open_ffmpeg)
from emoreco.audio.stream import FeatureStream
from emoreco.core.errors import AudioError, ConfigError, EmorecoError
from emoreco.core.extras import require
from emoreco.model.curves import EmotionCurve, band_columns, target_columns
from emoreco.model.live import LiveCurves, curve_of_values
from emoreco.model.predictor import Predictor
from emoreco.outputs.tables import DECIMALS
from emoreco.runs.stream_url import StreamOpener, is_url, public_label

# FFmpeg reads up to 5 MB and 5 s of a pipe to guess its format before decoding
# anything; a live source must not wait for that. 32 bytes is its smallest probe (the
# format is then recognised from the header alone). (Its "nobuffer" flag is not set: it
# loses the first packets of a pipe.) Its WAV demuxer hands over PCM in packets of about
# 0.1 s (4096 samples: 93 ms at 44.1 kHz, a wait of up to 93 ms for a value's last
# sample); "max_size" cuts them to 8192 bytes (46 ms of 16-bit stereo at 44.1 kHz).
# Measured by benchmarks/bench_live.py: 8192 bytes, at most 53 ms and 2.9 % of a core;
# 2048 bytes gave at most 23 ms but 10.6 % (the work per packet, before the STFT frames
# were computed only when due). Compressed formats come in their codec's frames (MP3
# 26 ms, AAC 23 ms, Opus 20 ms).
LIVE_DEMUXER_OPTIONS = {"probesize": "32", "analyzeduration": "0", "max_size": "8192"}
PACE_BLOCK_S = 0.02  # a file played at its own pace arrives in pieces of this length
RECENT_S = 5.0  # values of this many seconds back are kept to complete later lines
STALL_S = 10.0  # default: a URL that sends nothing for this long has dropped
POLL_S = 0.2  # the main thread looks up this often (Ctrl-C is handled within it)
QUEUED_BLOCKS = 64  # decoded blocks a reader thread may hold before the main thread


def source_label(source: str) -> str:
    """How ``source`` is named in messages, the page and the tables: ``standard input``,
    a URL without credentials or query string, or the file name as given."""
    if source == "-":
        return "standard input"
    return public_label(source) if is_url(source) else source


@contextlib.contextmanager
def _read_in_thread(open_source: Callable[[], Any], label: str,
                    stall_s: float | None) -> Iterator[Decoded]:
    """Open and decode a pipe or URL on a thread of its own, handing the blocks over.

    The main thread waits at most :data:`POLL_S` at a time, so Ctrl-C stops ``listen``
    whatever FFmpeg or the network is doing; with ``stall_s``, a source that gives no
    block for that long is a drop (:class:`AudioError`), even when a read never returns.
    """
    handed: queue.Queue = queue.Queue(QUEUED_BLOCKS)
    stop = threading.Event()

    def hand(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                handed.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            with open_source() as (rate, channels, blocks):
                if not hand(("opened", (rate, channels))):
                    return
                for block in blocks:
                    if not hand(("block", block)):
                        return
            hand(("end", None))
        except EmorecoError as exc:
            hand(("error", exc))
        except Exception as exc:  # noqa: BLE001 - anything the network or FFmpeg raises
            reason = (f"no data for {stall_s:g} s" if isinstance(exc, TimeoutError) and stall_s
                      else _detail(exc))
            hand(("error", AudioError(f"{label}: {reason}")))

    def take() -> tuple[str, Any]:
        waited = 0.0
        while True:
            try:
                return handed.get(timeout=POLL_S)
            except queue.Empty:
                waited += POLL_S
                if stall_s is not None and waited >= stall_s:
                    return "error", AudioError(f"{label}: no data for {stall_s:g} s")

    threading.Thread(target=read, name="emoreco-listen-input", daemon=True).start()
    try:
        kind, value = take()
        if kind == "error":
            raise value
        if kind == "end":
            raise AudioError(f"{label}: the stream ended before any audio")
        rate, channels = value

        def blocks() -> Iterator[np.ndarray]:
            while True:
                kind, value = take()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value

        yield rate, channels, blocks()
    finally:
        stop.set()  # the reader stops at its next block (or its read's timeout)


def open_live_source(source: str, stall_s: float | None = STALL_S) -> Any:
    """A context manager giving ``(rate, channels, blocks)`` of ``-`` (standard input),
    a named pipe, a URL or a file.

    A file goes through :func:`~emoreco.audio.decode.open_audio` (the decoder ``MAIN.py``
    uses for it); a pipe or URL through FFmpeg with the least probing, each decoded frame
    handed over at once, on a reader thread (:func:`_read_in_thread`). Every URL the
    stream opens is checked and read with ``stall_s`` as its timeout
    (:class:`~emoreco.runs.stream_url.StreamOpener`).

    Raises
    ------
    AudioError
        The source is not audio, not readable, or (a URL) refused (one line).
    ConfigError
        A URL of another scheme than http(s).
    """
    label = source_label(source)
    if is_url(source):
        opener = StreamOpener(source, stall_s or STALL_S)
        return _read_in_thread(
            lambda: _ffmpeg_live(source, label, io_open=opener, timeout=stall_s), label,
            stall_s)
    if source == "-":
        return _read_in_thread(lambda: _ffmpeg_live(_stdin(), label), label, None)
    path = Path(source)
    kind = _file_kind(path)
    if kind == "pipe":
        return _read_in_thread(lambda: _ffmpeg_live(open(path, "rb", buffering=0), label),
                               label, None)
    if kind != "file":
        raise AudioError(f"{label}: {kind}; listen reads an audio file, a named pipe, a URL "
                         "or - (standard input)")
    return _file_source(path)


def _file_kind(path: Path) -> str:
    """``file``, ``pipe``, or what else ``path`` is, in words."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a device or special file, not a regular file"


@contextlib.contextmanager
def _file_source(path: Path) -> Iterator[Decoded]:
    with open_audio(path) as (rate, channels, blocks):
        yield rate, channels, decoder_blocks(path, blocks)


def _stdin() -> Any:
    """Standard input, unbuffered: a read returns what has arrived instead of waiting
    for FFmpeg's 32 kB."""
    return open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)  # noqa: SIM115


@contextlib.contextmanager
def _ffmpeg_live(target: Any, label: str, **open_args: Any) -> Iterator[Decoded]:
    import av

    try:
        with open_ffmpeg(target, label, gather=0, options=LIVE_DEMUXER_OPTIONS,
                         **open_args) as decoded:
            yield decoded
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise AudioError(f"{label}: not an audio stream FFmpeg can read ({exc})") from exc


DEVICE_BLOCK_S = 0.01  # a sound card hands over audio in pieces of this length


def _sounddevice(what: str) -> Any:
    """The ``sounddevice`` module (the ``live`` extra), or one line on what is missing."""
    require("sounddevice", "live", what)
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library itself
        raise AudioError(f"{what} needs the PortAudio library ({exc}); Debian: apt-get "
                         "install libportaudio2") from exc
    return sounddevice


def input_devices() -> list[str]:
    """One line per sound card input: ``index: name (channels, default rate)``."""
    devices = _sounddevice("--list-devices").query_devices()
    return [f"{index}: {device['name']} ({device['max_input_channels']} channels, "
            f"{device['default_samplerate']:g} Hz)" for index, device in enumerate(devices)
            if device["max_input_channels"] > 0]


@contextlib.contextmanager
def open_device(device: str) -> Iterator[Decoded]:
    """Record from sound card ``device`` (a name or an index of :func:`input_devices`) at
    its default rate, up to 2 channels, in :data:`DEVICE_BLOCK_S` blocks, until the
    stream stops (Ctrl-C).

    Raises
    ------
    AudioError
        No such input device, or it cannot be opened (one line).
    """
    sounddevice = _sounddevice("--device")
    which: Any = int(device) if device.isdigit() else device
    try:
        info = sounddevice.query_devices(which, "input")
    except (ValueError, sounddevice.PortAudioError) as exc:
        raise AudioError(f"--device {device}: no such input device ({exc}); see "
                         "--list-devices") from exc
    rate = int(info["default_samplerate"])
    channels = max(1, min(2, int(info["max_input_channels"])))
    arrived: queue.Queue = queue.Queue()

    def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        arrived.put(indata.copy())

    try:
        stream = sounddevice.InputStream(device=which, samplerate=rate, channels=channels,
                                         dtype="float32", blocksize=int(rate * DEVICE_BLOCK_S),
                                         callback=callback)
    except sounddevice.PortAudioError as exc:
        raise AudioError(f"--device {device}: cannot record ({exc})") from exc

    def blocks() -> Iterator[np.ndarray]:
        while stream.active or not arrived.empty():
            try:
                yield arrived.get(timeout=0.5)
            except queue.Empty:
                continue

    with stream:
        yield rate, channels, blocks()


def _paced(blocks: Iterator[np.ndarray], rate: int) -> Iterator[np.ndarray]:
    """``blocks`` cut into :data:`PACE_BLOCK_S` pieces, each released when a player at
    real-time pace would have played it."""
    started = time.monotonic()
    played = 0
    size = max(1, int(rate * PACE_BLOCK_S))
    for block in blocks:
        for first in range(0, len(block), size):
            piece = block[first:first + size]
            played += len(piece)
            delay = started + played / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield piece


def value_line(time_s: float, values: dict[str, float], columns: list[str]) -> dict[str, Any]:
    """One output record: ``{"t": 12.5, "arousal": 0.31, "arousal_low": 0.12,
    "arousal_high": 0.5, "valence": None, ...}`` with the keys ``columns``, values rounded
    as in the tables, None where a column has no value (yet)."""
    record: dict[str, Any] = {"t": round(time_s, 3)}
    for column in columns:
        value = values.get(column)
        record[column] = (None if value is None or math.isnan(value)
                          else round(float(value), DECIMALS))
    return record


RETRY_WAIT_MAX_S = 30.0  # the longest wait between two reconnection attempts
RETRY_WAIT_MIN_S = 0.1  # the shortest wait before a reconnection
RECONNECTS_PER_MINUTE = 12  # at most this many reconnections in any 60 s


class LiveSession:
    """The curves of ``source``, computed as it arrives, each new value given to ``emit``.

    Each call of ``emit(record, new)`` gets a :func:`value_line` for one time, when a
    target's value at that time is computed, with the values of the other targets known
    by then (at 2 Hz, valence at ``t`` comes 1 s before arousal at ``t``: a time is
    emitted twice), and ``new``, the targets computed just now.

    A URL that drops (the connection breaks, the server ends a stream of unknown length,
    or sends nothing for ``stall_s``) is opened again after ``retry_wait_s``, doubling up
    to :data:`RETRY_WAIT_MAX_S`, at most ``retries`` times in a row and at most
    :data:`RECONNECTS_PER_MINUTE` times a minute. Time keeps counting with the wall
    clock: the new connection's audio starts at the seconds since the stream's first
    audio, rounded up to the time step, and a reconnection waits until the wall clock
    has caught up with the audio heard (a server that sends faster than real time never
    moves the clock ahead of it). The new connection's first record marks the gap,
    ``{"t": <end of the audio heard>, "arousal": null, "valence": null, "gap_s":
    <seconds without audio>}``. Values resume once the new audio fills their windows (as
    at the start of a stream).

    Parameters
    ----------
    source : str
        ``-`` (standard input), a URL, a named pipe or a file; or with ``device``, a
        label.
    device : str, optional
        Record from this sound card instead (:func:`open_device`).
    realtime : bool
        Read a file at its own pace instead of as fast as it decodes.
    keep_values : bool
        Keep every value, for :meth:`curve` (the tables at the end of a stream).
    retries, retry_wait_s : int, float
        Reconnection attempts after a URL drops, and the first wait in seconds (at least
        :data:`RETRY_WAIT_MIN_S`).
    stall_s : float
        Seconds without data after which a URL counts as dropped.
    notice : callable, optional
        Gets a line for the user on each drop and reconnection (standard error).
    """

    def __init__(self, source: str, predictor: Predictor,
                 emit: Callable[[dict[str, Any], tuple[str, ...]], None],
                 start_s: float = 0.0, realtime: bool = False, keep_values: bool = False,
                 device: str | None = None, retries: int = 10, retry_wait_s: float = 1.0,
                 stall_s: float = STALL_S,
                 notice: Callable[[str], None] | None = None) -> None:
        if not retry_wait_s >= RETRY_WAIT_MIN_S or not stall_s > 0:
            raise ConfigError(f"the reconnection wait must be at least {RETRY_WAIT_MIN_S:g} s "
                              "and the stall limit above 0 s")
        self.source, self.predictor, self.emit = source, predictor, emit
        self.device = device
        self.realtime = realtime
        self._label = source_label(source)
        self.name = ("stdin" if source == "-" else
                     self._label.rstrip("/").rsplit("/", 1)[-1] or self._label)
        self.start_s, self.keep_values = start_s, keep_values
        self.retries, self.retry_wait_s, self.stall_s = retries, retry_wait_s, stall_s
        self.notice = notice or (lambda line: None)
        self._targets = list(predictor.models)
        self._columns = target_columns(predictor.models, {
            target for target, model in predictor.models.items() if model.band is not None})
        self._recent: dict[float, dict[str, float]] = {}
        self._connections: list[tuple[float, LiveCurves]] = []  # (offset_s, curves)
        self._heard_s = 0.0  # audio of the current connection so far
        self._first_audio_at: float | None = None  # when the stream's audio began

    def _report(self, new: list[tuple[float, dict[str, float]]], offset_s: float) -> None:
        for time_s, values in new:
            time_s += offset_s
            merged = self._recent.setdefault(time_s, {})
            merged.update(values)
            self.emit(value_line(time_s, merged, self._columns),
                      tuple(key for key in values if key in self._targets))
        if new:
            newest = new[-1][0] + offset_s
            for old in [t for t in self._recent if t < newest - RECENT_S]:
                del self._recent[old]

    def run(self) -> None:
        """Read the source to its end (Ctrl-C stops it: :meth:`curve` keeps what was
        computed), reconnecting to a URL that drops.

        Raises
        ------
        AudioError
            The source cannot be opened or decoded as audio, or a URL that dropped could
            not be opened again in ``retries`` attempts (one line).
        ConfigError
            A URL of another scheme than http(s).
        """
        if self.device is not None:
            self._play(open_device(self.device), 0.0)
            return
        if not is_url(self.source):
            self._play(open_live_source(self.source), 0.0)
            return
        offset_s, lost_s, failures, gap = 0.0, 0.0, 0, None
        reconnections: deque[float] = deque()
        while True:
            self._heard_s = 0.0
            try:
                self._play(open_live_source(self.source, self.stall_s), offset_s, gap)
                return
            except AudioError as exc:
                if self._heard_s:  # a new drop: the failures start again
                    lost_s, failures = offset_s + self._heard_s, 0
                elif not self._connections:
                    raise  # never heard: a wrong URL is a mistake, not a drop
                failures += 1
                if failures > self.retries:
                    raise AudioError(f"{self._label}: lost at {lost_s:.1f} s and not "
                                     f"reopened in {self.retries} attempts ({_detail(exc)})"
                                     ) from exc
                wait_s = self._reconnection_wait(failures, lost_s, reconnections)
                self.notice(f"{self._label}: no audio from {lost_s:.1f} s ({_detail(exc)}); "
                            f"reconnecting in {wait_s:.3g} s (attempt {failures} of "
                            f"{self.retries})")
                time.sleep(wait_s)
                reconnections.append(time.monotonic())
                hop = self.predictor.params.hop_s
                offset_s = math.ceil(max(lost_s, self._clock_s()) / hop - 1e-9) * hop
                gap = (lost_s, offset_s - lost_s)

    def _clock_s(self) -> float:
        """Seconds since the stream's first audio (the wall clock of the stream)."""
        return 0.0 if self._first_audio_at is None else time.monotonic() - self._first_audio_at

    def _reconnection_wait(self, failures: int, lost_s: float,
                           reconnections: deque[float]) -> float:
        """Seconds to wait before the next attempt: the doubling backoff, at least until
        the wall clock has caught up with the audio heard, and until fewer than
        :data:`RECONNECTS_PER_MINUTE` reconnections lie in the last minute."""
        now = time.monotonic()
        while reconnections and reconnections[0] < now - 60.0:
            reconnections.popleft()
        wait_s = min(self.retry_wait_s * 2 ** (failures - 1), RETRY_WAIT_MAX_S)
        wait_s = max(wait_s, lost_s - self._clock_s())
        if len(reconnections) >= RECONNECTS_PER_MINUTE:
            wait_s = max(wait_s, reconnections[-RECONNECTS_PER_MINUTE] + 60.0 - now)
        return wait_s

    def _play(self, opened: Any, offset_s: float,
              gap: tuple[float, float] | None = None) -> None:
        """Decode one connection (or the whole source) whose audio starts at
        ``offset_s``; ``gap`` (end of the audio heard, seconds without audio) is reported
        with its first audio."""
        params = self.predictor.params
        with opened as (rate, channels, blocks):
            mixer = MonoResampler(self._label, rate, channels, params.sample_rate)
            features = FeatureStream(params)
            curves = LiveCurves(self.predictor.models, max(0.0, self.start_s - offset_s),
                                self.keep_values)
            if not self.keep_values:
                self._connections.clear()  # an endless stream keeps no values
            self._connections.append((offset_s, curves))
            for block in (_paced(blocks, rate) if self.realtime else blocks):
                if self._first_audio_at is None:
                    self._first_audio_at = time.monotonic()
                if gap is not None:  # audio again: the gap ends here
                    self.notice(f"{self._label}: reconnected; its audio starts at "
                                f"{offset_s:g} s")
                    self.emit({**value_line(gap[0], {}, self._columns),
                               "gap_s": round(gap[1], 3)}, ())
                    gap = None
                self._report(curves.add(*features.push(mixer.push(block),
                                                        curves.frames_wanted())), offset_s)
                self._heard_s = features.samples_received / params.sample_rate
            self._report(curves.add(*features.push(mixer.finish())), offset_s)
            self._report(curves.add(*features.finish()), offset_s)

    def curve(self) -> EmotionCurve:
        """Every value so far, as ``MAIN.py`` computes them, NaN in the gaps of a stream
        that reconnected (needs ``keep_values``)."""
        values = {offset_s + time_s: at_time for offset_s, curves in self._connections
                  for time_s, at_time in curves.values.items()}
        return curve_of_values(self.name, values, self._targets, self.predictor.params.hop_s)


def osc_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` of an OSC receiver (UDP).

    Raises
    ------
    ConfigError
        Not a host and a port in 1-65535.
    """
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"--osc {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9000 or "
                          "[::1]:9000")
    return host, int(port)


OSC_WARN_EVERY_S = 60.0  # a failing OSC send is reported at most this often


class OscSender:
    """Each new value as an OSC message ``/emoreco/<target>`` with the arguments
    ``[t, value]`` (floats), followed by its band, where the model has one, as
    ``/emoreco/<target>/band`` ``[t, low, high]``, and each gap of a reconnected URL as
    ``/emoreco/gap`` ``[t, gap_s]``, over UDP to ``HOST:PORT`` (messages built by python-osc, the
    ``live`` extra).

    The host is resolved once; broadcast addresses work. A send that fails (no receiver
    listening, the network down, a full buffer) is counted, reported once a minute
    through ``notice``, and the stream goes on.

    Raises
    ------
    ConfigError
        A malformed address, or a host that does not resolve (naming ``--osc``).
    """

    def __init__(self, address: str,
                 notice: Callable[[str], None] | None = None) -> None:
        require("pythonosc", "live", "--osc")
        host, port = osc_address(address)
        try:
            family, kind, protocol, _, target = socket.getaddrinfo(
                host, port, type=socket.SOCK_DGRAM)[0]
        except (socket.gaierror, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(f"--osc {address}: {host!r} does not resolve ({reason})"
                              ) from exc
        self.address, self.target = address, target
        self.notice = notice or (lambda line: None)
        self._socket = socket.socket(family, kind, protocol)
        self._socket.setblocking(False)  # a full buffer is a lost datagram, never a wait
        if family == socket.AF_INET:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        try:  # connected: a receiver that is not running is reported (ECONNREFUSED)
            self._socket.connect(target)
        except OSError as exc:
            self._socket.close()
            raise ConfigError(f"--osc {address}: cannot send there ({_detail(exc)})") from exc
        self.failed = 0
        self._warned_at = -math.inf

    def _send(self, path: str, values: list[float]) -> None:
        from pythonosc.osc_message_builder import OscMessageBuilder

        builder = OscMessageBuilder(path)
        for value in values:
            builder.add_arg(float(value), OscMessageBuilder.ARG_TYPE_FLOAT)
        try:
            self._socket.send(builder.build().dgram)
        except OSError as exc:
            self.failed += 1
            now = time.monotonic()
            if now - self._warned_at >= OSC_WARN_EVERY_S:
                self._warned_at = now
                self.notice(f"--osc {self.address}: sending failed ({_detail(exc)}; "
                            f"{self.failed} messages lost so far); the stream goes on")

    def send(self, record: dict[str, Any], new: tuple[str, ...]) -> None:
        """Send the values of ``new`` targets in ``record`` (a :func:`value_line`)."""
        if "gap_s" in record:
            self._send("/emoreco/gap", [record["t"], record["gap_s"]])
        for target in new:
            if record.get(target) is not None:
                self._send(f"/emoreco/{target}", [record["t"], record[target]])
                low, high = (record.get(column) for column in band_columns(target))
                if low is not None and high is not None:
                    self._send(f"/emoreco/{target}/band", [record["t"], low, high])

    def close(self) -> None:
        """Release the socket."""
        self._socket.close()


def _detail(exc: BaseException) -> str:
    """An error as a short phrase: the part of its message after its source's name."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).split(": ", 1)[-1] or type(exc).__name__
