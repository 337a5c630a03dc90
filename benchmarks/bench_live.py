"""Latency of `emoreco listen -` fed at real-time pace through a pipe.

A 60-s 44.1 kHz stereo WAV (a demo song) is written into the standard input of
`python -m emoreco listen -` in 10-ms pieces at the pace of a player, after the header
and a 3-s pause (the process starts, loads its models and waits for audio; time is
counted from the first audio byte). For every value printed, its delay is the time from
the moment its audio had arrived (arousal at t: the audio up to t + 1.5 s; valence at
t: up to t + 0.5 s) to the moment its line was read. Prints the delays' median, 95th
percentile and maximum per target, and the CPU time of the listening process while it
streamed, as a share of one core. Then an endless stream: ``--hours`` of audio (a WAV
header that announces no end, then the song over and over) piped as fast as the process
reads it, its resident memory printed along the way and at its peak. Needs trained
models (`make demo`).

    python benchmarks/bench_live.py [--seconds 60] [--hours 24]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from _common import require_trained_models

ROOT = Path(__file__).resolve().parents[1]
RATE = 44100
PIECE_S = 0.01
SPANS = {"arousal": 1.5, "valence": 0.5}  # audio a value at t needs, from t


def wav_bytes(seconds: float) -> bytes:
    """A demo song as a 16-bit stereo WAV in memory."""
    import soundfile

    from emoreco.data.demo import plan_songs, synthesize

    mono = synthesize(plan_songs(1, 0, seed=5, clip_s=seconds)[0])
    buffer = io.BytesIO()
    soundfile.write(buffer, np.stack([mono, 0.8 * mono], axis=1), RATE, format="WAV",
                    subtype="PCM_16")
    return buffer.getvalue()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int, field: str) -> int:
    """``VmRSS`` or ``VmHWM`` (peak) of a process, kB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def endless(hours: float) -> None:
    """Pipe ``hours`` of audio into ``emoreco listen -`` as fast as it reads; print RSS."""
    import struct

    song = wav_bytes(30.0)[44:]
    header = (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt "
              + struct.pack("<IHHIIHH", 16, 1, 2, RATE, RATE * 4, 4, 16)
              + b"data" + struct.pack("<I", 0xFFFFFFFF))  # sizes that announce no end
    process = subprocess.Popen([sys.executable, "-m", "emoreco", "listen", "-", "--models-dir",
                                str(ROOT / "models")], stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, cwd=ROOT)
    assert process.stdin is not None
    process.stdin.write(header)
    repeats = int(hours * 3600 / 30)
    started = time.monotonic()
    print(f"endless stream: {hours:g} h of 44.1 kHz stereo audio piped as fast as it is read")
    for number in range(1, repeats + 1):
        process.stdin.write(song)
        if number in {max(1, repeats // 10), repeats // 2, repeats}:
            print(f"  after {number * 30 / 3600:6.2f} h of audio "
                  f"({time.monotonic() - started:5.0f} s): resident "
                  f"{memory_kb(process.pid, 'VmRSS') / 1024:6.1f} MB", flush=True)
    peak = memory_kb(process.pid, "VmHWM") / 1024
    process.stdin.close()
    process.wait()
    print(f"  peak resident memory {peak:.1f} MB; {hours * 3600 / (time.monotonic() - started):.0f}"
          "x real time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args()
    require_trained_models()
    data = wav_bytes(args.seconds)
    header, audio = data[:44], data[44:]
    frame_bytes = 4  # 2 channels x 16 bit
    process = subprocess.Popen([sys.executable, "-m", "emoreco", "listen", "-", "--models-dir",
                                str(ROOT / "models")], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, cwd=ROOT)
    lines: list[tuple[float, dict]] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.monotonic(), json.loads(line)))

    reader = threading.Thread(target=read)
    reader.start()
    assert process.stdin is not None
    process.stdin.write(header)
    process.stdin.flush()
    time.sleep(3.0)
    started = time.monotonic()
    cpu_start = cpu_seconds(process.pid)
    piece = int(RATE * PIECE_S) * frame_bytes
    for number, first in enumerate(range(0, len(audio), piece)):
        delay = started + number * PIECE_S - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        process.stdin.write(audio[first:first + piece])
        process.stdin.flush()
    streamed = time.monotonic() - started
    cpu = cpu_seconds(process.pid) - cpu_start
    process.stdin.close()
    reader.join()
    process.wait()

    end_of_audio = started + len(audio) / frame_bytes / RATE
    delays: dict[str, list[float]] = {target: [] for target in SPANS}
    seen: dict[tuple[float, str], bool] = {}
    for when, record in lines:
        for target, span in SPANS.items():
            if record.get(target) is None or (record["t"], target) in seen:
                continue
            seen[(record["t"], target)] = True
            available = started + record["t"] + span
            if available < end_of_audio - 0.05:  # values of the final flush are left out
                delays[target].append((when - available) * 1000)
    print(f"{args.seconds:.0f}-s 44.1 kHz stereo WAV piped at real-time pace in "
          f"{PIECE_S * 1000:.0f}-ms pieces; delay from the audio's arrival to the line, ms")
    for target, values in delays.items():
        values.sort()
        p95 = values[int(0.95 * (len(values) - 1))]
        print(f"  {target:<8} {len(values):4d} values: median {statistics.median(values):6.1f}  "
              f"p95 {p95:6.1f}  max {values[-1]:6.1f}")
    print(f"  CPU of the listening process while streaming: {cpu:.2f} s over {streamed:.1f} s "
          f"= {100 * cpu / streamed:.1f} % of one core")
    endless(args.hours)


if __name__ == "__main__":
    main()
