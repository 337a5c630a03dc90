"""Live curves: the frames and values of a stream equal those of the whole song, whatever
the pieces; `emoreco listen` on a pipe, a file and a URL (a local HTTP server on
127.0.0.1) prints MAIN.py's values."""

import http.server
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from functools import partial

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, sine_clip
from emoreco.audio.features import compute_song_features
from emoreco.audio.stream import FeatureStream
from emoreco.cli import main_predict
from emoreco.core.config import FeatureParams


def _stream(samples: np.ndarray, sizes: list[int], params: FeatureParams):
    stream, parts, start, turn = FeatureStream(params), [], 0, 0
    while start < len(samples):
        size = sizes[turn % len(sizes)]
        parts.append(stream.push(samples[start:start + size]))
        start, turn = start + size, turn + 1
    parts.append(stream.finish())
    return (np.concatenate([p[0] for p in parts], axis=1),
            np.concatenate([p[1] for p in parts], axis=1), stream)


@pytest.mark.parametrize("sizes", [[10**6], [997], [1, 5000, 250, 7]])
def test_streamed_frames_are_the_songs_bit_for_bit(sizes):
    rng = np.random.default_rng(2)
    samples = sine_clip(12.0, partials=((220.0, 0.3), (1234.0, 0.1)))
    samples = samples + 0.01 * rng.normal(size=len(samples)).astype(np.float32)
    samples[:20000] *= 0.001  # quiet start: the dB floor follows the loudest band so far
    params = FeatureParams()
    whole = compute_song_features(samples, params)
    mfcc, chroma, stream = _stream(samples, sizes, params)
    np.testing.assert_array_equal(mfcc, whole.mfcc)
    np.testing.assert_array_equal(chroma, whole.chroma)
    assert stream.frames_done == 1 + len(samples) // params.hop_length


def test_a_stream_keeps_only_the_samples_it_still_reads():
    params = FeatureParams()
    stream = FeatureStream(params)
    for _ in range(600):  # 5 minutes
        stream.push(np.full(6000, 0.1, np.float32))
    assert stream.samples_received == 3_600_000
    assert len(stream._buffer) < 2 * params.chroma_n_fft  # noqa: SLF001 - the bound itself


def test_live_values_equal_song_curve_and_memory_stays_bounded(trained_models, tiny_deam):
    from emoreco.audio.decode import load_audio
    from emoreco.model.live import LiveCurves
    from emoreco.model.predictor import Predictor
    from emoreco.model.scoring import song_curve

    predictor = Predictor(trained_models / "models")
    samples = load_audio(tiny_deam / "test_songs" / "demo_song_2.wav", 12000)
    expected = song_curve("s", compute_song_features(samples, predictor.params),
                          predictor.models, 1.0)
    for size, lazy in ((12000, False), (250, False), (4321, False), (441, True)):
        stream, live = FeatureStream(predictor.params), LiveCurves(predictor.models, 1.0)
        for start in range(0, len(samples), size):
            wanted = live.frames_wanted() if lazy else None  # frames computed when due
            live.add(*stream.push(samples[start:start + size], wanted))
        live.add(*stream.finish())
        curve = live.curve("s")
        np.testing.assert_array_equal(curve.times_s, expected.times_s)
        for target, values in expected.values.items():
            np.testing.assert_array_equal(curve.values[target], values)
        # the frames the next inputs read: a window and a context, not the song
        assert live._mfcc.shape[1] <= 200  # noqa: SLF001 - the bound itself


