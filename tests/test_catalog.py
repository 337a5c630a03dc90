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
from emoreco.curves import EmotionCurve
from emoreco.engine import open_engine
from emoreco.output_set import RESUMABLE_PREFIX, WORK
from emoreco.result_parts import (PartWriter, SongRecord, StoredCurves, latest_records,
                                  read_records, write_parquet_dataset)

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
    """Two TestSongPredicted.csv files hold the same rows: the same songs, times and
    empty cells exactly, values within 1e-4. Why not byte-equal across engines: Dask
    workers run one BLAS thread (this process may run more), which changes the float32
    summation order of the filterbank products (about 1e-7), and a value that close to a
    rounding boundary of the CSV's 4 decimals can flip its last digit."""
    a, b = pd.read_csv(first), pd.read_csv(second)
    assert a[["song", "time_s"]].equals(b[["song", "time_s"]])
    for target in ("arousal", "valence"):
        assert a[target].isna().equals(b[target].isna())
        assert np.allclose(a[target], b[target], atol=1.0001e-4, rtol=0, equal_nan=True)


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


@pytest.fixture
def dask_processes(tmp_path):
    """A ``dask scheduler`` and a ``dask worker`` with 2 worker processes, as in the
    README's recipe, on 127.0.0.1; yields the scheduler's address."""
    import json

    dask = str(Path(sys.executable).parent / "dask")
    info = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address",
         "127.0.0.1:0", "--scheduler-file", str(info)], stderr=subprocess.DEVNULL)
    worker = subprocess.Popen(
        [dask, "worker", "--scheduler-file", str(info), "--nworkers", "2", "--nthreads", "1",
         "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"],
        cwd=tmp_path, stderr=subprocess.DEVNULL)  # not the project folder: paths must do
    try:
        deadline = time.monotonic() + 60
        while not info.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield json.loads(info.read_text())["address"]
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)


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


def test_a_killed_run_resumes_where_it_stopped(catalog, trained_models, tmp_path):
    out = tmp_path / "out"
    args = _args(trained_models, catalog / "songs", out, "--jobs", "2", "--part-songs", "2")
    process = _main(*args)
    _wait_for_parts(process, out, 3)
    process.kill()  # SIGKILL: no chance to clean up
    process.wait()
    assert not (out / "TestSongPredicted.csv").exists()  # nothing that looks complete
    done = {record.name for _, record in read_records(_parts(out)[0].parent)}
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
    assert ((out / "TestSongPredicted.csv").read_bytes()  # same engine: byte for byte
            == (catalog / "reference-cluster" / "TestSongPredicted.csv").read_bytes())
    table = pd.read_csv(out / "TestSongPredicted.csv")
    assert not table.duplicated(["song", "time_s"]).any()
    assert table.song.nunique() == 24
    assert not list(out.glob(f"{RESUMABLE_PREFIX}*"))  # the work folder went with the commit


def test_a_song_edited_after_the_kill_is_computed_again(trained_models, tmp_path):
    paths = _write_songs(tmp_path / "songs", 10)
    out = tmp_path / "out"
    args = _args(trained_models, tmp_path / "songs", out, "--jobs", "1", "--part-songs", "1")
    process = _main(*args)
    _wait_for_parts(process, out, 2)
    process.kill()
    process.wait()
    done = [record.path for _, record in read_records(_parts(out)[0].parent)]
    edited = Path(done[0])
    soundfile.write(edited, sine_clip(SONG_S, 12000, ((3000.0, 0.9),)), 12000)
    resumed = _main(*args)
    _, err = resumed.communicate()
    assert resumed.returncode == 0, err
    assert f"resuming: {len(done) - 1} of 10 songs" in err
    assert main_predict(_args(trained_models, tmp_path / "songs", tmp_path / "fresh",
                              "--jobs", "1")) == 0
    assert ((out / "TestSongPredicted.csv").read_bytes()
            == (tmp_path / "fresh" / "TestSongPredicted.csv").read_bytes())
    assert len(paths) == 10


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
    done = read_records(_parts(out)[0].parent)
    assert 0 < len(done) < 40  # written on the way out
    resumed = _main(*args)
    _, err = resumed.communicate()
    assert resumed.returncode == 0 and f"resuming: {len(done)} of 40 songs" in err


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
    assert ((out / "TestSongPredicted.csv").read_bytes()
            == (catalog / "reference-cluster" / "TestSongPredicted.csv").read_bytes())


