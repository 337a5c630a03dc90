"""Faults injected for real: edited audio under a warm cache, non-finite samples, killed
runs, stale and unreadable outputs, duplicate names, hour-long files, umask.

The README's reliability table lists these cases and their outcomes.
"""

import os
import shutil
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
from emoreco.core.config import FeatureParams
from emoreco.core.errors import AudioError
from emoreco.data.extraction import extract_corpus
from emoreco.data.feature_cache import FeatureCache, song_features
from emoreco.runs.output_set import MANIFEST, OutputSet, read_manifest, recover
from emoreco.outputs.tables import KNOWN_OUTPUTS

PARAMS = FeatureParams()


def _predict(models, inputs, out, *extra):
    return main_predict([*map(str, inputs), "--models-dir", str(models), "--out-dir", str(out),
                         "--quiet", *extra])


def _set_is_consistent(out: Path) -> dict:
    """The manifest, after checking it lists exactly the files there with their digests."""
    import hashlib

    manifest = read_manifest(out)
    assert manifest is not None
    for name, info in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == info["sha256"], name
    visible = {p.relative_to(out).as_posix() for p in out.rglob("*")
               if p.is_file() and not p.relative_to(out).as_posix().startswith(".")}
    assert visible == set(manifest["files"]) | {MANIFEST}
    return manifest


# ------------------------------------------------------------------ the feature cache

def test_edited_audio_under_a_warm_cache_is_recomputed_and_said_so(tiny_deam, tmp_path,
                                                                   caplog):
    songs = sorted((tiny_deam / "MEMD_audio").glob("*.mp3"))[:2]
    audio = tmp_path / "MEMD_audio"
    audio.mkdir()
    target = audio / "34.mp3"
    shutil.copy(songs[0], target)
    cache = FeatureCache(tmp_path / "cache", PARAMS)
    assert extract_corpus({34: target}, PARAMS, cache, n_jobs=1, progress=False) == {}
    before = cache.load(34, target)
    shutil.copy(songs[1], target)  # different audio, same name and id
    caplog.set_level("WARNING")
    assert extract_corpus({34: target}, PARAMS, cache, n_jobs=1, progress=False) == {}
    assert f"song 34: {target} changed since its features were cached" in caplog.text
    after = cache.load(34, target)
    expected = song_features(songs[1], PARAMS)
    np.testing.assert_array_equal(after.mfcc, expected.mfcc)
    assert not np.array_equal(after.mfcc, before.mfcc)
    caplog.clear()
    os.utime(target)  # touched, same content: kept without recomputing or a message
    assert cache.check(34, target) is None and "changed" not in caplog.text


def test_two_corpora_sharing_a_cache_never_mix(tiny_deam, tmp_path):
    songs = sorted((tiny_deam / "MEMD_audio").glob("*.mp3"))[:2]
    demo, deam = tmp_path / "demo" / "MEMD_audio", tmp_path / "deam" / "MEMD_audio"
    for folder, song in ((demo, songs[0]), (deam, songs[1])):
        folder.mkdir(parents=True)
        shutil.copy(song, folder / "34.mp3")  # the same id in both corpora
    cache = FeatureCache(tmp_path / "data", PARAMS)
    for folder in (demo, deam, demo):
        assert extract_corpus({34: folder / "34.mp3"}, PARAMS, cache, n_jobs=1,
                              progress=False) == {}
    for folder, song in ((demo, songs[0]), (deam, songs[1])):
        np.testing.assert_array_equal(cache.load(34, folder / "34.mp3").mfcc,
                                      song_features(song, PARAMS).mfcc)


def test_a_corrupted_file_is_not_hidden_by_its_cache_entry(tiny_deam, tmp_path):
    target = tmp_path / "audio" / "12.mp3"
    target.parent.mkdir()
    shutil.copy(sorted((tiny_deam / "MEMD_audio").glob("*.mp3"))[0], target)
    cache = FeatureCache(tmp_path / "cache", PARAMS)
    assert extract_corpus({12: target}, PARAMS, cache, n_jobs=1, progress=False) == {}
    target.write_bytes(target.read_bytes()[:2000])  # truncated after caching
    failures = extract_corpus({12: target}, PARAMS, cache, n_jobs=1, progress=False)
    assert list(failures) == [12] and str(target) in failures[12]
    assert cache.load(12, target) is None


# ------------------------------------------------------------------ odd audio

