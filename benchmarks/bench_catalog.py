"""Catalog-scale prediction on Dask: throughput with 1 and 2 local workers.

Prints, all measured in this run on this machine, on the same generated 45-s MP3s with
both models (run `make demo` first for the models):

* the work itself: one process, no engine (the reference);
* songs per second with a Dask LocalCluster of 1 and of 2 worker processes, through the
  real path (tasks, results streamed into Parquet parts), cluster start-up excluded
  and printed apart;
* the scaling ratio from 1 to 2 workers (issue 11 goal: >= 1.8x), the engine's overhead
  per song against the work (goal: <= 10 %), real time with 2 workers (goal: >= 1000x);
* the projected time of 100,000 four-minute songs per worker core, from the measured
  time of a 4-minute song.

    python benchmarks/bench_catalog.py [--songs 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import write_demo_song

ROOT = Path(__file__).resolve().parents[1]
SONG_S = 45.0
LONG_S = 240.0
DISTINCT_SONGS = 5  # rendered once each; the batch hard-links them (decoding is real work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from distributed import Client, LocalCluster

    from emoreco.engine import DaskEngine
    from emoreco.errors import ModelError
    from emoreco.predict import (Predictor, PredictorSetup, find_audio_files,
                                 predict_into_parts, predict_song, song_jobs,
                                 unique_song_names)
    from emoreco.result_parts import PartWriter

    try:
        predictor = Predictor(ROOT / "models")
    except ModelError as exc:
        sys.exit(f"error: {exc}")
    setup = PredictorSetup(str(ROOT / "models"), tuple((t, t) for t in predictor.models))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        renders = [write_demo_song(folder / f"render{k}.mp3", SONG_S, seed=k)
                   for k in range(DISTINCT_SONGS)]
        (folder / "batch").mkdir()
        for number in range(args.songs):
            os.link(renders[number % DISTINCT_SONGS], folder / "batch" / f"s{number:05d}.mp3")
        files = find_audio_files([folder / "batch"])
        jobs = song_jobs(files, unique_song_names(files), 0.0, None)
        audio_s = SONG_S * len(jobs)

        predict_song(predictor, jobs[0])  # warm-up
        started = time.perf_counter()
        for job in jobs:
            predict_song(predictor, job)
        work = (time.perf_counter() - started) / len(jobs)
        print(f"{len(jobs)} x 45-s MP3, both models; the work in one process without an "
              f"engine: {work * 1000:.1f} ms per song = {SONG_S / work:.0f}x real time")

        rates = {}
        for workers in (1, 2):
            begun = time.perf_counter()
            with LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                              dashboard_address=None) as cluster, Client(cluster) as client:
                engine = DaskEngine(client)
                startup = time.perf_counter() - begun
                warm = [jobs[0]] * (2 * workers)  # every worker loads its models first
                predict_into_parts(engine, setup, predictor, warm,
                                   PartWriter(folder / f"warm{workers}"), progress=False)
                (folder / f"parts{workers}").mkdir()
                started = time.perf_counter()
                predict_into_parts(engine, setup, predictor, jobs,
                                   PartWriter(folder / f"parts{workers}"), progress=False)
                elapsed = time.perf_counter() - started
            rates[workers] = len(jobs) / elapsed
            overhead = elapsed * workers / len(jobs) / work - 1
            print(f"  Dask, {workers} worker(s): {rates[workers]:.1f} songs/s = "
                  f"{audio_s / elapsed:.0f}x real time; engine overhead {overhead:+.0%} of the "
                  f"per-song work (goal <= 10 %); cluster start {startup:.1f} s")
        print(f"  scaling from 1 to 2 workers: {rates[2] / rates[1]:.2f}x (goal >= 1.8x); "
              f"real time with 2 workers {rates[2] * SONG_S:.0f}x (goal >= 1000x)")

        long_song = write_demo_song(folder / "long.mp3", LONG_S, seed=9)
        long_job = song_jobs([long_song], {long_song: "long"}, 0.0, None)[0]
        per_long = statistics.median(_timed(predict_song, predictor, long_job)
                                     for _ in range(3))
        hours = 100_000 * per_long / 3600
        print(f"a 4-minute song takes {per_long:.2f} s of one core: 100,000 of them take "
              f"{hours:.1f} h on one worker core, {hours / 2:.1f} h on this machine's 2 cores, "
              f"{hours / 64 * 60:.0f} min on 64 worker cores (if the scaling holds)")


def _timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
