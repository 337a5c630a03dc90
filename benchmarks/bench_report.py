"""Report speed and size: the interactive page for 100, 1,000 and 10,000 songs.

Target (issue 12): at most 10 ms of report time per song for 1,000 songs (PNGs
excluded); the page for 10,000 songs under 20 MB. Songs are synthetic 45-s curves (the
report does not look at audio).

    python benchmarks/bench_report.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

SONG_S = 45.0


def curves(count: int, seed: int = 0) -> list:
    """``count`` songs of random smooth curves on the 0.5 s grid, valence from 2.5 s."""
    from emoreco.model.curves import EmotionCurve

    rng = np.random.default_rng(seed)
    times = np.arange(0, SONG_S - 0.5 + 1e-9, 0.5)
    result = []
    for number in range(count):
        arousal = np.clip(np.cumsum(rng.normal(0, 0.05, len(times))), -1, 1).astype(np.float32)
        valence = np.clip(np.cumsum(rng.normal(0, 0.05, len(times))), -1, 1).astype(np.float32)
        arousal[-2:] = np.nan
        valence[:5] = np.nan
        result.append(EmotionCurve(f"catalog/song_{number:05d}.mp3", times,
                                   {"arousal": arousal, "valence": valence}))
    return result


def main() -> None:
    from emoreco.outputs.page import write_html_report

    with tempfile.TemporaryDirectory() as folder:
        for count in (100, 1000, 10000):
            batch = curves(count)
            audio = {c.song: f"../{c.song}" for c in batch}
            path = Path(folder, f"report{count}.html")
            started = time.perf_counter()
            shards = write_html_report(batch, path, {}, None, audio)
            seconds = time.perf_counter() - started
            size = path.stat().st_size / 1e6
            beside = (f" + {len(shards)} shard files of "
                      f"{sum(p.stat().st_size for p in shards) / 1e6:.1f} MB" if shards else
                      " (curves embedded)")
            print(f"{count:>6} songs: report {seconds:.2f} s = {seconds / count * 1000:.2f} ms "
                  f"per song (target <= 10 ms), page {size:.1f} MB{beside} (target < 20 MB "
                  "for 10,000 songs)")


if __name__ == "__main__":
    main()
