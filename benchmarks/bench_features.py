"""Feature extraction speed: one 45-s 44.1 kHz MP3 on one core, and a DEAM-sized corpus.

Targets (issue 2): at least 200x real time per song on one core after warm-up, and
1802 songs of 45 s in under 3 minutes on 2 cores.

    python benchmarks/bench_features.py [--songs 300]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import median_seconds, write_demo_song

DEAM_SONGS = 1802
CORPUS_TARGET_S = 180.0
REALTIME_TARGET = 200.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=300, help="songs in the corpus run")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    from emoreco.audio.decode import load_audio
    from emoreco.core.config import FeatureParams
    from emoreco.data.extraction import extract_corpus
    from emoreco.data.feature_cache import FeatureCache
    from emoreco.audio.features import compute_song_features
    from emoreco.model.targets import TARGETS

    params = FeatureParams()
    with tempfile.TemporaryDirectory() as folder:
        song = write_demo_song(Path(folder, "song.mp3"))

        def one_song() -> None:
            samples = load_audio(song, params.sample_rate, params.min_duration_s)
            features = compute_song_features(samples, params)
            for spec in TARGETS.values():
                times = spec.output_times(features.duration_s, params, params.start_s)
                spec.build_inputs(features, times, params)

        seconds = median_seconds(one_song, repeats=15, warmup=2)
        decode = median_seconds(lambda: load_audio(song, params.sample_rate), repeats=15)
        print(f"one 45-s MP3, one core: {seconds * 1000:.0f} ms "
              f"(decode+resample {decode * 1000:.0f} ms) = {45 / seconds:.0f}x real time "
              f"(target {REALTIME_TARGET:.0f}x; ratio to target {45 / seconds / REALTIME_TARGET:.1f})")

        audio = {}
        for song_id in range(2, 2 + args.songs):
            link = Path(folder, f"{song_id}.mp3")
            os.link(song, link)
            audio[song_id] = link
        # Each run starts its workers (a Dask LocalCluster: processes, imports, first
        # calls): a run of 2 songs per worker measures that fixed cost, the difference
        # to the full run the cost per song.
        small = 2 * args.jobs
        started = time.perf_counter()
        extract_corpus(dict(list(audio.items())[:small]), params,
                       FeatureCache(Path(folder, "small"), params), n_jobs=args.jobs,
                       progress=False)
        startup = time.perf_counter() - started
        cache = FeatureCache(Path(folder, "cache"), params)
        started = time.perf_counter()
        failures = extract_corpus(audio, params, cache, n_jobs=args.jobs, progress=False)
        elapsed = time.perf_counter() - started
        assert not failures, failures
        per_song = (elapsed - startup) / (args.songs - small)
        projected = startup + per_song * DEAM_SONGS
        print(f"corpus of {args.songs} songs on {args.jobs} worker processes: {elapsed:.1f} s, "
              f"of which {startup:.1f} s start-up (a run of {small} songs) and "
              f"{1 / per_song:.1f} songs/s after it; projected {DEAM_SONGS} songs: "
              f"{projected:.0f} s (target {CORPUS_TARGET_S:.0f} s; ratio to target "
              f"{CORPUS_TARGET_S / projected:.1f})")


if __name__ == "__main__":
    main()