def test_each_value_comes_as_soon_as_its_audio_has_arrived(trained_models, tiny_deam):
    """Arousal at t reads [t, t + 1.5 s), valence [t - 2.5 s, t + 0.5 s): fed 10 ms at a
    time, each value must come within 25 ms of audio after that end (10.7 ms: the last
    MFCC frame's window; 1.3 ms: the resampler's filter; 10 ms: the piece), and never
    before it, with the frames computed only when a value needs them. A resampler working
    in FFT blocks (soxr: up to 85 ms) or centred 171-ms chroma frames (valence 88-98 ms
    late) break it."""
    import soundfile

    from emoreco.audio.decode import MonoResampler
    from emoreco.model.live import LiveCurves
    from emoreco.model.predictor import Predictor

    predictor = Predictor(trained_models / "models")
    audio, rate = soundfile.read(tiny_deam / "test_songs" / "demo_song_2.wav", dtype="float32",
                                 always_2d=True)
    assert rate != 12000  # the resampler's delay counts
    mixer = MonoResampler("s", rate, audio.shape[1], 12000)
    stream, live = FeatureStream(predictor.params), LiveCurves(predictor.models, 1.0)
    ends = {"arousal": 1.5, "valence": 0.5}
    lags: dict[str, list[float]] = {"arousal": [], "valence": []}
    piece, computing = rate // 100, 0
    for start in range(0, len(audio) - piece, piece):
        heard_s = (start + piece) / rate
        frames = stream.push(mixer.push(audio[start:start + piece]), live.frames_wanted())
        computing += bool(frames[0].shape[1] or frames[1].shape[1])
        for time_s, values in live.add(*frames):
            assert all(f"{t}_low" in values and f"{t}_high" in values for t in ends
                       if t in values)  # a value comes with its band
            for target in ends.keys() & values.keys():
                lags[target].append(heard_s - (time_s + ends[target]))
    for target, lag in lags.items():
        assert len(lag) > 40, target
        assert 0 <= min(lag) and max(lag) <= 0.025, (target, min(lag), max(lag))
    # frames are computed when a value is due (twice per 0.5 s: chroma, then the MFCCs),
    # not in each of the 100 pieces a second
    assert computing <= 4.5 * len(audio) / rate, computing


COLUMNS = ("arousal", "valence", "arousal_low", "arousal_high", "valence_low", "valence_high")


def _lines(text: str) -> pd.DataFrame:
    """The last line of each time (a time comes once per target that reaches it)."""
    last = {}
    for line in text.splitlines():
        record = json.loads(line)
        assert set(record) == {"t", *COLUMNS}
        last[record["t"]] = record
    return pd.DataFrame(sorted(last.values(), key=lambda r: r["t"]))


def _listen(models, source: str, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emoreco", "listen", source, "--models-dir",
                           str(models)], stdin=stdin, capture_output=True, timeout=120,
                          cwd=ROOT)


@pytest.fixture(scope="module")
def offline(trained_models, tiny_deam, tmp_path_factory):
    """MAIN.py's table of the 4 demo test songs (MP3, WAV, FLAC, OGG)."""
    out = tmp_path_factory.mktemp("offline")
    assert main_predict([str(tiny_deam / "test_songs"), "--models-dir",
                         str(trained_models / "models"), "--out-dir", str(out), "--quiet",
                         "--no-plots", "--no-report"]) == 0
    return pd.read_csv(out / "TestSongPredicted.csv")


def _assert_same(live: pd.DataFrame, rows: pd.DataFrame) -> None:
    assert live.t.tolist() == rows.time_s.tolist()
    for target in COLUMNS:  # the values and their bands
        np.testing.assert_array_equal(live[target].astype(float).to_numpy(),
                                      rows[target].to_numpy())


@pytest.mark.parametrize("song", ["demo_song_1.mp3", "demo_song_2.wav", "demo_song_4.ogg"])
def test_a_pipe_and_a_file_give_main_py_values(trained_models, tiny_deam, offline, song):
    path = tiny_deam / "test_songs" / song
    rows = offline[offline.song == song]
    with open(path, "rb") as pipe:
        piped = _listen(trained_models / "models", "-", stdin=pipe)
    assert piped.returncode == 0, piped.stderr
    _assert_same(_lines(piped.stdout.decode()), rows)
    from_file = _listen(trained_models / "models", str(path))
    assert from_file.returncode == 0, from_file.stderr
    _assert_same(_lines(from_file.stdout.decode()), rows)


def test_a_url_gives_main_py_values(trained_models, tiny_deam, offline):
    handler = partial(http.server.SimpleHTTPRequestHandler,
                      directory=str(tiny_deam / "test_songs"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/demo_song_3.flac"
        result = _listen(trained_models / "models", url)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    _assert_same(_lines(result.stdout.decode()), offline[offline.song == "demo_song_3.flac"])


class _DroppingServer:
    """Serves one file on 127.0.0.1: the first request gets ``fraction`` of it without a
    length and then the connection is closed (a radio stream that drops); later ones get
    the whole file with its length, or ``later_status`` (a server that stays down)."""

    def __init__(self, data: bytes, fraction: float = 0.4, later_status: int = 200) -> None:
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - the http.server name
                outer.requests += 1
                if outer.requests > 1 and later_status != 200:
                    self.send_error(later_status)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                first = outer.requests == 1
                if not first:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:int(len(data) * fraction)] if first else data)
                self.wfile.flush()
                if first:
                    self.connection.shutdown(2)  # the drop

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/radio.mp3"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


