"""Install size and cold start: the core install against the full one (issue 17).

Makes two fresh virtual environments in a temporary folder, both from the pinned files:

* **core**: ``requirements.txt`` and the package (what ``pip install .`` installs:
  prediction, tables, pictures, report; goal: at most 600 MB, VibeNet 0.1.0's venv is
  639 MB);
* **full**: ``requirements-dev.txt`` and the package (every extra and the tests: what
  ``make test`` installs, and about what every install was before the extras).

Prints each venv's size on disk (``du``), then the median of 3 cold runs of ``python
MAIN.py song.mp3`` with default options (tables, pictures, report) in each, with the
models in ``models/`` (run ``make demo`` first), measured in this run: the core install
must be no slower. Also checks that the core install predicts a folder with default
options and that ``--jobs 2`` there is one line naming the catalog extra.

    python benchmarks/bench_install.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import require_trained_models, write_demo_song

ROOT = Path(__file__).resolve().parents[1]
GOAL_MB = 600


def venv(folder: Path, requirements: str) -> Path:
    """A fresh venv with ``requirements`` and the package; its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(ROOT / requirements)], check=True)
    subprocess.run([*pip, "--no-deps", str(ROOT)], check=True)
    return python


def size_mb(folder: Path) -> float:
    """Disk use of ``folder`` in MB (``du -sk``)."""
    out = subprocess.run(["du", "-sk", str(folder)], check=True, capture_output=True,
                         text=True).stdout
    return int(out.split()[0]) / 1024


def cold_seconds(python: Path, song: Path, out: Path, repeats: int = 3) -> float:
    """Median wall time of a fresh ``MAIN.py`` on one song (default options)."""
    times = []
    out.mkdir(parents=True)
    for number in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(python), str(ROOT / "MAIN.py"), str(song), "--models-dir",
                        str(ROOT / "models"), "--out-dir", str(out / str(number)), "--quiet"],
                       check=True, capture_output=True, cwd=out)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    require_trained_models()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        song = write_demo_song(folder / "song.mp3")
        core = venv(folder / "core", "requirements.txt")
        full = venv(folder / "full", "requirements-dev.txt")
        sizes = {"core": size_mb(folder / "core"), "full": size_mb(folder / "full")}
        print(f"core install (requirements.txt + emoreco): {sizes['core']:.0f} MB on disk "
              f"(goal <= {GOAL_MB} MB; VibeNet 0.1.0: 639 MB)")
        print(f"full install (every extra and the tests): {sizes['full']:.0f} MB")
        for run in range(2):  # alternate, so that a drift of the machine hits both
            for label, python in (("core", core), ("full", full)):
                seconds = cold_seconds(python, song, folder / f"cold-{label}-{run}")
                print(f"cold `python MAIN.py song.mp3` (tables, pictures, report), {label} "
                      f"install, round {run + 1}: {seconds:.2f} s (median of 3)")
        songs = folder / "songs"
        songs.mkdir()
        for number in range(3):
            (songs / f"s{number}.mp3").hardlink_to(song)
        default = subprocess.run([str(core), str(ROOT / "MAIN.py"), str(songs),
                                  "--models-dir", str(ROOT / "models"), "--out-dir",
                                  str(folder / "folder-out"), "--quiet"],
                                 capture_output=True, text=True, cwd=folder)
        jobs = subprocess.run([str(core), str(ROOT / "MAIN.py"), str(songs), "--models-dir",
                               str(ROOT / "models"), "--out-dir", str(folder / "jobs-out"),
                               "--quiet", "--jobs", "2"], capture_output=True, text=True,
                              cwd=folder)
        print(f"core install, `MAIN.py folder/` (3 songs): exit {default.returncode}; "
              f"`--jobs 2`: exit {jobs.returncode}, {jobs.stderr.strip().splitlines()[-1]!r}")


if __name__ == "__main__":
    main()
