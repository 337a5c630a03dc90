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
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.audio.decode import (Decoded, MonoResampler, decoder_blocks, open_audio,
                                  open_ffmpeg)
from emoreco.audio.stream import FeatureStream
from emoreco.core.errors import AudioError, ConfigError
from emoreco.core.extras import require
from emoreco.model.curves import EmotionCurve
from emoreco.model.live import LiveCurves, curve_of_values
from emoreco.model.predictor import Predictor
from emoreco.outputs.tables import DECIMALS

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


def is_url(source: str) -> bool:
    """``http://``, ``https://``, ``rtmp://``, ... (FFmpeg's protocols)."""
    scheme, sep, _ = source.partition("://")
    return bool(sep) and scheme.isalpha()


@contextlib.contextmanager
def open_live_source(source: str) -> Iterator[Decoded]:
    """Open ``-`` (standard input), a URL or a file.

    A file goes through :func:`~emoreco.audio.decode.open_audio` (the decoder ``MAIN.py``
    uses for it); a pipe or URL through FFmpeg with the least probing, each decoded frame
    yielded at once.

    Raises
    ------
    AudioError
        The source is not audio (one line naming it).
    """
    import av

    if source != "-" and not is_url(source):
        path = Path(source)
        if not path.is_file():
            raise AudioError(f"{path}: no such audio file")
        with open_audio(path) as (rate, channels, blocks):
            yield rate, channels, decoder_blocks(path, blocks)
        return
    # unbuffered: a read returns what has arrived instead of waiting for FFmpeg's 32 kB
    target: Any = (open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)  # noqa: SIM115
                   if source == "-" else source)
    label = "standard input" if source == "-" else source
    try:
        with open_ffmpeg(target, label, gather=0, options=LIVE_DEMUXER_OPTIONS) as decoded:
            yield decoded
    except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
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


def value_line(time_s: float, values: dict[str, float], targets: list[str]) -> dict[str, Any]:
    """One output record: ``{"t": 12.5, "arousal": 0.31, "valence": None}``, values
    rounded as in the tables, None where a target has no value (yet)."""
    record: dict[str, Any] = {"t": round(time_s, 3)}
    for target in targets:
        value = values.get(target)
        record[target] = (None if value is None or math.isnan(value)
                          else round(float(value), DECIMALS))
    return record


RETRY_WAIT_MAX_S = 30.0  # the longest wait between two reconnection attempts


