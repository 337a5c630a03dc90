"""Prediction runs the ONNX export in ONNX Runtime: same outputs, no TensorFlow."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from emoreco.cli import main_predict
from emoreco.core.config import FeatureParams
from emoreco.data.corpus import load_corpus
from emoreco.data.layout import locate_deam
from emoreco.training.examples import LabelledSongs, build_window_set
from emoreco.data.feature_cache import FeatureCache
from emoreco.model.files import load_model
from emoreco.model.onnx_runtime import onnx_call
from emoreco.model.targets import TARGETS


@pytest.mark.parametrize("target", list(TARGETS))
def test_onnx_outputs_equal_keras_outputs_on_real_feature_windows(target, tiny_deam,
                                                                  trained_models):
    models = trained_models / "models"
    keras_model, meta = load_model(models, target)
    songs = LabelledSongs.single(load_corpus(locate_deam(tiny_deam), target),
                          FeatureCache(trained_models / "cache", FeatureParams()))
    windows = build_window_set(TARGETS[target], songs, meta.feature_params, progress=False)
    inputs = meta.scaler.apply(windows.inputs)
    call, shape = onnx_call(models / f"{target}.onnx")
    assert shape == list(meta.input_shape) and len(inputs) > 400
    expected = np.asarray(keras_model(inputs, training=False)).reshape(-1)
    np.testing.assert_allclose(call(inputs), expected, rtol=0, atol=1e-5)


def _probe(argv: list[str]) -> subprocess.CompletedProcess:
    """Run MAIN.py in a fresh interpreter; print the heavy modules it imported."""
    code = ("import runpy, sys\nsys.argv = %r\ntry:\n    runpy.run_path('MAIN.py', "
            "run_name='__main__')\nexcept SystemExit as exit:\n    status = exit.code\n"
            "heavy = ('tensorflow', 'keras', 'librosa', 'numba', 'scipy.signal', 'pandas', "
            "'matplotlib')\n"
            "print('IMPORTED', sorted(m for m in heavy if m in sys.modules))\n"
            "sys.exit(status)" % (["MAIN.py", *argv],))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_main_does_not_import_tensorflow(trained_models, tiny_deam, tmp_path):
    song = str(tiny_deam / "test_songs" / "demo_song_1.mp3")
    models = str(trained_models / "models")
    lean = _probe([song, "--models-dir", models, "--out-dir", str(tmp_path / "a"),
                   "--no-plots", "--no-report", "--quiet"])
    assert lean.returncode == 0, lean.stderr
    assert "IMPORTED []" in lean.stdout  # not even matplotlib for a table-only run
    full = _probe([song, "--models-dir", models, "--out-dir", str(tmp_path / "b"), "--quiet"])
    assert full.returncode == 0, full.stderr
    assert "IMPORTED ['matplotlib']" in full.stdout
    assert (tmp_path / "a" / "TestSongPredicted.csv").read_text() == (
        tmp_path / "b" / "TestSongPredicted.csv").read_text()


def test_a_model_saved_without_onnx_is_exported_once(trained_models, tiny_deam, tmp_path,
                                                     caplog):
    models = tmp_path / "models"
    shutil.copytree(trained_models / "models", models)
    (models / "valence.onnx").unlink()
    meta_path = models / "valence.meta.json"
    (models / "valence.sha256").unlink()  # as saved before exports and digest lists existed
    meta = json.loads(meta_path.read_text())
    del meta["sha256"]["onnx"]
    meta_path.write_text(json.dumps(meta))
    song = str(tiny_deam / "test_songs" / "demo_song_1.mp3")
    reference = trained_models / "reference"
    assert main_predict([song, "--models-dir", str(trained_models / "models"), "--out-dir",
                         str(reference), "--quiet", "--no-report", "--overwrite"]) == 0
    caplog.set_level("INFO")
    assert main_predict([song, "--models-dir", str(models), "--out-dir", str(tmp_path / "o"),
                         "--quiet", "--no-report"]) == 0
    assert "valence.onnx: exported for prediction without TensorFlow (once)" in caplog.text
    assert "onnx" in json.loads(meta_path.read_text())["sha256"]
    assert (tmp_path / "o" / "TestSongPredicted.csv").read_text() == (
        reference / "TestSongPredicted.csv").read_text()
    caplog.clear()
    assert main_predict([song, "--models-dir", str(models), "--out-dir", str(tmp_path / "p"),
                         "--quiet", "--no-report"]) == 0
    assert "exported" not in caplog.text


def test_a_corrupt_onnx_file_is_refused(trained_models, tiny_deam, tmp_path, capsys):
    models = tmp_path / "models"
    shutil.copytree(trained_models / "models", models)
    (models / "arousal.onnx").write_bytes(b"not a model")
    song = str(tiny_deam / "test_songs" / "demo_song_1.mp3")
    assert main_predict([song, "--models-dir", str(models), "--out-dir", str(tmp_path / "o"),
                         "--quiet"]) == 2
    assert "arousal.onnx: does not match arousal.sha256" in capsys.readouterr().err
    (models / "arousal.sha256").unlink()  # a model saved before digest lists existed
    assert main_predict([song, "--models-dir", str(models), "--out-dir", str(tmp_path / "o"),
                         "--quiet"]) == 2
    assert "arousal.onnx: does not match arousal.meta.json" in capsys.readouterr().err
