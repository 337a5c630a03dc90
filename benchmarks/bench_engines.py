"""Which engine a batch should run on: this process, threads, or a local cluster.

For batches of 32-s 48 kHz stereo Opus songs (made from demo songs with PyAV), both
models (run `make demo` first), prints the wall time of the whole batch, start-up
included, on each engine, medians of interleaved rounds:

* ``process``: this process, one song after the other (the reference);
* ``threads``: 2 threads of this process sharing its models;
* ``cluster``: a Dask LocalCluster of 2 worker processes started as MAIN.py starts it
  (start, workers loading their models, and the songs);

then the engine that ``MAIN.py`` picks for the batch by its estimated work
(``estimated_work_s`` and ``choose_local_engine``) and how far it is from the fastest;
and the work per audio second in one process, which the estimate uses.

    python benchmarks/bench_engines.py [--sizes 1 4 12 28 60] [--rounds 3]
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

from _common import encode_with_pyav, record_figures

ROOT = Path(__file__).resolve().parents[1]
SONG_S = 32.0
DISTINCT_SONGS = 6


def opus_songs(folder: Path, count: int) -> list[Path]:
    """``count`` distinct 32-s 48 kHz stereo Opus files."""
    import numpy as np
    import soxr

    from emoreco.data.demo import RENDER_RATE, plan_songs, synthesize

    paths = []
    for number, song in enumerate(plan_songs(count, 0, seed=9, clip_s=SONG_S)):
        mono = soxr.resample(synthesize(song), RENDER_RATE, 48000, quality="HQ")
        paths.append(encode_with_pyav(folder / f"song{number:03d}.opus",
                                      np.stack([mono, 0.8 * mono]), 48000, "libopus", "ogg"))
    return paths


def batch_seconds(kind: str, jobs: list, setup, predictor, parts: Path) -> float:
    """Wall time of the batch on engine ``kind``, start-up included."""
    from emoreco.core.engine import InProcessEngine, ThreadEngine, open_engine
    from emoreco.runs.catalog import predict_into_parts
    from emoreco.runs.parts import PartStore

    parts.mkdir(parents=True)
    started = time.perf_counter()
    if kind == "cluster":
        with open_engine(None, 2, len(jobs)) as engine:
            predict_into_parts(engine, setup, predictor, jobs, PartStore(parts).writer(),
                               progress=False)
    else:
        engine = InProcessEngine() if kind == "process" else ThreadEngine(2)
        predict_into_parts(engine, setup, predictor, jobs, PartStore(parts).writer(),
                           progress=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 12, 28, 60])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    logging.getLogger("distributed").setLevel(logging.ERROR)

    from emoreco.core.engine import CLUSTER_BREAK_EVEN_S, choose_local_engine
    from emoreco.core.errors import ModelError
    from emoreco.model.predictor import Predictor
    from emoreco.runs.catalog import PredictorSetup, estimated_work_s, song_jobs

    try:
        predictor = Predictor(ROOT / "models")
    except ModelError as exc:
        sys.exit(f"error: {exc}")
    setup = PredictorSetup(str(ROOT / "models"), tuple((t, t) for t in predictor.models))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        distinct = opus_songs(folder, DISTINCT_SONGS)
        print(f"batches of {SONG_S:.0f}-s 48 kHz stereo Opus songs, both models, 2 workers; "
              f"wall seconds, start-up included, medians of {args.rounds} interleaved rounds")
        print(f"{'songs':>5} {'process':>8} {'threads':>8} {'cluster':>8}  estimate  "
              "picked   vs fastest")
        per_audio: list[float] = []
        figures = {}
        for size in args.sizes:
            batch = folder / f"batch{size}"
            batch.mkdir()
            files = []
            for number in range(size):
                files.append(batch / f"{number:04d}.opus")
                os.link(distinct[number % len(distinct)], files[-1])
            jobs = song_jobs(files, {f: f.name for f in files}, 0.0, None)
            times: dict[str, list[float]] = {"process": [], "threads": [], "cluster": []}
            for round_ in range(args.rounds):
                for kind, values in times.items():
                    values.append(batch_seconds(kind, jobs, setup, predictor,
                                                folder / f"parts-{size}-{round_}-{kind}"))
            median = {kind: statistics.median(values) for kind, values in times.items()}
            per_audio.append(median["process"] / (size * SONG_S))
            estimate = estimated_work_s(jobs)
            picked = choose_local_engine(min(2, size), estimate)
            fastest = min(median, key=lambda kind: median[kind])
            print(f"{size:>5} {median['process']:>8.2f} {median['threads']:>8.2f} "
                  f"{median['cluster']:>8.2f}  "
                  f"{f'{estimate:.2f}s' if estimate is not None else 'large':>8} "
                  f"{picked:<8} {median[picked] / median[fastest]:.2f}x ({fastest})")
            figures[str(size)] = {"seconds": median, "picked": picked}
        record_figures("engines", figures, f"{SONG_S:.0f}-s 48 kHz stereo Opus songs, both "
                       f"models, 2 workers; medians of {args.rounds} interleaved rounds")
        print(f"work per audio second in one process: {statistics.median(per_audio) * 1000:.2f} "
              f"ms (estimate uses the constants in emoreco/runs/catalog.py); threads are "
              f"picked below {CLUSTER_BREAK_EVEN_S:g} s of estimated work")


if __name__ == "__main__":
    main()