class LiveSession:
    """The curves of ``source``, computed as it arrives, each new value given to ``emit``.

    Each call of ``emit(record, new)`` gets a :func:`value_line` for one time, when a
    target's value at that time is computed, with the values of the other targets known
    by then (at 2 Hz, valence at ``t`` comes 1 s before arousal at ``t``: a time is
    emitted twice), and ``new``, the targets computed just now.

    A URL that drops (FFmpeg reports an I/O error: the server closed the connection
    before the announced length, or a stream without one ended) is opened again after
    ``retry_wait_s``, doubling up to :data:`RETRY_WAIT_MAX_S`, at most ``retries`` times
    in a row. Time keeps counting: the new connection's audio starts at the end of the
    audio heard plus the time the reconnection took, rounded up to the time step; its
    first record marks the gap, ``{"t": <end of the audio heard>, "arousal": null,
    "valence": null, "gap_s": <seconds without audio>}``. Values resume once the new
    audio fills their windows (as at the start of a stream).

    Parameters
    ----------
    source : str
        ``-`` (standard input), a URL, or a file; or with ``device``, a label.
    device : str, optional
        Record from this sound card instead (:func:`open_device`).
    realtime : bool
        Read a file at its own pace instead of as fast as it decodes.
    keep_values : bool
        Keep every value, for :meth:`curve` (the tables at the end of a stream).
    retries, retry_wait_s : int, float
        Reconnection attempts after a URL drops, and the first wait in seconds.
    notice : callable, optional
        Gets a line for the user on each drop and reconnection (standard error).
    """

    def __init__(self, source: str, predictor: Predictor,
                 emit: Callable[[dict[str, Any], tuple[str, ...]], None],
                 start_s: float = 0.0, realtime: bool = False, keep_values: bool = False,
                 device: str | None = None, retries: int = 10, retry_wait_s: float = 1.0,
                 notice: Callable[[str], None] | None = None) -> None:
        self.source, self.predictor, self.emit = source, predictor, emit
        self.device = device
        self.realtime = realtime
        self.name = "stdin" if source == "-" else source.rstrip("/").rsplit("/", 1)[-1]
        self.start_s, self.keep_values = start_s, keep_values
        self.retries, self.retry_wait_s = retries, retry_wait_s
        self.notice = notice or (lambda line: None)
        self._label = "standard input" if source == "-" else source
        self._targets = list(predictor.models)
        self._recent: dict[float, dict[str, float]] = {}
        self._connections: list[tuple[float, LiveCurves]] = []  # (offset_s, curves)
        self._heard_s = 0.0  # audio of the current connection so far

    def _report(self, new: list[tuple[float, dict[str, float]]], offset_s: float) -> None:
        for time_s, values in new:
            time_s += offset_s
            merged = self._recent.setdefault(time_s, {})
            merged.update(values)
            self.emit(value_line(time_s, merged, self._targets), tuple(values))
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
        """
        if self.device is not None:
            self._play(open_device(self.device), 0.0)
            return
        if not is_url(self.source):
            self._play(open_live_source(self.source), 0.0)
            return
        offset_s, lost_s, lost_at, failures, gap = 0.0, 0.0, time.monotonic(), 0, None
        while True:
            self._heard_s = 0.0
            try:
                self._play(open_live_source(self.source), offset_s, gap)
                return
            except AudioError as exc:
                if self._heard_s:  # a new drop: the failures start again
                    lost_s, lost_at, failures = offset_s + self._heard_s, time.monotonic(), 0
                elif not self._connections:
                    raise  # never heard: a wrong URL is a mistake, not a drop
                failures += 1
                if failures > self.retries:
                    raise AudioError(f"{self._label}: lost at {lost_s:.1f} s and not "
                                     f"reopened in {self.retries} attempts ({exc})") from exc
                wait_s = min(self.retry_wait_s * 2 ** (failures - 1), RETRY_WAIT_MAX_S)
                self.notice(f"{self._label}: no audio from {lost_s:.1f} s ({exc}); "
                            f"reconnecting in {wait_s:g} s (attempt {failures} of "
                            f"{self.retries})")
                time.sleep(wait_s)
                hop = self.predictor.params.hop_s
                offset_s = math.ceil((lost_s + time.monotonic() - lost_at) / hop - 1e-9) * hop
                gap = (lost_s, offset_s - lost_s)

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
                if gap is not None:  # audio again: the gap ends here
                    self.notice(f"{self._label}: reconnected; its audio starts at "
                                f"{offset_s:g} s")
                    self.emit({**value_line(gap[0], {}, self._targets),
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
    """``HOST:PORT`` of an OSC receiver (UDP).

    Raises
    ------
    ConfigError
        Not a host and a port in 1-65535.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"--osc {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9000")
    return host, int(port)


class OscSender:
    """Each new value as an OSC message ``/emoreco/<target>`` with the arguments
    ``[t, value]`` (floats), and each gap of a reconnected URL as ``/emoreco/gap``
    ``[t, gap_s]``, over UDP to ``HOST:PORT`` (python-osc, the ``live`` extra)."""

    def __init__(self, address: str) -> None:
        require("pythonosc", "live", "--osc")
        from pythonosc.udp_client import SimpleUDPClient

        host, port = osc_address(address)
        self._client = SimpleUDPClient(host, port)

    def send(self, record: dict[str, Any], new: tuple[str, ...]) -> None:
        """Send the values of ``new`` targets in ``record`` (a :func:`value_line`)."""
        if "gap_s" in record:
            self._client.send_message("/emoreco/gap", [float(record["t"]),
                                                       float(record["gap_s"])])
        for target in new:
            if record.get(target) is not None:
                self._client.send_message(f"/emoreco/{target}",
                                          [float(record["t"]), float(record[target])])