@pytest.mark.slow
def test_a_url_that_drops_is_reopened_time_counts_on_and_the_gap_is_marked(
        trained_models, tiny_deam, offline, tmp_path):
    import re

    song = "demo_song_1.mp3"
    rows = offline[offline.song == song].set_index("time_s")
    with _DroppingServer((tiny_deam / "test_songs" / song).read_bytes(), 0.15) as server:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "emoreco", "listen", server.url, "--models-dir",
             str(trained_models / "models"), "--retry-wait", "0.3", "--out-dir",
             str(tmp_path / "out")], capture_output=True, timeout=120, cwd=ROOT, text=True)
        took = time.monotonic() - started
        assert server.requests == 2
    assert result.returncode == 0, result.stderr
    [wait] = re.findall(r"reconnecting in ([\d.]+) s \(attempt 1 of 10\)", result.stderr)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    [gap] = [r for r in records if "gap_s" in r]
    assert gap["arousal"] is None and gap["valence"] is None
    duration = rows.index.max() + 1.5  # the last arousal window ends with the song
    assert 0.1 * duration < gap["t"] < 0.2 * duration  # 15 % of the bytes were sent
    resumed = gap["t"] + gap["gap_s"]
    assert gap["gap_s"] >= 0.3 and round(resumed * 2) == pytest.approx(resumed * 2)
    # the server sent its 15 % at once: the reconnection waited for the wall clock to
    # catch up with the audio heard, so the clock never ran ahead of it
    assert float(wait) >= 0.3 and took > resumed
    before = [r for r in records if r["t"] < gap["t"] and "gap_s" not in r]
    after = _lines("\n".join(json.dumps(r) for r in records if r["t"] >= resumed))
    assert before and after.t.min() == resumed  # the new audio starts the time axis again
    for record in before:  # the first connection: MAIN.py's values of the same times
        for target in ("arousal", "valence"):
            if record[target] is not None:
                assert record[target] == rows.loc[record["t"], target]
    after["t"] -= resumed  # the second connection played the song from its start
    _assert_same(after, rows.reset_index())
    table = pd.read_csv(tmp_path / "out" / "TestSongPredicted.csv")
    gap_rows = table[(table.time_s > gap["t"]) & (table.time_s < resumed + 2.5)]
    assert len(gap_rows) and gap_rows.valence.isna().all()  # the gap has no values
    assert table.time_s.max() == pytest.approx(resumed + rows.index.max())


@pytest.mark.slow
def test_a_url_that_stays_down_ends_with_one_line_and_the_tables(trained_models, tiny_deam,
                                                                 tmp_path):
    data = (tiny_deam / "test_songs" / "demo_song_1.mp3").read_bytes()
    with _DroppingServer(data, later_status=503) as server:
        result = subprocess.run(
            [sys.executable, "-m", "emoreco", "listen", server.url, "--models-dir",
             str(trained_models / "models"), "--retries", "2", "--retry-wait", "0.1",
             "--out-dir", str(tmp_path / "out")], capture_output=True, timeout=120,
            cwd=ROOT, text=True)
        assert server.requests == 3  # the stream, then two attempts
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "attempt 2 of 2" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {server.url}: lost at ") and "2 attempts" in last
    assert len(pd.read_csv(tmp_path / "out" / "TestSongPredicted.csv")) > 0
    with _DroppingServer(data, later_status=404) as server:  # never heard: no retries
        server.requests = 1  # every request gets the 404
        wrong = subprocess.run(
            [sys.executable, "-m", "emoreco", "listen", server.url, "--models-dir",
             str(trained_models / "models")], capture_output=True, timeout=120, cwd=ROOT,
            text=True)
        assert server.requests == 2
    assert wrong.returncode == 2 and "reconnecting" not in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr


