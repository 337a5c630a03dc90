"""Outputs of a prediction run: tables (CSV/JSON), pictures and the offline HTML report."""

from __future__ import annotations

import csv
import html
import importlib.util
import json
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.atomic import atomic_path, write_json
from emoreco.curves import QUADRANTS, EmotionCurve
from emoreco.errors import EmorecoError

TABLE_NAMES = {"table": "TestSongPredicted.csv", "summary": "TestSongSummary.csv"}
PARQUET_NAME = {"parquet": "TestSongPredicted.parquet"}  # a folder of Parquet parts
JSON_NAME = {"json": "TestSongPredicted.json"}
PICTURE_NAMES = {"arousal": "Arousal_tracks.png", "valence": "Valence_tracks.png",
                 "plane": "Valence_arousal_plane.png"}
REPORT_NAME = {"html": "emotion_report.html"}
OUTPUT_NAMES = TABLE_NAMES | PARQUET_NAME | JSON_NAME | PICTURE_NAMES | REPORT_NAME
SUMMARY_COLUMNS = ("song", "n_steps", "start_s", "end_s", "arousal_mean", "arousal_std",
                   "valence_mean", "valence_std", "quadrant")


def output_paths(out_dir: str | Path, with_json: bool = False, pictures: bool = True,
                 report: bool = True, parquet: bool = False) -> dict[str, Path]:
    """The files a prediction run writes, by role (``parquet``: the per-step table as
    a folder of Parquet parts instead of one CSV)."""
    tables = ({"summary": TABLE_NAMES["summary"]} | PARQUET_NAME) if parquet else TABLE_NAMES
    names = (tables | (JSON_NAME if with_json else {})
             | (PICTURE_NAMES if pictures else {}) | (REPORT_NAME if report else {}))
    return {key: Path(out_dir) / name for key, name in names.items()}


def _number(value: object) -> object:
    """4 decimals for floats; NaN (no value at that time) as an empty cell."""
    if isinstance(value, float):
        return "" if value != value else f"{value:.4f}"
    return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets run as a formula


def spreadsheet_text(text: str) -> str:
    """``text`` with a ``'`` in front when a spreadsheet would run it as a formula
    (OWASP's advice for CSV files that people open)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_tables(curves: Sequence[EmotionCurve], paths: dict[str, Path]) -> None:
    """The per-step CSV, the per-song summary CSV and the JSON, those in ``paths``.

    ``TestSongPredicted.csv``: ``song, time_s, arousal, valence``, one row per song and
    time step, values with 4 decimals, empty where a target has no value (valence
    before its first full context), song names as they are (data for programs).
    ``TestSongSummary.csv``, the table people open in a spreadsheet, quotes names that
    a spreadsheet would run as a formula (:func:`spreadsheet_text`). ``curves`` is read
    once per file written.
    """
    if "table" in paths:
        with atomic_path(paths["table"]) as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["song", "time_s", "arousal", "valence"])
            for c in curves:
                writer.writerows(zip([c.song] * len(c.times_s),
                                     map(_number, c.times_s.tolist()),
                                     map(_number, c.arousal.tolist()),
                                     map(_number, c.valence.tolist())))
    with atomic_path(paths["summary"]) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        for c in curves:
            summary = c.summary()
            summary["song"] = spreadsheet_text(summary["song"])
            writer.writerow([_number(summary[k]) for k in SUMMARY_COLUMNS])
    if "json" in paths:
        record = [dict(c.summary(), time_s=c.times_s.tolist(),
                       arousal=[None if v != v else round(v, 4) for v in c.arousal.tolist()],
                       valence=[None if v != v else round(v, 4) for v in c.valence.tolist()])
                  for c in curves]
        write_json(paths["json"], record)


def plotly_js() -> str:
    """plotly.js as shipped inside the ``plotly`` Python package (read, not imported)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise EmorecoError("the HTML report needs the plotly package (pip install plotly), "
                           "or use --no-report")
    return (Path(spec.submodule_search_locations[0]) / "package_data" / "plotly.min.js"
            ).read_text(encoding="utf-8")


