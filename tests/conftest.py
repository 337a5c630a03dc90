"""Shared fixtures: a tiny generated DEAM-layout corpus and models trained on it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]


def write_dynamic_csv(path: Path, header: str, rows: list[str]) -> Path:
    """Write a dynamic annotation CSV from raw lines (to reproduce format quirks)."""
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def sine_clip(seconds: float, sample_rate: int = 12000,
              partials: tuple[tuple[float, float], ...] = ((440.0, 0.5),)) -> np.ndarray:
    """A deterministic sum of sines, float32, shape (seconds * sample_rate,)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return sum(a * np.sin(2 * np.pi * f * t) for f, a in partials).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_deam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Official-layout corpus: 6 clips of 45 s, 2 full songs of 75 s, 4 test songs."""
    from emoreco.data.demo import generate_demo_corpus

    root = tmp_path_factory.mktemp("deam")
    generate_demo_corpus(root, n_clips=6, n_full_songs=2, label_noise_std=0.1, seed=3,
                         test_songs_dir=root / "test_songs", n_test_songs=4, n_jobs=2,
                         progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_pmemo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PMEmo2019 layout (quoted commas in metadata.csv, values in [0, 1] from 15.5 s):
    6 chorus clips of 45 s, ids 1-6."""
    from emoreco.data.demo import generate_demo_corpus

    root = tmp_path_factory.mktemp("pmemo")
    generate_demo_corpus(root, n_clips=6, n_full_songs=0, seed=5, n_jobs=2, progress=False,
                         layout="pmemo")
    return root


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's CSV (annotations.csv, annotated from 0 s) with 5 WAV songs in
    ``my songs/``; returns the CSV file."""
    from emoreco.data.demo import generate_demo_corpus

    root = tmp_path_factory.mktemp("csv")
    generate_demo_corpus(root, n_clips=5, n_full_songs=0, seed=6, n_jobs=2, progress=False,
                         layout="csv")
    return root / "annotations.csv"


@pytest.fixture(scope="session")
def trained_models(tiny_deam: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both models trained for 2 epochs on the tiny corpus by the real scripts' code."""
    from emoreco.cli import main_arousal, main_valence

    work = tmp_path_factory.mktemp("trained")
    common = ["--deam-dir", str(tiny_deam), "--cache-dir", str(work / "cache"),
              "--models-dir", str(work / "models"), "--plots-dir", str(work / "plots"),
              "--epochs", "2", "--quiet", "--jobs", "1"]
    assert main_arousal(common) == 0
    assert main_valence(common) == 0
    return work


def write_with_pyav(path: Path, samples: np.ndarray, rate: int, codec: str,
                    container: str | None = None, video: bool = False) -> Path:
    """Encode ``samples`` (channels, n) in [-1, 1] with FFmpeg through PyAV.

    ``video`` adds a small MPEG-4 video stream first, as in a music video file.
    """
    import av

    layout = "stereo" if samples.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format=container) as sink:
        if video:
            picture = sink.add_stream("mpeg4", rate=10)
            picture.width, picture.height, picture.pix_fmt = 64, 64, "yuv420p"
        stream = sink.add_stream(codec, rate=rate)
        stream.layout = layout
        if codec == "wmav2":
            stream.bit_rate = 128000
        sample_format = stream.codec_context.format
        scale = {"s16": 32767, "s32": 2**31 - 1}.get(sample_format.name.rstrip("p"), 1)
        size = 1024
        for start in range(0, samples.shape[1], size):
            chunk = samples[:, start:start + size] * scale
            dtype = {"s16": np.int16, "s32": np.int32}.get(sample_format.name.rstrip("p"),
                                                            np.float32)
            data = chunk if sample_format.is_planar else chunk.T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data, dtype=dtype),
                                               format=sample_format.name, layout=layout)
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)
        if video:
            for number in range(int(samples.shape[1] / rate * 10)):
                image = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8),
                                                   format="rgb24")
                image.pts = number
                for packet in picture.encode(image):
                    sink.mux(packet)
            for packet in picture.encode(None):
                sink.mux(packet)
    return path


def edit_meta(folder: Path, name: str, edit: Callable[[dict], None]) -> None:
    """Edit a saved model's metadata as a forger would, its digest list rewritten too,
    so that what refuses the model (or not) is the check behind the digests."""
    from emoreco.model.files import ModelFiles, write_digests

    path = folder / f"{name}.meta.json"
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record))
    write_digests(ModelFiles.at(folder, name))
