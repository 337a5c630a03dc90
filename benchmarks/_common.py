"""Helpers shared by the benchmark scripts (``make bench``; the package must be installed)."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"  # figures for plot_results.py, committed


def record_figures(benchmark: str, figures: dict, note: str) -> Path:
    """Write a run's figures to ``benchmarks/results/<benchmark>.json`` for the plots of
    the speed page (``plot_results.py``), with the day and the machine's core count."""
    import datetime
    import json
    import os

    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{benchmark}.json"
    record = {"benchmark": benchmark, "date": datetime.date.today().isoformat(),
              "cores": os.cpu_count(), "note": note, "figures": figures}
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"figures: {path.relative_to(ROOT)}")
    return path


def require_trained_models() -> None:
    """Exit with one line unless ``models/`` holds trained models (``make demo``)."""
    if not (ROOT / "models" / "arousal.onnx").is_file():
        sys.exit("error: no trained models in models/: run `make demo` first")


def median_seconds(action: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``action`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def write_demo_song(path: Path, seconds: float = 45.0, seed: int = 0) -> Path:
    """A synthetic 44.1 kHz song (as in the demo corpus) written to ``path``."""
    from emoreco.data.demo import plan_songs, render_song

    song = plan_songs(1, 0, seed, clip_s=seconds)[0]
    render_song(song, path)
    return path


def linked_batch(folder: Path, songs: list[Path], count: int) -> Path:
    """A folder ``folder/batch<count>`` of ``count`` hard links to the rendered songs
    (decoding each is real work; rendering each is not needed)."""
    import os

    target = folder / f"batch{count}"
    target.mkdir()
    for number in range(count):
        os.link(songs[number % len(songs)], target / f"song{number:05d}.mp3")
    return target


def encode_with_pyav(path: Path, samples, rate: int, codec: str, container: str,
                     bit_rate: int = 96000) -> Path:
    """Encode ``samples`` (channels, n) in [-1, 1] with FFmpeg through PyAV
    (``codec``: libopus, aac, ...; ``container``: ogg, mp4, ...; ``bit_rate`` in bit/s)."""
    import av
    import numpy as np

    layout = "stereo" if samples.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format=container) as sink:
        stream = sink.add_stream(codec, rate=rate)
        stream.layout, stream.bit_rate = layout, bit_rate
        sample_format = stream.codec_context.format
        integer = sample_format.name.rstrip("p") == "s16"
        size = 960 * 4
        for start in range(0, samples.shape[1], size):
            chunk = samples[:, start:start + size]
            chunk = (chunk * 32767).astype(np.int16) if integer else chunk.astype(np.float32)
            data = chunk if sample_format.is_planar else chunk.T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data),
                                               format=sample_format.name, layout=layout)
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)
    return path
