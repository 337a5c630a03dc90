"""The output folder under attack and after power cuts: files planted in it, two runs at
once, journals and parts damaged on the disk, stale outputs; and the smaller traps of a
run (odd song names, broken model metadata, a worker without emoreco, a full disk).
Every fault is injected for real: planted files, real processes killed or racing, bytes
cut or flipped on the disk, a kernel file-size limit."""

import json
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, edit_meta
from emoreco.cli import main_predict
from emoreco.runs.output_set import LOCK, MANIFEST, RESUMABLE_PREFIX, WORK, read_manifest

SONG = "demo_song_2.wav"


def _args(models: Path, inputs: list[Path], out: Path, *extra: str) -> list[str]:
    return [*map(str, inputs), "--models-dir", str(models / "models"), "--out-dir", str(out),
            "--quiet", "--no-plots", *extra]


def _main(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "MAIN.py", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _killed_after(pattern: str, count: int, *command: str) -> subprocess.CompletedProcess:
    """``command`` SIGKILLed right after its ``count``-th rename matching ``pattern``."""
    return subprocess.run([sys.executable, str(ROOT / "tests" / "kill_after.py"), pattern,
                           str(count), *command], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def songs(tiny_deam, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("songs")
    for number in range(3):
        shutil.copy(tiny_deam / "test_songs" / SONG, folder / f"song{number}.wav")
    return folder


@pytest.fixture(scope="module")
def reference(trained_models, songs, tmp_path_factory) -> Path:
    """An uninterrupted run over ``songs`` (tables and report)."""
    out = tmp_path_factory.mktemp("reference")
    assert main_predict(_args(trained_models, [songs], out, "--overwrite")) == 0
    return out


# ------------------------------------------------------------------ planted files

def test_a_planted_journal_moves_and_removes_nothing_outside_the_folder(
        trained_models, songs, tmp_path, caplog):
    out, elsewhere = tmp_path / "shared" / "out", tmp_path / "x"
    elsewhere.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    planted = out / ".emoreco-staging-0badc0de"
    planted.mkdir(parents=True)
    (planted / "payload.sh").write_text("#!/bin/sh\n")
    (planted / "commit.json").write_text(json.dumps({
        "files": ["../../x/payload.sh"], "remove": [str(victim)],
        "manifest": {"files": {"../../x/payload.sh": {"bytes": 10, "sha256": "0" * 64}}}}))
    assert main_predict(_args(trained_models, [songs / "song0.wav"], out)) == 0
    assert victim.read_text() == "precious" and not list(elsewhere.iterdir())
    assert ("its journal: the list of new files names '../../x/payload.sh', which is not a "
            "file of the output set" in caplog.text)
    [aside] = out.glob(".emoreco-set-aside-.emoreco-staging-0badc0de-*")
    assert (aside / "payload.sh").is_file()  # kept for inspection, never acted on


def test_a_planted_manifest_cannot_make_overwrite_delete_outside_files(
        trained_models, songs, tmp_path):
    out = tmp_path / "out"
    (tmp_path / "dir").mkdir()
    victims = [tmp_path / "dir" / "victim.txt", tmp_path / "absolute.txt"]
    for victim in victims:
        victim.write_text("precious")
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"files": {
        "../dir/victim.txt": {"bytes": 8, "sha256": "0" * 64},
        str(victims[1]): {"bytes": 8, "sha256": "0" * 64}}}))
    assert main_predict(_args(trained_models, [songs / "song0.wav"], out, "--overwrite")) == 0
    assert all(victim.read_text() == "precious" for victim in victims)
    assert read_manifest(out)["songs"] == 1


@pytest.mark.parametrize("folder, extra", [("emotion_report_data", ()),
                                           ("TestSongPredicted.parquet", ("--table", "parquet"))])
def test_a_linked_output_sub_folder_is_refused_before_any_work(trained_models, songs, tmp_path,
                                                               capsys, folder, extra):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (outside / "part-00000.parquet").write_text("someone else's file")
    out.mkdir()
    (out / folder).symlink_to(outside)  # a link where the run's sub-folder goes
    assert main_predict(_args(trained_models, [songs / "song0.wav"], out, "--overwrite",
                              *extra)) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {out / folder}: a symbolic link where emoreco writes an output; remove it "
        "or choose another output folder")
    assert [p.name for p in outside.iterdir()] == ["part-00000.parquet"]
    assert (outside / "part-00000.parquet").read_text() == "someone else's file"
    assert sorted(p.name for p in out.iterdir()) == [".emoreco.lock", folder]  # nothing moved
    (out / folder).unlink()
    assert main_predict(_args(trained_models, [songs / "song0.wav"], out, *extra)) == 0


