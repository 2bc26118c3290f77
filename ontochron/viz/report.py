"""One self-contained HTML report per run: summary numbers, every plot, top events, and an
interactive graph view of the ontology at a chosen step (inline SVG + slider, no CDN)."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.viz import PLOTS
from ontochron.viz.common import DEFAULT_TOP, check_top, concept_label
from ontochron.viz.data import PlotData

MAX_EVENTS = 50
MAX_NODES = 60

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d2330;background:#f6f7fb}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
main{padding:18px 28px;max-width:1200px}section{background:#fff;border-radius:8px;padding:14px 18px;
margin:0 0 18px;box-shadow:0 1px 3px rgba(0,0,0,.08)}h2{font-size:17px;margin:4px 0 10px}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #e4e6ee;
text-align:left}.nums{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));
gap:2px 18px;font-size:13px}.nums div{display:flex;justify-content:space-between;
border-bottom:1px solid #e4e6ee;padding:2px 0}.nums span{color:#555}#og-svg{width:100%;height:560px;background:#fbfcff;
border:1px solid #e4e6ee;border-radius:6px}.og-controls{display:flex;gap:14px;align-items:center;
margin-bottom:8px;font-size:14px}.scroll{max-height:420px;overflow:auto}.og-controls input[type=range]{width:340px}
"""

# Vanilla JS: draws the nodes/edges whose validity interval contains the chosen step.
_GRAPH_JS = """
(function(){
  var G = JSON.parse(document.getElementById('og-data').textContent);
  var svg = document.getElementById('og-svg'), slider = document.getElementById('og-step');
  var label = document.getElementById('og-step-label'), kindSel = document.getElementById('og-kind');
  var count = document.getElementById('og-count'), NS = 'http://www.w3.org/2000/svg';
  function holds(e, s){ return e.from <= s && (e.to === null || s < e.to); }
  function el(tag, attrs){ var n = document.createElementNS(NS, tag);
    for (var k in attrs){ n.setAttribute(k, attrs[k]); } return n; }
  function draw(){
    var s = G.steps[+slider.value], kind = kindSel.value, view = G.views[kind];
    label.textContent = s;
    while (svg.firstChild){ svg.removeChild(svg.firstChild); }
    if (!view){ count.textContent = 'no relations'; return; }
    var live = view.edges.filter(function(e){ return holds(e, s); }), used = {};
    live.forEach(function(e){
      var a = view.nodes[e.a], b = view.nodes[e.b]; used[e.a] = used[e.b] = true;
      var line = el('line', {x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: '#6a7bd1',
                             'stroke-width': 1.6, 'stroke-opacity': 0.75});
      var t = el('title', {}); t.textContent = a.label + ' \u2014 ' + b.label; line.appendChild(t);
      svg.appendChild(line);
    });
    view.nodes.forEach(function(n, i){
      var on = !!used[i];
      svg.appendChild(el('circle', {cx: n.x, cy: n.y, r: on ? 7 : 4,
        fill: on ? '#e4572e' : '#c9ccd6'}));
      var t = el('text', {x: n.x + 9, y: n.y + 4, 'font-size': 11,
        fill: on ? '#1d2330' : '#9aa0ad'}); t.textContent = n.label; svg.appendChild(t);
    });
    count.textContent = live.length + ' relations, ' + Object.keys(used).length + ' nodes active';
  }
  slider.addEventListener('input', draw); kindSel.addEventListener('change', draw);
  draw();
  var ok = document.createElement('div'); ok.id = 'ontochron-ready'; ok.hidden = true;
  document.body.appendChild(ok); document.body.setAttribute('data-ontochron-ready', '1');
})();
"""


def graph_views(data: PlotData, max_nodes: int = MAX_NODES) -> dict[str, Any]:
    """Per relation kind: nodes (circle layout, most-connected first) and interval edges."""
    r = data.relations
    kinds = np.asarray(r["kind"], dtype=object)
    views: dict[str, Any] = {}
    for kind in [k for k in ("connection", "hierarchy", "dependency", "dual") if (kinds == k).any()]:
        m = kinds == kind
        a, b = np.asarray(r["a"])[m], np.asarray(r["b"])[m]
        vf, vt = np.asarray(r["valid_from"])[m], np.asarray(r["valid_to"])[m]
        nodes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
        deg = np.bincount(inv, minlength=nodes.size)
        keep = np.sort(np.lexsort((nodes, -deg))[:max_nodes])
        remap = np.full(nodes.size, -1)
        remap[keep] = np.arange(keep.size)
        ia, ib = remap[inv[:a.size]], remap[inv[a.size:]]
        ok = (ia >= 0) & (ib >= 0)
        angle = 2 * np.pi * np.arange(keep.size) / max(keep.size, 1)
        cx, cy, rx, ry = 480, 280, 380, 235  # ellipse filling the 960 x 560 view
        is_concept = kind == "connection"
        views[kind] = {
            "nodes": [{"label": concept_label(data, int(n)) if is_concept else f"f{int(n)}",
                       "x": round(float(cx + rx * np.cos(t)), 1),
                       "y": round(float(cy + ry * np.sin(t)), 1)}
                      for n, t in zip(nodes[keep], angle, strict=True)],
            "edges": [{"a": int(x), "b": int(y), "from": int(f), "to": None if t < 0 else int(t)}
                      for x, y, f, t in zip(ia[ok], ib[ok], vf[ok], vt[ok], strict=True)]}
    return views


