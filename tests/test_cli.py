import argparse
import html
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import emoreco
from conftest import ROOT, edit_meta
from emoreco.cli import main_arousal, main_module, main_predict


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("script", ["MAIN.py", "MAIN_arousal.py", "MAIN_valence.py"])
def test_help_works_without_importing_tensorflow(script):
    probe = ("import runpy, sys; sys.argv = [%r, '--help']\n"
             "try:\n    runpy.run_path(%r, run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "assert 'tensorflow' not in sys.modules and 'librosa' not in sys.modules"
             % (script, script))
    result = _script("-c", probe)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "--" in result.stdout


def test_user_mistakes_give_one_line_and_exit_2_without_traceback(tmp_path):
    result = _script("MAIN_arousal.py", "--deam-dir", str(tmp_path / "missing"),
                     "--models-dir", str(tmp_path / "models"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'missing'}: DEAM folder not found"]
    result = _script("MAIN_valence.py", "--deam-dir", str(tmp_path), "--n-mfcc", "100")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith(
        "n_mfcc=100 is larger than n_mels=96: an MFCC is a DCT of the mel bands, so at most "
        "n_mels coefficients exist")


def test_wrong_csv_header_is_a_clear_error(tiny_deam, tmp_path, capsys):
    folder = tmp_path / "annotations"
    folder.mkdir()
    (folder / "arousal.csv").write_text("id,value\n2,0.1\n")
    code = main_arousal(["--annotations-dir", str(folder), "--audio-dir",
                         str(tiny_deam / "MEMD_audio"), "--models-dir", str(tmp_path / "m"),
                         "--quiet"])
    assert code == 2
    assert "first column must be 'song_id'" in capsys.readouterr().err


def test_module_lists_its_commands(capsys):
    assert main_module(["--help"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main_module(["bogus"]) == 2


def test_training_wrote_models_metrics_and_loss_plots(trained_models):
    for target in ("arousal", "valence"):
        meta = json.loads((trained_models / "models" / f"{target}.meta.json").read_text())
        assert meta["feature_params"]["n_mfcc"] == 40
        assert meta["train_params"]["epochs"] == 2
        assert "Total params" in meta["summary"]
        assert set(meta["versions"]) >= {"numpy", "scipy", "soundfile", "av",
                                         "onnxruntime", "keras", "tensorflow-cpu"}
        assert (trained_models / "plots" / f"loss_{target}.png").is_file()


def _predict(models, inputs, out, *extra):
    return main_predict([*map(str, inputs), "--models-dir", str(models), "--out-dir", str(out),
                         "--quiet", *extra])


def test_predictions_for_mixed_formats_and_rates(trained_models, tiny_deam, tmp_path):
    out = tmp_path / "out"
    assert _predict(trained_models / "models", [tiny_deam / "test_songs"], out, "--json") == 0
    table = pd.read_csv(out / "TestSongPredicted.csv")
    assert list(table.columns) == ["song", "time_s", "arousal", "valence", "arousal_low",
                                   "arousal_high", "valence_low", "valence_high"]
    assert sorted(table.song.unique()) == ["demo_song_1.mp3", "demo_song_2.wav",
                                           "demo_song_3.flac", "demo_song_4.ogg"]
    for _, song in table.groupby("song"):
        times = song.time_s.to_numpy()
        assert times[0] == 0.0 and np.allclose(np.diff(times), 0.5)  # the whole song
        assert times[-1] == 39.5  # 40-s songs: the last 0.5 s valence segment ends at 40 s
        arousal = song.time_s[song.arousal.notna()]
        valence = song.time_s[song.valence.notna()]
        assert (arousal.iloc[0], arousal.iloc[-1]) == (0.0, 38.5)  # 1.5-s windows
        assert (valence.iloc[0], valence.iloc[-1]) == (2.5, 39.5)  # after a 2.5-s context
    assert table[["arousal", "valence"]].abs().max().max() <= 1.0
    assert table.arousal.notna().sum() == 4 * 78 and table.valence.notna().sum() == 4 * 75
    summary = pd.read_csv(out / "TestSongSummary.csv")
    assert set(summary.quadrant) <= {"happy / excited", "angry / tense", "sad / depressed",
                                     "calm / relaxed"}
    records = json.loads((out / "TestSongPredicted.json").read_text())
    assert len(records) == 4
    for target in ("arousal", "valence"):  # the band reaches every table and the page
        values, low, high = (table[target], table[f"{target}_low"], table[f"{target}_high"])
        assert (values.isna() == low.isna()).all() and (values.isna() == high.isna()).all()
        assert ((low <= values) & (values <= high) & (low < high) | values.isna()).all()
        half = ((high - low) / 2).groupby(table.song).mean()
        np.testing.assert_allclose(summary.set_index("song")[f"{target}_band"], half,
                                   atol=2e-4)  # means of 4-decimal values
        for record in records:
            rows = table[table.song == record["song"]]
            assert record[f"{target}_low"] == [None if v != v else v
                                               for v in rows[f"{target}_low"]]
    page = (out / "emotion_report.html").read_text()
    data = json.loads(page.split('id="emoreco-data">', 1)[1].split("</script>", 1)[0])
    assert data["columns"] == ["arousal", "arousal_low", "arousal_high", "valence",
                               "valence_low", "valence_high"]
    assert [t["band"] for t in data["targets"]] == [0.8, 0.8]
    first = table[table.song == data["songs"][0]["name"]]
    drawn = np.array([np.nan if v is None else v for v in data["songs"][0]["valence_high"]])
    np.testing.assert_allclose(drawn, first.valence_high * 1000, atol=1)  # in thousandths
    for name in ("Arousal_tracks.png", "Valence_tracks.png", "Valence_arousal_plane.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def test_start_and_end_select_the_time_span(trained_models, tiny_deam, tmp_path):
    song = tiny_deam / "test_songs" / "demo_song_1.mp3"
    out = tmp_path / "out"
    assert _predict(trained_models / "models", [song], out, "--start", "15", "--end",
                    "23.5") == 0
    table = pd.read_csv(out / "TestSongPredicted.csv")
    # the last arousal window [22.0, 23.5) and valence segment [23.0, 23.5) end at --end
    assert table.time_s.tolist() == [15.0 + 0.5 * k for k in range(17)]
    assert table.arousal.notna().sum() == 15 and table.valence.notna().all()  # valence to 23


def test_a_corrupt_file_is_reported_and_the_others_written(trained_models, tiny_deam,
                                                           tmp_path, capsys):
    songs = tmp_path / "songs"
    shutil.copytree(tiny_deam / "test_songs", songs)
    (songs / "broken.mp3").write_bytes(b"\x00garbage" * 100)
    out = tmp_path / "out"
    assert _predict(trained_models / "models", [songs], out) == 1
    err = capsys.readouterr().err
    assert "broken.mp3" in err and "Traceback" not in err
    assert pd.read_csv(out / "TestSongPredicted.csv").song.nunique() == 4
    assert "broken.mp3" in (out / "emotion_report.html").read_text()
    assert "broken.mp3" in (out / "TestSongSummary.json").read_text()


def test_existing_outputs_are_not_overwritten_without_overwrite(trained_models, tiny_deam,
                                                                tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "TestSongPredicted.csv").write_text("precious\n")
    song = tiny_deam / "test_songs" / "demo_song_2.wav"
    assert _predict(trained_models / "models", [song], out) == 2
    assert "use --overwrite" in capsys.readouterr().err
    assert (out / "TestSongPredicted.csv").read_text() == "precious\n"
    assert _predict(trained_models / "models", [song], out, "--overwrite") == 0
    assert (out / "TestSongPredicted.csv").read_text().startswith("song,time_s")


def test_html_report_is_self_contained(trained_models, tiny_deam, tmp_path):
    import re

    out = tmp_path / "out"
    assert _predict(trained_models / "models", [tiny_deam / "test_songs"], out,
                    "--embed-audio") == 0
    page = (out / "emotion_report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    # plotly.js (inlined, so no <script src>) holds attribution links in strings; the
    # page's own markup must reference nothing outside itself (Chromium test: nothing does)
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", markup)
    assert "<link" not in page and "<script src" not in page
    assert page.count("<script>") == 2  # plotly.js and the page's own script
    cards = page.split('<details id="model-cards">')[1].split("</details>")[0]
    for target in ("arousal", "valence"):  # each model's card, as text
        card = (trained_models / "models" / f"{target}.card.md").read_text(encoding="utf-8")
        assert f"<pre>{html.escape(card)}</pre>" in cards
    data = json.loads(page.split('<script type="application/json" id="emoreco-data">')[1]
                      .split("</script>")[0])
    assert [s["name"] for s in data["songs"]] == ["demo_song_1.mp3", "demo_song_2.wav",
                                                  "demo_song_3.flac", "demo_song_4.ogg"]
    song = data["songs"][0]
    assert song["start"] == 0.0 and song["valence"][:5] == [None] * 5  # valence from 2.5 s
    assert song["arousal"][-2:] == [None, None]  # arousal's last window ends 1 s earlier
    assert all(abs(v) <= 1000 for v in song["arousal"][:-2])  # thousandths
    assert song["audio"].startswith("data:audio/ogg;base64,")  # --embed-audio


def test_short_songs_and_bad_spans_get_clear_messages(trained_models, tmp_path, capsys):
    import soundfile

    from conftest import sine_clip

    tiny = tmp_path / "tiny.wav"
    soundfile.write(tiny, sine_clip(2.9, 16000), 16000)
    assert _predict(trained_models / "models", [tiny], tmp_path / "t") == 1
    assert "tiny.wav: audio is 2.90 s long, at least 3.00 s is needed" in capsys.readouterr().err
    short = tmp_path / "short.wav"
    soundfile.write(short, sine_clip(12.0, 16000), 16000)  # shorter than DEAM's 15 s offset
    assert _predict(trained_models / "models", [short], tmp_path / "o") == 0
    assert _predict(trained_models / "models", [short], tmp_path / "d", "--start", "15") == 1
    assert "at least 16.50 s is needed" in capsys.readouterr().err
    # a --start off the grid is refused once, before any song, with exit code 2
    shutil.copy(short, tmp_path / "copy.wav")
    assert _predict(trained_models / "models", [short, tmp_path / "copy.wav"],
                    tmp_path / "s", "--start", "15.2") == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --start must be a multiple of 0.5 s"]

    assert _predict(trained_models / "models", [tmp_path / "nothing"], tmp_path / "o") == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_without_models_the_user_is_told_how_to_train(tiny_deam, tmp_path, capsys):
    song = tiny_deam / "test_songs" / "demo_song_1.mp3"
    assert _predict(tmp_path / "empty", [song], tmp_path / "o") == 2
    assert "make demo" in capsys.readouterr().err


def test_extract_command_fills_the_cache(tiny_deam, tmp_path):
    code = main_module(["extract", "--deam-dir", str(tiny_deam), "--cache-dir", str(tmp_path),
                        "--target", "valence", "--jobs", "1", "--quiet"])
    assert code == 0
    [key_dir] = (tmp_path / "DEAM_mfccs").iterdir()
    assert len(list(key_dir.glob("MEMD_audio-*/*.npy"))) == 8
    assert len(list(key_dir.glob("MEMD_audio-*/*.source.json"))) == 8
    assert len(list((tmp_path / "DEAM_chroma" / key_dir.name).glob("*/*.npy"))) == 8


@pytest.mark.parametrize("args, message", [
    (["--clips", "1", "--full-songs", "0"], "at least 2 songs"),
    (["--label-noise", "1.5"], "--label-noise must be in"),
    (["--clips", "2500"], "at most 1999 clips"),
    (["--test-songs", "-1"], "--test-songs must be between 0 and 100"),
])
def test_demo_command_validates_its_options(tmp_path, capsys, args, message):
    assert main_module(["demo", "--out", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_empty_folder_and_inverted_span_are_refused(trained_models, tiny_deam, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _predict(trained_models / "models", [empty], tmp_path / "o") == 2
    assert "no audio files" in capsys.readouterr().err
    song = tiny_deam / "test_songs" / "demo_song_1.mp3"
    with pytest.raises(SystemExit) as exit_info:  # refused by the parser, before any work
        _predict(trained_models / "models", [song], tmp_path / "o", "--start", "15", "--end", "10")
    assert exit_info.value.code == 2
    assert "--end (10.0) must be after --start (15.0)" in capsys.readouterr().err


def _copy_models(trained_models, tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(trained_models / "models", folder)
    return folder


def test_a_model_of_the_wrong_target_is_refused(trained_models, tiny_deam, tmp_path, capsys):
    folder = _copy_models(trained_models, tmp_path)
    song = tiny_deam / "test_songs" / "demo_song_1.mp3"
    code = main_predict([str(song), "--models-dir", str(folder), "--valence-model", "arousal",
                         "--out-dir", str(tmp_path / "o"), "--quiet"])
    assert code == 2
    assert "was trained to predict arousal, not valence" in capsys.readouterr().err


def test_metadata_that_does_not_match_the_model_is_refused(trained_models, tiny_deam, tmp_path,
                                                           capsys):
    folder = _copy_models(trained_models, tmp_path)
    meta_path = folder / "arousal.meta.json"
    meta = json.loads(meta_path.read_text())
    meta["feature_params"]["n_mfcc"] = 20
    meta_path.write_text(json.dumps(meta))
    song = tiny_deam / "test_songs" / "demo_song_1.mp3"
    assert _predict(folder, [song], tmp_path / "o") == 2  # edited after it was saved
    assert "arousal.meta.json: does not match arousal.sha256" in capsys.readouterr().err
    edit_meta(folder, "arousal", lambda meta: None)  # a forger updates the digest list too
    assert _predict(folder, [song], tmp_path / "o") == 2
    assert "does not match its feature parameters" in capsys.readouterr().err


def test_an_unwritable_output_folder_is_a_one_line_error(trained_models, tiny_deam, tmp_path,
                                                         capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    song = tiny_deam / "test_songs" / "demo_song_1.mp3"
    assert _predict(trained_models / "models", [song], blocker / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not_a_folder" in err and "Traceback" not in err


def test_zero_jobs_is_refused_by_the_option_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main_arousal(["--deam-dir", "x", "--jobs", "0"])
    assert exit_info.value.code == 2
    assert "--jobs: must not be 0" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["MAIN_valence.py", "--hop-s", "1.0"], "hop_s (1) must equal segment_s (0.5)"),
    (["MAIN_arousal.py", "--start-s", "15.2"], "start_s (15.2) must be a multiple of hop_s"),
    (["MAIN.py", "--end", "nan"], "argument --end: must be a finite number of seconds"),
    (["MAIN.py", "--start", "-1"], "argument --start: must be a finite number of seconds"),
    (["MAIN.py", "--start", "20", "--end", "18"], "--end (18.0) must be after --start (20.0)"),
])
def test_option_conflicts_are_refused_at_parse_time(args, message, tmp_path):
    where = (["--deam-dir", str(tmp_path), "--models-dir", str(tmp_path / "m")]
             if "MAIN_" in args[0] else ["--out-dir", str(tmp_path / "o")])
    result = _script(*args, *where)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]
    assert not any(tmp_path.iterdir())  # refused before any work


def test_training_refuses_to_replace_a_model_without_overwrite(trained_models, tiny_deam,
                                                               capsys):
    models = trained_models / "models"
    before = (models / "arousal.weights.h5").read_bytes()
    assert main_arousal(["--deam-dir", str(tiny_deam), "--models-dir", str(models),
                         "--quiet"]) == 2
    assert "model 'arousal' exists" in capsys.readouterr().err
    assert (models / "arousal.weights.h5").read_bytes() == before


def test_a_missing_corpus_is_told_before_an_existing_model(trained_models, tmp_path, capsys):
    """Issue 28, 2: `emoreco.train(...)` after `make demo` was refused for the existing
    model before it noticed that the corpus it was given does not exist."""
    models = trained_models / "models"
    missing = tmp_path / "DEAM"
    assert main_arousal(["--deam-dir", str(missing), "--models-dir", str(models),
                         "--quiet"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {missing}: DEAM folder not found"]
    with pytest.raises(emoreco.EmorecoError, match="DEAM folder not found"):
        emoreco.train("arousal", missing, models_dir=models)


def test_main_with_no_songs_in_a_fresh_folder_leads_to_make_demo(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "MAIN.py")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no demo songs in data/test_songs" in result.stderr
    assert "run `make demo` first" in result.stderr


def _parsers_of(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers_of(sub)


def test_every_command_names_itself_and_explains_every_option(monkeypatch, capsys):
    """Issue 28, 5: `--models-dir` had no help text and `fetch-deam`'s usage line named
    `python -m emoreco fetch-deam`; every command and option of every parser now says what
    it is, under the name a user types."""
    from emoreco.cli import _commands

    shown: list[argparse.ArgumentParser] = []
    monkeypatch.setattr(argparse.ArgumentParser, "print_help",
                        lambda self, file=None: shown.append(self))
    for command in _commands():
        shown.clear()
        with pytest.raises(SystemExit) as stop:
            main_module([command, "--help"])
        assert stop.value.code == 0 and shown, command
        assert shown[0].prog == f"emoreco {command}", shown[0].prog
        for parser in _parsers_of(shown[0]):
            assert parser.prog.startswith(f"emoreco {command}")
            silent = [action.option_strings or action.dest for action in parser._actions
                      if action.help in (None, "") and action.dest != "help"
                      and not isinstance(action, argparse._SubParsersAction)]
            assert not silent, f"{parser.prog}: no help for {silent}"
    capsys.readouterr()


@pytest.mark.slow
def test_tensorflow_loads_without_its_start_up_chatter():
    """Issue 28, 5 (library chatter): TensorFlow 2.21 printed an absl notice and two
    'oneDNN custom operations are on' lines to stderr in every training run, whatever
    TF_CPP_MIN_LOG_LEVEL said. Standard error works again right after the import."""
    probe = ("import sys\n"
             "from emoreco.model.architectures import build_arousal_cnn\n"
             "build_arousal_cnn((40, 72), 1e-3)\n"
             "print('after the import', file=sys.stderr)\n")
    result = _script("-c", probe)
    assert result.returncode == 0, result.stderr
    assert "oneDNN" not in result.stderr and "absl" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "after the import"
