"""One HTML report per run, laid out as a figure page: a summary table (one row per count, each
with its definition), the plots with captions, the lineage flow, an interactive graph view of
the ontology at a chosen step (inline SVG + slider), the top events and the definitions. Related
runs (e.g. the demo's per-checkpoint SAEs) can add their lineage figures in a section of their
own.

plotly.js (~4.8 MB minified) does not fit the 1.5 MB budget inline, so the report loads it once
from ``plotly.min.js`` in the same directory (written next to it; no CDN, works offline)."""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.viz import LINEAGE_PLOTS, PLOTS, default_plots
from ontochron.viz.common import (
    DEFAULT_TOP,
    HTML_CONFIG,
    PLOTLY_JS,
    check_top,
    concept_label,
    write_plotly_js,
)
from ontochron.viz.data import PlotData
from ontochron.viz.methods import connection_test, phase_rule

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
h3{font-size:15px;margin:2px 0 6px}.cap{color:#454b57;font-size:13px;line-height:1.45;margin:6px 2px 0}
table.summary th{font-weight:600;white-space:nowrap}table.summary td.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}table.summary td.def{color:#5b6270}
dl{font-size:13px}dt{font-weight:600;margin-top:6px}dd{margin:2px 0 0 14px;color:#454b57}
"""

# Vanilla JS: draws the relations whose validity interval holds at the chosen step. Node
# positions are fixed per relation kind (computed once in Python), so moving the slider never
# moves a node; only labels that were placed without overlap are drawn.
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
    label.textContent = 'step ' + s;
    while (svg.firstChild){ svg.removeChild(svg.firstChild); }
    if (!view){ count.textContent = 'no relations'; return; }
    view.axis.forEach(function(a){
      var t = el('text', {x: a.x, y: 16, 'font-size': 11, fill: '#6b7280',
        'text-anchor': 'middle'}); t.textContent = a.text; svg.appendChild(t);
      svg.appendChild(el('line', {x1: a.x, y1: 24, x2: a.x, y2: 548, stroke: '#eef0f5'}));
    });
    var live = view.edges.filter(function(e){ return holds(e, s); }), used = {};
    live.forEach(function(e){
      var a = view.nodes[e.a], b = view.nodes[e.b]; used[e.a] = used[e.b] = true;
      var mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2, dx = b.x - a.x, dy = b.y - a.y;
      var cx = mx - dy * 0.18, cy = my + dx * 0.18;
      var path = el('path', {d: 'M' + a.x + ' ' + a.y + ' Q' + cx + ' ' + cy + ' ' + b.x + ' ' + b.y,
        fill: 'none', stroke: '#6a7bd1', 'stroke-width': 1.3, 'stroke-opacity': 0.55});
      var t = el('title', {}); t.textContent = a.label + ' \u2014 ' + b.label; path.appendChild(t);
      svg.appendChild(path);
    });
    view.nodes.forEach(function(n, i){
      var on = !!used[i];
      var c = el('circle', {cx: n.x, cy: n.y, r: on ? 5.5 : 3.5, fill: on ? '#e4572e' : '#c9ccd6'});
      var tt = el('title', {}); tt.textContent = n.label; c.appendChild(tt); svg.appendChild(c);
      if (n.lab){
        var t = el('text', {x: n.lab[0], y: n.lab[1], 'font-size': 10.5,
          'text-anchor': n.lab[2], fill: on ? '#1d2330' : '#b0b5c0'});
        t.textContent = n.label; svg.appendChild(t);
      }
    });
    count.textContent = live.length + ' relations, ' + Object.keys(used).length + ' of ' +
      view.nodes.length + ' nodes active';
  }
  slider.addEventListener('input', draw); kindSel.addEventListener('change', draw);
  draw();
  var ok = document.createElement('div'); ok.id = 'ontochron-ready'; ok.hidden = true;
  document.body.appendChild(ok); document.body.setAttribute('data-ontochron-ready', '1');
})();
"""

_W, _H, _TOP, _BOTTOM = 960, 560, 34, 548
_CHAR_W, _LINE_H = 6.0, 12.0   # label box estimate for 10.5 px system-ui text


def _columns(key: np.ndarray, max_cols: int = 10) -> tuple[np.ndarray, list[Any]]:
    """Column of each node: distinct keys in order, merged into at most ``max_cols`` bins."""
    uniq, inv = np.unique(key, return_inverse=True)
    if uniq.size <= max_cols:
        return inv, list(uniq)
    edges = np.unique(np.quantile(np.arange(uniq.size), np.linspace(0, 1, max_cols + 1))
                      .astype(int))
    col = np.clip(np.searchsorted(edges, inv, side="right") - 1, 0, edges.size - 2)
    return col, [uniq[edges[i]] for i in range(edges.size - 1)]


def _place_labels(x: np.ndarray, y: np.ndarray, text: list[str], order: np.ndarray) -> list:
    """Greedy label placement (most connected first): right of the node, else left, else none,
    so no two drawn labels overlap and none leaves the canvas."""
    boxes: list[tuple[float, float, float, float]] = []
    nodes = [(float(a), float(b)) for a, b in zip(x, y, strict=True)]
    out: list[Any] = [None] * len(text)
    for i in order:
        w = _CHAR_W * len(text[i]) + 2
        for side in ("start", "end"):
            x0 = x[i] + 8 if side == "start" else x[i] - 8 - w
            box = (x0, y[i] - _LINE_H / 2 - 1, x0 + w, y[i] + _LINE_H / 2)
            if box[0] < 2 or box[2] > _W - 2:
                continue
            hit = any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                      for b in boxes)
            hit = hit or any(box[0] - 4 < nx < box[2] + 4 and box[1] - 4 < ny < box[3] + 4
                             for j, (nx, ny) in enumerate(nodes) if j != i)
            if not hit:
                boxes.append(box)
                out[i] = [round(x[i] + (8 if side == "start" else -8), 1),
                          round(float(y[i]) + 4, 1), side]
                break
    return out


def graph_views(data: PlotData, max_nodes: int = MAX_NODES) -> dict[str, Any]:
    """Per relation kind: a fixed layout of the most-connected nodes and their interval edges.

    Feature relations (hierarchy, dependency) are laid out by hierarchy layer, the others
    (concept connections, duals) by time: the column is the step a node first gets a
    relation. Within a column nodes are ordered by the mean row of their neighbours in earlier
    columns (one barycentre sweep, fewer crossings)."""
    from ontochron.viz.swimlane import feature_layers

    r = data.relations
    kinds = np.asarray(r["kind"], dtype=object)
    layer = feature_layers(data)
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
        ia, ib, vf_k, vt_k = ia[ok], ib[ok], vf[ok], vt[ok]
        k = keep.size
        by_layer = kind in ("hierarchy", "dependency")
        if by_layer:
            ids = nodes[keep]
            key = np.where((ids >= 0) & (ids < layer.size), layer[np.clip(ids, 0, None)
                                                                  % max(layer.size, 1)], 0)
        else:
            key = np.full(k, np.iinfo(np.int64).max)
            np.minimum.at(key, np.r_[ia, ib], np.r_[vf_k, vf_k])
        col, col_keys = _columns(key)
        ncol = len(col_keys)
        per = 20                                  # rows per sub-column (25 px apart)
        nsub = np.maximum(1, -(-np.bincount(col, minlength=ncol) // per))
        # columns get width in proportion to their sub-columns, so a crowded column spreads
        slot = (_W - 190) / max(int(nsub.sum()) - 1, 1)
        left = 70 + slot * np.r_[0, np.cumsum(nsub)[:-1]]
        xs = left + slot * (nsub - 1) / 2 if nsub.sum() > 1 else np.array([_W / 2])
        x, y = np.zeros(k), np.zeros(k)
        row = np.zeros(k)
        kdeg = deg[keep]
        for c in range(ncol):
            mem = np.flatnonzero(col == c)
            if c:   # barycentre of already placed neighbours
                nb = np.zeros(k)
                cnt = np.zeros(k)
                for p, q in ((ia, ib), (ib, ia)):
                    earlier = col[q] < c
                    np.add.at(nb, p[earlier], row[q[earlier]])
                    np.add.at(cnt, p[earlier], 1)
                bary = np.where(cnt > 0, nb / np.maximum(cnt, 1), 0.5)
            else:
                bary = np.zeros(k)
            mem = mem[np.lexsort((nodes[keep][mem], -kdeg[mem], bary[mem]))]
            sub = np.arange(mem.size) // per        # overflow: side-by-side sub-columns
            pos = np.arange(mem.size) % per
            nrow = min(mem.size, per)
            row[mem] = (pos + 0.5) / max(nrow, 1)
            y[mem] = _TOP + (_BOTTOM - _TOP) * row[mem] + 6 * (sub % 2)
            x[mem] = (left[c] + slot * sub) if nsub.sum() > 1 else xs[c]
        is_concept = kind == "connection"
        labels = [concept_label(data, int(n)) if is_concept else f"f{int(n)}" for n in nodes[keep]]
        labs = _place_labels(x, y, labels, np.lexsort((np.arange(k), -kdeg)))
        axis_text = [f"layer {v}" for v in col_keys] if by_layer else \
            [f"from step {v}" for v in col_keys]
        views[kind] = {
            "layout": "layer" if by_layer else "time",
            "axis": [{"x": round(float(xx), 1), "text": t} for xx, t in zip(xs, axis_text,
                                                                               strict=True)],
            "nodes": [{"label": lab, "x": round(float(xx), 1), "y": round(float(yy), 1),
                       "lab": pl} for lab, xx, yy, pl in zip(labels, x, y, labs, strict=True)],
            "edges": [{"a": int(p), "b": int(q), "from": int(f), "to": None if t < 0 else int(t)}
                      for p, q, f, t in zip(ia, ib, vf_k, vt_k, strict=True)]}
    return views


# (label, summary.json key(s), definition anchor, definition). One row per count; the first
# key present wins, so aliases (n_features / features) never make two rows.
_ROWS = [
    ("checkpoints", ("n_steps",), "checkpoints", "training steps with a snapshot of the codes"),
    ("concepts", ("n_concepts",), "concepts", "inputs or labels whose binary code is tracked"),
    ("features", ("n_features",), "features", "code dimensions (dictionary latents / bits)"),
    ("births", ("births",), "births", "(concept, feature) pairs switching on for the first time "
     "(start of the pair's first ACTIVATES interval)"),
    ("deaths", ("deaths",), "deaths", "pairs whose last ACTIVATES interval ends before the last "
     "checkpoint"),
    ("connections", ("connections", "connection_intervals"), "connections",
     "CONNECTED intervals: concept pairs sharing significantly many features ({connection_test}), "
     "one per maximal run of checkpoints"),
    ("connections at the last step", ("connections_last",), "connections",
     "concept pairs connected at the last checkpoint"),
    ("phase transitions", ("phase_transitions",), "phase-transitions",
     "one per (curve, step): a jump between consecutive checkpoints far outside the curve's "
     "usual change ({phase_rule})"),
    ("hierarchy edges", ("hierarchy_edges", "structure_hierarchy_last"), "hierarchy",
     "PARENT_OF edges between features at the last checkpoint"),
    ("hierarchy layers", ("structure_layers",), "hierarchy", "depth of the PARENT_OF tree"),
    ("dependencies", ("dependencies", "structure_dependency_last"), "structure",
     "feature pairs with P(b | a) above the confidence threshold, at the last checkpoint"),
    ("duals", ("duals", "structure_dual_last"), "structure",
     "feature pairs that are (nearly) never on together, at the last checkpoint"),
    ("triads", ("triads", "structure_triad_last"), "structure",
     "feature triples where two together predict a third better than each alone"),
    ("stable features", ("structure_stable_features",), "structure",
     "features unchanged over the stability window at the end"),
]
_LINEAGE_ROWS = [
    ("lineages", "lineages", "features followed across checkpoints by 1:1 decoder matches"),
    ("lineage splits", "split", "one lineage becomes several (one row per child)"),
    ("lineage merges", "merge", "several lineages become one (one row per parent)"),
    ("lineage births", "birth", "latents with no match at the previous checkpoint"),
    ("lineage deaths", "death", "latents with no match at the next checkpoint"),
]
_DOC = "docs/definitions.md"


def summary_rows(data: PlotData) -> list[tuple[str, str, str, str]]:
    """(quantity, value, anchor, definition): one row per count, no duplicated keys."""
    s = data.summary
    steps = data.steps
    out = [("run", data.name, "", "")]
    if steps.size:
        out.append(("training steps", f"{int(steps[0]):,} … {int(steps[-1]):,}", "checkpoints",
                    "first and last checkpoint (training step)"))
    methods = {"connection_test": connection_test(s), "phase_rule": phase_rule(s)}
    fallback = {"n_steps": steps.size, "n_concepts": len(data.concepts),
                "n_features": data.n_features}
    for label, keys, anchor, text in _ROWS:
        key = next((k for k in keys if isinstance(s.get(k), (int, float))
                    and not isinstance(s.get(k), bool)), None)
        value = s[key] if key else fallback.get(keys[0])
        if value is None:
            continue
        out.append((label, f"{value:,}" if isinstance(value, int) else f"{value:.4g}", anchor,
                    text.format(**methods)))
    c = s.get("causal") if isinstance(s.get("causal"), dict) else {}
    if c.get("n_tested") is not None or data.causal:
        n_t = c.get("n_tested", len(data.causal))
        n_c = c.get("n_causal", sum(bool(r.get("causal")) for r in data.causal))
        out.append(("causal features", f"{n_c:,} of {n_t:,} tested", "causal",
                    "features whose intervention effect is significant (q ≤ alpha, BH)"))
    if data.lineage is not None:
        from ontochron.viz.lineage import counts

        cnt = counts(data.lineage)
        cnt["lineages"] = int(data.lineage.summary.get("lineages", data.lineage.n_lineages))
        for label, key, text in _LINEAGE_ROWS:
            out.append((label, f"{cnt[key]:,}", "lineage", text))
    return out


_DEFINITIONS = {
    "checkpoints": "A checkpoint is a training step at which the codes were recorded; every "
                   "x axis is in training steps.",
    "concepts": "A concept is an input class or probe whose binary code (which features are "
                "on) is tracked over checkpoints.",
    "features": "A feature is one dimension of the code: a bottleneck bit, a VQ code or an "
                "SAE latent.",
    "births": "Birth: the first checkpoint at which a (concept, feature) pair is active. "
              "Death: the pair's last active interval ends before the last checkpoint.",
    "deaths": "See births.",
    "connections": "Two concepts are connected over an interval when they share significantly "
                   "many features; this run: {connection_test}.",
    "phase-transitions": "A phase transition is one (curve, step) whose jump from the previous "
                         "checkpoint is far outside the curve's usual change; this run: "
                         "{phase_rule}. The phase plot's count uses the same definition.",
    "hierarchy": "PARENT_OF: a tree over features built from their dependencies "
                 "(docs/structure.md); its layer is the depth from a root.",
    "structure": "Dependencies, duals and triads between features: docs/structure.md.",
    "causal": "From `ontochron verify`: ablate the feature and compare the loss change on its "
              "own concepts with the others (permutation test, BH across features).",
    "lineage": "A lineage is a maximal chain of 1:1 continue links between consecutive "
               "checkpoints' dictionaries; a split ends the parent and starts a lineage per "
               "child, a merge ends every parent and starts one lineage.",
}


def _summary_table(data: PlotData, anchors: tuple[str, ...] | None = None) -> str:
    """The summary table; with ``anchors`` only the rows of those definitions."""
    rows = []
    for label, value, anchor, text in summary_rows(data):
        if anchors is not None and anchor not in anchors:
            continue
        link = f' <a href="#def-{anchor}" title="{html.escape(text)}">def</a>' if anchor else ""
        rows.append(f"<tr><th>{html.escape(label)}</th><td class=num>{html.escape(value)}</td>"
                    f"<td class=def>{html.escape(text)}{link}</td></tr>")
    return '<table class="summary">' + "".join(rows) + "</table>"


def _definitions(data: PlotData) -> str:
    methods = {"connection_test": connection_test(data.summary),
               "phase_rule": phase_rule(data.summary)}
    items = "".join(f'<dt id="def-{k}">{html.escape(k.replace("-", " "))}</dt>'
                    f"<dd>{html.escape(v.format(**methods))}</dd>"
                    for k, v in _DEFINITIONS.items())
    return (f'<section id="definitions"><h2>Definitions</h2><dl>{items}</dl>'
            f"<p>Full definitions: {_DOC} and docs/structure.md of ontochron.</p></section>")


def _events_table(data: PlotData, limit: int) -> str:
    ev = data.events
    n = len(ev["step"])
    rows_html = []
    kinds = np.asarray(ev["kind"], dtype=object)
    # phase transitions first, one row per step (its metrics), then lineage splits/merges,
    # then the rarest remaining kinds by step
    pt = kinds == "phase_transition"
    if pt.any():
        from ontochron.viz.phases import by_metric

        per: dict[int, list[str]] = {}
        for metric, steps in by_metric(data).items():
            for s in steps:
                per.setdefault(int(s), []).append(metric or "?")
        for s in sorted(per):
            rows_html.append((s, "phase transition", "", "", ", ".join(sorted(per[s]))))
    if data.lineage is not None:
        le = data.lineage.events
        lk = np.asarray(le["kind"], dtype=object)
        for kind in ("split", "merge"):
            m = lk == kind
            steps, cnt = np.unique(le["step"][m], return_counts=True)
            for s, c in sorted(zip(steps, cnt, strict=True), key=lambda t: (-t[1], t[0]))[:10]:
                rows_html.append((int(s), f"lineage {kind}s", "", "", f"{int(c)} rows"))
    rest = np.flatnonzero(~pt)
    if rest.size:
        _, inv, counts = np.unique(kinds[rest].astype(str), return_inverse=True,
                                   return_counts=True)
        order = rest[np.lexsort((np.asarray(ev["step"])[rest], counts[inv]))]
        for i in order[:max(0, limit - len(rows_html))]:
            c, f = int(ev["concept"][i]), int(ev["feature"][i])
            rows_html.append((int(ev["step"][i]), str(kinds[i]).replace("_", " "),
                              concept_label(data, c) if c >= 0 else "",
                              f"f{f}" if f >= 0 else "", ev["detail"][i] or ""))
    if not rows_html:
        return "<p>No events.</p>"
    shown = rows_html[:limit]
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in r) + "</tr>"
                   for r in shown)
    return ('<div class="scroll"><table><tr><th>step</th><th>event</th><th>concept</th>'
            f"<th>feature</th><th>detail</th></tr>{body}</table></div><p class=cap>{len(shown)} "
            f"rows of {n:,} events: phase transitions (one row per step, its curves), the "
            "steps with most lineage splits / merges, then the rarest event kinds by step.</p>")


def _json_script(obj: Any) -> str:
    # JSON inside <script>: escape "</" so the data cannot close the tag
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/")


FIGURE_ORDER = ("phases", "swimlane", "lineage", "drift", "churn", "hierarchy", "causal")


def _figure(data: PlotData, name: str, number: int, top: int, prefix: str = "") -> str:
    """One numbered figure section (heading from the plot's title, plotly div, caption)."""
    import plotly.io as pio

    mod = PLOTS[name]
    reason = getattr(mod, "empty_reason", lambda _d: None)(data)
    if reason:   # nothing to draw: say why instead of an empty chart
        return (f'<section id="plot-{prefix}{name}" class="fig empty"><h3>Figure {number}. '
                f"{html.escape(mod.TITLE)}</h3><p class=empty-reason>{html.escape(reason)}</p>"
                "</section>")
    fig = mod.figure(data, top)
    title = fig.layout.title.text or name
    fig.update_layout(title=None, margin={"t": 30})
    div = pio.to_html(fig, include_plotlyjs=False, full_html=False,
                      div_id=f"plot-{prefix}{name}-div", config=HTML_CONFIG)
    return (f'<section id="plot-{prefix}{name}" class="fig"><h3>Figure {number}. '
            f"{html.escape(title)}</h3>{div}<p class=cap>{html.escape(mod.caption(data, top))}"
            "</p></section>")


def run_anchor(data: PlotData) -> str:
    """The HTML id of a related run's section: ``run-<name>`` (other characters as -)."""
    return "run-" + re.sub(r"[^A-Za-z0-9_-]", "-", data.name)


def _related_section(rel: PlotData, first: int, top: int) -> tuple[str, int]:
    """A related run's lineage figures under its own heading and lineage summary rows;
    returns the HTML and the number of figures."""
    anchor = run_anchor(rel)
    prefix = anchor[len("run-"):] + "-"
    figs = [_figure(rel, name, first + i, top, prefix)
            for i, name in enumerate(n for n in FIGURE_ORDER if n in LINEAGE_PLOTS)]
    return (f'<section id="{anchor}" class="run"><h2>Feature lineages of run '
            f"{html.escape(rel.name)}</h2><p class=cap>Dictionaries trained per checkpoint "
            "(their latents are not aligned between checkpoints) matched into lineages by "
            "decoder direction; the counts below and the figures are that run's.</p>"
            f"{_summary_table(rel, anchors=('lineage',))}</section>" + "".join(figs),
            len(figs))


def build_report(data: PlotData, top: int = DEFAULT_TOP, events: int = MAX_EVENTS,
                 related: Sequence[PlotData] = ()) -> str:
    """The report as one HTML string; plotly.js is loaded once, from ``plotly.min.js`` next
    to the report (:func:`write_report` writes it). ``related``: other runs whose lineage flow
    and drift figures follow this run's figures (runs without lineage files are left out)."""
    top = check_top(top)
    names = [n for n in FIGURE_ORDER if n in default_plots(data)]
    figs = [_figure(data, name, i, top) for i, name in enumerate(names, start=1)]
    extra, number = [], len(figs) + 1
    for rel in (r for r in related if r.lineage is not None):
        section, n = _related_section(rel, number, top)
        extra.append(section)
        number += n
    views = graph_views(data)
    steps = [int(s) for s in data.steps]
    options = "".join(f'<option value="{html.escape(k)}">{html.escape(k)} '
                      f'(by {v["layout"]})</option>' for k, v in views.items()) \
        or '<option value="">none</option>'
    graph = (
        '<section id="ontology-graph"><h2>Ontology at a step</h2><div class="og-controls">'
        f'<label>relation <select id="og-kind">{options}</select></label>'
        f'<label>step <input id="og-step" type="range" min="0" max="{max(len(steps) - 1, 0)}" '
        f'value="{max(len(steps) - 1, 0)}"></label><b id="og-step-label"></b>'
        '<span id="og-count"></span></div>'
        f'<svg id="og-svg" viewBox="0 0 {_W} {_H}" xmlns="http://www.w3.org/2000/svg"></svg>'
        '<p class=cap>The most-connected concepts (connection) or features (hierarchy, '
        "dependency, dual) at fixed positions: columns are hierarchy layers (by layer) or the "
        "step a node first gets a relation (by time), so dragging the step slider only changes "
        "which relations are drawn (orange nodes are in one at that step). Labels are drawn "
        "where they do not overlap; hover a node or edge for its name.</p>"
        '<script type="application/json" id="og-data">'
        + _json_script({"steps": steps or [0], "views": views}) + "</script></section>")
    title = html.escape(f"ontochron report: {data.name}")
    lineage_note = "" if data.lineage is not None else (
        "<p class=cap>No lineage files in this run (lineage.csv, lineage_events.csv, "
        "drift.csv): the lineage flow and drift figures appear when features are matched "
        "across per-checkpoint dictionaries" + (": see " + ", ".join(
            f'<a href="#{run_anchor(r)}">run {html.escape(r.name)}</a>' for r in related
            if r.lineage is not None) + " below" if extra else "") + ".</p>")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><style>{_CSS}</style>"
            f'<script src="{PLOTLY_JS}" charset="utf-8"></script></head><body>'
            f"<header><h1>{title}</h1></header><main>"
            f'<section id="summary"><h2>Summary</h2>{_summary_table(data)}</section>'
            + "".join(figs[:2]) + lineage_note + "".join(figs[2:]) + "".join(extra)
            + graph
            + f'<section id="events"><h2>Top events</h2>{_events_table(data, events)}</section>'
            + _definitions(data)
            + f"<script>{_GRAPH_JS}</script></main></body></html>")


def write_report(data: PlotData, path: str | os.PathLike[str], top: int = DEFAULT_TOP,
                 related: Sequence[PlotData] = ()) -> Path:
    """Write the report HTML to ``path`` (parent directories created); ``related`` as in
    :func:`build_report`."""
    p = Path(path)
    if p.exists() and p.is_dir():
        raise InputError("report path is a directory", p)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(build_report(data, top, related=related), encoding="utf-8")
    write_plotly_js(p.parent)
    return p
