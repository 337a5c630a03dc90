"""Catalog scale: the same curves in one process and on Dask workers (a LocalCluster
started here, on 127.0.0.1), runs killed for real and resumed, a worker killed mid-run,
and the crash-safe parts that make resuming possible."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

from conftest import ROOT, sine_clip
from emoreco.cli import main_predict
from emoreco.model.curves import EmotionCurve
from emoreco.core.engine import open_engine
from emoreco.runs.output_set import RESUMABLE_PREFIX, WORK
from emoreco.outputs.tables import write_parquet_table
from emoreco.runs.parts import PartStore, SongRecord, StoredCurves

SONG_S = 90.0  # long enough that a run of 24 songs lasts a few seconds, short to write


def _write_songs(folder: Path, count: int, seconds: float = SONG_S) -> list[Path]:
    """``count`` different 12-kHz WAV songs: chords and a pulse that vary by song."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        partials = ((110.0 * (1 + number % 5), 0.3), (165.0 * (1 + number % 3), 0.2),
                    (2000.0 + 150 * number, 0.05 * (number % 4)))
        samples = sine_clip(seconds, 12000, partials)
        pulse = (np.arange(len(samples)) % (1200 + 300 * (number % 6)) < 200).astype(np.float32)
        path = folder / f"song_{number:02d}.wav"
        soundfile.write(path, samples * (0.5 + 0.5 * pulse), 12000)
        paths.append(path)
    return paths


def _args(models: Path, songs: Path, out: Path, *extra: str) -> list[str]:
    return [str(songs), "--models-dir", str(models / "models"), "--out-dir", str(out),
            "--no-plots", "--no-report", "--quiet", *extra]


def _assert_same_curves(first: Path, second: Path) -> None:
    """Two TestSongPredicted.csv files are byte for byte the same: the features do not
    depend on the BLAS thread count (one per Dask worker, more in this process), so no
    value can differ even in the last digit."""
    assert first.read_bytes() == second.read_bytes()


def _records(work: Path) -> list:
    return [record for _, record in PartStore(work).records]


def _main(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "MAIN.py", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _parts(out: Path) -> list[Path]:
    return sorted(out.glob(f"{RESUMABLE_PREFIX}*/{WORK}/part-*.npz"))


def _wait_for_parts(process: subprocess.Popen, out: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(_parts(out)) < count:
        assert process.poll() is None, f"the run ended first: {process.communicate()}"
        assert time.monotonic() < deadline, "no parts written in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, trained_models):
    """24 songs and the outputs of uninterrupted runs: in one process (``reference``)
    and on a local cluster of 2 workers (``reference-cluster``)."""
    root = tmp_path_factory.mktemp("catalog")
    _write_songs(root / "songs", 24)
    for folder, jobs in (("reference", "1"), ("reference-cluster", "2")):
        assert main_predict(_args(trained_models, root / "songs", root / folder,
                                  "--jobs", jobs)) == 0
    return root


def _start_dask(folder: Path, worker_env: dict | None = None) -> tuple[str, list]:
    """A ``dask scheduler`` and a ``dask worker`` with 2 worker processes, as in the
    README's recipe, on 127.0.0.1: the scheduler's address and both processes."""
    import json

    dask = str(Path(sys.executable).parent / "dask")
    info = folder / "scheduler.json"
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address",
         "127.0.0.1:0", "--scheduler-file", str(info)], stderr=subprocess.DEVNULL)
    worker = subprocess.Popen(
        [dask, "worker", "--scheduler-file", str(info), "--nworkers", "2", "--nthreads", "1",
         "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"],
        cwd=folder, stderr=subprocess.DEVNULL,  # not the project folder: paths must do
        env=None if worker_env is None else os.environ | worker_env)
    deadline = time.monotonic() + 60
    while not info.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    return json.loads(info.read_text())["address"], [worker, scheduler]


def _wait_for_workers(address: str, count: int) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(count, timeout=60)


@pytest.fixture
def dask_processes(tmp_path):
    """The README's recipe (:func:`_start_dask`); yields the scheduler's address."""
    address, processes = _start_dask(tmp_path)
    try:
        yield address
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.slow
def test_a_local_cluster_and_a_remote_scheduler_give_the_curves_of_one_process(
        catalog, trained_models, tmp_path, dask_processes):
    _assert_same_curves(catalog / "reference-cluster" / "TestSongPredicted.csv",
                        catalog / "reference" / "TestSongPredicted.csv")
    assert main_predict(_args(trained_models, catalog / "songs", tmp_path / "remote",
                              "--scheduler", dask_processes, "--table", "parquet")) == 0
    rows = pd.read_parquet(tmp_path / "remote" / "TestSongPredicted.parquet")
    expected = pd.read_csv(catalog / "reference" / "TestSongPredicted.csv")
    assert list(rows.columns) == list(expected.columns) and len(rows) == len(expected)
    merged = expected.merge(rows, on=["song", "time_s"], suffixes=("", "_parquet"))
    assert len(merged) == len(expected)  # every row once
    for target in ("arousal", "valence"):  # the CSV holds 4 decimals (and see above)
        assert np.allclose(merged[target], merged[f"{target}_parquet"], atol=1.5e-4,
                           equal_nan=True)
    summary = pd.read_csv(tmp_path / "remote" / "TestSongSummary.csv")
    assert summary.song.tolist() == pd.read_csv(
        catalog / "reference" / "TestSongSummary.csv").song.tolist()