def _compact(values: np.ndarray) -> list[int | None]:
    """Values in [-1, 1] as thousandths (3 decimals), None where there is no value."""
    return [None if v != v else int(v) for v in np.round(values * 1000).tolist()]


EMBEDDED_VALUES = 1_500_000  # curve values embedded in the page (about 7 MB of JSON)
SHARD_VALUES = 200_000  # curve values per shard file beyond that
SHARD_FOLDER = "emotion_report_data"
KNOWN_OUTPUTS = (*OUTPUT_NAMES.values(), SHARD_FOLDER)  # what any run may write


def report_data(curves: Sequence[EmotionCurve], audio: dict[str, str],
                failures: dict[str, str], warning: str | None,
                embedded_values: int = EMBEDDED_VALUES,
                write_shard: Callable[[int, dict[str, list]], None] | None = None) -> dict:
    """What the page draws, as compact JSON-able data (no times: start and step).

    When the run's curves hold more than ``embedded_values`` values, each song records
    the number of the shard that holds its curves instead of the curves, and each shard
    is handed to ``write_shard(number, shard)`` as soon as it is full, so that only one
    shard is in memory at a time.
    """
    total = sum(2 * len(curve.times_s) for curve in curves)
    shard: dict[str, list] = {}
    shard_count = 0
    filled = 0
    songs = []
    for curve in curves:
        summary = curve.summary()
        values = [_compact(curve.arousal), _compact(curve.valence)]
        entry: dict = {"name": curve.song, "start": summary["start_s"], "end": summary["end_s"]}
        if total <= embedded_values:
            entry["arousal"], entry["valence"] = values
        else:
            if shard and filled + 2 * len(curve.times_s) > SHARD_VALUES:
                assert write_shard is not None, "curves beyond embedded_values need shards"
                write_shard(shard_count, shard)
                shard, shard_count, filled = {}, shard_count + 1, 0
            shard[curve.song] = values
            filled += 2 * len(curve.times_s)
            entry["shard"] = shard_count
        songs.append({**entry, "audio": audio.get(curve.song),
                      **{k: round(summary[k], 4) for k in ("arousal_mean", "arousal_std",
                                                           "valence_mean", "valence_std")},
                      "quadrant": summary["quadrant"]})
    if shard:
        assert write_shard is not None, "curves beyond embedded_values need shards"
        write_shard(shard_count, shard)
    step = float(np.diff(curves[0].times_s[:2])[0]) if len(curves[0].times_s) > 1 else 0.5
    return {"songs": songs, "step": step, "failures": failures, "warning": warning,
            "shards": SHARD_FOLDER}


_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                              "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(record: Any) -> str:
    """Compact JSON that is safe inside an HTML ``<script>`` element and a JS file: no
    ``<``, ``>`` or ``&`` (escaped as ``\\u003c`` ...), so that no string (a song's name)
    can close the element or open a comment or another script."""
    return json.dumps(record, separators=(",", ":")).translate(_SCRIPT_SAFE)


def shard_name(number: int) -> str:
    """Path, relative to the page, of shard file ``number``."""
    return f"{SHARD_FOLDER}/curves-{number:05d}.js"


