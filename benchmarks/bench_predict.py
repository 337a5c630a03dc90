"""Prediction speed and memory with the trained models in models/ (run `make demo` first).

Prints, all measured in this run on this machine:

* cold start: `python MAIN.py one_45s_song.mp3` without pictures and report, with the
  HTML report, and with everything, each as a ratio to `python -c "import tensorflow"`
  (issue 10 targets: at most 0.3x and 0.45x);
* warm throughput of one process over N 45-s MP3s with both models (whole songs,
  results written into parts as `MAIN.py` does), split into decode,
  features, models and writing (target: at least 500x real time);
* peak memory (max RSS) of `MAIN.py` over 100 and 1,000 songs (target: at most 1 GB, flat).

    python benchmarks/bench_predict.py [--songs 100] [--skip-memory]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import linked_batch, write_demo_song

ROOT = Path(__file__).resolve().parents[1]
SONG_S = 45.0
DISTINCT_SONGS = 5  # rendered once each; the batch hard-links them (decoding is real work)


def cold_seconds(command: list[str], repeats: int = 3) -> float:
    """Median wall time of a fresh process."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_rss_mb(command: list[str]) -> float:
    """Max resident set size of a child process, in MB."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
            "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN)"
            ".ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *command], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return int(out.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=100, help="songs in the warm run")
    parser.add_argument("--rounds", type=int, default=3, help="warm runs (median)")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from emoreco.audio.decode import load_audio
    from emoreco.core.errors import ModelError
    from emoreco.audio.features import compute_song_features
    from emoreco.model.predictor import Predictor
    from emoreco.runs.parts import PartStore, SongRecord
    from emoreco.model.scoring import song_curve

    try:
        predictor = Predictor(ROOT / "models")
    except ModelError as exc:
        sys.exit(f"error: {exc}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        songs = [write_demo_song(folder / f"render{k}.mp3", SONG_S, seed=k)
                 for k in range(DISTINCT_SONGS)]
        python = sys.executable
        tf_import = cold_seconds([python, "-c", "import tensorflow"])
        main = [python, "MAIN.py", str(songs[0]), "--quiet", "--overwrite"]
        tables = cold_seconds([*main, "--out-dir", str(folder / "c1"), "--no-plots",
                               "--no-report"])
        report = cold_seconds([*main, "--out-dir", str(folder / "c2"), "--no-plots"])
        everything = cold_seconds([*main, "--out-dir", str(folder / "c3")])
        print(f"cold start (median of 3), reference `python -c \"import tensorflow\"` "
              f"{tf_import:.2f} s:")
        for label, seconds, goal in (("tables only (--no-plots --no-report)", tables, 0.3),
                                     ("with the HTML report (--no-plots)", report, 0.45),
                                     ("with pictures and report (default)", everything, None)):
            target = f" (target <= {goal}x)" if goal else ""
            print(f"  {label:<38} {seconds:5.2f} s = {seconds / tf_import:.2f}x{target}")

        files = sorted(linked_batch(folder, songs, args.songs).iterdir())
        params = predictor.params
        stages = dict.fromkeys(("decode", "features", "models", "writing"), 0.0)
        song_curve("warm-up", compute_song_features(load_audio(songs[0], params.sample_rate),
                                                    params), predictor.models, 0.0)
        (folder / "parts").mkdir()
        rounds = []
        for _ in range(args.rounds):  # the machine's speed drifts: median of rounds
            writer = PartStore(folder / "parts").writer()  # what MAIN.py writes as it goes
            started = time.perf_counter()
            for path in files:
                t0 = time.perf_counter()
                samples = load_audio(path, params.sample_rate)
                t1 = time.perf_counter()
                features = compute_song_features(samples, params)
                t2 = time.perf_counter()
                curve = song_curve(path.name, features, predictor.models, 0.0)
                t3 = time.perf_counter()
                writer.add(SongRecord(path.name, str(path), 0, 0, curve.summary()), curve)
                t4 = time.perf_counter()
                for stage, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                    stages[stage] += seconds / args.rounds
            writer.flush()
            rounds.append(time.perf_counter() - started)
        total = statistics.median(rounds)
        audio_s = SONG_S * len(files)
        split = ", ".join(f"{k} {v / len(files) * 1000:.1f} ms" for k, v in stages.items())
        print(f"warm, one process, {len(files)} x 45-s MP3, median of {args.rounds} rounds: "
              f"{total / len(files) * 1000:.1f} ms per song = {audio_s / total:.0f}x real time "
              f"(target >= 500x)\n  per song: "
              f"{split}\n  decode + features alone: "
              f"{audio_s / (stages['decode'] + stages['features']):.0f}x real time")

        if not args.skip_memory:
            for count in (100, 1000):
                folder_n = (linked_batch(folder, songs, count) if count != args.songs
                            else files[0].parent)
                rss = peak_rss_mb([python, "MAIN.py", str(folder_n), "--quiet", "--jobs", "1",
                                   "--out-dir", str(folder / f"m{count}"), "--no-plots",
                                   "--no-report"])
                print(f"peak memory of MAIN.py --jobs 1 over {count} songs: {rss:.0f} MB "
                      "(target <= 1024 MB, flat)")


if __name__ == "__main__":
    main()