def test_a_small_batch_runs_on_threads_with_the_curves_of_one_process(trained_models, tmp_path,
                                                                      caplog):
    _write_songs(tmp_path / "songs", 3, seconds=30.0)
    caplog.set_level("INFO")
    assert main_predict(_args(trained_models, tmp_path / "songs", tmp_path / "one",
                              "--jobs", "1")) == 0
    assert "threads of this process" not in caplog.text
    assert main_predict(_args(trained_models, tmp_path / "songs", tmp_path / "auto")) == 0
    threads = min(os.cpu_count() or 1, 3)  # one per core, no more than the songs
    assert (f"{threads} threads of this process (3 songs" in caplog.text if threads > 1
            else "threads of this process" not in caplog.text)
    assert "Dask" not in caplog.text
    _assert_same_curves(tmp_path / "auto" / "TestSongPredicted.csv",
                        tmp_path / "one" / "TestSongPredicted.csv")


@pytest.mark.slow
def test_a_killed_run_resumes_where_it_stopped(catalog, trained_models, tmp_path):
    out = tmp_path / "out"
    args = _args(trained_models, catalog / "songs", out, "--jobs", "2", "--part-songs", "2")
    process = _main(*args)
    _wait_for_parts(process, out, 3)
    process.kill()  # SIGKILL: no chance to clean up
    process.wait()
    assert not (out / "TestSongPredicted.csv").exists()  # nothing that looks complete
    done = {record.name for record in _records(_parts(out)[0].parent)}
    assert 6 <= len(done) < 24

    other = _main(*_args(trained_models, catalog / "songs", out, "--end", "30"))
    assert other.wait() == 2 and "interrupted run" in other.communicate()[1]

    resumed = _main(*args)
    _, err = resumed.communicate()
    assert resumed.returncode == 0, err
    assert f"resuming: {len(done)} of 24 songs already done" in err
    assert f"{24 - len(done)} songs predicted now" in err  # the others were not redone
    assert "Dask: 2 worker(s); dashboard http://127.0.0.1:" in err
    assert "Nanny" not in err and "Scheduler" not in err  # no Dask start/stop chatter
    _assert_same_curves(out / "TestSongPredicted.csv",
                        catalog / "reference" / "TestSongPredicted.csv")  # any engine
    table = pd.read_csv(out / "TestSongPredicted.csv")
    assert not table.duplicated(["song", "time_s"]).any()
    assert table.song.nunique() == 24
    assert not list(out.glob(f"{RESUMABLE_PREFIX}*"))  # the work folder went with the commit


@pytest.mark.slow
def test_a_song_edited_after_the_kill_is_computed_again(trained_models, tmp_path):
    paths = _write_songs(tmp_path / "songs", 10)
    out = tmp_path / "out"
    args = _args(trained_models, tmp_path / "songs", out, "--jobs", "1", "--part-songs", "1")
    process = _main(*args)
    _wait_for_parts(process, out, 2)
    process.kill()
    process.wait()
    done = [record.path for record in _records(_parts(out)[0].parent)]
    edited = Path(done[0])
    soundfile.write(edited, sine_clip(SONG_S, 12000, ((3000.0, 0.9),)), 12000)
    resumed = _main(*args)
    _, err = resumed.communicate()
    assert resumed.returncode == 0, err
    assert f"resuming: {len(done) - 1} of 10 songs" in err
    assert main_predict(_args(trained_models, tmp_path / "songs", tmp_path / "fresh",
                              "--jobs", "1")) == 0
    _assert_same_curves(out / "TestSongPredicted.csv", tmp_path / "fresh" / "TestSongPredicted.csv")
    assert len(paths) == 10


