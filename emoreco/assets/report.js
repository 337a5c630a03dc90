// emoreco report: draws the embedded run data with Plotly (inlined above), no network.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("emoreco-data").textContent);
  const songs = data.songs;
  const ROWS_SHOWN = 500, BARS_SHOWN = 40;
  const targets = data.targets;  // [{name, colour, describes, band}]: the columns and curves
  const colours = Object.fromEntries(targets.map(t => [t.name, t.colour]));
  let order = songs.map((_, i) => i), sortKey = "name", sortUp = true, selected = -1;

  const curve = (song, key) => song[key].map(v => (v === null ? null : v / 1000));
  const times = song => song[targets[0].name].map((_, k) => song.start + k * data.step);
  const fmt = v => (v === null || v === undefined ? "" : v.toFixed(3));

  function filtered() {
    const quadrant = document.getElementById("quadrant").value;
    const text = document.getElementById("search").value.toLowerCase();
    return order.filter(i => (!quadrant || songs[i].quadrant === quadrant) &&
                             (!text || songs[i].name.toLowerCase().includes(text)));
  }

  function drawTable() {
    const rows = filtered();
    const body = document.querySelector("#songs tbody");
    body.innerHTML = "";
    for (const i of rows.slice(0, ROWS_SHOWN)) {
      const s = songs[i], tr = document.createElement("tr");
      tr.dataset.index = i;
      if (i === selected) tr.className = "selected";
      const cells = [s.name];
      for (const t of targets) cells.push(fmt(s[t.name + "_mean"]), fmt(s[t.name + "_std"]));
      cells.push(s.quadrant || "", (s.end - s.start + data.step).toFixed(1));
      for (const v of cells) {
        const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      }
      tr.onclick = () => select(i);
      body.appendChild(tr);
    }
    document.getElementById("count").textContent = rows.length > ROWS_SHOWN ?
      `${rows.length} songs match; the first ${ROWS_SHOWN} are listed` : `${rows.length} songs`;
    drawBars(rows.slice(0, BARS_SHOWN));
  }

  function sortBy(key) {
    sortUp = key === sortKey ? !sortUp : true; sortKey = key;
    order.sort((a, b) => {
      const x = songs[a][key], y = songs[b][key];
      return (x < y ? -1 : x > y ? 1 : 0) * (sortUp ? 1 : -1);
    });
    drawTable();
  }

  function drawBars(rows) {
    const names = rows.map(i => songs[i].name);
    const trace = key => ({type: "bar", name: key, x: names, marker: {color: colours[key]},
      y: rows.map(i => songs[i][key + "_mean"]),
      error_y: {type: "data", array: rows.map(i => songs[i][key + "_std"]), visible: true}});
    Plotly.react("bars", targets.map(t => trace(t.name)), {
      barmode: "group", margin: {t: 30, b: 120}, yaxis: {range: [-1, 1], title: {text: "mean ± std"}},
      title: {text: `Song means (first ${names.length} rows of the table)`, font: {size: 14}}},
      {displaylogo: false, responsive: true, displayModeBar: "hover"});
  }

  function drawPlane() {
    const quadrantLabels = [[0.5, 0.92, "happy / excited"], [-0.5, 0.92, "angry / tense"],
                            [-0.5, -0.92, "sad / depressed"], [0.5, -0.92, "calm / relaxed"]];
    Plotly.newPlot("plane", [{
      type: songs.length > 2000 ? "scattergl" : "scatter", mode: "markers",
      x: songs.map(s => s.valence_mean), y: songs.map(s => s.arousal_mean),
      text: songs.map(s => s.name), hovertemplate: "%{text}<br>valence %{x:.3f}<br>arousal %{y:.3f}<extra></extra>",
      marker: {size: 9, color: "#444", opacity: 0.75}}], {
      xaxis: {range: [-1.05, 1.05], title: {text: "valence"}, zeroline: true},
      yaxis: {range: [-1.05, 1.05], title: {text: "arousal"}, zeroline: true},
      margin: {t: 40}, title: {text: "Song means (click a song)", font: {size: 14}, x: 0.02,
        xanchor: "left"},  // left of the toolbar
      annotations: quadrantLabels.map(([x, y, text]) => ({x, y, text, showarrow: false,
        font: {color: "#888", size: 12}}))}, {displaylogo: false, responsive: true, displayModeBar: "hover"});
    document.getElementById("plane").on("plotly_click", e => select(e.points[0].pointIndex));
  }

  // Large runs keep the curves in shard files next to the page (emotion_report_data/),
  // loaded by adding a script element when a song of theirs is selected (works from file://).
  const pending = {};
  window.emorecoShard = function (number, curves) {
    for (const s of songs) {
      if (s.shard === number && curves[s.name]) data.columns.forEach((c, j) => (s[c] = curves[s.name][j]));
    }
    (pending[number] || []).forEach(f => f());
    delete pending[number];
  };

  function withCurves(i, then) {
    const s = songs[i];
    if (s[targets[0].name]) return then();
    if (!pending[s.shard]) {
      pending[s.shard] = [];
      const tag = document.createElement("script");
      tag.src = `${data.shards}/curves-${String(s.shard).padStart(5, "0")}.js`;
      document.head.appendChild(tag);
    }
    pending[s.shard].push(then);
  }

  function select(i) {
    withCurves(i, () => draw(i));
  }

  function draw(i) {
    selected = i;
    const s = songs[i], t = times(s), a = curve(s, "arousal"), v = curve(s, "valence");
    // each target's band (where its model has one) shaded under its line
    const lines = targets.flatMap(target => {
      const line = {x: t, y: curve(s, target.name), name: target.name, line: {color: target.colour}};
      if (!s[target.name + "_low"]) return [line];
      const edge = (side, fill) => ({x: t, y: curve(s, target.name + "_" + side), mode: "lines",
        line: {width: 0, color: target.colour}, fill: fill, fillcolor: target.colour + "40",
        hoverinfo: "skip", showlegend: side === "high", legendgroup: target.name + "band",
        name: `${target.name}: ${Math.round(100 * target.band)} % band`});
      return [edge("low", "none"), edge("high", "tonexty"), line];
    });
    document.getElementById("song-title").textContent = s.name;
    const player = document.getElementById("player");
    if (s.audio) { player.src = s.audio; player.hidden = false; } else { player.hidden = true; }
    Plotly.react("timeline", lines, {
      xaxis: {title: {text: "time (s)"}}, yaxis: {range: [-1, 1], title: {text: "value"}}, margin: {t: 20},
      shapes: [{type: "line", x0: t[0], x1: t[0], y0: -1, y1: 1, line: {color: "#333", dash: "dot"}}]},
      {displaylogo: false, responsive: true, displayModeBar: "hover"});
    const both = t.map((_, k) => a[k] !== null && v[k] !== null);
    Plotly.react("trajectory", [
      {x: v.filter((_, k) => both[k]), y: a.filter((_, k) => both[k]),
       text: t.filter((_, k) => both[k]).map(x => x.toFixed(1) + " s"), mode: "lines+markers",
       marker: {size: 4}, line: {color: "#777"}, hovertemplate: "%{text}<br>valence %{x:.3f}<br>arousal %{y:.3f}<extra></extra>"},
      {x: [null], y: [null], mode: "markers", marker: {size: 16, color: "#e377c2"}, hoverinfo: "skip"}], {
      xaxis: {range: [-1.05, 1.05], title: {text: "valence"}},
      yaxis: {range: [-1.05, 1.05], title: {text: "arousal"}},
      showlegend: false, margin: {t: 20}}, {displaylogo: false, responsive: true, displayModeBar: "hover"});
    drawTable();
    document.body.dataset.ready = "1";
  }

  function follow() {
    if (selected < 0) return;
    const s = songs[selected], now = document.getElementById("player").currentTime;
    const k = Math.max(0, Math.min(times(s).length - 1, Math.round((now - s.start) / data.step)));
    Plotly.relayout("timeline", {"shapes[0].x0": now, "shapes[0].x1": now});
    const a = curve(s, "arousal")[k], v = curve(s, "valence")[k];
    Plotly.restyle("trajectory", {x: [[v]], y: [[a]]}, [1]);
  }

  document.querySelectorAll("#songs th").forEach(th => (th.onclick = () => sortBy(th.dataset.key)));
  document.getElementById("quadrant").onchange = drawTable;
  document.getElementById("search").oninput = drawTable;
  document.getElementById("player").ontimeupdate = follow;
  drawPlane();
  drawTable();
  if (songs.length) select(0); else document.body.dataset.ready = "1";
})();
