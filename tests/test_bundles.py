"""emoreco models: bundles packed, installed, found and verified; every bad bundle refused."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from conftest import edit_meta
from emoreco.core.digest import sha256_of
from emoreco.core.errors import ConfigError, ModelError
from emoreco.model.bundles import BundleError, install_bundle, pack_models, verify_models


@pytest.fixture
def bundle(trained_models, tmp_path) -> tuple[Path, str]:
    out = tmp_path / "models.zip"
    return out, pack_models(trained_models / "models", out)


def rewrite(source: Path, out: Path, change) -> Path:
    """A copy of bundle ``source`` with its entries passed through
    ``change(name, data) -> [(name, data), ...]`` (a forger's edit)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            for name, data in change(info.filename, old.read(info)):
                new.writestr(name, data)
    return out


def refused(bad: Path, root: Path, match: str, **options) -> None:
    with pytest.raises((BundleError, ConfigError), match=match):
        install_bundle(bad, root, "default", **options)
    assert not root.exists() or not [p for p in root.iterdir()]  # nothing installed


def test_a_bundle_installs_verifies_and_predicts_as_the_folder(bundle, trained_models,
                                                               tiny_deam, tmp_path):
    import emoreco

    path, digest = bundle
    assert sha256_of(path) == digest
    folder = install_bundle(path, tmp_path / "store", "default", sha256=digest.upper())
    assert verify_models(folder) == {"arousal": "arousal", "valence": "valence"}
    song = next((tiny_deam / "test_songs").glob("*.wav"))
    ours = emoreco.predict([song], models_dir=folder)[0]
    theirs = emoreco.predict([song], models_dir=trained_models / "models")[0]
    np.testing.assert_array_equal(ours.arousal, theirs.arousal)  # NaN where no value
    with pytest.raises(ConfigError, match="installed already"):
        install_bundle(path, tmp_path / "store", "default")
    (folder / "arousal.onnx").write_bytes(b"changed")
    with pytest.raises(ModelError, match="changed since it was installed"):
        verify_models(folder)
    assert install_bundle(path, tmp_path / "store", "default", force=True) == folder
    assert verify_models(folder)


def test_every_bad_bundle_is_one_line_and_installs_nothing(bundle, tmp_path):
    path, digest = bundle
    root = tmp_path / "store"
    refused(path, root, "its SHA-256 is", sha256="0" * 64)
    refused(path, root, "not 64 hexadecimal", sha256="xyz")

    def tamper(name, data):
        if name == "valence.onnx":
            data = data[:-1] + bytes([data[-1] ^ 1])
        return [(name, data)]

    refused(rewrite(path, tmp_path / "t.zip", tamper), root, "valence.onnx does not match")
    refused(rewrite(path, tmp_path / "m.zip",
                    lambda n, d: [] if n == "arousal.weights.h5" else [(n, d)]),
            root, r"missing: arousal.weights.h5")
    refused(rewrite(path, tmp_path / "e.zip",
                    lambda n, d: [(n, d)] + ([("extra.onnx", b"x")] if n == "manifest.json"
                                             else [])),
            root, r"not in the manifest: extra.onnx")
    for evil in ("../../evil.onnx", "/tmp/evil.onnx", "sub/arousal.onnx", "..\\evil"):
        refused(rewrite(path, tmp_path / "s.zip",
                        lambda n, d, e=evil: [(n, d)] + ([(e, b"x")] if n == "manifest.json"
                                                         else [])),
                root, "not a plain file at the top")
    assert not (tmp_path / "evil.onnx").exists()
    refused(rewrite(path, tmp_path / "j.zip",
                    lambda n, d: [(n, b"[" * 100000 if n == "manifest.json" else d)]),
            root, "manifest.json is not JSON")
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"PK\x03\x04 this is not a zip file" * 10)
    refused(garbage, root, "not a readable zip file")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", "{}")
        archive.writestr("arousal.json", b"\0" * (5 << 20))  # over 4 MB: above its bound
    refused(bomb, root, "more than such a file may have")
    with pytest.raises(ConfigError, match="use letters"):
        install_bundle(path, root, "../escape")


