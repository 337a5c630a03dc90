"""Prediction speed with the trained models in models/ (run `make demo` first).

Targets (issue 4): 45-s songs at 100x real time or faster once models are loaded; a cold
`python MAIN.py one_song.mp3` (imports, model load, prediction, outputs) within 10 s.

    python benchmarks/bench_predict.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import median_seconds, write_demo_song

ROOT = Path(__file__).resolve().parents[1]
REALTIME_TARGET = 100.0
COLD_TARGET_S = 10.0


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from emoreco.errors import ModelError
    from emoreco.predict import Predictor

    try:
        predictor = Predictor(ROOT / "models")
    except ModelError as exc:
        sys.exit(f"error: {exc}")
    with tempfile.TemporaryDirectory() as folder:
        song = write_demo_song(Path(folder, "song.mp3"))
        seconds = median_seconds(lambda: predictor.predict_file(song, 15.0), repeats=10,
                                 warmup=2)
        print(f"warm prediction of a 45-s MP3 (decode, features, both models): "
              f"{seconds * 1000:.0f} ms = {45 / seconds:.0f}x real time "
              f"(target {REALTIME_TARGET:.0f}x; ratio to target {45 / seconds / REALTIME_TARGET:.1f})")
        runs = []
        for run in range(3):
            started = time.perf_counter()
            subprocess.run([sys.executable, "MAIN.py", str(song), "--out-dir",
                            str(Path(folder, f"out{run}")), "--quiet"], cwd=ROOT, check=True,
                           capture_output=True)
            runs.append(time.perf_counter() - started)
        cold = sorted(runs)[1]
        print(f"cold `python MAIN.py song.mp3` (imports, load, predict, CSV, plots, HTML): "
              f"median of 3 {cold:.1f} s (target {COLD_TARGET_S:.0f} s; "
              f"ratio to target {COLD_TARGET_S / cold:.1f})")


if __name__ == "__main__":
    main()