def _nan_wav(path: Path) -> Path:
    samples = sine_clip(20.0, 22050)
    samples[30000] = np.nan
    soundfile.write(path, samples, 22050, subtype="FLOAT")
    return path


@pytest.mark.parametrize("make, message", [
    (_nan_wav, "decoded audio contains NaN or infinite samples (first at 1.361 s)"),
    (lambda p: (soundfile.write(p, np.full(30000, np.inf, np.float32), 12000,
                                subtype="FLOAT"), p)[1], "NaN or infinite samples (first at 0.000 s)"),
    (lambda p: (p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"
                              b"\x01\x00\x00\x00\x02\x00\x00\x00\x02\x00\x10\x00data\x00\x00"
                              b"\x00\x00"), p)[1], "sample rate 1 Hz is outside"),
    (lambda p: (p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x00\x00"
                              b"\x44\xac\x00\x00\x88\x58\x01\x00\x02\x00\x10\x00data\x00\x00"
                              b"\x00\x00"), p)[1], "cannot decode audio|0 channels"),
])
def test_odd_audio_is_a_per_file_error(tmp_path, make, message):
    import re

    from emoreco.audio.decode import load_audio

    path = make(tmp_path / "odd.wav")
    with pytest.raises(AudioError, match=re.escape(message) if "|" not in message else message):
        load_audio(path, 12000)


def test_a_nan_sample_does_not_cost_the_batch_its_good_songs(trained_models, tiny_deam,
                                                             tmp_path, capsys):
    songs = tmp_path / "songs"
    songs.mkdir()
    shutil.copy(tiny_deam / "test_songs" / "demo_song_1.mp3", songs)
    _nan_wav(songs / "broken.wav")
    assert _predict(trained_models / "models", [songs], tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "broken.wav: decoded audio contains NaN" in err and "Traceback" not in err
    table = pd.read_csv(tmp_path / "out" / "TestSongPredicted.csv")
    assert table.song.unique().tolist() == ["demo_song_1.mp3"]
    manifest = _set_is_consistent(tmp_path / "out")
    assert list(manifest["failures"]) == [str(songs / "broken.wav")]
    cache = FeatureCache(tmp_path / "cache", PARAMS)
    failures = extract_corpus({5: songs / "broken.wav", 6: songs / "demo_song_1.mp3"}, PARAMS,
                              cache, n_jobs=1, progress=False)
    assert list(failures) == [5] and cache.check(6, songs / "demo_song_1.mp3") is None


# ------------------------------------------------------------------ output sets

def test_overwrite_removes_the_previous_sets_files_that_the_new_run_does_not_make(
        trained_models, tiny_deam, tmp_path):
    song = tiny_deam / "test_songs" / "demo_song_1.mp3"
    out = tmp_path / "out"
    assert _predict(trained_models / "models", [song], out, "--json") == 0
    assert (out / "TestSongPredicted.json").is_file()
    assert _predict(trained_models / "models", [song], out, "--no-plots", "--overwrite") == 0
    manifest = _set_is_consistent(out)
    assert not (out / "TestSongPredicted.json").exists()
    assert not (out / "Arousal_tracks.png").exists() and "emotion_report.html" in manifest["files"]


def test_an_output_folder_that_cannot_be_written_fails_before_any_work(tmp_path):
    if os.geteuid() == 0:  # root writes through permission bits; /sys refuses even root
        if not Path("/sys").is_dir():
            pytest.skip("running as root without /sys: no folder here refuses writes")
        out = Path("/sys")
    else:
        out = tmp_path / "readonly"
        out.mkdir()
        out.chmod(0o555)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "MAIN.py", str(ROOT / "MAIN.py"), "--out-dir",
                             str(out), "--models-dir", str(tmp_path / "no-models")],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    # the folder is refused before the models are even looked for
    assert "no trained" not in result.stderr and str(out) in result.stderr
    assert time.perf_counter() - started < 30