def _die_on_three(_: None, item: int) -> int:
    if item == 3:
        os._exit(1)  # a crash in native code, as a broken decoder would
    return item * 10


def test_an_item_that_keeps_killing_workers_is_a_failure_not_the_end():
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with open_engine(None, 2, 8) as engine:  # tasks of 4: item 3's siblings are retried
            outcomes = {o.item: o for o in engine.map_unordered(None, _die_on_three,
                                                                list(range(8)), chunk=4)}
    assert sorted(outcomes) == list(range(8))
    assert "died" in outcomes[3].error and outcomes[3].value is None
    assert all(outcomes[i].value == i * 10 and outcomes[i].error is None
               for i in range(8) if i != 3)


def test_an_unreachable_scheduler_is_a_one_line_error(trained_models, tmp_path, capsys):
    songs = _write_songs(tmp_path / "songs", 2, 10.0)
    assert main_predict(_args(trained_models, songs[0].parent, tmp_path / "out",
                              "--scheduler", "tcp://127.0.0.1:9")) == 2
    err = capsys.readouterr().err
    assert "cannot connect" in err and "Traceback" not in err


def _curve(name: str, offset: float, steps: int = 4) -> EmotionCurve:
    values = offset + 0.01 * np.arange(steps, dtype=np.float32)
    return EmotionCurve(name, 0.5 * np.arange(steps), {"arousal": values, "valence": -values})


def test_the_latest_record_of_an_unchanged_file_wins_and_stale_rows_are_dropped(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    first = PartWriter(work, songs_per_part=2)
    for name, size in (("a", 1), ("b", 2), ("c", 3)):
        first.add(SongRecord(name, f"/x/{name}", size, 0, {}), _curve(name, 0.1 * size))
    first.flush()
    (work / ".part-0001-000009.npz.x.tmp.npz").write_bytes(b"half a part")
    (work / "part-0001-000008.npz").write_bytes(b"")  # renamed, never reached the disk
    second = PartWriter(work, songs_per_part=2)  # a resumed run: session 2
    second.add(SongRecord("b", "/x/b", 5, 0, {}), _curve("b", 0.7))  # b was edited
    second.add(SongRecord("c", "/x/c", 3, 0, None, "unreadable"), None)
    second.flush()
    assert len(list(work.glob("part-0002-*"))) == 1
    now = {"/x/a": ("a", 1, 0), "/x/b": ("b", 5, 0), "/x/c": ("c", 3, 0)}
    latest = latest_records(work, now)
    assert not list(work.glob(".part-*"))  # the half-written part was removed
    assert not (work / "part-0001-000008.npz").exists()  # the empty one too, with a warning
    assert latest["/x/b"][1].size == 5 and latest["/x/c"][1].error == "unreadable"
    curves = StoredCurves([(latest[p][0], name) for p, (name, *_) in now.items()
                           if latest[p][1].error is None])
    assert [c.song for c in curves] == ["a", "b"]
    assert np.allclose(curves[1].arousal, 0.7 + 0.01 * np.arange(4))
    write_parquet_dataset(curves, tmp_path / "dataset")
    rows = pd.read_parquet(tmp_path / "dataset")
    assert sorted(rows.song.unique()) == ["a", "b"] and len(rows) == 8
    assert np.allclose(rows[rows.song == "b"].arousal, 0.7 + 0.01 * np.arange(4))
