"""The README and the documentation site: every example runs, and the site builds strictly.

Examples are parsed by Sybil and run in order, one test per page, in a sandbox folder
laid out as a checkout after ``make demo``: ``models/`` (the tests' tiny trained models),
``data/test_songs/`` (the tiny corpus' four songs), the ``MAIN*.py`` scripts and
``.venv`` (this interpreter's environment), with ``python`` and ``emoreco`` of this
environment first on the ``PATH``.

* ```` ```python ```` blocks run in one namespace per page; ``>>>`` lines check their
  printed output (doctest, with ``...`` for any text).
* ```` ```shell ```` blocks run line by line in ``bash`` and must exit 0; a line that
  shows its output (```` ```console ````, ``$ command`` then the output) must print it
  (``...`` for any text).
* ``<!-- not run by the tests: why -->`` then ``<!-- skip: next -->`` before a block (the
  set-up commands themselves, the DEAM archives, a cluster of machines, a sound card).
"""

from __future__ import annotations

import doctest
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
CHECKER = doctest.OutputChecker()
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _environment(sandbox: Path) -> dict[str, str]:
    environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                       XDG_DATA_HOME=str(sandbox / ".share"), MPLBACKEND="Agg",
                       TF_CPP_MIN_LOG_LEVEL="3")
    environment.pop("EMORECO_MODELS", None)
    return environment


def _run(command: str, sandbox: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f"set -e -o pipefail\n{command}"], cwd=sandbox,
                          env=_environment(sandbox), capture_output=True, text=True,
                          timeout=300)


def run_shell(example) -> str | None:
    """Run a shell block; a failing line is the test's failure."""
    sandbox = example.namespace["sandbox"]
    result = _run(example.parsed, sandbox)
    if result.returncode:
        return (f"exit {result.returncode}\n{example.parsed}\n--- stderr ---\n"
                f"{result.stderr[-3000:]}")
    return None


def run_console(example) -> str | None:
    """Run each ``$ command`` of a console block and compare its output with the lines
    that follow it."""
    sandbox = example.namespace["sandbox"]
    steps: list[tuple[str, list[str]]] = []
    for line in example.parsed.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    for command, expected in steps:
        result = _run(command, sandbox)
        want = "\n".join(expected).strip() + "\n"
        if result.returncode or not CHECKER.check_output(want, result.stdout.strip() + "\n",
                                                         OPTIONS):
            return (f"$ {command}\nexit {result.returncode}\n--- expected ---\n{want}"
                    f"--- printed ---\n{result.stdout}\n--- stderr ---\n"
                    f"{result.stderr[-2000:]}")
    return None


def _sybil():
    from sybil import Sybil
    from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

    return Sybil([PythonCodeBlockParser(doctest_optionflags=OPTIONS),
                  CodeBlockParser("shell", run_shell), CodeBlockParser("console", run_console),
                  SkipParser()], path=str(ROOT))


@pytest.fixture(scope="module")
def sandbox(trained_models: Path, tiny_deam: Path, tmp_path_factory) -> Path:
    """A folder laid out as a checkout after ``make demo`` (see the module's text)."""
    folder = tmp_path_factory.mktemp("checkout")
    shutil.copytree(trained_models / "models", folder / "models")
    shutil.copytree(tiny_deam / "test_songs", folder / "data" / "test_songs")
    for script in ("MAIN.py", "MAIN_arousal.py", "MAIN_valence.py"):
        shutil.copy(ROOT / script, folder / script)
    (folder / ".venv").symlink_to(Path(sys.prefix))
    return folder


# train.md and corpora.md generate corpora and train (a minute each); predict.md and
# catalog.md start MAIN.py several times (5 s each): not in the quick subset
SLOW_PAGES = {"train.md", "corpora.md", "predict.md", "catalog.md"}


@pytest.mark.parametrize("page", [
    pytest.param(page, marks=[pytest.mark.slow] if page.name in SLOW_PAGES else [],
                 id=str(page.relative_to(ROOT))) for page in PAGES])
def test_every_example_of_the_page_runs(page: Path, sandbox: Path, monkeypatch):
    pytest.importorskip("sybil", reason="the docs extra (requirements-docs.txt)")
    monkeypatch.chdir(sandbox)
    document = _sybil().parse(page)
    document.namespace["sandbox"] = sandbox
    for example in document.examples():
        try:
            example.evaluate()
        except Exception as exc:  # noqa: BLE001 - any failure of an example is reported
            line = page.read_text()[:example.start].count("\n") + 1
            pytest.fail(f"{page.name}, line {line}: {exc}", pytrace=False)


def test_the_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra (requirements-docs.txt)")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                             "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "site" / "api" / "index.html").read_text().count("Predictor") > 3
