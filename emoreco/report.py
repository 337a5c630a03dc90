"""Pictures and the offline HTML report. matplotlib is imported lazily (Agg backend)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.atomic import atomic_path

QUADRANTS = {  # (valence >= 0, arousal >= 0) -> label, as on the valence-arousal diagram
    (True, True): "happy / excited",
    (False, True): "angry / tense",
    (False, False): "sad / depressed",
    (True, False): "calm / relaxed",
}


def quadrant(valence: float, arousal: float) -> str:
    """Emotion label of a point of the valence-arousal plane."""
    return QUADRANTS[(valence >= 0, arousal >= 0)]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _png_bytes(figure: Any, dpi: int = 110) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    plt = _pyplot()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _write_bytes(data: bytes, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _save(figure: Any, path: str | Path) -> None:
    """Write the figure as a PNG file, atomically."""
    _write_bytes(_png_bytes(figure), path)


def plot_loss(history: dict[str, list[float]], path: str | Path, title: str) -> None:
    """Training and validation loss per epoch."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if key in history:
            axis.plot(np.arange(1, len(history[key]) + 1), history[key], label=label)
    axis.set(xlabel="epoch", ylabel="MSE", title=title)
    axis.grid(alpha=0.3)
    axis.legend()
    _save(figure, path)


COLOURS = {"arousal": "tab:red", "valence": "tab:blue"}
OUTPUT_NAMES = {
    "table": "TestSongPredicted.csv",
    "summary": "TestSongSummary.csv",
    "json": "TestSongPredicted.json",
    "arousal": "Arousal_tracks.png",
    "valence": "Valence_tracks.png",
    "plane": "Valence_arousal_plane.png",
    "html": "emotion_report.html",
}


def output_paths(out_dir: str | Path, with_json: bool) -> dict[str, Path]:
    """Every file a prediction run writes."""
    names = {k: v for k, v in OUTPUT_NAMES.items() if with_json or k != "json"}
    return {key: Path(out_dir) / name for key, name in names.items()}


def curves_table(curves: list[Any]) -> Any:
    """One row per song and time step: ``song, time_s, arousal, valence``."""
    import pandas as pd

    return pd.concat([pd.DataFrame({"song": c.song, "time_s": c.times_s, "arousal": c.arousal,
                                    "valence": c.valence}) for c in curves], ignore_index=True)


def write_tables(curves: list[Any], paths: dict[str, Path]) -> None:
    """The per-step CSV, the per-song summary CSV and (if in ``paths``) the JSON."""
    import pandas as pd

    with atomic_path(paths["table"]) as tmp:
        curves_table(curves).to_csv(tmp, index=False, float_format="%.4f")
    with atomic_path(paths["summary"]) as tmp:
        pd.DataFrame([c.summary() for c in curves]).to_csv(tmp, index=False, float_format="%.4f")
    if "json" in paths:
        import json

        record = [dict(c.summary(), time_s=c.times_s.tolist(),
                       arousal=np.round(c.arousal, 4).tolist(),
                       valence=np.round(c.valence, 4).tolist()) for c in curves]
        with atomic_path(paths["json"]) as tmp:
            tmp.write_text(json.dumps(record, indent=1))


def _tracks_figure(curves: list[Any], attribute: str) -> Any:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(8, 3.8))
    for curve in curves:
        axis.plot(curve.times_s, getattr(curve, attribute), label=curve.song, linewidth=1.6)
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set(xlabel="time (s)", ylabel=attribute, ylim=(-1, 1),
             title=f"Predicted {attribute} (2 Hz)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return figure


def _plane_figure(curves: list[Any]) -> Any:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 6))
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.axvline(0, color="grey", linewidth=0.8)
    for (positive_v, positive_a), label in QUADRANTS.items():
        axis.text(0.55 if positive_v else -0.55, 0.9 if positive_a else -0.9, label,
                  ha="center", va="center", fontsize=10, color="dimgray", style="italic")
    for curve in curves:
        line, = axis.plot(curve.valence, curve.arousal, linewidth=1.0, alpha=0.7)
        axis.plot(curve.valence[0], curve.arousal[0], "o", color=line.get_color(), markersize=4)
        axis.plot(curve.valence.mean(), curve.arousal.mean(), "*", color=line.get_color(),
                  markersize=14, markeredgecolor="black", label=curve.song)
    axis.set(xlim=(-1, 1), ylim=(-1, 1), xlabel="valence", ylabel="arousal",
             title="Valence-arousal trajectories (dot: start, star: mean)")
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return figure


