"""The beets plugin on a real beets library: import, beet emoreco, range queries, -w."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytest.importorskip("beets")

FILES = ("one.flac", "two.mp3", "three.m4a")


def beet(config_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """``beet ARGS`` with the configuration in ``config_dir`` (BEETSDIR)."""
    environment = os.environ | {"BEETSDIR": str(config_dir), "HOME": str(config_dir)}
    return subprocess.run([sys.executable, "-m", "beets", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


def make_library(tmp_path: Path, models: Path, auto: bool) -> tuple[Path, Path]:
    """A beets config using the plugin from this checkout, and a folder of songs."""
    from test_tags import _write

    config_dir, music = tmp_path / "beets", tmp_path / "incoming"
    config_dir.mkdir()
    music.mkdir()
    for variant, name in enumerate(FILES):
        _write(music / name, 2 * variant)
    (config_dir / "config.yaml").write_text(
        f"directory: {tmp_path / 'library'}\n"
        f"library: {config_dir / 'library.db'}\n"
        f"pluginpath: [{ROOT / 'beetsplug'}]\n"
        "plugins: emoreco\n"
        "import:\n  copy: no\n  write: no\n  autotag: no\n  resume: no\n"
        f"emoreco:\n  models_dir: {models}\n  auto: {'yes' if auto else 'no'}\n  jobs: 1\n"
        "  allow_demo: yes\n",  # the tests' models are trained on a generated corpus
        encoding="utf-8")
    return config_dir, music


def arousal_by_file(config_dir: Path, *query: str) -> dict[str, float]:
    listed = beet(config_dir, "ls", "-f", "$path|$emoreco_arousal", *query)
    assert listed.returncode == 0, listed.stderr
    return {Path(line.split("|")[0]).name: float(line.split("|")[1])
            for line in listed.stdout.splitlines() if line}


@pytest.mark.slow
def test_beet_emoreco_stores_typed_values_that_range_queries_compare(trained_models,
                                                                     tmp_path):
    from emoreco.outputs.tags import read_tags

    config_dir, music = make_library(tmp_path, trained_models / "models", auto=False)
    imported = beet(config_dir, "import", "-q", str(music))
    assert imported.returncode == 0, imported.stderr
    analysed = beet(config_dir, "emoreco")
    assert analysed.returncode == 0, analysed.stderr
    values = arousal_by_file(config_dir)
    assert sorted(values) == sorted(FILES)
    tagged_now = {name: read_tags(music / name) for name in FILES}
    assert all("EMORECO_AROUSAL" not in tags for tags in tagged_now.values())  # no -w
    middle = sorted(values.values())[1]
    above = arousal_by_file(config_dir, f"emoreco_arousal:{middle}..")
    assert sorted(above) == sorted(n for n, v in values.items() if v >= middle)
    assert len(above) == 2  # compared as numbers, not as text
    again = beet(config_dir, "-v", "emoreco")
    assert "3 items already analysed by these models" in again.stderr + again.stdout
    written = beet(config_dir, "emoreco", "-f", "-w")
    assert written.returncode == 0, written.stderr
    for name in FILES:
        tags = read_tags(music / name)
        assert float(tags["EMORECO_AROUSAL"]) == pytest.approx(values[name], abs=5e-4)
        assert tags["EMORECO_MODELS"]


@pytest.mark.slow
def test_auto_analyses_on_import_and_bad_models_are_one_line(trained_models, tmp_path):
    config_dir, music = make_library(tmp_path, trained_models / "models", auto=True)
    imported = beet(config_dir, "import", "-q", str(music))
    assert imported.returncode == 0, imported.stderr
    assert sorted(arousal_by_file(config_dir, "emoreco_arousal:-1..1")) == sorted(FILES)
    config = config_dir / "config.yaml"
    config.write_text(config.read_text().replace("allow_demo: yes", "allow_demo: no"))
    demo = beet(config_dir, "emoreco", "-f")
    assert demo.returncode != 0 and "Traceback" not in demo.stderr
    assert "not tagging with demo models" in demo.stderr and "allow_demo: yes" in demo.stderr
    config.write_text(config.read_text().replace(str(trained_models / "models"),
                                                 str(tmp_path / "nowhere")))
    refused = beet(config_dir, "emoreco", "-f")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "emoreco: " in refused.stderr
    from test_tags import _write

    more = tmp_path / "more"
    more.mkdir()
    _write(more / "four.flac", 5)
    imported = beet(config_dir, "import", "-q", "-s", str(more))  # the import goes on
    assert imported.returncode == 0, imported.stderr
    assert "the imported items are not analysed" in imported.stderr + imported.stdout
    assert "four.flac" in beet(config_dir, "ls", "-p").stdout