def test_inflated_parameters_behind_valid_digests_are_refused(trained_models, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(trained_models / "models", models)

    def inflate(record):
        for key in ("sample_rate", "n_fft", "win_length", "hop_length"):
            record["feature_params"][key] *= 1000

    edit_meta(models, "arousal", inflate)  # its digest list rewritten: only bounds catch it
    forged = tmp_path / "forged.zip"
    with pytest.raises(ModelError):
        pack_models(models, forged)  # our own packer refuses it...
    good = tmp_path / "good.zip"
    pack_models(trained_models / "models", good)

    def swap(name, data):  # ...so a forger edits a good bundle, manifest and all
        source = models / name
        if name == "manifest.json":
            record = json.loads(data)
            for entry in record["files"]:
                record["files"][entry] = {"size": (models / entry).stat().st_size,
                                          "sha256": sha256_of(models / entry)}
            return [(name, json.dumps(record))]
        return [(name, source.read_bytes())]

    refused(rewrite(good, forged, swap), tmp_path / "store", "model 'arousal' does not check")


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def web(tmp_path):
    """A local HTTP server on 127.0.0.1 serving ``tmp_path/www``."""
    www = tmp_path / "www"
    www.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=www))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _emoreco(tmp_path, *args):
    environment = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path),
                   "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "emoreco", *args], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_install_from_a_url_then_predict_with_no_models_option(bundle, web, tiny_deam,
                                                               tmp_path):
    path, digest = bundle
    www, base = web
    shutil.copy(path, www / "models.zip")
    (www / "garbage.zip").write_bytes(b"<html>not found</html>" * 50)
    bad = _emoreco(tmp_path, "models", "install", f"{base}/garbage.zip")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "not a readable zip file" in bad.stderr
    missing = _emoreco(tmp_path, "models", "install", f"{base}/nothing.zip")
    assert missing.returncode == 2 and "HTTP 404" in missing.stderr
    assert not (tmp_path / "data" / "emoreco" / "models" / "default").exists()
    good = _emoreco(tmp_path, "models", "install", f"{base}/models.zip", "--sha256", digest)
    assert good.returncode == 0, good.stderr
    listed = _emoreco(tmp_path, "models", "list")
    assert listed.stdout.startswith("default: arousal (arousal), valence (valence); trained on")
    assert "arousal: test RMSE " in listed.stdout and "(mean baseline " in listed.stdout
    song = next((tiny_deam / "test_songs").glob("*.wav"))
    predicted = _emoreco(tmp_path, "predict", str(song), "--out-dir", "out", "--quiet")
    assert predicted.returncode == 0, predicted.stderr  # found the installed default
    assert (tmp_path / "out" / "TestSongSummary.csv").is_file()
    (tmp_path / "models").mkdir()  # a project folder with no models does not hide them
    assert _emoreco(tmp_path, "predict", str(song), "--out-dir", "out2",
                    "--quiet").returncode == 0
    verified = _emoreco(tmp_path, "models", "verify", "default")
    assert verified.returncode == 0 and ": ok: arousal" in verified.stdout


def test_training_writes_a_card_whose_figures_are_the_metrics(trained_models):
    models = trained_models / "models"
    for target in ("arousal", "valence"):
        metrics = json.loads((models / f"{target}.metrics.json").read_text())
        card = (models / f"{target}.card.md").read_text(encoding="utf-8")
        assert card.startswith(f"# Model card: {target} ({target})")
        for key, label in (("rmse", "RMSE (all test windows)"),
                           ("baseline_rmse", "RMSE of the mean baseline"),
                           ("ccc", "concordance (CCC)"),
                           ("band_coverage", "band coverage (share of true values inside)"),
                           ("band_width", "band width (mean)"),
                           ("rater_std", "raters' standard deviation (mean)")):
            assert f"| {label} | {metrics[key]:.4f} |" in card
        assert f"held {metrics['band_coverage']:.1%} of the true values" in card
        for genre, values in metrics["per_genre"].items():  # the demo corpus names genres
            assert f"| {genre} | {values['n_test_songs']} | {values['rmse']:.4f} |" in card
        assert "synthetic demo corpus" in card  # the tests' corpus is generated
        assert f"Test songs: {metrics['n_test_songs']}" in card
    assert (models / "arousal.card.md").name in (models / "arousal.sha256").read_text()