def _killed_after(pattern: str, count: int, *command: str) -> subprocess.CompletedProcess:
    """Run ``command`` (a script and its arguments, or ``-c`` code) and SIGKILL it right
    after its ``count``-th rename whose target matches ``pattern`` (tests/kill_after.py);
    ``count`` 0 runs it to the end and reports the number of such renames."""
    return subprocess.run([sys.executable, str(ROOT / "tests" / "kill_after.py"), pattern,
                           str(count), *command], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_a_run_killed_at_every_rename_leaves_the_previous_set_or_the_new_one(
        trained_models, tiny_deam, tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    for number in range(8):
        shutil.copy(tiny_deam / "test_songs" / "demo_song_2.wav", songs / f"s{number}.wav")
    out, old = tmp_path / "out", tmp_path / "old"
    assert _predict(trained_models / "models", [songs / "s0.wav"], old, "--json") == 0
    assert _set_is_consistent(old)["songs"] == 1
    command = ["MAIN.py", str(songs), "--models-dir", str(trained_models / "models"),
               "--out-dir", str(out), "--overwrite", "--quiet", "--no-plots"]
    shutil.copytree(old, out)
    full = _killed_after(".", 0, *command)  # every rename of a run: parts, files, commit
    assert full.returncode == 0, full.stderr
    renames = int(full.stderr.rsplit("renames: ", 1)[1])
    assert renames >= 8 and _set_is_consistent(out)["songs"] == 8
    outcomes = []
    for count in range(1, renames + 1):
        shutil.rmtree(out)
        shutil.copytree(old, out)
        killed = _killed_after(".", count, *command)
        assert killed.returncode == -signal.SIGKILL, (count, killed.stderr)
        recover(out, KNOWN_OUTPUTS)  # what the next run in this folder does first
        manifest = _set_is_consistent(out)
        outcomes.append(manifest["songs"])
        assert manifest["songs"] in (1, 8), count
    # killed before its journal, the run leaves the old set; after it, the new one
    assert outcomes[0] == 1 and outcomes[-1] == 8
    assert outcomes == sorted(outcomes), outcomes  # one switch, at the journal


COMMIT_IN_A_CHILD = """
import sys
from pathlib import Path
from emoreco.runs.output_set import OutputSet
out = Path(sys.argv[1])
with OutputSet(out, ["a.csv", "b.png"], overwrite=True, known_names=["old.json"]) as second:
    for name in ("a.csv", "b.png"):
        second.path(name).write_text("new " + name)
    second.commit({"run": 2})
"""


def _first_set(out: Path) -> None:
    with OutputSet(out, ["a.csv", "old.json"], overwrite=False) as first:
        for name in ("a.csv", "old.json"):
            first.path(name).write_text("old " + name)
        first.commit({"run": 1})


def test_an_interrupted_commit_is_completed_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    _first_set(out)
    # killed for real after the journal and the first file moved into place
    killed = _killed_after(r"out/(a\.csv|b\.png)$", 1, "-c", COMMIT_IN_A_CHILD, str(out))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert read_manifest(out) is None  # never a manifest beside a mixed set
    assert not (out / "old.json").exists()  # the old set was already being replaced
    assert [p.name for p in out.glob(".emoreco-staging-*/commit.json")]
    recover(out, ["a.csv", "b.png", "old.json"])
    manifest = _set_is_consistent(out)
    assert manifest["run"] == 2 and (out / "b.png").read_text() == "new b.png"
    assert (out / "a.csv").read_text() == "new a.csv"


def test_a_staged_file_damaged_by_a_power_cut_is_never_committed(tmp_path, caplog):
    out = tmp_path / "out"
    _first_set(out)
    killed = _killed_after(r"commit\.json$", 1, "-c", COMMIT_IN_A_CHILD, str(out))
    assert killed.returncode == -signal.SIGKILL  # the journal is on the disk, nothing moved
    [staging] = out.glob(".emoreco-staging-*")
    (staging / "b.png").write_bytes(b"")  # renamed, but its data never reached the disk
    caplog.set_level("WARNING")
    recover(out, ["a.csv", "b.png", "old.json"])
    assert "b.png does not match the journal's size and SHA-256" in caplog.text
    assert _set_is_consistent(out)["run"] == 1  # the old set, untouched
    [aside] = out.glob(".emoreco-set-aside-*")  # kept for inspection, never acted on again
    assert (aside / "a.csv").read_text() == "new a.csv"
    recover(out, ["a.csv", "b.png", "old.json"])
    assert _set_is_consistent(out)["run"] == 1


def test_files_are_created_with_the_users_umask(trained_models, tiny_deam, tmp_path):
    song = tiny_deam / "test_songs" / "demo_song_1.mp3"
    for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
        out = tmp_path / f"out{umask:o}"
        code = ("import os, runpy, sys; os.umask(%d); sys.argv = %r\n"
                "runpy.run_path('MAIN.py', run_name='__main__')"
                % (umask, ["MAIN.py", str(song), "--models-dir", str(trained_models / "models"),
                           "--out-dir", str(out), "--quiet", "--no-plots"]))
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
        assert set(modes.values()) == {mode}, modes


# ------------------------------------------------------------------ names and long files

def test_two_files_with_the_same_name_are_told_apart(trained_models, tiny_deam, tmp_path):
    for folder, song in (("rock", "demo_song_1.mp3"), ("jazz", "demo_song_3.flac")):
        (tmp_path / "in" / folder).mkdir(parents=True)
        shutil.copy(tiny_deam / "test_songs" / song, tmp_path / "in" / folder / "track.mp3"
                    if song.endswith("mp3") else tmp_path / "in" / folder / "track.flac")
    shutil.copy(tiny_deam / "test_songs" / "demo_song_1.mp3",
                tmp_path / "in" / "jazz" / "track.mp3")
    inputs = [tmp_path / "in" / "rock", tmp_path / "in" / "jazz"]
    assert _predict(trained_models / "models", inputs, tmp_path / "out") == 0
    summary = pd.read_csv(tmp_path / "out" / "TestSongSummary.csv")
    assert sorted(summary.song) == ["jazz/track.mp3", "rock/track.mp3", "track.flac"]


@pytest.mark.slow
def test_an_hour_long_file_stays_under_1_gb(trained_models, tmp_path):
    path = tmp_path / "hour.wav"
    rate, seconds = 48000, 3600
    t = np.arange(rate * 60) / rate
    minute = (0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 331 * t)).astype(
        np.float32)
    with soundfile.SoundFile(path, "w", rate, 2, subtype="PCM_16") as sink:
        for _ in range(seconds // 60):
            sink.write(np.stack([minute, 0.5 * minute], axis=1))
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
            "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN)"
            ".ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, sys.executable, "MAIN.py", str(path),
                          "--models-dir", str(trained_models / "models"), "--out-dir",
                          str(tmp_path / "out"), "--quiet", "--no-report", "--no-plots"],
                         cwd=ROOT, check=True, capture_output=True, text=True, timeout=600)
    peak_mb = int(out.stdout.split()[-1]) / 1024
    path.unlink()
    table = pd.read_csv(tmp_path / "out" / "TestSongPredicted.csv")
    assert table.time_s.iloc[-1] == 3599.5 and table.arousal.notna().sum() == 7198
    print(f"peak memory of MAIN.py on a 60-min 48 kHz stereo WAV: {peak_mb:.0f} MB")
    assert peak_mb < 1024, f"peak {peak_mb:.0f} MB"