def test_a_planted_lock_link_is_refused_and_its_target_untouched(trained_models, songs,
                                                                 tmp_path, capsys):
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_text("precious")
    out.mkdir()
    (out / LOCK).symlink_to(victim)
    assert main_predict(_args(trained_models, [songs / "song0.wav"], out)) == 2
    assert f"{out / LOCK}: is a symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "precious"


# ------------------------------------------------------------------ two runs at once

def test_a_second_run_into_the_same_folder_is_refused_while_the_first_runs(
        trained_models, songs, tmp_path):
    out = tmp_path / "out"
    first = _main(*_args(trained_models, [songs], out, "--jobs", "1"))
    deadline = time.monotonic() + 60
    while not (out / LOCK).is_file() or not (out / LOCK).read_text().strip():
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    second = _main(*_args(trained_models, [songs / "song1.wav"], out, "--start", "5"))
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [
        f"error: {out} is in use by another emoreco run (process {first.pid}); wait for it "
        "to end or choose another output folder"]
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert read_manifest(out)["songs"] == 3 and read_manifest(out)["start_s"] == 0.0


def test_a_killed_runs_lock_does_not_block_the_next(trained_models, songs, tmp_path):
    out = tmp_path / "out"
    killed = _killed_after(r"part-.*\.npz$", 1, "MAIN.py",
                           *_args(trained_models, [songs], out, "--part-songs", "1"))
    assert killed.returncode == -signal.SIGKILL and (out / LOCK).is_file()
    assert main_predict(_args(trained_models, [songs], out)) == 0


# ------------------------------------------------------------------ power cuts

@pytest.mark.parametrize("damage", [b"", b'{"files": ["TestSong'])
def test_an_empty_or_truncated_journal_is_set_aside_not_fatal(trained_models, songs, tmp_path,
                                                              caplog, damage):
    out = tmp_path / "out"
    for name in (".emoreco-staging-0badc0de", RESUMABLE_PREFIX + "0" * 16):
        (out / name).mkdir(parents=True)
        (out / name / "commit.json").write_bytes(damage)
    for extra in ((), ("--overwrite",)):
        assert main_predict(_args(trained_models, [songs / "song0.wav"], out, *extra)) == 0
    assert "its journal: unreadable (not JSON (JSONDecodeError" in caplog.text
    assert read_manifest(out)["songs"] == 1


def test_a_commit_cut_short_with_a_damaged_staged_table_is_rebuilt_from_the_parts(
        trained_models, songs, reference, tmp_path, caplog):
    out = tmp_path / "out"
    command = _args(trained_models, [songs], out)
    killed = _killed_after(r"commit\.json$", 1, "MAIN.py", *command)
    assert killed.returncode == -signal.SIGKILL  # the journal is on the disk, nothing moved
    [staging] = out.glob(RESUMABLE_PREFIX + "*")
    (staging / "TestSongPredicted.csv").write_bytes(b"")  # its data never reached the disk
    assert list((staging / WORK).glob("part-*.npz"))
    assert main_predict(command) == 0
    assert "TestSongPredicted.csv does not match the journal's size and SHA-256" in caplog.text
    assert "rebuilds its outputs from the run's saved work" in caplog.text
    assert ((out / "TestSongPredicted.csv").read_bytes()
            == (reference / "TestSongPredicted.csv").read_bytes())
    assert not list(out.glob(RESUMABLE_PREFIX + "*"))


def test_a_commit_cut_short_after_its_first_move_is_completed_or_rebuilt(
        trained_models, songs, reference, tmp_path, caplog):
    out = tmp_path / "out"
    assert main_predict(_args(trained_models, [songs / "song0.wav"], out, "--json")) == 0
    command = _args(trained_models, [songs], out, "--overwrite")
    killed = _killed_after(r"out/TestSongPredicted\.csv$", 1, "MAIN.py", *command)
    assert killed.returncode == -signal.SIGKILL
    assert read_manifest(out) is None and not (out / "TestSongPredicted.json").exists()
    [staging] = out.glob(RESUMABLE_PREFIX + "*")
    (staging / "TestSongSummary.csv").write_bytes(b"song,n_st")  # cut by the power cut
    assert main_predict(_args(trained_models, [songs], out)) == 0  # no --overwrite needed
    assert "rebuilds its outputs" in caplog.text
    assert read_manifest(out)["songs"] == 3 and not (out / "TestSongPredicted.json").exists()
    for name in ("TestSongPredicted.csv", "TestSongSummary.csv"):
        assert (out / name).read_bytes() == (reference / name).read_bytes()