def _means_figure(curves: list[Any]) -> Any:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(max(5, 1.2 * len(curves)), 3.6))
    positions = np.arange(len(curves))
    for offset, attribute in ((-0.2, "valence"), (0.2, "arousal")):
        means = [getattr(c, attribute).mean() for c in curves]
        spreads = [getattr(c, attribute).std() for c in curves]
        axis.bar(positions + offset, means, 0.4, yerr=spreads, capsize=3, label=attribute,
                 color=COLOURS[attribute])
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set_xticks(positions, [c.song for c in curves], rotation=20, ha="right", fontsize=8)
    axis.set(ylim=(-1, 1), ylabel="mean (bar) and std (whisker)", title="Song means")
    axis.legend()
    return figure


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _png_data_uri(figure: Any) -> str:
    return _data_uri(_png_bytes(figure, dpi=90))


def _song_timeline(curve: Any) -> Any:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 2.4))
    for attribute in ("arousal", "valence"):
        axis.plot(curve.times_s, getattr(curve, attribute), label=attribute,
                  color=COLOURS[attribute])
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set(ylim=(-1, 1), xlabel="time (s)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="upper right")
    return figure


def write_html_report(curves: list[Any], path: str | Path, failures: dict[str, str],
                      plane_png: bytes) -> None:
    """A single self-contained HTML file: pictures inlined as data URIs, no network.

    ``plane_png`` is the valence-arousal plane already rendered for its PNG file.
    """
    rows = "".join(
        "<tr><td>{song}</td><td>{start_s:.1f}-{end_s:.1f}</td><td>{arousal_mean:+.3f} "
        "&plusmn; {arousal_std:.3f}</td><td>{valence_mean:+.3f} &plusmn; {valence_std:.3f}"
        "</td><td>{quadrant}</td></tr>".format(**{k: (html.escape(v) if isinstance(v, str) else v)
                                                  for k, v in c.summary().items()})
        for c in curves)
    timelines = "".join(
        f'<section><h3>{html.escape(c.song)}</h3><img alt="{html.escape(c.song)} timeline" '
        f'src="{_png_data_uri(_song_timeline(c))}"></section>' for c in curves)
    failed = "".join(f"<li>{html.escape(name)}: {html.escape(message)}</li>"
                     for name, message in failures.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>emoreco: predicted emotion curves</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 10px; }}
th {{ background: #f0f0f0; }} img {{ max-width: 100%; }} .failed {{ color: #a00; }}
</style></head><body>
<h1>Predicted valence and arousal</h1>
<p>{len(curves)} song(s); values in [-1, 1] every 0.5 s (DEAM's scale).</p>
<table><tr><th>song</th><th>time (s)</th><th>arousal mean &plusmn; std</th>
<th>valence mean &plusmn; std</th><th>quadrant</th></tr>{rows}</table>
{'<h2 class="failed">Failed</h2><ul class="failed">' + failed + '</ul>' if failed else ''}
<h2>Song means</h2><img alt="bar chart of song means" src="{_png_data_uri(_means_figure(curves))}">
<h2>Valence-arousal plane</h2><img alt="valence-arousal plane" src="{_data_uri(plane_png)}">
<h2>Timelines</h2>{timelines}
</body></html>
"""
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")


def write_report(curves: list[Any], paths: dict[str, Path], failures: dict[str, str]) -> None:
    """Tables, the three pictures and the HTML page for a prediction run."""
    write_tables(curves, paths)
    _save(_tracks_figure(curves, "arousal"), paths["arousal"])
    _save(_tracks_figure(curves, "valence"), paths["valence"])
    plane = _png_bytes(_plane_figure(curves))
    _write_bytes(plane, paths["plane"])
    write_html_report(curves, paths["html"], failures, plane)
