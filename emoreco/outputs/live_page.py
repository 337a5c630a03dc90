"""The page of ``emoreco listen --serve``: both curves drawn by plotly.js as they arrive.

The page is the same for every visitor (built once by the server); it receives the
stream's records from the server as Server-Sent Events (``EventSource("events")``: the
records so far, then each new one, one JSON record per event as ``emoreco listen``
prints them; one value is kept per time; a gap of a reconnected URL breaks the lines).
Each target's band, where its model has one, is shaded around its line.
plotly.js is inlined, so the page needs nothing but the server it came from.
"""

from __future__ import annotations

import html
from emoreco.model.targets import TARGETS
from emoreco.outputs.page import COLOURS, PAGE_STYLE, plotly_js, script_json

SCRIPT = """
const targets = TARGETS;
const colours = COLOURS;
const levels = LEVELS;  // target -> its band's level, for the legend
const points = Object.fromEntries(targets.map((t) => [t, new Map()]));
const bands = Object.fromEntries(targets.map((t) => [t, new Map()]));  // time -> [low, high]
let viaEvents = 0;
let pending = false;
function add(record) {
  for (const t of targets) {
    if (record[t] !== null && record[t] !== undefined) points[t].set(record.t, record[t]);
    else if ("gap_s" in record) points[t].set(record.t, null);  // the line breaks there
    const low = record[t + "_low"], high = record[t + "_high"];
    if (low !== null && low !== undefined) bands[t].set(record.t, [low, high]);
    else if ("gap_s" in record) bands[t].set(record.t, [null, null]);
  }
}
const count = (t) => [...points[t].values()].filter((v) => v !== null).length;
function draw() {
  pending = false;
  const traces = targets.flatMap((t) => {
    const times = [...points[t].keys()].sort((a, b) => a - b);
    const line = {x: times, y: times.map((x) => points[t].get(x)), name: t, mode: "lines",
                  line: {color: colours[t]}};
    const banded = [...bands[t].keys()].sort((a, b) => a - b);
    if (!banded.length) return [line];
    const edge = (k, fill) => ({x: banded, y: banded.map((x) => bands[t].get(x)[k]),
      mode: "lines", line: {width: 0, color: colours[t]}, fill: fill, opacity: 0.25,
      fillcolor: colours[t] + "40", hoverinfo: "skip", showlegend: k === 1,
      name: t in levels ? `${t}: ${Math.round(100 * levels[t])} % band` : `${t} band`,
      legendgroup: t + "band"});
    return [edge(0, "none"), edge(1, "tonexty"), line];
  });
  Plotly.react("plot", traces, {xaxis: {title: {text: "time (s)"}},
    yaxis: {range: [-1, 1], title: {text: "value"}}, margin: {t: 30}});
  const data = Object.fromEntries(targets.map((t) => [t, [...points[t].entries()]]));
  document.getElementById("data").textContent = JSON.stringify(data);
  const last = Math.max(0, ...targets.flatMap((t) => [...points[t].keys()]));
  const status = document.getElementById("status");
  status.textContent = targets.map((t) => `${count(t)} ${t}`).join(", ") +
    ` values, up to ${last.toFixed(1)} s of the stream`;
  status.dataset.events = viaEvents;  // records received after the page opened
}
function schedule() { if (!pending) { pending = true; setTimeout(draw, 100); } }
draw();
const source = new EventSource("events");
source.onmessage = (event) => { viaEvents += 1; add(JSON.parse(event.data)); schedule(); };
source.addEventListener("end", () => {
  document.getElementById("state").textContent = "the stream has ended";
  source.close();
});
"""


def live_page(title: str, warning: str | None = None,
              band_levels: dict[str, float] | None = None) -> str:
    """The page of a stream named ``title``, with ``warning`` (the demo models') on top;
    ``band_levels``: target -> the level of its model's band, named in the legend."""
    script = (SCRIPT.replace("TARGETS", script_json(list(TARGETS)))
              .replace("COLOURS", script_json({t: COLOURS.get(t, "#555") for t in TARGETS}))
              .replace("LEVELS", script_json(band_levels or {})))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
{PAGE_STYLE}
</style>
<script>{plotly_js()}</script></head>
<body><h1>{html.escape(title)}</h1>
{f'<p class="warning">WARNING: {html.escape(warning)}</p>' if warning else ''}
<p><span id="state">listening</span>: <span id="status"></span></p>
<div id="plot" style="height: 420px"></div>
<pre id="data" hidden></pre>
<script>{script}</script>
</body></html>
"""
