"""Draw the speed page's plots from the figures the benchmarks recorded.

``bench_vs_vibenet.py``, ``bench_decode.py`` and ``bench_engines.py`` write their figures
to ``benchmarks/results/<name>.json`` (``make bench`` runs them, then this script). Each
plot says the day and the core count of the run it shows. A missing figures file is
skipped with a line; a malformed one stops the script with a line that names it.

    python benchmarks/plot_results.py [--results benchmarks/results] [--out readme_files]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS, REFERENCE = "#2a7f62", "#a0a0a0"  # emoreco, and what it is measured against
ENGINES = {"process": "#7f7f7f", "threads": "#2a7f62", "cluster": "#8c6bb1"}
DECODERS = {"sndfile": ("libsndfile", "#c2a25a"), "ffmpeg": ("FFmpeg (PyAV)", "#5f7f8f")}
FOLDER_NAMES = {"opus": "Opus", "mp3": "MP3", "flac": "FLAC"}
MAX_BYTES = 1 << 20


class FiguresError(Exception):
    """A figures file that cannot be plotted."""


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise FiguresError(f"{where}: {value!r} is not a non-negative number")
    return float(value)


def load(path: Path, benchmark: str) -> dict:
    """The validated record of ``path``: ``benchmark``, ``date``, ``cores``, ``figures``."""
    if path.stat().st_size > MAX_BYTES:
        raise FiguresError(f"{path}: larger than {MAX_BYTES} bytes")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FiguresError(f"{path}: not JSON ({exc})") from None
    if not isinstance(record, dict) or record.get("benchmark") != benchmark:
        raise FiguresError(f"{path}: not the figures of {benchmark}")
    if not isinstance(record.get("figures"), dict) or not record["figures"]:
        raise FiguresError(f"{path}: no figures")
    if not isinstance(record.get("date"), str) or len(record["date"]) != 10:
        raise FiguresError(f"{path}: no date")
    _number(record.get("cores"), f"{path}: cores")
    return record


def _caption(record: dict) -> str:
    return f"measured {record['date']} on {record['cores']} cores; {record.get('note', '')}"


def plot_vs_vibenet(record: dict, out: Path) -> Path:
    """Wall time and peak memory per folder, emoreco beside VibeNet."""
    import matplotlib.pyplot as plt

    folders = list(record["figures"])
    values = {tool: {key: [_number(record["figures"][f][tool][key], f"{f} {tool} {key}")
                           for f in folders] for key in ("wall", "rss_mb")}
              for tool in ("ours", "vibenet")}
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    for ax, key, label in ((axes[0], "wall", "wall time, s"),
                           (axes[1], "rss_mb", "largest process, MB")):
        rows = range(len(folders))
        ax.barh([r + 0.2 for r in rows], values["ours"][key], 0.4, color=OURS,
                label="emoreco MAIN.py")
        ax.barh([r - 0.2 for r in rows], values["vibenet"][key], 0.4, color=REFERENCE,
                label="VibeNet 0.1.0")
        ax.set_yticks(list(rows), [FOLDER_NAMES.get(f, f) for f in folders])
        ax.invert_yaxis()
        ax.set_xlabel(label)
        ax.grid(axis="x", alpha=0.3)
    for row, folder in enumerate(folders):
        ratio = values["ours"]["wall"][row] / max(values["vibenet"]["wall"][row], 1e-9)
        axes[0].annotate(f"{ratio:.2f}x", (values["ours"]["wall"][row], row + 0.2),
                         xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    axes[0].set_ylabel("folder of songs")
    axes[1].legend(loc="lower right", fontsize=8)
    figure.suptitle("A folder of songs: emoreco beside VibeNet (shorter is better)")
    figure.text(0.5, -0.02, _caption(record), ha="center", va="top", fontsize=8)
    return _save(figure, out / "speed_vs_vibenet.png")


def plot_decode(record: dict, out: Path) -> Path:
    """Milliseconds per file and format, libsndfile beside FFmpeg; the used one outlined."""
    import matplotlib.pyplot as plt

    formats = list(record["figures"])
    from matplotlib.patches import Patch

    figure, ax = plt.subplots(figsize=(9, 3.4), layout="constrained")
    for offset, (decoder, (label, colour)) in zip((-0.2, 0.2), DECODERS.items()):
        for column, name in enumerate(formats):
            entry = record["figures"][name]
            value = entry["ms"].get(decoder)
            if value is None:
                ax.annotate("cannot read", (column + offset, 0), ha="center", va="bottom",
                            rotation=90, fontsize=7, color="#606060")
                continue
            used = entry.get("used") == decoder
            ax.bar(column + offset, _number(value, f"{name} {decoder}"), 0.4, color=colour,
                   edgecolor="black" if used else colour, linewidth=1.8 if used else 0)
    ax.set_xticks(range(len(formats)), formats)
    ax.set_xlabel("format of a 32-s 48 kHz stereo file")
    ax.set_ylabel("decoding to 12 kHz mono, ms")
    ax.grid(axis="y", alpha=0.3)
    handles = [Patch(color=colour, label=label) for label, colour in DECODERS.values()]
    handles.append(Patch(facecolor="white", edgecolor="black", linewidth=1.8,
                         label="the decoder used"))
    ax.legend(handles=handles, fontsize=8)
    ax.set_title("Decoding per format (shorter is better)")
    figure.text(0.5, -0.02, _caption(record), ha="center", va="top", fontsize=8)
    return _save(figure, out / "speed_decode.png")


def plot_engines(record: dict, out: Path) -> Path:
    """Wall time of a batch by its size on each engine; the engine MAIN.py picks ringed."""
    import matplotlib.pyplot as plt

    sizes = sorted(record["figures"], key=int)
    figure, ax = plt.subplots(figsize=(9, 3.8), layout="constrained")
    for engine, colour in ENGINES.items():
        seconds = [_number(record["figures"][s]["seconds"][engine], f"{s} {engine}")
                   for s in sizes]
        ax.plot([int(s) for s in sizes], seconds, "o-", color=colour, label=engine)
    picked = [(int(s), record["figures"][s]["seconds"][record["figures"][s]["picked"]])
              for s in sizes if record["figures"][s].get("picked") in ENGINES]
    ax.scatter([p[0] for p in picked], [p[1] for p in picked], s=160, facecolors="none",
               edgecolors="black", linewidths=1.2, label="picked by MAIN.py", zorder=3)
    ax.set_xlabel("songs in the batch (32-s Opus)")
    ax.set_ylabel("wall time with start-up, s")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Which engine a batch runs on (lower is better)")
    figure.text(0.5, -0.02, _caption(record), ha="center", va="top", fontsize=8)
    return _save(figure, out / "speed_engines.png")


def _save(figure, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return path


PLOTS = {"vs_vibenet": plot_vs_vibenet, "decode": plot_decode, "engines": plot_engines}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results",
                        help="folder of the figures files (default: benchmarks/results)")
    parser.add_argument("--out", type=Path, default=ROOT / "readme_files",
                        help="folder for the PNG plots (default: readme_files)")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    args.out.mkdir(parents=True, exist_ok=True)
    drawn = 0
    for benchmark, plot in PLOTS.items():
        path = args.results / f"{benchmark}.json"
        if not path.is_file():
            print(f"{benchmark}: no figures in {path} (run benchmarks/bench_{benchmark}.py)")
            continue
        try:
            print(f"{benchmark}: {plot(load(path, benchmark), args.out)}")
        except FiguresError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            print(f"error: {path}: unexpected layout ({type(exc).__name__}: {exc})",
                  file=sys.stderr)
            return 1
        drawn += 1
    if not drawn:
        print(f"error: no figures files in {args.results}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
