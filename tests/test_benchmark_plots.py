"""The speed page's plots (issue 28: 'the benchmark figures as plots'): drawn from the
figures files the benchmarks record, the committed PNGs are those of the committed
figures, and a damaged figures file is one line, not a traceback."""

import importlib.util
import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

RESULTS = ROOT / "benchmarks" / "results"
SCRIPT = ROOT / "benchmarks" / "plot_results.py"


def _module():
    spec = importlib.util.spec_from_file_location("plot_results", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, cwd=ROOT)


def test_the_committed_plots_are_those_of_the_committed_figures(tmp_path):
    """The PNGs in readme_files (embedded in docs/speed.md) are redrawn byte for byte from
    benchmarks/results: no plot shows figures other than the recorded run's."""
    plots = _module().PLOTS
    assert sorted(path.stem for path in RESULTS.glob("*.json")) == sorted(plots)
    done = _run("--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    for benchmark in plots:
        name = f"speed_{benchmark}.png"
        assert (tmp_path / name).read_bytes() == (ROOT / "readme_files" / name).read_bytes(), \
            f"readme_files/{name} is stale: run python benchmarks/plot_results.py"
        assert f"readme_files/{name}" in (ROOT / "docs" / "speed.md").read_text()


def test_each_plot_shows_its_figures_with_axis_titles_and_the_day(tmp_path):
    module = _module()
    record = module.load(RESULTS / "engines.json", "engines")
    shown = {}

    def keep(figure, path):
        shown["figure"] = figure
        return path

    module._save = keep
    module.plot_engines(record, tmp_path)
    ax = shown["figure"].axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    sizes = sorted(record["figures"], key=int)
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert lines["cluster"] == [record["figures"][s]["seconds"]["cluster"] for s in sizes]
    assert record["date"] in shown["figure"].texts[0].get_text()


@pytest.mark.parametrize("damage, message", [
    (lambda r: "not json {", "not JSON"),
    (lambda r: {**r, "benchmark": "decode"}, "not the figures of engines"),
    (lambda r: {**r, "figures": {}}, "no figures"),
    (lambda r: {**r, "date": 3}, "no date"),
    (lambda r: {**r, "cores": True}, "cores"),
    (lambda r: {**r, "figures": {"4": {"seconds": {"process": -1.0, "threads": 1.0,
                                                   "cluster": 1.0}, "picked": "threads"}}},
     "not a non-negative number"),
    (lambda r: {**r, "figures": {"4": {"seconds": {"process": float("nan"), "threads": 1.0,
                                                   "cluster": 1.0}, "picked": "threads"}}},
     "not a non-negative number"),
    (lambda r: {**r, "figures": {"4": {"picked": "threads"}}}, "unexpected layout"),
    (lambda r: "x" * (2 << 20), "larger than"),
])
def test_a_damaged_figures_file_is_one_line(tmp_path, damage, message):
    results = tmp_path / "results"
    results.mkdir()
    record = json.loads((RESULTS / "engines.json").read_text())
    damaged = damage(record)
    (results / "engines.json").write_text(damaged if isinstance(damaged, str)
                                          else json.dumps(damaged))
    done = _run("--results", str(results), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_figures_are_named_and_none_at_all_is_an_error(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(RESULTS / "decode.json", results)
    done = _run("--results", str(results), "--out", str(tmp_path / "out"))
    assert done.returncode == 0 and "vs_vibenet: no figures" in done.stdout
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["speed_decode.png"]
    empty = _run("--results", str(tmp_path / "nothing"), "--out", str(tmp_path / "out2"))
    assert empty.returncode == 1 and "no figures files" in empty.stderr
