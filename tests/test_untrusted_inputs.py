"""What the program is handed by others, made hostile for real: a models folder with
inflated parameters, names that are not UTF-8 or hold control characters, JSON nested
100,000 deep, overlapping corpora, one file named twice, forged fetch records, song ids
beyond int64, folders of non-audio files, silent hours, files still being written, and
archives whose entries collide with fetch's own files (issue 25, items 3-24)."""

import io
import json
import os
import shutil
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

from conftest import ROOT, edit_meta, sine_clip
from emoreco.cli import main_arousal, main_predict
from emoreco.core.errors import AnnotationError, AudioError, ModelError

SONG = "demo_song_2.wav"


def _models(trained_models: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    shutil.copytree(trained_models / "models", folder)
    return folder


def _predict(models: Path, inputs, out: Path, *extra: str) -> int:
    return main_predict([*map(str, inputs), "--models-dir", str(models), "--out-dir", str(out),
                         "--quiet", *extra])


def _main(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "MAIN.py", *args], cwd=ROOT, capture_output=True,
                          timeout=300, **kwargs)


# ------------------------------------------------------------ 3: a models folder from others

def test_inflated_model_parameters_are_one_line_before_any_work(trained_models, tiny_deam,
                                                                tmp_path):
    """sample_rate, FFT sizes and hops x 1000 made an 8-s song allocate 4 GB; the digest
    list is forged too, so the bounds are what refuses them."""
    models = _models(trained_models, tmp_path)

    def inflate(meta):
        for key in ("sample_rate", "n_fft", "win_length", "hop_length", "chroma_n_fft"):
            meta["feature_params"][key] *= 1000

    edit_meta(models, "arousal", inflate)
    import resource

    def limit_memory():  # the old code needed 4 GB: with 1.5 GB it would fail differently
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))

    result = _main(str(tiny_deam / "test_songs" / SONG), "--models-dir", str(models),
                   "--out-dir", str(tmp_path / "out"), preexec_fn=limit_memory, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {models / 'arousal.meta.json'}: incomplete or malformed metadata "
        "(ConfigError('sample_rate must lie in [4000, 48000], got 1.2e+07')); retrain it "
        "with MAIN_arousal.py / MAIN_valence.py --overwrite"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("edit, message", [
    (lambda meta: meta["feature_params"].update(hop_length=10), "more than 400 frames per second"),
    (lambda meta: meta["feature_params"].update(n_mels=100000), "n_mels must lie in [8, 256]"),
    (lambda meta: meta["feature_params"].update(window_s=12.0, hop_length=30),
     "is 4800 frames; at most 4096 are allowed"),
    (lambda meta: meta["feature_params"].update(sample_rate="12000"), "must be an integer"),
])
def test_every_number_of_the_meta_is_bounded(trained_models, tmp_path, edit, message):
    from emoreco.model.predictor import read_model_metas

    models = _models(trained_models, tmp_path)
    edit_meta(models, "arousal", edit)
    with pytest.raises(ModelError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_model_metas(models)


def test_model_files_larger_than_their_bounds_are_not_read(trained_models, tmp_path,
                                                           monkeypatch):
    from emoreco.model import files as model_files
    from emoreco.model.predictor import read_model_metas

    models = _models(trained_models, tmp_path)
    monkeypatch.setitem(model_files.MAX_FILE_BYTES, ".onnx", 1000)
    with pytest.raises(ModelError, match=r"arousal.onnx: [\d,]+ bytes, more than the 1,000"):
        read_model_metas(models)


def test_the_meta_file_is_covered_by_the_digest_list(trained_models, tmp_path):
    from emoreco.model.predictor import read_model_metas

    models = _models(trained_models, tmp_path)
    lines = (models / "valence.sha256").read_text().splitlines()
    assert sorted(line.split("  ")[1] for line in lines) == [
        "valence.card.md", "valence.json", "valence.meta.json", "valence.metrics.json",
        "valence.onnx", "valence.weights.h5"]
    meta = models / "valence.meta.json"
    meta.write_text(meta.read_text().replace('"n_songs": ', '"n_songs":  '))  # one byte more
    with pytest.raises(ModelError, match="valence.meta.json: does not match valence.sha256"):
        read_model_metas(models)
    result = subprocess.run(["sha256sum", "-c", "arousal.sha256"], cwd=models,
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.count(": OK") == 6  # a standard list


# ------------------------------------------------------------------ 5 and 16: names

def test_a_name_that_is_not_utf8_is_predicted_beside_the_others(trained_models, tiny_deam,
                                                                tmp_path):
    songs = tmp_path / b"songs".decode()
    songs.mkdir()
    shutil.copy(tiny_deam / "test_songs" / SONG, songs / "ok.wav")
    bad = os.fsdecode(b"bad\xff\xfe.wav")
    shutil.copy(tiny_deam / "test_songs" / SONG, songs / bad)
    result = _main(str(songs), "--models-dir", str(trained_models / "models"), "--out-dir",
                   str(tmp_path / "out"), "--json", "--table", "csv")  # a line per song
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert b"bad\\xff\\xfe.wav   " in result.stderr  # the terminal shows escapes
    summary = (tmp_path / "out" / "TestSongSummary.csv").read_bytes()
    assert b"\nbad\xff\xfe.wav," in summary and b"\nok.wav," in summary  # the exact bytes
    records = json.loads((tmp_path / "out" / "TestSongPredicted.json").read_text())
    assert sorted(r["song"] for r in records) == sorted([bad, "ok.wav"])


def test_control_characters_in_names_never_reach_the_terminal(trained_models, tiny_deam,
                                                              tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    name = "\x1b]0;owned\x07\x1b[2Jfake\nrow.wav"  # retitles, clears, splits the table row
    shutil.copy(tiny_deam / "test_songs" / SONG, songs / name)
    result = _main(str(songs), "--models-dir", str(trained_models / "models"), "--out-dir",
                   str(tmp_path / "out"), text=True)  # not --quiet: a line per song
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\\x1b]0;owned\\x07\\x1b[2Jfake\\nrow.wav" in result.stderr
    table = pd.read_csv(tmp_path / "out" / "TestSongPredicted.csv", keep_default_na=False)
    assert set(table.song) == {name}  # the table keeps the name as it is


# ---------------------------------------------------------------------- 6: nested JSON

@pytest.mark.parametrize("where", ["TestSongSummary.json",
                                   ".emoreco-staging-0badc0de/commit.json"])
@pytest.mark.parametrize("extra", [(), ("--overwrite",)])
def test_deeply_nested_json_is_set_aside_like_a_truncated_file(trained_models, tiny_deam,
                                                               tmp_path, where, extra):
    out = tmp_path / "out"
    (out / where).parent.mkdir(parents=True)
    (out / where).write_text("[" * 100_000)
    code = _predict(trained_models / "models", [tiny_deam / "test_songs" / SONG], out,
                    "--no-plots", "--no-report", *extra)
    assert code in (0, 2)  # 2: without --overwrite an output file of the set exists
    assert (out / "TestSongPredicted.csv").is_file() == (code == 0)
    if where.endswith("commit.json"):
        assert code == 0 and list(out.glob(".emoreco-set-aside-*"))


def test_one_reader_bounds_size_and_depth(tmp_path):
    from emoreco.core.jsonfile import UnreadableJSON, nesting_depth, read_json

    path = tmp_path / "x.json"
    path.write_text('{"a": [[["]]]]]]"]]], "b": "\\"[[["}')
    assert nesting_depth(path.read_bytes()) == 4 and read_json(path)["b"] == '"[[['
    for data, message in ((b"[" * 900, "nested 900 levels deep"), (b"", "not JSON"),
                          (b"\xff\xfe", "not UTF-8"), (b'{"a": 1', "not JSON"),
                          (b"1" * 2000, "larger than 1,000 bytes")):
        path.write_bytes(data)
        with pytest.raises(UnreadableJSON, match=message):
            read_json(path, max_bytes=1000)
    with pytest.raises(UnreadableJSON, match="cannot be read"):
        read_json(tmp_path)


def test_a_models_folder_with_a_nested_meta_is_one_line(trained_models, tiny_deam, tmp_path):
    from emoreco.model.files import ModelFiles, write_digests

    models = _models(trained_models, tmp_path)
    (models / "valence.meta.json").write_text("[" * 200_000)
    write_digests(ModelFiles.at(models, "valence"))
    result = _main(str(tiny_deam / "test_songs" / SONG), "--models-dir", str(models),
                   "--out-dir", str(tmp_path / "out"), text=True)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "unreadable JSON (nested 200000 levels deep" in result.stderr


# ------------------------------------------------------------ 8, 9, 10: corpora

def test_a_test_corpus_sharing_songs_with_training_is_refused_before_training(
        tiny_deam, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_deam, copy)  # the same songs under other paths: same content
    for test_corpus in (f"deam:{tiny_deam}", f"deam:{copy}"):
        assert main_arousal(["--deam-dir", str(tiny_deam), "--test-corpus", test_corpus,
                             "--models-dir", str(tmp_path / "m"), "--cache-dir",
                             str(tmp_path / "c"), "--quiet", "--jobs", "1"]) == 2
        err = capsys.readouterr().err
        assert f"--test-corpus deam:{test_corpus[5:]} shares 8 song(s) with the training " \
               "corpora" in err
    assert not (tmp_path / "m").exists() and not (tmp_path / "c").exists()  # no work done


def test_one_file_written_two_ways_in_a_csv_corpus_is_one_song(tiny_csv, tmp_path):
    from emoreco.data.user_csv import load_user_csv

    folder = tmp_path / "csv"
    shutil.copytree(tiny_csv.parent, folder)
    table = pd.read_csv(folder / "annotations.csv")
    first = table.audio.iloc[0]
    rows = table[table.audio == first]
    folder_name, file_name = first.rsplit("/", 1)
    respelt = rows.assign(audio=f"{folder_name}/./{file_name}")
    pd.concat([table, respelt]).to_csv(folder / "annotations.csv", index=False)
    with pytest.raises(AnnotationError, match="has two values for the same time"):
        load_user_csv(folder / "annotations.csv", "arousal")  # the same song's times twice
    link = folder / folder_name / "link.wav"
    link.symlink_to(folder / first)
    linked = rows.assign(audio=f"{folder_name}/link.wav")
    pd.concat([table, linked]).to_csv(folder / "annotations.csv", index=False)
    with pytest.raises(AnnotationError, match=f"'{folder_name}/link.wav' and '{first}' are "
                                              "the same audio file"):  # sorted names
        load_user_csv(folder / "annotations.csv", "arousal")
    table.assign(audio=table.audio.str.replace("/", "//", n=1, regex=False)).to_csv(
        folder / "annotations.csv", index=False)
    corpus = load_user_csv(folder / "annotations.csv", "arousal")
    assert first in corpus.names.values()  # "a//b.wav" is "a/b.wav"


def test_each_distinct_csv_path_is_checked_once(tiny_csv, monkeypatch):
    """Issue 25, 18: a million rows took 20-27 s, one path check per row."""
    from emoreco.data import user_csv

    calls = []
    monkeypatch.setattr(user_csv, "is_relative_path",
                        lambda name: calls.append(name) or True)
    corpus = user_csv.load_user_csv(tiny_csv, "arousal")
    assert len(calls) == len(corpus.names) == len(set(calls))


def test_a_hand_written_fetch_record_does_not_make_annotations_official(tiny_deam, tmp_path):
    from emoreco.core.digest import sha256_of
    from emoreco.data.layout import locate_deam
    from emoreco.data.provenance import corpus_provenance, describe
    from emoreco.data.sources import CorpusSource, load_source

    copy = tmp_path / "deam"
    shutil.copytree(tiny_deam, copy)
    (copy / "demo_truth.json").unlink()
    csv = locate_deam(copy).annotation_csv("arousal")
    relative = csv.relative_to(copy).as_posix()
    (copy / "emoreco_fetch.json").write_text(json.dumps({
        "archives": {"DEAM_Annotations.zip": {"sha256": "0" * 64, "files": [relative]}},
        "files": {relative: sha256_of(csv)}}))
    data = corpus_provenance(load_source(CorpusSource("deam", copy), "arousal"), 8)
    assert data["official_deam_annotations"] is False
    assert "official DEAM annotations (verified)" not in describe(data)


# ---------------------------------------------------------------- 19: PMEmo ids

@pytest.mark.parametrize("music_id", ["9223372036854775808", "1e19", "2e19", "-1", "1000000000"])
def test_pmemo_ids_beyond_the_bound_are_refused(tiny_pmemo, tmp_path, music_id):
    from emoreco.data.sources import CorpusSource, load_source

    copy = tmp_path / "pmemo"
    shutil.copytree(tiny_pmemo, copy)
    path = copy / "PMEmo2019" / "annotations" / "dynamic_annotations.csv"
    lines = path.read_text().splitlines()
    lines[1] = music_id + lines[1][lines[1].index(","):]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(AnnotationError, match=f"line 2: musicId '{music_id}' is not a whole "
                                              "number from 0 to 999999999"):
        load_source(CorpusSource("pmemo", copy), "arousal")


# ------------------------------------------------------------------- 20, 21, 22: audio

def test_a_folder_of_non_audio_files_is_one_line_each(trained_models, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    for number in range(20):
        (folder / f"text{number:02d}.mp3").write_text("these are not the songs you want\n" * 3)
    result = _main(str(folder), "--models-dir", str(trained_models / "models"), "--out-dir",
                   str(tmp_path / "out"), "--quiet", text=True)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert sum(line.startswith("failed: ") for line in lines) == 20
    assert not any(line.startswith("Note:") for line in lines)  # libmpg123's chatter
    assert "resume" not in result.stderr  # nothing a rerun could resume ...
    assert not (tmp_path / "out").exists()  # ... and no staging folder or empty folder left


def test_a_long_silent_file_is_refused_with_bounded_memory(tmp_path, monkeypatch):
    """Issue 25, 21: a 3-hour silent WAV peaked at 1.08 GB to be refused as silent."""
    from emoreco.audio import decode

    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros(48000 * 240, np.float32) + 1e-6, 48000)  # 4 min, -120 dB
    monkeypatch.setattr(decode, "SILENT_PREFIX_S", 10.0)
    tracemalloc.start()
    try:
        with pytest.raises(AudioError, match="audio is silent"):
            decode.load_audio(path, 12000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    whole = 240 * 12000 * 4  # the song at 12 kHz: 11.5 MB, twice that to concatenate
    assert peak < whole / 2, peak
    loud_late = np.zeros(48000 * 60, np.float32)
    loud_late[-48000 * 5:] = sine_clip(5.0, 48000)  # silent for 55 s, then a tone
    soundfile.write(tmp_path / "late.wav", loud_late, 48000)
    samples = decode.load_audio(tmp_path / "late.wav", 12000)  # decoded again, whole
    assert len(samples) == 60 * 12000 and np.abs(samples[-12000 * 4:]).max() > 0.4


def test_a_file_still_being_written_is_not_predicted_in_part(tiny_deam, tmp_path,
                                                            monkeypatch):
    """Issue 25, 22: the part written so far was predicted, exit 0, no warning."""
    from emoreco.audio import decode

    path = tmp_path / "growing.wav"
    shutil.copy(tiny_deam / "test_songs" / SONG, path)
    original = decode._decode_mono

    def while_a_writer_appends(*args, **kwargs):
        samples = original(*args, **kwargs)
        with open(path, "ab") as writer:  # the writer goes on meanwhile
            writer.write(b"\0" * 4096)
        return samples

    monkeypatch.setattr(decode, "_decode_mono", while_a_writer_appends)
    with pytest.raises(AudioError, match="the file changed while it was read"):
        decode.load_audio(path, 12000)


def test_an_address_space_limit_is_never_reported_as_ctrl_c(trained_models, tiny_deam,
                                                            tmp_path):
    """Issue 25, 17: OpenBLAS raises SIGINT when it cannot start threads; the run said
    "interrupted" (130), or spun."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (450 << 20, 450 << 20))

    result = _main(str(tiny_deam / "test_songs" / SONG), "--models-dir",
                   str(trained_models / "models"), "--out-dir", str(tmp_path / "out"),
                   "--quiet", "--no-plots", preexec_fn=limit, text=True)
    assert result.returncode in (0, 1, 2), result.stderr
    assert "interrupted" not in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------- 24: fetch-deam

def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("entry", ["downloads/DEAM_audio.zip", "emoreco_fetch.json",
                                   "emoreco_fetch.json.damaged"])
def test_archive_entries_may_not_overwrite_fetchs_own_files(tmp_path, entry):
    from emoreco.data.fetch import Archive, FetchError, _unpack

    zip_path = tmp_path / "evil.zip"
    zip_path.write_bytes(_zip({"annotations/x.csv": b"a", entry: b"planted"}))
    dest = tmp_path / "DEAM"
    dest.mkdir()
    with pytest.raises(FetchError, match="would overwrite fetch-deam's own files"):
        _unpack(zip_path, dest)
    assert not list(dest.rglob("*"))
    assert Archive.__dataclass_fields__["unpacks_to"]  # used: checked after unpacking


def test_an_archive_that_does_not_unpack_where_its_manifest_says_is_refused(tmp_path):
    import hashlib

    from emoreco.cli import main_module
    from test_fetch import ArchiveServer

    data = _zip({"elsewhere/arousal.csv": b"song_id\n"})
    server = ArchiveServer({"DEAM_Annotations.zip": data})
    try:
        manifest = tmp_path / "manifest.json"
        manifest.write_text(json.dumps([{"name": "DEAM_Annotations.zip",
                                         "url": f"{server.url}/DEAM_Annotations.zip",
                                         "size": len(data),
                                         "sha256": hashlib.sha256(data).hexdigest(),
                                         "unpacks_to": "annotations"}]))
        assert main_module(["fetch-deam", "--dest", str(tmp_path / "DEAM"), "--manifest",
                            str(manifest), "--archives", "DEAM_Annotations.zip",
                            "--quiet"]) == 2
    finally:
        server.close()


def test_a_host_that_does_not_resolve_is_one_line_without_retries(tmp_path, capsys):
    from emoreco.cli import main_module

    assert main_module(["fetch-deam", "--dest", str(tmp_path / "DEAM"), "--base-url",
                        "http://no-such-host.invalid/deam", "--archives",
                        "DEAM_Annotations.zip", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: http://no-such-host.invalid/deam/DEAM_Annotations.zip: the host "
                   "name does not resolve (Name or service not known); check the network or "
                   "the URL"]


def test_odd_names_and_threads_do_not_mix_up_songs(trained_models, tiny_deam, tmp_path):
    """Names with control characters and undecodable bytes on threads: each song keeps
    its own curve."""
    songs = tmp_path / "songs"
    songs.mkdir()
    names = ["a\tb.wav", os.fsdecode(b"\xff.wav"), "plain.wav"]
    for name in names:
        shutil.copy(tiny_deam / "test_songs" / SONG, songs / name)
    out = tmp_path / "out"
    assert _predict(trained_models / "models", [songs], out, "--no-plots", "--no-report",
                    "--jobs", "-1") == 0
    import collections
    import csv

    with open(out / "TestSongPredicted.csv", encoding="utf-8", errors="surrogateescape",
              newline="") as handle:
        counts = collections.Counter(row["song"] for row in csv.DictReader(handle))
    assert sorted(counts) == sorted(names) and len(set(counts.values())) == 1


def test_quiet_prints_no_line_per_song(trained_models, tiny_deam, tmp_path):
    result = _main(str(tiny_deam / "test_songs"), "--models-dir", str(trained_models / "models"),
                   "--out-dir", str(tmp_path / "out"), "--quiet", text=True)
    assert result.returncode == 0, result.stderr
    assert "demo_song_1" not in result.stderr and "arousal +" not in result.stderr
    assert "wrote " in result.stderr  # what was written is still said