def write_html_report(curves: Sequence[EmotionCurve], path: str | Path,
                      failures: dict[str, str], warning: str | None = None,
                      audio: dict[str, str] | None = None,
                      embedded_values: int = EMBEDDED_VALUES) -> list[Path]:
    """One self-contained, offline HTML page drawn by plotly.js (inlined).

    The page holds the run's data once, as compact JSON; the browser draws the summary
    table (sortable, filterable), the valence-arousal plane of song means (click to
    select), a bar chart of song means, and for the selected song its timeline and
    trajectory with an audio player (``audio``: song name -> link or data URI) whose
    position is followed by a cursor. ``document.body.dataset.ready`` is "1" once drawn.

    Beyond ``embedded_values`` curve values the curves go to shard files in
    ``emotion_report_data/`` beside the page, loaded by the browser when a song of theirs
    is selected (``<script>`` tags, which work from ``file://`` too).

    Returns
    -------
    list of Path
        The shard files written (empty when everything is embedded).
    """
    path = Path(path)
    written: list[Path] = []

    def write_shard(number: int, shard: dict[str, list]) -> None:
        target = path.parent / shard_name(number)
        with atomic_path(target) as tmp:
            tmp.write_text(f"emorecoShard({number},{script_json(shard)});", encoding="utf-8")
        written.append(target)

    record = report_data(curves, audio or {}, failures, warning, embedded_values, write_shard)
    payload = script_json(record)
    script = (resources.files("emoreco") / "assets" / "report.js").read_text(encoding="utf-8")
    failed = "".join(f"<li>{html.escape(name)}: {html.escape(message)}</li>"
                     for name, message in failures.items())
    options = "".join(f'<option value="{html.escape(q)}">{html.escape(q)}</option>'
                      for q in QUADRANTS.values())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>emoreco: predicted emotion curves</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }}
.warning {{ background: #fff3cd; border: 2px solid #d39e00; padding: 0.8em; font-weight: bold; }}
.failed {{ color: #a00; }} .row {{ display: flex; gap: 1em; flex-wrap: wrap; }}
#plane, #trajectory {{ width: 460px; height: 440px; }} #timeline {{ flex: 1; min-width: 500px; height: 440px; }}
#bars {{ height: 380px; }} .tablebox {{ max-height: 420px; overflow: auto; border: 1px solid #ccc; flex: 1; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; }}
td, th {{ border-bottom: 1px solid #eee; padding: 3px 8px; text-align: left; }}
th {{ background: #f0f0f0; cursor: pointer; position: sticky; top: 0; }}
tr:hover {{ background: #f7f7ff; cursor: pointer; }} tr.selected {{ background: #e0e8ff; }}
</style>
<script>{plotly_js()}</script>
</head><body>
{f'<p class="warning" id="demo-warning">{html.escape(warning)}</p>' if warning else ''}
<h1>Predicted valence and arousal</h1>
<p>{len(curves)} song(s); values in [-1, 1] every {record["step"]:g} s (DEAM's scale).
Arousal at time t describes the 1.5-s window from t; valence the 0.5-s segment from t.</p>
{'<h2 class="failed">Failed</h2><ul class="failed">' + failed + '</ul>' if failed else ''}
<div class="row">
 <div class="tablebox">
  <p>Quadrant <select id="quadrant"><option value="">all</option>{options}</select>
   Search <input id="search" size="24"> <span id="count"></span></p>
  <table id="songs"><thead><tr><th data-key="name">song</th>
   <th data-key="arousal_mean">arousal mean</th><th data-key="arousal_std">std</th>
   <th data-key="valence_mean">valence mean</th><th data-key="valence_std">std</th>
   <th data-key="quadrant">quadrant</th><th data-key="end">span (s)</th></tr></thead>
   <tbody></tbody></table>
 </div>
 <div id="plane"></div>
</div>
<h2 id="song-title"></h2>
<audio id="player" controls preload="none" hidden></audio>
<div class="row"><div id="timeline"></div><div id="trajectory"></div></div>
<div id="bars"></div>
<script type="application/json" id="emoreco-data">{payload}</script>
<script>{script}</script>
</body></html>
"""
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return written


def write_report(curves: Sequence[EmotionCurve], paths: dict[str, Path],
                 failures: dict[str, str], warning: str | None = None,
                 audio: dict[str, str] | None = None) -> None:
    """Tables, then the PNG pictures and the HTML page where ``paths`` asks for them.

    matplotlib is imported only when PNG pictures are drawn.
    """
    write_tables(curves, paths)
    if "plane" in paths:
        from emoreco.plots import plane_figure, png_bytes, tracks_figure, write_png

        for target in ("arousal", "valence"):
            write_png(png_bytes(tracks_figure(curves, target)), paths[target])
        write_png(png_bytes(plane_figure(curves)), paths["plane"])
    if "html" in paths:
        write_html_report(curves, paths["html"], failures, warning, audio)