def _children(pid: int) -> set[int]:
    """Live processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_worker_processes_end_with_a_killed_parent(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "emoreco", "demo", "--out", str(tmp_path / "demo"),
         "--test-songs-dir", str(tmp_path / "songs"), "--clips", "40", "--full-songs", "0",
         "--test-songs", "0", "--jobs", "2", "--quiet"], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        workers = _children(process.pid)
    assert len(workers) >= 2, "the demo generator never started its workers"
    process.kill()  # SIGKILL: no chance to clean up
    process.wait()
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(_alive, workers)), "workers outlived their killed parent"


def test_an_output_set_with_a_sub_folder_is_committed_and_replaced_whole(tmp_path):
    out = tmp_path / "out"
    with OutputSet(out, ["page.html", "data"], overwrite=False) as first:
        for name in ("page.html", "data/part-0.js", "data/part-1.js"):
            first.path(name).parent.mkdir(exist_ok=True)
            first.path(name).write_text(name)
        first.commit({"run": 1})
    assert sorted(_set_is_consistent(out)["files"]) == ["data/part-0.js", "data/part-1.js",
                                                         "page.html"]
    with OutputSet(out, ["page.html"], overwrite=True, known_names=["data"]) as second:
        second.path("page.html").write_text("small run")
        second.commit({"run": 2})
    assert not (out / "data").exists()  # the earlier run's shards and folder are gone


def test_a_file_reaches_the_disk_before_its_rename_and_the_rename_before_the_return(
        tmp_path, monkeypatch):
    import stat as stat_module

    from emoreco.core.atomic import atomic_path

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        mode = os.fstat(descriptor).st_mode
        events.append("fsync folder" if stat_module.S_ISDIR(mode) else "fsync file")
        real_fsync(descriptor)

    def replace(source, destination):
        events.append("rename")
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with atomic_path(tmp_path / "table.csv") as tmp:
        tmp.write_text("song,time_s\n")
    assert events == ["fsync file", "rename", "fsync folder"]
    assert (tmp_path / "table.csv").read_text() == "song,time_s\n"
