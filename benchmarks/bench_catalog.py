"""Catalog-scale prediction on Dask: throughput with 1 and 2 local workers.

Prints, all measured in this run on this machine, on the same generated 45-s MP3s with
both models (run `make demo` first for the models), as medians of interleaved rounds
(this machine's speed drifts by tens of per cent within minutes):

* the work itself in plain processes, no engine: one process (the reference), and two
  independent processes on halves of the songs (what the hardware allows 2 workers);
* songs per second with a Dask LocalCluster of 1 and of 2 worker processes started as
  `MAIN.py` starts them, through the real path (tasks, results streamed into parts),
  cluster start-up excluded and printed apart;
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import linked_batch, write_demo_song

ROOT = Path(__file__).resolve().parents[1]
SONG_S = 45.0
LONG_S = 240.0
DISTINCT_SONGS = 5  # rendered once each; the batch hard-links them (decoding is real work)


def plain_seconds_per_song(files: list[str]) -> float:
    """In a fresh process: the work alone (decode, features, models) per song."""
    from emoreco.model.predictor import Predictor
    from emoreco.runs.catalog import predict_song, song_jobs

    predictor = Predictor(ROOT / "models")
    paths = [Path(f) for f in files]
    jobs = song_jobs(paths, {p: p.name for p in paths}, 0.0, None)
    predict_song(predictor, jobs[0])  # warm-up
    started = time.perf_counter()
    for job in jobs:
        predict_song(predictor, job)
    return (time.perf_counter() - started) / len(jobs)


def plain_processes(files: list[Path], count: int) -> float:
    """Songs per second of ``count`` independent processes, each on its share, with one
    BLAS thread each (as Dask workers have)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    shares = [files[k::count] for k in range(count)]
    processes = [subprocess.Popen([sys.executable, __file__, "--plain", *map(str, share)],
                                  env=env, stdout=subprocess.PIPE, text=True)
                 for share in shares]
    per_song = [float(p.communicate()[0].split()[-1]) for p in processes]
    return sum(1 / seconds for seconds in per_song)


def cluster_songs_per_second(workers: int, jobs: list, setup, predictor, parts: Path
                             ) -> tuple[float, float]:
    """(songs per second, start-up seconds) of a LocalCluster started as MAIN.py does."""
    from distributed import Client, LocalCluster

    import dask
    from emoreco.core.engine import LOCAL_WORKER_CONFIG, DaskEngine
    from emoreco.runs.catalog import predict_into_parts
    from emoreco.runs.parts import PartStore

    begun = time.perf_counter()
    with dask.config.set(LOCAL_WORKER_CONFIG):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
    with cluster, Client(cluster) as client:
        engine = DaskEngine(client)
        startup = time.perf_counter() - begun
        warm = [jobs[0]] * (2 * workers)  # every worker loads its models first
        predict_into_parts(engine, setup, predictor, warm, PartStore(parts / "warm").writer(),
                           progress=False)
        started = time.perf_counter()
        predict_into_parts(engine, setup, predictor, jobs, PartStore(parts).writer(),
                           progress=False)
        return len(jobs) / (time.perf_counter() - started), startup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plain", nargs="+", help=argparse.SUPPRESS)  # a reference process
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")  # as MAIN.py sets it
    if args.plain:
        print(plain_seconds_per_song(args.plain))
        return

    from emoreco.core.errors import ModelError
    from emoreco.model.predictor import Predictor
    from emoreco.runs.catalog import PredictorSetup, song_jobs
    from emoreco.runs.inputs import find_audio_files, unique_song_names

    try:
        predictor = Predictor(ROOT / "models")
    except ModelError as exc:
        sys.exit(f"error: {exc}")
    setup = PredictorSetup(str(ROOT / "models"), tuple((t, t) for t in predictor.models))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        renders = [write_demo_song(folder / f"render{k}.mp3", SONG_S, seed=k)
                   for k in range(DISTINCT_SONGS)]
        files = find_audio_files([linked_batch(folder, renders, args.songs)])
        jobs = song_jobs(files, unique_song_names(files), 0.0, None)

        rates: dict[str, list[float]] = {"plain 1": [], "plain 2": [], "dask 1": [],
                                         "dask 2": []}
        startup: list[float] = []
        for round_ in range(args.rounds):  # interleaved: the machine's speed drifts
            for count in (1, 2):
                rates[f"plain {count}"].append(plain_processes(files, count))
                parts = folder / f"parts-{round_}-{count}"
                (parts / "warm").mkdir(parents=True)
                rate, seconds = cluster_songs_per_second(count, jobs, setup, predictor, parts)
                rates[f"dask {count}"].append(rate)
                startup.append(seconds)
        rate = {key: statistics.median(values) for key, values in rates.items()}
        print(f"{len(jobs)} x 45-s MP3, both models; medians of {args.rounds} interleaved "
              "rounds, songs per second (x real time):")
        for key, label in (("plain 1", "the work alone, 1 plain process"),
                           ("plain 2", "the work alone, 2 independent processes"),
                           ("dask 1", "Dask LocalCluster, 1 worker"),
                           ("dask 2", "Dask LocalCluster, 2 workers")):
            print(f"  {label:<42} {rate[key]:5.1f} songs/s ({rate[key] * SONG_S:.0f}x)")
        print(f"  cluster start-up (not included above): {statistics.median(startup):.1f} s")
        print(f"  engine overhead per song, 1 worker against 1 plain process: "
              f"{rate['plain 1'] / rate['dask 1'] - 1:+.1%} (goal <= 10 %)")
        print(f"  scaling from 1 to 2 workers: {rate['dask 2'] / rate['dask 1']:.2f}x "
              f"(goal >= 1.8x; 2 independent processes: "
              f"{rate['plain 2'] / rate['plain 1']:.2f}x)")
        print(f"  real time with 2 workers: {rate['dask 2'] * SONG_S:.0f}x (goal >= 1000x)")

        long_song = write_demo_song(folder / "long.mp3", LONG_S, seed=9)
        per_long = 1 / plain_processes([long_song] * 3, 1)
        hours = 100_000 * per_long / 3600
        print(f"a 4-minute song takes {per_long:.2f} s of one core: 100,000 of them take "
              f"{hours:.1f} h on one worker core, {hours / 2:.1f} h on this machine's 2 cores, "
              f"{hours / 64 * 60:.0f} min on 64 worker cores (if the scaling holds)")


if __name__ == "__main__":
    main()