def _flip_a_data_byte(part: Path, member: str) -> None:
    """Flip the last byte of one member's stored data: its CRC no longer matches."""
    with zipfile.ZipFile(part) as archive:
        info = archive.getinfo(member)
    with open(part, "r+b") as handle:
        handle.seek(info.header_offset + 26)
        name_length, extra_length = np.frombuffer(handle.read(4), "<u2")
        position = info.header_offset + 30 + name_length + extra_length + info.compress_size - 1
        handle.seek(position)
        byte = handle.read(1)[0]
        handle.seek(position)
        handle.write(bytes([byte ^ 0xFF]))


@pytest.mark.parametrize("extra", [(), ("--overwrite",)])
def test_a_part_with_a_damaged_member_is_set_aside_and_its_songs_redone(
        trained_models, songs, reference, tmp_path, caplog, extra):
    out = tmp_path / "out"
    command = _args(trained_models, [songs], out, "--part-songs", "1")
    killed = _killed_after(r"part-.*\.npz$", 2, "MAIN.py", *command)
    assert killed.returncode == -signal.SIGKILL
    parts = sorted(out.glob(f"{RESUMABLE_PREFIX}*/{WORK}/part-*.npz"))
    assert len(parts) == 2
    _flip_a_data_byte(parts[0], "arousal.npy")
    assert main_predict([*command, *extra]) == 0
    assert f"{parts[0]}: unreadable part (BadZipFile: Bad CRC-32" in caplog.text
    for name in ("TestSongPredicted.csv", "TestSongSummary.csv"):
        assert (out / name).read_bytes() == (reference / name).read_bytes()


def test_a_planted_part_of_the_wrong_kind_is_set_aside(trained_models, songs, reference,
                                                       tmp_path, caplog):
    out = tmp_path / "out"
    command = _args(trained_models, [songs], out, "--part-songs", "1")
    assert _killed_after(r"part-.*\.npz$", 1, "MAIN.py", *command).returncode < 0
    [work] = out.glob(f"{RESUMABLE_PREFIX}*/{WORK}")
    np.savez(work / "part-0001-000007.npz", songs=np.array(json.dumps(
        [{"name": "song9.wav", "path": "/etc/passwd", "size": "big", "mtime_ns": 0,
          "summary": {}, "error": None}])))
    (work / "part-abc.npz").write_bytes(b"not mine")  # not a part name: left alone
    assert main_predict(command) == 0
    assert ("part-0001-000007.npz: unreadable part (the record of 'song9.wav' has fields"
            in caplog.text)
    assert ((out / "TestSongPredicted.csv").read_bytes()
            == (reference / "TestSongPredicted.csv").read_bytes())


def test_stale_parquet_parts_go_with_overwrite_even_without_a_manifest(
        trained_models, songs, tmp_path):
    out = tmp_path / "out"
    assert main_predict(_args(trained_models, [songs], out, "--table", "parquet")) == 0
    dataset = out / "TestSongPredicted.parquet"
    shutil.copy(dataset / "part-00000.parquet", dataset / "part-00001.parquet")
    (out / MANIFEST).unlink()  # an older version's set of 2 parts, or a lost manifest
    assert main_predict(_args(trained_models, [songs / "song0.wav"], out, "--table",
                              "parquet", "--overwrite")) == 0
    rows = pd.read_parquet(out / "TestSongPredicted.parquet")
    assert rows.song.unique().tolist() == ["song0.wav"]


# ------------------------------------------------------------------ names and reports

def test_a_song_name_cannot_end_the_pages_data_script(trained_models, tiny_deam, tmp_path):
    folder = tmp_path / "songs"
    for name in ("<!--<script>.wav", "a&b.wav", "</script>.wav", "x/script>.wav"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)  # "<" is a folder
        shutil.copy(tiny_deam / "test_songs" / SONG, folder / name)
    out = tmp_path / "out"
    assert main_predict(_args(trained_models, [folder], out, "-r")) == 0
    page = (out / "emotion_report.html").read_text()
    data = page.split('<script type="application/json" id="emoreco-data">')[1]
    data = data.split("</script>")[0]
    assert "<" not in data and ">" not in data and "&" not in data
    names = [song["name"] for song in json.loads(data)["songs"]]
    assert sorted(names) == sorted(["<!--<script>.wav", "a&b.wav", "</script>.wav",
                                    "x/script>.wav"])  # two script>.wav: named by path


