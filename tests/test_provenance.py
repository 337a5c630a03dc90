"""Models say what they were trained on; demo-trained models say so loudly."""

import hashlib
import json
import shutil

from conftest import edit_meta
from emoreco.cli import main_predict
from emoreco.data.layout import locate_deam


def test_training_records_its_data(trained_models, tiny_deam):
    for target in ("arousal", "valence"):
        meta = json.loads((trained_models / "models" / f"{target}.meta.json").read_text())
        data = meta["data"]
        csv = locate_deam(tiny_deam).annotation_csv(target)
        assert data["annotations_sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
        assert data["n_songs"] == 8 and data["demo_corpus"] is True
        assert data["official_deam_annotations"] is None  # not fetched by fetch-deam
        assert data["audio_dir"] == str((tiny_deam / "MEMD_audio").resolve())


def test_demo_trained_models_warn_in_terminal_report_and_companion_json(
        trained_models, tiny_deam, tmp_path, capsys, caplog):
    song = str(tiny_deam / "test_songs" / "demo_song_1.mp3")
    caplog.set_level("INFO")
    assert main_predict([song, "--models-dir", str(trained_models / "models"), "--out-dir",
                         str(tmp_path / "o"), "--quiet"]) == 0
    assert "models trained on the synthetic DEMO corpus, 8 songs in" in caplog.text
    err = capsys.readouterr().err
    assert "WARNING: these models were trained on the synthetic demo corpus" in err
    assert "make deam" in err
    page = (tmp_path / "o" / "emotion_report.html").read_text()
    assert page.index('id="demo-warning"') < page.index("<h1>")
    companion = json.loads((tmp_path / "o" / "TestSongSummary.json").read_text())
    assert "not meaningful for real music" in companion["warning"]
    assert companion["models"]["valence"]["data"]["demo_corpus"] is True


def test_models_trained_on_deam_do_not_warn(trained_models, tiny_deam, tmp_path, capsys):
    models = tmp_path / "models"
    shutil.copytree(trained_models / "models", models)
    for target in ("arousal", "valence"):
        edit_meta(models, target, lambda meta: meta["data"].update(demo_corpus=False))
    song = str(tiny_deam / "test_songs" / "demo_song_1.mp3")
    assert main_predict([song, "--models-dir", str(models), "--out-dir", str(tmp_path / "o"),
                         "--quiet"]) == 0
    assert "WARNING" not in capsys.readouterr().err
    assert 'id="demo-warning"' not in (tmp_path / "o" / "emotion_report.html").read_text()
    assert json.loads((tmp_path / "o" / "TestSongSummary.json").read_text())["warning"] is None
