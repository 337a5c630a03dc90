"""Decoding speed per format: libsndfile against FFmpeg (PyAV), through the project's loader.

For each format the project reads, one 32-s 48 kHz stereo file is made from a demo song
(WAV, FLAC, MP3, Ogg Vorbis with libsndfile; Opus and AAC/M4A with FFmpeg through PyAV),
then decoded to 12 kHz mono by ``load_audio`` with each decoder that can open it, the
decoders interleaved, medians of ``--repeats`` runs. Prints milliseconds per file, the
decoder the project uses for the format (``decoders_for``) and whether it is the faster
one. Native lower-rate decoding: FFmpeg's Opus decoders (``opus`` and ``libopus``) both
output 48 kHz whatever is asked, and libsndfile's MP3 and Opus paths have no such option,
so no codec offers it through the libraries used here; the benchmark says so.

    python benchmarks/bench_decode.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SECONDS = 32.0
RATE = 48000
FORMATS = (  # (name, suffix, writer, codec)
    ("WAV", ".wav", "soundfile", ("WAV", "PCM_16")),
    ("FLAC", ".flac", "soundfile", ("FLAC", "PCM_16")),
    ("MP3", ".mp3", "soundfile", ("MP3", "MPEG_LAYER_III")),
    ("Ogg Vorbis", ".ogg", "soundfile", ("OGG", "VORBIS")),
    ("Opus", ".opus", "pyav", ("libopus", "ogg")),
    ("AAC (M4A)", ".m4a", "pyav", ("aac", "mp4")),
)


def stereo_song() -> np.ndarray:
    """A demo song at 48 kHz, shape (n, 2), float32."""
    import soxr

    from emoreco.data.demo import RENDER_RATE, plan_songs, synthesize

    mono = synthesize(plan_songs(1, 0, seed=4, clip_s=SECONDS)[0])
    mono = soxr.resample(mono, RENDER_RATE, RATE, quality="HQ")
    return np.stack([mono, 0.8 * mono], axis=1).astype(np.float32)


def write(path: Path, samples: np.ndarray, writer: str, codec: tuple[str, str]) -> Path:
    """``samples`` (n, 2) encoded into ``path``."""
    if writer == "soundfile":
        import soundfile

        soundfile.write(path, samples, RATE, format=codec[0], subtype=codec[1])
        return path
    from _common import encode_with_pyav

    return encode_with_pyav(path, samples.T, RATE, *codec)


def decode_ms(path: Path, decoders: tuple[str, ...]) -> float | None:
    """Milliseconds of one ``load_audio`` to 12 kHz with ``decoders``; None if it fails."""
    from emoreco.audio.decode import load_audio
    from emoreco.core.errors import AudioError

    started = time.perf_counter()
    try:
        load_audio(path, 12000, decoders=decoders)
    except AudioError:
        return None
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from _common import record_figures
    from emoreco.audio.decode import decoders_for

    samples = stereo_song()
    print(f"decoding one {SECONDS:.0f}-s {RATE // 1000} kHz stereo file to 12 kHz mono "
          f"(load_audio), median of {args.repeats} interleaved runs, ms per file")
    print(f"{'format':<12} {'libsndfile':>11} {'FFmpeg':>8}  used    fastest?")
    figures = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, suffix, writer, codec in FORMATS:
            path = write(Path(folder, "song" + suffix), samples, writer, codec)
            times: dict[str, list[float]] = {"sndfile": [], "ffmpeg": []}
            for decoder in times:  # warm-up (imports, caches)
                decode_ms(path, (decoder,))
            for _ in range(args.repeats):
                for decoder, values in times.items():
                    value = decode_ms(path, (decoder,))
                    if value is not None:
                        values.append(value)
            medians = {d: statistics.median(v) if v else None for d, v in times.items()}
            used = decoders_for(path)[0]
            readable = {d: m for d, m in medians.items() if m is not None}
            fastest = min(readable, key=lambda d: readable[d])
            cells = [f"{medians[d]:.0f}" if medians[d] is not None else "-" for d in times]
            verdict = "yes" if used == fastest or readable.get(used, 1e9) <= 1.1 * readable[
                fastest] else f"NO ({fastest})"
            print(f"{name:<12} {cells[0]:>11} {cells[1]:>8}  {used:<7} {verdict}")
            figures[name] = {"ms": medians, "used": used}
    record_figures("decode", figures, f"one {SECONDS:.0f}-s {RATE // 1000} kHz stereo file to "
                   f"12 kHz mono; medians of {args.repeats} interleaved runs")
    print("native lower-rate decoding: not offered (FFmpeg's Opus decoders output 48 kHz; "
          "libsndfile has no reduced-rate MP3 or Opus decoding)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