def test_a_spreadsheet_formula_in_a_song_name_is_quoted_in_the_summary(
        trained_models, tiny_deam, tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    for name in ("=HYPERLINK(x).wav", "+1.wav", "-2.wav", "@sum.wav", "plain.wav"):
        shutil.copy(tiny_deam / "test_songs" / SONG, folder / name)
    out = tmp_path / "out"
    assert main_predict(_args(trained_models, [folder], out)) == 0
    summary = pd.read_csv(out / "TestSongSummary.csv", keep_default_na=False)
    assert sorted(summary.song) == ["'+1.wav", "'-2.wav", "'=HYPERLINK(x).wav", "'@sum.wav",
                                    "plain.wav"]
    table = pd.read_csv(out / "TestSongPredicted.csv")  # data for programs: names as they are
    assert sorted(table.song.unique()) == ["+1.wav", "-2.wav", "=HYPERLINK(x).wav",
                                           "@sum.wav", "plain.wav"]


# ------------------------------------------------------------------ smaller traps

def _copied_models(trained_models: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    shutil.copytree(trained_models / "models", folder)
    return folder


def test_metadata_without_an_audio_folder_still_predicts(trained_models, songs, tmp_path):
    models = _copied_models(trained_models, tmp_path)
    edit_meta(models, "arousal", lambda meta: meta["data"].pop("audio_dir"))
    assert main_predict([str(songs / "song0.wav"), "--models-dir", str(models), "--out-dir",
                         str(tmp_path / "out"), "--quiet", "--no-plots"]) == 0


def test_a_scaler_of_the_wrong_shape_is_refused_when_the_models_load(trained_models, songs,
                                                                     tmp_path, capsys):
    models = _copied_models(trained_models, tmp_path)
    edit_meta(models, "arousal",
              lambda meta: meta["scaler"].update(mean=meta["scaler"]["mean"][0][:5]))
    out = tmp_path / "out"
    assert main_predict([str(songs / "song0.wav"), "--models-dir", str(models), "--out-dir",
                         str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert ("arousal: its scaler has shape (5, 1) or non-finite values; the arousal model "
            "needs shape (1, 40, 1)") in err and "Traceback" not in err
    assert not out.exists()


def test_an_off_grid_start_is_refused_before_the_folder_is_made(trained_models, songs,
                                                                tmp_path, capsys):
    out = tmp_path / "out"
    assert main_predict(_args(trained_models, [songs / "song0.wav"], out, "--start",
                              "0.3")) == 2
    assert capsys.readouterr().err.strip() == "error: --start must be a multiple of 0.5 s"
    assert not out.exists()


def test_a_models_folder_that_is_a_file_is_named_as_such(songs, tmp_path, capsys):
    not_a_folder = tmp_path / "models"
    not_a_folder.write_text("oops")
    assert main_predict([str(songs / "song0.wav"), "--models-dir", str(not_a_folder),
                         "--out-dir", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {not_a_folder}: not a folder (--models-dir names the folder of the trained "
        "models)")


FILE_SIZE_LIMIT = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
sys.argv = sys.argv[1:]
runpy.run_path("MAIN.py", run_name="__main__")
"""


def test_a_full_disk_is_one_line_naming_the_file(trained_models, songs, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", FILE_SIZE_LIMIT, "MAIN.py",
                             *_args(trained_models, [songs / "song0.wav"], out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: [Errno 27] File too large: ")
    assert f"{out}/" in line and "emotion_report.html" in line  # the page: plotly.js, 4 MB


def test_a_bug_in_decoding_is_not_reported_as_an_undecodable_file(tiny_deam, monkeypatch):
    from emoreco.audio import resample
    from emoreco.audio.decode import load_audio

    def broken(*args, **kwargs):
        raise TypeError("a bug of ours")

    monkeypatch.setattr(resample.StreamResampler, "push", broken)
    with pytest.raises(TypeError, match="a bug of ours"):
        load_audio(tiny_deam / "test_songs" / SONG, 12000)


@pytest.mark.slow
def test_a_linked_corpus_trains_like_a_copied_one(tiny_deam, tmp_path):
    from emoreco.cli import main_module, main_valence
    from emoreco.data.layout import OFFICIAL_AUDIO, OFFICIAL_DYNAMIC

    linked = tmp_path / "linked"
    (linked / OFFICIAL_AUDIO).mkdir(parents=True)
    for song in (tiny_deam / OFFICIAL_AUDIO).iterdir():
        (linked / OFFICIAL_AUDIO / song.name).symlink_to(song)
    shutil.copytree(tiny_deam / OFFICIAL_DYNAMIC, linked / OFFICIAL_DYNAMIC)
    common = ["--deam-dir", str(linked), "--cache-dir", str(tmp_path / "cache"), "--jobs", "2",
              "--quiet"]
    assert main_module(["extract", *common, "--target", "valence"]) == 0
    assert main_valence([*common, "--models-dir", str(tmp_path / "models"), "--plots-dir",
                         str(tmp_path / "plots"), "--epochs", "1"]) == 0
    assert (tmp_path / "models" / "valence.onnx").is_file()