def test_a_stream_that_is_not_audio_is_one_line(trained_models):
    result = subprocess.run([sys.executable, "-m", "emoreco", "listen", "-", "--models-dir",
                             str(trained_models / "models")], input=b"hello, not audio" * 100,
                            capture_output=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2 and result.stdout == b""
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: standard input: ")
    assert "Traceback" not in result.stderr.decode()


def test_out_dir_gets_main_py_tables_at_the_end(trained_models, tiny_deam, offline, tmp_path):
    song = tiny_deam / "test_songs" / "demo_song_2.wav"
    with open(song, "rb") as pipe:
        result = subprocess.run([sys.executable, "-m", "emoreco", "listen", "-", "--models-dir",
                                 str(trained_models / "models"), "--out-dir",
                                 str(tmp_path / "out")], stdin=pipe, capture_output=True,
                                timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "out" / "TestSongPredicted.csv")
    rows = offline[offline.song == "demo_song_2.wav"]
    assert table.song.unique().tolist() == ["stdin"]
    np.testing.assert_array_equal(table[["time_s", "arousal", "valence"]].to_numpy(),
                                  rows[["time_s", "arousal", "valence"]].to_numpy())


@pytest.mark.slow
def test_ctrl_c_writes_the_tables_of_what_was_heard(trained_models, tiny_deam, offline,
                                                    tmp_path):
    song = tiny_deam / "test_songs" / "demo_song_1.mp3"
    process = subprocess.Popen([sys.executable, "-m", "emoreco", "listen", str(song),
                                "--realtime", "--models-dir", str(trained_models / "models"),
                                "--out-dir", str(tmp_path / "out")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    lines = 0
    while lines < 8 and time.monotonic() < deadline:  # a few seconds of music heard
        if process.stdout.readline():
            lines += 1
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    table = pd.read_csv(tmp_path / "out" / "TestSongPredicted.csv")
    rows = offline[offline.song == "demo_song_1.mp3"].set_index("time_s")
    assert 3 <= len(table) < len(rows)  # stopped early, not at the end
    for target in ("arousal", "valence"):
        heard = table.dropna(subset=[target])
        np.testing.assert_array_equal(heard[target].to_numpy(),
                                      rows.loc[heard.time_s, target].to_numpy())


def test_osc_receives_every_value(trained_models, tiny_deam):
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_server import ThreadingOSCUDPServer

    received = []
    dispatcher = Dispatcher()
    bands = []  # python-osc's "*" matches across "/": one handler sorts both kinds

    def keep(address, *args):
        (bands if address.endswith("/band") else received).append((address, *args))

    dispatcher.map("/emoreco/*", keep)
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        result = subprocess.run([sys.executable, "-m", "emoreco", "listen",
                                 str(tiny_deam / "test_songs" / "demo_song_3.flac"),
                                 "--models-dir", str(trained_models / "models"), "--osc",
                                 f"127.0.0.1:{port}"], capture_output=True, timeout=120,
                                cwd=ROOT)
        time.sleep(0.5)  # the last datagrams
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    lines = _lines(result.stdout.decode())
    expected = sorted((f"/emoreco/{target}", float(row.t), float(row[target]))
                      for _, row in lines.iterrows() for target in ("arousal", "valence")
                      if not pd.isna(row[target]))
    # OSC floats are 32-bit: rounded back to the lines' decimals they are the same values
    assert [(a, round(t, 3), round(v, 4)) for a, t, v in sorted(received)] == expected
    expected_bands = sorted((f"/emoreco/{target}/band", float(row.t),
                             float(row[f"{target}_low"]), float(row[f"{target}_high"]))
                            for _, row in lines.iterrows() for target in ("arousal", "valence")
                            if not pd.isna(row[target]))
    assert [(a, round(t, 3), round(low, 4), round(high, 4))
            for a, t, low, high in sorted(bands)] == expected_bands


@pytest.mark.parametrize("address", ["nohost", "127.0.0.1:0", "127.0.0.1:http", ":9000"])
def test_a_bad_osc_address_exits_2_before_any_work(address, capsys):
    from emoreco.cli import main_module

    with pytest.raises(SystemExit) as stop:
        main_module(["listen", "-", "--osc", address])
    assert stop.value.code == 2
    assert "expected HOST:PORT" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get "
                    "install chromium; .ci/run installs it)")
def test_the_served_page_draws_the_values_as_they_arrive(trained_models, tiny_deam, tmp_path):
    import re

    import soundfile

    samples, rate = soundfile.read(tiny_deam / "test_songs" / "demo_song_2.wav")
    song = tmp_path / "short.wav"
    soundfile.write(song, samples[:int(12 * rate)], rate)  # 12 s, played at its own pace
    process = subprocess.Popen([sys.executable, "-m", "emoreco", "listen", str(song),
                                "--realtime", "--serve", "0", "--models-dir",
                                str(trained_models / "models")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stderr is not None
        url = None
        while url is None:
            line = process.stderr.readline()
            assert line, "listen ended without serving"
            match = re.search(r"live page: (http://127\.0\.0\.1:\d+/)", line)
            url = match.group(1) if match else None
        page = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=30000",
             "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert '<span id="state">the stream has ended</span>' in page  # the end reached the page
    live = int(re.search(r'data-events="(\d+)"', page).group(1))
    for colour in ("rgb(214, 39, 40)", "rgb(31, 119, 180)"):  # the report's red and blue
        assert f"stroke: {colour}" in page
    for target in ("arousal", "valence"):  # the band's level in the legend, as in the report
        level = json.loads((trained_models / "models" / f"{target}.meta.json").read_text())
        assert f">{target}: {round(100 * level['band']['level'])} % band</text>" in page
    assert live > 0  # values that arrived as events, after the page was open
    drawn = json.loads(re.search(r'<pre id="data" hidden="">(.*?)</pre>', page).group(1))
    lines = _lines(out)
    for target in ("arousal", "valence"):
        printed = [[row.t, row[target]] for _, row in lines.iterrows()
                   if not pd.isna(row[target])]
        assert sorted(drawn[target]) == printed


def test_a_start_off_the_models_grid_is_refused(trained_models, capsys):
    from emoreco.cli import main_module

    assert main_module(["listen", "-", "--start", "0.3", "--models-dir",
                        str(trained_models / "models")]) == 2
    assert "--start must be a multiple of 0.5 s" in capsys.readouterr().err


class _FakeInput:
    """A sound card input as sounddevice's InputStream calls back, fed from an array."""

    def __init__(self, samples, device, samplerate, channels, dtype, blocksize, callback):
        assert dtype == "float32" and channels == samples.shape[1]
        self.samples, self.blocksize, self.callback = samples, blocksize, callback
        self.active = False

    def _run(self):
        for start in range(0, len(self.samples), self.blocksize):
            block = self.samples[start:start + self.blocksize]
            self.callback(block, len(block), None, None)
        self.active = False  # the recording ends (a real one ends with Ctrl-C)

    def __enter__(self):
        self.active = True
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.active = False


def _fake_sounddevice(samples, rate):
    import importlib.machinery
    import types

    module = types.ModuleType("sounddevice")
    module.__spec__ = importlib.machinery.ModuleSpec("sounddevice", None)
    module.PortAudioError = type("PortAudioError", (Exception,), {})
    devices = [{"name": "Speaker", "max_input_channels": 0, "default_samplerate": 48000.0},
               {"name": "Fake mic", "max_input_channels": 2, "default_samplerate": float(rate)}]

    def query_devices(which=None, kind=None):
        if which is None:
            return devices
        if which in (1, "Fake mic"):
            return devices[1]
        raise ValueError(f"no input device matching {which!r}")

    module.query_devices = query_devices
    module.InputStream = partial(_FakeInput, samples)
    return module


def test_a_sound_card_gives_the_values_of_its_recording(trained_models, tmp_path, monkeypatch):
    import soundfile

    from emoreco.audio.decode import load_audio
    from emoreco.core.errors import AudioError
    from emoreco.model.predictor import Predictor
    from emoreco.model.scoring import song_curve
    from emoreco.runs.listen import LiveSession, input_devices

    rate = 22050
    t = np.arange(int(20 * rate)) / rate
    mono = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 0.2 * t)) / 2
            + 0.05 * np.sin(2 * np.pi * 1500 * t)).astype(np.float32)
    samples = np.stack([mono, 0.5 * mono], axis=1)
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice(samples, rate))
    assert input_devices() == ["1: Fake mic (2 channels, 22050 Hz)"]
    predictor = Predictor(trained_models / "models")
    session = LiveSession("device Fake mic", predictor, lambda record, new: None,
                          keep_values=True, device="Fake mic")
    session.run()
    recorded = session.curve()
    soundfile.write(tmp_path / "same.wav", samples, rate, subtype="FLOAT")  # the same samples
    expected = song_curve("x", compute_song_features(load_audio(tmp_path / "same.wav", 12000),
                                                     predictor.params), predictor.models)
    np.testing.assert_array_equal(recorded.times_s, expected.times_s)
    for target, values in expected.values.items():
        np.testing.assert_array_equal(recorded.values[target], values)
    with pytest.raises(AudioError, match="--device Nowhere: no such input device"):
        LiveSession("x", predictor, lambda record, new: None, device="Nowhere").run()


def test_without_portaudio_a_sound_card_is_one_line(trained_models, monkeypatch, capsys):
    import builtins

    from emoreco.cli import main_module

    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    assert main_module(["listen", "--device", "0", "--models-dir",
                        str(trained_models / "models")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --device needs the PortAudio library (PortAudio library not "
                   "found); Debian: apt-get install libportaudio2"]
