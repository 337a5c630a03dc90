"""How well ``emoreco playlist --flow`` joins songs, against random and sorted orders.

Predicts the demo corpus's songs (``data/demo_deam/MEMD_audio``, made by ``make demo``)
with the trained models, then prints the flow objective J of
:mod:`emoreco.outputs.playlists` (the sum of distances from each song's end to the next
song's start in the valence-arousal plane), as the mean transition, for: the flow order,
random orders (mean and best of ``--random``), and orders sorted by mean arousal and by
mean valence; also with ``--from calm --to happy``. And the time the flow order takes.

    python benchmarks/bench_playlist_flow.py [--random 1000]
"""

from __future__ import annotations

import argparse
import random
import time

from _common import ROOT, require_trained_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--random", type=int, default=1000, help="random orders drawn")
    args = parser.parse_args()
    require_trained_models()
    import emoreco
    from emoreco.outputs.playlists import LibrarySong, flow_cost, flow_order, mood_point

    audio = ROOT / "data" / "demo_deam" / "MEMD_audio"
    if not audio.is_dir():
        raise SystemExit("error: no demo corpus in data/demo_deam: run `make demo` first")
    curves = emoreco.predict([audio], models_dir=ROOT / "models")
    songs = []
    for curve in curves:
        summary = curve.summary()
        songs.append(LibrarySong(audio / curve.song, {
            (target, statistic): summary[f"{target}_{statistic}"]
            for target in ("arousal", "valence") for statistic in ("mean", "start", "end")}))
    n = len(songs)
    rng = random.Random(0)
    for label, start, end in (("free", None, None),
                              ("calm -> happy", mood_point("calm"), mood_point("happy"))):
        began = time.perf_counter()
        order = flow_order(songs, start, end)
        took = time.perf_counter() - began
        transitions = n - 1 + (start is not None) + (end is not None)

        def mean(o: list[int]) -> float:
            return flow_cost(songs, o, start, end) / transitions

        randoms = [mean(rng.sample(range(n), n)) for _ in range(args.random)]
        by = {target: sorted(range(n), key=lambda i: songs[i].values[(target, "mean")])
              for target in ("arousal", "valence")}
        print(f"{n} songs, {label}: mean transition distance (valence-arousal plane)")
        print(f"  flow order          {mean(order):.4f}  ({took * 1000:.0f} ms)")
        print(f"  random, mean        {sum(randoms) / len(randoms):.4f}  "
              f"(best of {args.random}: {min(randoms):.4f})")
        for target, sorted_order in by.items():
            print(f"  sorted by {target:<9} {mean(sorted_order):.4f}")


if __name__ == "__main__":
    main()