def _summary_rows(data: PlotData) -> list[tuple[str, str]]:
    rows = [("run", data.name), ("checkpoints", str(data.steps.size)),
            ("steps", f"{int(data.steps[0])} … {int(data.steps[-1])}" if data.steps.size else "-"),
            ("concepts", str(len(data.concepts))), ("features", str(data.n_features))]
    for k, v in data.summary.items():
        if isinstance(v, (int, float, str, bool)) and k not in ("run_id", "run"):
            rows.append((k, str(v)))
    ev = np.asarray(data.events["kind"], dtype=object)
    for kind in np.unique(ev) if ev.size else []:
        rows.append((f"events: {kind}", str(int((ev == kind).sum()))))
    if data.causal:
        rows.append(("causal features", str(sum(bool(r.get("causal")) for r in data.causal))))
    return rows


def _events_table(data: PlotData, limit: int) -> str:
    ev = data.events
    n = len(ev["step"])
    if n == 0:
        return "<p>No events.</p>"
    kinds = np.asarray(ev["kind"], dtype=object)
    # rare kinds (phase transitions, deaths) before common ones, then by step
    _, inv, counts = np.unique(kinds.astype(str), return_inverse=True, return_counts=True)
    order = np.lexsort((np.asarray(ev["step"]), counts[inv]))[:limit]
    rows = []
    for i in order:
        c, f = int(ev["concept"][i]), int(ev["feature"][i])
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in (
            int(ev["step"][i]), kinds[i], concept_label(data, c) if c >= 0 else "",
            f"f{f}" if f >= 0 else "", ev["detail"][i] or "")) + "</tr>")
    return ('<div class="scroll"><table><tr><th>step</th><th>event</th><th>concept</th>'
            "<th>feature</th><th>detail</th></tr>" + "".join(rows) + f"</table></div><p>{min(n, limit)} of {n} events "
            "shown (rarest kinds first).</p>")


def _json_script(obj: Any) -> str:
    # JSON inside <script>: escape "</" so the data cannot close the tag
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/")


def build_report(data: PlotData, top: int = DEFAULT_TOP, events: int = MAX_EVENTS) -> str:
    """The report as one HTML string (plotly.js inlined once)."""
    top = check_top(top)
    import plotly.io as pio

    figs = []
    for i, (name, mod) in enumerate(PLOTS.items()):
        fig = mod.figure(data, top)
        figs.append(f'<section id="plot-{name}">' + pio.to_html(
            fig, include_plotlyjs=(i == 0), full_html=False, div_id=f"plot-{name}-div")
            + "</section>")
    views = graph_views(data)
    steps = [int(s) for s in data.steps]
    options = "".join(f'<option value="{html.escape(k)}">{html.escape(k)}</option>'
                      for k in views) or '<option value="">none</option>'
    graph = (
        '<section id="ontology-graph"><h2>Ontology at a step</h2><div class="og-controls">'
        f'<label>relation <select id="og-kind">{options}</select></label>'
        f'<label>step <input id="og-step" type="range" min="0" max="{max(len(steps) - 1, 0)}" '
        f'value="{max(len(steps) - 1, 0)}"></label><b id="og-step-label"></b>'
        '<span id="og-count"></span></div>'
        '<svg id="og-svg" viewBox="0 0 960 560" xmlns="http://www.w3.org/2000/svg"></svg>'
        '<script type="application/json" id="og-data">'
        + _json_script({"steps": steps or [0], "views": views}) + "</script></section>")
    nums = "".join(f"<div><span>{html.escape(k)}</span><b>{html.escape(v)}</b></div>"
                   for k, v in _summary_rows(data))
    title = html.escape(f"ontochron report: {data.name}")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{title}</h1></header><main>"
            f'<section id="summary"><h2>Summary</h2><div class="nums">{nums}</div></section>'
            + graph
            + f'<section id="events"><h2>Top events</h2>{_events_table(data, events)}</section>'
            + "".join(figs)
            + f"<script>{_GRAPH_JS}</script></main></body></html>")


def write_report(data: PlotData, path: str | os.PathLike[str], top: int = DEFAULT_TOP) -> Path:
    """Write the report HTML to ``path`` (parent directories created)."""
    p = Path(path)
    if p.exists() and p.is_dir():
        raise InputError("report path is a directory", p)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(build_report(data, top), encoding="utf-8")
    return p
