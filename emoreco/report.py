"""Outputs of a prediction run: tables (CSV/JSON), pictures and the offline HTML report."""

from __future__ import annotations

import base64
import csv
import html
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emoreco.atomic import atomic_path
from emoreco.curves import EmotionCurve

TABLE_NAMES = {"table": "TestSongPredicted.csv", "summary": "TestSongSummary.csv"}
JSON_NAME = {"json": "TestSongPredicted.json"}
PICTURE_NAMES = {"arousal": "Arousal_tracks.png", "valence": "Valence_tracks.png",
                 "plane": "Valence_arousal_plane.png"}
REPORT_NAME = {"html": "emotion_report.html"}
OUTPUT_NAMES = TABLE_NAMES | JSON_NAME | PICTURE_NAMES | REPORT_NAME
SUMMARY_COLUMNS = ("song", "n_steps", "start_s", "end_s", "arousal_mean", "arousal_std",
                   "valence_mean", "valence_std", "quadrant")


def output_paths(out_dir: str | Path, with_json: bool = False, pictures: bool = True,
                 report: bool = True) -> dict[str, Path]:
    """The files a prediction run writes, by role."""
    names = (TABLE_NAMES | (JSON_NAME if with_json else {})
             | (PICTURE_NAMES if pictures else {}) | (REPORT_NAME if report else {}))
    return {key: Path(out_dir) / name for key, name in names.items()}


def _number(value: object) -> object:
    """4 decimals for floats; NaN (no value at that time) as an empty cell."""
    if isinstance(value, float):
        return "" if value != value else f"{value:.4f}"
    return value


def write_tables(curves: Sequence[EmotionCurve], paths: dict[str, Path]) -> None:
    """The per-step CSV, the per-song summary CSV and (if in ``paths``) the JSON.

    ``TestSongPredicted.csv``: ``song, time_s, arousal, valence``, one row per song and
    time step, values with 4 decimals, empty where a target has no value (valence
    before its first full context).
    """
    with atomic_path(paths["table"]) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["song", "time_s", "arousal", "valence"])
        for c in curves:
            writer.writerows(zip([c.song] * len(c.times_s), map(_number, c.times_s.tolist()),
                                 map(_number, c.arousal.tolist()),
                                 map(_number, c.valence.tolist())))
    with atomic_path(paths["summary"]) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        for c in curves:
            summary = c.summary()
            writer.writerow([_number(summary[k]) for k in SUMMARY_COLUMNS])
    if "json" in paths:
        record = [dict(c.summary(), time_s=c.times_s.tolist(),
                       arousal=[None if v != v else round(v, 4) for v in c.arousal.tolist()],
                       valence=[None if v != v else round(v, 4) for v in c.valence.tolist()])
                  for c in curves]
        with atomic_path(paths["json"]) as tmp:
            tmp.write_text(json.dumps(record, indent=1))


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def write_html_report(curves: Sequence[EmotionCurve], path: str | Path,
                      failures: dict[str, str], plane_png: bytes,
                      warning: str | None = None) -> None:
    """A single self-contained HTML file: pictures inlined as data URIs, no network.

    ``plane_png`` is the valence-arousal plane already rendered for its PNG file;
    ``warning`` (demo-trained models) is shown at the top.
    """
    from emoreco.plots import means_figure, png_bytes, timeline_figure

    rows = "".join(
        "<tr><td>{song}</td><td>{start_s:.1f}-{end_s:.1f}</td><td>{arousal_mean:+.3f} "
        "&plusmn; {arousal_std:.3f}</td><td>{valence_mean:+.3f} &plusmn; {valence_std:.3f}"
        "</td><td>{quadrant}</td></tr>".format(**{k: (html.escape(v) if isinstance(v, str) else v)
                                                  for k, v in c.summary().items()})
        for c in curves)
    timelines = "".join(
        f'<section><h3>{html.escape(c.song)}</h3><img alt="{html.escape(c.song)} timeline" '
        f'src="{_data_uri(png_bytes(timeline_figure(c), dpi=90))}"></section>' for c in curves)
    failed = "".join(f"<li>{html.escape(name)}: {html.escape(message)}</li>"
                     for name, message in failures.items())
    means = _data_uri(png_bytes(means_figure(curves), dpi=90))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>emoreco: predicted emotion curves</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 10px; }}
th {{ background: #f0f0f0; }} img {{ max-width: 100%; }} .failed {{ color: #a00; }}
.warning {{ background: #fff3cd; border: 2px solid #d39e00; padding: 0.8em; font-weight: bold; }}
</style></head><body>
{f'<p class="warning" id="demo-warning">{html.escape(warning)}</p>' if warning else ''}
<h1>Predicted valence and arousal</h1>
<p>{len(curves)} song(s); values in [-1, 1] every 0.5 s (DEAM's scale).</p>
<table><tr><th>song</th><th>time (s)</th><th>arousal mean &plusmn; std</th>
<th>valence mean &plusmn; std</th><th>quadrant</th></tr>{rows}</table>
{'<h2 class="failed">Failed</h2><ul class="failed">' + failed + '</ul>' if failed else ''}
<h2>Song means</h2><img alt="bar chart of song means" src="{means}">
<h2>Valence-arousal plane</h2><img alt="valence-arousal plane" src="{_data_uri(plane_png)}">
<h2>Timelines</h2>{timelines}
</body></html>
"""
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")


def write_report(curves: Sequence[EmotionCurve], paths: dict[str, Path],
                 failures: dict[str, str], warning: str | None = None) -> None:
    """Tables, then the pictures and the HTML page where ``paths`` asks for them.

    matplotlib is imported only when a picture is drawn.
    """
    write_tables(curves, paths)
    if "plane" not in paths and "html" not in paths:
        return
    from emoreco.plots import plane_figure, png_bytes, tracks_figure, write_png

    plane = png_bytes(plane_figure(curves))
    if "plane" in paths:
        for target in ("arousal", "valence"):
            write_png(png_bytes(tracks_figure(curves, target)), paths[target])
        write_png(plane, paths["plane"])
    if "html" in paths:
        write_html_report(curves, paths["html"], failures, plane, warning)