@pytest.mark.slow
def test_ctrl_c_keeps_the_songs_finished_so_far(trained_models, tmp_path):
    _write_songs(tmp_path / "songs", 40)
    out = tmp_path / "out"
    args = _args(trained_models, tmp_path / "songs", out, "--jobs", "1", "--part-songs", "1000")
    process = _main(*[a for a in args if a != "--quiet"])  # the progress bar tells when
    seen = ""
    deadline = time.monotonic() + 120
    while not re.search(r"\| *([2-9]|[1-3][0-9])/40 ", seen):  # 2+ done; no part is due yet
        assert process.poll() is None and time.monotonic() < deadline, seen
        seen += os.read(process.stderr.fileno(), 4096).decode(errors="replace")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in err and "Traceback" not in err
    done = _records(_parts(out)[0].parent)
    assert 0 < len(done) < 40  # written on the way out
    resumed = _main(*args)
    _, err = resumed.communicate()
    assert resumed.returncode == 0 and f"resuming: {len(done)} of 40 songs" in err


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
@pytest.mark.parametrize("moment", ["workers starting", "songs running"])
def test_a_terminals_ctrl_c_stops_a_dask_run_without_tracebacks(catalog, trained_models,
                                                               tmp_path, moment):
    """Issue 28, 5: a terminal sends Ctrl-C's SIGINT to its whole foreground group, the
    Dask worker processes too, which printed KeyboardInterrupt tracebacks (7 of them).
    Here the run gets its own group and the signal goes to all of it, as a terminal's.
    While the workers start (their imports) the run ignores it; once songs run, it stops."""
    out = tmp_path / "out"
    args = [a for a in _args(trained_models, catalog / "songs", out, "--jobs", "2")
            if a != "--quiet"]  # the progress bar tells when songs run
    process = subprocess.Popen([sys.executable, "MAIN.py", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    seen, workers, deadline = "", [], time.monotonic() + 120
    if moment == "workers starting":
        while not workers:  # spawned, still importing: no worker has registered yet
            assert process.poll() is None and time.monotonic() < deadline
            workers = _worker_pids(process.pid)
    else:
        while not re.search(r"\| *([1-9]|1[0-9])/24 ", seen):
            assert process.poll() is None and time.monotonic() < deadline, seen
            seen += os.read(process.stderr.fileno(), 4096).decode(errors="replace")
        workers = _worker_pids(process.pid)
        assert len(workers) == 2, workers
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    err = seen + err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    if moment == "songs running":
        assert process.returncode == 130 and err.rstrip().endswith("interrupted"), err
    else:  # the run goes on if the signal came before the run's own handler was back
        assert process.returncode == 0 or err.rstrip().endswith("interrupted"), err
    time.sleep(1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]]


def _worker_pids(pid: int) -> list[int]:
    """Dask worker processes started by ``pid`` (spawned children, not the tracker)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if parent == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_a_worker_killed_mid_run_loses_no_song(catalog, trained_models, tmp_path):
    out = tmp_path / "out"
    process = _main(*_args(trained_models, catalog / "songs", out, "--jobs", "2",
                           "--part-songs", "1"))
    _wait_for_parts(process, out, 2)
    workers = _worker_pids(process.pid)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert not list(out.glob(f"{RESUMABLE_PREFIX}*"))  # committed
    _assert_same_curves(out / "TestSongPredicted.csv",
                        catalog / "reference" / "TestSongPredicted.csv")


def _die_on_three(_: None, item: int) -> int:
    if item == 3:
        os._exit(1)  # a crash in native code, as a broken decoder would
    return item * 10


@pytest.mark.slow
def test_an_item_that_keeps_killing_workers_is_a_failure_not_the_end():
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with open_engine(None, 2, 8) as engine:  # tasks of 4: item 3's siblings are retried
            outcomes = {o.item: o for o in engine.map_unordered(None, _die_on_three,
                                                                list(range(8)), chunk=4)}
    assert sorted(outcomes) == list(range(8))
    assert "died" in outcomes[3].error and outcomes[3].value is None
    wrong = {i: (o.value, o.error) for i, o in outcomes.items()
             if i != 3 and (o.value != i * 10 or o.error is not None)}
    assert not wrong


class _Listener:
    """A TCP server on 127.0.0.1 that is not a Dask scheduler: one that accepts and
    stays silent, or one that answers every connection at once (as an HTTP server
    answers garbage with ``HTTP/1.0 400``)."""

    def __init__(self, answer: bytes | None) -> None:
        import socket
        import threading

        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        self.held: list = []

        def serve() -> None:
            while True:
                try:
                    connection, _ = self.server.accept()
                except OSError:
                    return
                if answer is None:
                    self.held.append(connection)  # accepted, never answered
                else:
                    connection.sendall(answer)
                    connection.close()

        threading.Thread(target=serve, daemon=True).start()

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.mark.parametrize("server, message", [
    ("closed", "cannot connect (ConnectionRefusedError"),
    ("rude", "something answers there, but not a Dask scheduler (it sent b'HTTP/1.0')"),
    ("silent", "no Dask scheduler answered within 10 s"),
])
@pytest.mark.slow
def test_a_scheduler_that_is_not_one_is_a_one_line_error_in_bounded_time(
        trained_models, tmp_path, capsys, server, message):
    songs = _write_songs(tmp_path / "songs", 2, 10.0)
    listener = None if server == "closed" else _Listener(
        b"HTTP/1.0 400 Bad Request\r\n\r\n" if server == "rude" else None)
    address = "tcp://127.0.0.1:9" if listener is None else listener.address
    started = time.monotonic()
    try:
        code = main_predict(_args(trained_models, songs[0].parent, tmp_path / "out",
                                  "--scheduler", address))
    finally:
        if listener is not None:
            listener.close()
    assert code == 2 and time.monotonic() - started < 30
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if not line.startswith("WARNING: these models")]
    assert line.startswith("error: --scheduler ") and message in line


@pytest.mark.slow
def test_a_dask_worker_or_a_web_server_is_not_taken_for_a_scheduler(dask_processes):
    import http.server
    import threading

    from distributed import Client

    from emoreco.core.engine import check_scheduler
    from emoreco.core.errors import EmorecoError

    _wait_for_workers(dask_processes, 2)
    with Client(dask_processes, timeout="30s") as client:
        worker = next(iter(client.scheduler_info()["workers"]))
    with pytest.raises(EmorecoError, match="a Dask Worker answers there, not a scheduler"):
        check_scheduler(worker)
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                          http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(EmorecoError, match="no Dask scheduler answered within 2 s"):
            check_scheduler(f"tcp://127.0.0.1:{web.server_address[1]}", timeout_s=2)
    finally:
        web.shutdown()
    assert time.monotonic() - started < 5
    check_scheduler(dask_processes)  # the real one passes


@pytest.mark.slow
def test_workers_without_emoreco_are_a_one_line_error(trained_models, tmp_path, capsys):
    fake = tmp_path / "fake" / "emoreco"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("emoreco is not installed here")\n')
    address, processes = _start_dask(tmp_path, {"PYTHONPATH": str(fake.parent)})
    try:
        _wait_for_workers(address, 2)
        songs = _write_songs(tmp_path / "songs", 2, 10.0)
        assert main_predict(_args(trained_models, songs[0].parent, tmp_path / "out",
                                  "--scheduler", address)) == 2
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if not line.startswith("WARNING: these models")]
    assert line.startswith("error: the Dask workers cannot set up the run (")
    assert "emoreco is not installed here" in line and "make install" in line


def _curve(name: str, offset: float, steps: int = 4) -> EmotionCurve:
    values = offset + 0.01 * np.arange(steps, dtype=np.float32)
    return EmotionCurve(name, 0.5 * np.arange(steps), {"arousal": values, "valence": -values})


def test_the_latest_record_of_an_unchanged_file_wins_and_stale_rows_are_dropped(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    first = PartStore(work).writer(songs_per_part=2)
    for name, size in (("a", 1), ("b", 2), ("c", 3)):
        first.add(SongRecord(name, f"/x/{name}", size, 0, {}), _curve(name, 0.1 * size))
    first.flush()
    (work / ".part-0001-000009.npz.0123456789ab.tmp.npz").write_bytes(b"half a part")
    (work / "part-0001-000008.npz").write_bytes(b"")  # renamed, never reached the disk
    second = PartStore(work).writer(songs_per_part=2)  # a resumed run: session 2
    second.add(SongRecord("b", "/x/b", 5, 0, {}), _curve("b", 0.7))  # b was edited
    second.add(SongRecord("c", "/x/c", 3, 0, None, "unreadable"), None)
    second.flush()
    assert len(list(work.glob("part-0002-*"))) == 1
    now = {"/x/a": ("a", 1, 0), "/x/b": ("b", 5, 0), "/x/c": ("c", 3, 0)}
    latest = PartStore(work).latest(now)
    assert not list(work.glob(".part-*"))  # the half-written part was removed
    assert not (work / "part-0001-000008.npz").exists()  # the empty one set aside
    assert (work / "damaged-part-0001-000008.npz").exists()
    assert latest["/x/b"][1].size == 5 and latest["/x/c"][1].error == "unreadable"
    curves = StoredCurves([(latest[p][0], name) for p, (name, *_) in now.items()
                           if latest[p][1].error is None])
    assert [c.song for c in curves] == ["a", "b"]
    assert np.allclose(curves[1].arousal, 0.7 + 0.01 * np.arange(4))
    write_parquet_table(curves, tmp_path / "dataset")
    rows = pd.read_parquet(tmp_path / "dataset")
    assert sorted(rows.song.unique()) == ["a", "b"] and len(rows) == 8
    assert np.allclose(rows[rows.song == "b"].arousal, 0.7 + 0.01 * np.arange(4))
