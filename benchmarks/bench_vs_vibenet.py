"""Side by side with VibeNet on folders of real-sounding songs: wall time, CPU, memory.

VibeNet 0.1.0 (a per-track valence/arousal tagger on ONNX Runtime) is installed from the
package registry into its own virtual environment (``benchmarks/.vibenet-venv``, made on
first use). Folders of 28 songs of 32 s, 48 kHz stereo, are made from demo songs: Opus
(PyAV, 96 kbit/s), MP3 and FLAC (libsndfile). For each folder both commands run in
alternation, ``--pairs`` times each, every run in a fresh process tree:

* ours, with default options (tables and report): ``python MAIN.py DIR --out-dir OUT
  --quiet`` (models from ``models/``: run ``make demo`` first);
* VibeNet: ``vibenet DIR -f csv -j 2 -q``.

Printed: medians of wall time, CPU time (user + system, every process) and the peak
resident memory of the largest process, and our wall time as a share of VibeNet's
(issue 20's goal on the Opus folder: at most 0.5).

    python benchmarks/bench_vs_vibenet.py [--pairs 3] [--songs 28]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import encode_with_pyav, record_figures, require_trained_models

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "benchmarks" / ".vibenet-venv"
VIBENET = "vibenet==0.1.0"
SONG_S = 32.0
RATE = 48000
DISTINCT_SONGS = 7  # rendered once each, copied to fill a folder

# Runs a command and prints, as JSON, its wall time, the CPU time of the whole process
# tree and the peak resident memory of its largest process (RUSAGE_CHILDREN).
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "rss_mb": usage.ru_maxrss / 1024}))
"""


def vibenet_command() -> Path:
    """The ``vibenet`` executable of its own venv, installed on first use."""
    executable = VENV / "bin" / "vibenet"
    if not executable.is_file():
        print(f"installing {VIBENET} into {VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", VIBENET], check=True)
    return executable


def make_folders(root: Path, songs: int) -> dict[str, Path]:
    """Folders ``opus``, ``mp3``, ``flac`` of ``songs`` songs each."""
    import numpy as np
    import soundfile
    import soxr

    from emoreco.data.demo import RENDER_RATE, plan_songs, synthesize

    folders = {kind: root / kind for kind in ("opus", "mp3", "flac")}
    for folder in folders.values():
        folder.mkdir()
    for number, song in enumerate(plan_songs(DISTINCT_SONGS, 0, seed=21, clip_s=SONG_S)):
        mono = soxr.resample(synthesize(song), RENDER_RATE, RATE, quality="HQ")
        stereo = np.stack([mono, 0.8 * mono]).astype(np.float32)
        first = {
            "opus": encode_with_pyav(folders["opus"] / f"song{number:03d}.opus", stereo, RATE,
                                     "libopus", "ogg"),
            "mp3": folders["mp3"] / f"song{number:03d}.mp3",
            "flac": folders["flac"] / f"song{number:03d}.flac",
        }
        soundfile.write(first["mp3"], stereo.T, RATE, format="MP3", subtype="MPEG_LAYER_III")
        soundfile.write(first["flac"], stereo.T, RATE, format="FLAC", subtype="PCM_16")
        for kind, path in first.items():
            for copy in range(number + DISTINCT_SONGS, songs, DISTINCT_SONGS):
                shutil.copy(path, folders[kind] / f"song{copy:03d}{path.suffix}")
    return folders


def measure(command: list[str]) -> dict[str, float]:
    """One run of ``command`` in a fresh measuring process."""
    result = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True,
                            text=True, check=True)
    record = json.loads(result.stdout)
    if record["code"] != 0:
        sys.exit(f"error: {' '.join(command)} exited {record['code']}")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--songs", type=int, default=28)
    args = parser.parse_args()
    require_trained_models()
    vibenet = vibenet_command()
    env_note = f"{os.cpu_count()} cores"
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        folders = make_folders(root, args.songs)
        print(f"{args.songs} songs of {SONG_S:.0f} s, 48 kHz stereo, per folder; "
              f"{args.pairs} alternating pairs, medians; {env_note}")
        print(f"{'folder':<6} {'tool':<26} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}  "
              "ours / VibeNet wall")
        figures = {}
        for kind, folder in folders.items():
            runs: dict[str, list[dict[str, float]]] = {"ours": [], "vibenet": []}
            for pair in range(args.pairs):
                out = root / f"out-{kind}-{pair}"
                runs["ours"].append(measure([sys.executable, str(ROOT / "MAIN.py"), str(folder),
                                             "--out-dir", str(out), "--quiet",
                                             "--models-dir", str(ROOT / "models")]))
                runs["vibenet"].append(measure([str(vibenet), str(folder), "-f", "csv", "-j",
                                                "2", "-q"]))
            median = {tool: {key: statistics.median(run[key] for run in values)
                             for key in ("wall", "cpu", "rss_mb")}
                      for tool, values in runs.items()}
            ratio = median["ours"]["wall"] / median["vibenet"]["wall"]
            for tool, label in (("ours", "emoreco MAIN.py (default)"),
                                ("vibenet", "VibeNet 0.1.0 (-j 2)")):
                m = median[tool]
                tail = f"  {ratio:.2f}" if tool == "ours" else ""
                print(f"{kind:<6} {label:<26} {m['wall']:>7.2f} {m['cpu']:>7.2f} "
                      f"{m['rss_mb']:>8.0f}{tail}")
            figures[kind] = median
        record_figures("vs_vibenet", figures, f"{args.songs} songs of {SONG_S:.0f} s, 48 kHz "
                       f"stereo, per folder; medians of {args.pairs} alternating pairs")


if __name__ == "__main__":
    main()
