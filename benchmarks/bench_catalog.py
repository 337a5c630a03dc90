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

    python benchmarks/bench_catalog.py [--songs 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import logging
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
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from distributed import Client, LocalCluster

    from emoreco.engine import LOCAL_WORKER_CONFIG, DaskEngine
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

        import dask
        from threadpoolctl import threadpool_limits

        def reference() -> float:
            """Seconds per song of the work alone, one process, one BLAS thread (as a
            Dask worker has)."""
            with threadpool_limits(1, user_api="blas"):
                started = time.perf_counter()
                for job in jobs:
                    predict_song(predictor, job)
            return (time.perf_counter() - started) / len(jobs)

        engines, clusters, startup = {}, [], {}
        for workers in (1, 2):
            begun = time.perf_counter()
            with dask.config.set(LOCAL_WORKER_CONFIG):  # as emoreco.engine starts them
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=logging.ERROR)
            clusters.append(cluster)
            engines[workers] = DaskEngine(Client(cluster))
            startup[workers] = time.perf_counter() - begun
            warm = [jobs[0]] * (2 * workers)  # every worker loads its models first
            predict_into_parts(engines[workers], setup, predictor, warm,
                               PartWriter(folder / f"warm{workers}"), progress=False)

        def on_cluster(workers: int, round_: int) -> float:
            """Seconds per song through the real path: tasks, results into parts."""
            parts = folder / f"parts{workers}-{round_}"
            parts.mkdir()
            started = time.perf_counter()
            predict_into_parts(engines[workers], setup, predictor, jobs, PartWriter(parts),
                               progress=False)
            return (time.perf_counter() - started) / len(jobs)

        predict_song(predictor, jobs[0])  # warm-up
        times: dict[str, list[float]] = {"work": [], "1": [], "2": []}
        for round_ in range(args.rounds):  # interleaved: this machine's speed drifts
            times["work"].append(reference())
            for workers in (1, 2):
                times[str(workers)].append(on_cluster(workers, round_))
        work, one, two = (statistics.median(times[k]) for k in ("work", "1", "2"))
        print(f"{len(jobs)} x 45-s MP3, both models, median of {args.rounds} interleaved rounds")
        print(f"  the work alone, one process: {work * 1000:.1f} ms per song = "
              f"{SONG_S / work:.0f}x real time")
        for workers, per_song in ((1, one), (2, two)):
            print(f"  Dask LocalCluster, {workers} worker(s): {1 / per_song:.1f} songs/s = "
                  f"{SONG_S / per_song:.0f}x real time (start-up {startup[workers]:.1f} s, "
                  "not included)")
        print(f"  engine overhead per song (1 worker against the work alone): "
              f"{one / work - 1:+.1%} (goal <= 10 %)")
        print(f"  scaling from 1 to 2 workers: {one / two:.2f}x (goal >= 1.8x); real time with "
              f"2 workers {SONG_S / two:.0f}x (goal >= 1000x)")
        for engine, cluster in zip(engines.values(), clusters):
            engine.client.close()
            cluster.close()

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
