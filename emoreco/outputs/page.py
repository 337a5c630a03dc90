"""The interactive offline report: one HTML page drawn by plotly.js from embedded data.

The page's labels, columns and curves come from the targets the run predicted (their
names, colours and what each value describes, from the models' parameters); the
browser script (``assets/report.js``) reads them from the embedded data.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from emoreco.core.atomic import atomic_path
from emoreco.model.curves import QUADRANTS, EmotionCurve, target_columns
from emoreco.model.targets import TARGETS
from emoreco.outputs.tables import DECIMALS, SHARD_FOLDER

COLOURS = {"arousal": "#d62728", "valence": "#1f77b4"}  # the PNGs' tab:red and tab:blue
# the look shared by the report and the live page (emoreco listen --serve)
PAGE_STYLE = """\
body { font-family: sans-serif; margin: 1.5em auto; padding: 0 1em; max-width: 1200px;
       color: #222; }
.warning { background: #fff3cd; border: 2px solid #d39e00; padding: 0.8em; font-weight: bold; }"""
EMBEDDED_VALUES = 1_500_000  # curve values embedded in the page (about 7 MB of JSON)
SHARD_VALUES = 200_000  # curve values per shard file beyond that


def plotly_js() -> str:
    """plotly.js (v4.1.1, MIT licence, header kept), shipped with emoreco in
    ``assets/plotly.min.js``: 4.8 MB instead of the 64 MB ``plotly`` Python package, of
    which the page would use only this file (``scripts/update_plotly_js.py`` copies it
    from an installed ``plotly``)."""
    return (resources.files("emoreco") / "assets" / "plotly.min.js").read_text(encoding="utf-8")


def _compact(values: np.ndarray) -> list[int | None]:
    """Values in [-1, 1] as thousandths (3 decimals), None where there is no value."""
    return [None if v != v else int(v) for v in np.round(values * 1000).tolist()]


def report_data(curves: Sequence[EmotionCurve], audio: dict[str, str],
                failures: dict[str, str], warning: str | None,
                embedded_values: int = EMBEDDED_VALUES,
                write_shard: Callable[[int, dict[str, list]], None] | None = None,
                describes: dict[str, str] | None = None,
                band_levels: dict[str, float] | None = None) -> dict:
    """What the page draws, as compact JSON-able data (no times: start and step).

    ``describes``: target -> what its value at time t describes (page text);
    ``band_levels``: target -> the level of its model's band. Each song has a list per
    name in ``columns``: every target and the bounds of the bands the curves have.

    When the run's curves hold more than ``embedded_values`` values, each song records
    the number of the shard that holds its curves instead of the curves, and each shard
    is handed to ``write_shard(number, shard)`` as soon as it is full, so that only one
    shard is in memory at a time.
    """
    columns = target_columns(TARGETS, {t for curve in curves for t in curve.bands})
    n_columns = len(columns)
    describes, band_levels = describes or {}, band_levels or {}
    total = sum(n_columns * len(curve.times_s) for curve in curves)
    shard: dict[str, list] = {}
    shard_count = 0
    filled = 0
    songs = []
    for curve in curves:
        summary = curve.summary()
        values = [_compact(curve.column(key)) for key in columns]
        entry: dict = {"name": curve.song, "start": summary["start_s"], "end": summary["end_s"]}
        if total <= embedded_values:
            entry.update(zip(columns, values))
        else:
            if shard and filled + n_columns * len(curve.times_s) > SHARD_VALUES:
                assert write_shard is not None, "curves beyond embedded_values need shards"
                write_shard(shard_count, shard)
                shard, shard_count, filled = {}, shard_count + 1, 0
            shard[curve.song] = values
            filled += n_columns * len(curve.times_s)
            entry["shard"] = shard_count
        songs.append({**entry, "audio": audio.get(curve.song),
                      **{f"{t}_{s}": round(summary[f"{t}_{s}"], DECIMALS) for t in TARGETS
                         for s in ("mean", "std")},
                      "quadrant": summary.get("quadrant")})
    if shard:
        assert write_shard is not None, "curves beyond embedded_values need shards"
        write_shard(shard_count, shard)
    step = float(np.diff(curves[0].times_s[:2])[0]) if len(curves[0].times_s) > 1 else 0.5
    return {"songs": songs, "step": step, "failures": failures, "warning": warning,
            "shards": SHARD_FOLDER, "columns": columns,
            "targets": [{"name": target, "colour": COLOURS.get(target, "#555"),
                         "describes": describes.get(target, ""),
                         "band": band_levels.get(target)} for target in TARGETS]}


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
                      embedded_values: int = EMBEDDED_VALUES,
                      describes: dict[str, str] | None = None,
                      cards: dict[str, str] | None = None,
                      band_levels: dict[str, float] | None = None) -> list[Path]:
    """One self-contained, offline HTML page drawn by plotly.js (inlined).

    The page holds the run's data once, as compact JSON; the browser draws the summary
    table (sortable, filterable), the valence-arousal plane of song means (click to
    select), a bar chart of song means, and for the selected song its timeline and
    trajectory with an audio player (``audio``: song name -> link or data URI) whose
    position is followed by a cursor. ``document.body.dataset.ready`` is "1" once drawn.

    Beyond ``embedded_values`` curve values the curves go to shard files in
    ``emotion_report_data/`` beside the page, loaded by the browser when a song of theirs
    is selected (``<script>`` tags, which work from ``file://`` too). ``cards``: target ->
    its model's card (Markdown, shown as text under "Model cards"); ``band_levels``:
    target -> the level of its model's band (the timeline shades the bands).

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

    record = report_data(curves, audio or {}, failures, warning, embedded_values, write_shard,
                         describes, band_levels)
    payload = script_json(record)
    script = (resources.files("emoreco") / "assets" / "report.js").read_text(encoding="utf-8")
    failed = "".join(f"<li>{html.escape(name)}: {html.escape(message)}</li>"
                     for name, message in failures.items())
    options = "".join(f'<option value="{html.escape(q)}">{html.escape(q)}</option>'
                      for q in QUADRANTS.values())
    model_cards = "".join(f"<pre>{html.escape(card)}</pre>" for card in (cards or {}).values())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>emoreco: predicted emotion curves</title>
<style>
{PAGE_STYLE}
.failed {{ color: #a00; }} .row {{ display: flex; gap: 1em; flex-wrap: wrap; align-items: flex-start; }}
#plane, #trajectory {{ width: 460px; height: 440px; }} #timeline {{ flex: 1; min-width: 500px; height: 440px; }}
#bars {{ height: 380px; }} .tablebox {{ max-height: 420px; overflow: auto; border: 1px solid #ccc; flex: 1; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; }}
td, th {{ border-bottom: 1px solid #eee; padding: 3px 8px; text-align: left; }}
th {{ background: #f0f0f0; cursor: pointer; position: sticky; top: 0; }}
tr:hover {{ background: #f7f7ff; cursor: pointer; }} tr.selected {{ background: #e0e8ff; }}
#model-cards pre {{ white-space: pre-wrap; background: #f8f8f8; padding: 0.6em; }}
</style>
<script>{plotly_js()}</script>
</head><body>
{f'<p class="warning" id="demo-warning">{html.escape(warning)}</p>' if warning else ''}
<h1>Predicted valence and arousal</h1>
<p>{len(curves)} song(s); values in [-1, 1] every {record["step"]:g} s (DEAM's scale).
{html.escape(" ".join(f"{t.capitalize()} at time t describes {d}." for t, d in
                      (describes or {}).items()))}</p>
{'<details id="model-cards"><summary>Model cards: how the models were trained and how '
 'well they did on their test songs</summary>' + model_cards + '</details>'
 if model_cards else ''}
{'<h2 class="failed">Failed</h2><ul class="failed">' + failed + '</ul>' if failed else ''}
<div class="row">
 <div class="tablebox">
  <p>Quadrant <select id="quadrant"><option value="">all</option>{options}</select>
   Search <input id="search" size="24"> <span id="count"></span></p>
  <table id="songs"><thead><tr><th data-key="name">song</th>
   {"".join(f'<th data-key="{t}_mean">{t} mean</th><th data-key="{t}_std">std</th>'
            for t in TARGETS)}
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
