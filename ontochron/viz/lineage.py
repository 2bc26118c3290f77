"""Lineage flow (alluvial view of feature lineages over checkpoints) and the drift heatmap.

A lane is one lineage (a chain of 1:1 continue links, docs/plots.md); splits and merges are
curves from the parent's last checkpoint to the child's first, births and deaths are markers.
With many lineages only the most eventful families (connected by splits/merges) get lanes, the
rest are summed into an "others" band, and the title says how many are shown.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ontochron.viz.common import DEFAULT_TOP, check_top, distinct_colors, empty_note
from ontochron.viz.data import LineageData, PlotData

TITLE = "Lineage flow"
COLORS = ("drift", "label", "family")
_CMAP = "viridis"
_NO_LINEAGE = "no lineage files (lineage.csv, lineage_events.csv, drift.csv)"
_SPLIT, _MERGE, _BIRTH, _DEATH = "#d9822b", "#7b4fb0", "#1a7f37", "#b42318"


def dead_lineages(lin: LineageData) -> np.ndarray:
    """Ids of the lineages of dead latents (summary.json ``dead.lineages``; none if absent)."""
    dead = lin.summary.get("dead")
    ids = dead.get("lineages") if isinstance(dead, dict) else None
    ids = np.asarray(ids if isinstance(ids, list) else [], dtype=np.int64)
    return ids[(ids >= 0) & (ids < lin.n_lineages)]


def initial_count(lin: LineageData) -> int:
    """Live lineages at the first checkpoint: summary.json ``initial``, else counted."""
    own = lin.summary.get("initial")
    if isinstance(own, int) and not isinstance(own, bool):
        return own
    mats = _matrices(lin)
    return int(mats["present"][:, 0].sum()) if lin.steps.size else 0


def _matrices(lin: LineageData) -> dict[str, np.ndarray]:
    """(n_lineages, T) presence (dead latents' lineages never present: they are not
    features), cos_first and cos_prev (NaN where absent)."""
    steps = lin.steps
    n, t = lin.n_lineages, steps.size
    present = np.zeros((n, t), dtype=bool)
    m = lin.members
    present[m["feature"], np.searchsorted(steps, m["step"])] = True
    present[dead_lineages(lin)] = False
    cf, cp = np.full((n, t), np.nan), np.full((n, t), np.nan)
    d = lin.drift
    ok = (d["feature"] >= 0) & (d["feature"] < n) & np.isin(d["step"], steps)
    ti = np.searchsorted(steps, d["step"][ok])
    cf[d["feature"][ok], ti] = d["cos_first"][ok]
    cp[d["feature"][ok], ti] = d["cos_prev"][ok]
    return {"present": present, "cos_first": cf, "cos_prev": cp}


def counts(lin: LineageData) -> dict[str, int]:
    """Event counts: summary.json's ``counts`` where given, else the event rows per kind."""
    own = lin.summary.get("counts") if isinstance(lin.summary.get("counts"), dict) else {}
    kinds = np.asarray(lin.events["kind"], dtype=object)
    return {k: int(own[k]) if k in own else int((kinds == k).sum())
            for k in ("birth", "death", "split", "merge")}


def layout(lin: LineageData, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """Choose the lanes: whole families (split/merge components) by eventfulness, up to ``top``
    lineages; order each family depth-first from its roots so children sit under parents."""
    top = check_top(top)
    n = lin.n_lineages
    mats = _matrices(lin)
    ev = lin.events
    kinds = np.asarray(ev["kind"], dtype=object)
    link = np.isin(kinds.astype(str), ("split", "merge")) & (ev["source"] >= 0) \
        & (ev["target"] >= 0) & (ev["source"] < n) & (ev["target"] < n)
    # links in (step, kind, source, target) order: the picture does not depend on row order
    lk = np.flatnonzero(link)
    lk = lk[np.lexsort((ev["target"][lk], ev["source"][lk], kinds[lk].astype(str),
                        ev["step"][lk]))]
    link = lk
    src, dst = ev["source"][link], ev["target"][link]
    g = coo_matrix((np.ones(src.size), (src, dst)), shape=(n, n))
    n_fam, fam = connected_components(g, directed=False) if n else (0, np.zeros(0, int))
    involved = np.bincount(np.r_[src, dst], minlength=n).astype(float)
    dead = (kinds == "death") & (ev["source"] >= 0) & (ev["source"] < n)
    involved += np.bincount(ev["source"][dead], minlength=n)
    ok = mats["present"] & np.isfinite(mats["cos_first"])  # none on a dead latents' lineage
    low = np.where(ok, mats["cos_first"], np.inf).min(axis=1) if n else np.zeros(0)
    drift = 1.0 - np.where(np.isfinite(low), low, 1.0)
    score = involved + drift
    fam_score = np.bincount(fam, weights=score, minlength=n_fam)
    fam_size = np.bincount(fam, minlength=n_fam)
    chosen: list[int] = []
    fam_order = np.lexsort((np.arange(n_fam), -fam_score))
    children: dict[int, list[int]] = {}
    for a, b in zip(src.tolist(), dst.tolist(), strict=True):
        children.setdefault(a, []).append(b)
    first = np.argmax(mats["present"], axis=1) if n else np.zeros(0, int)
    has_parent = np.zeros(n, dtype=bool)
    has_parent[dst] = True
    members_of = np.argsort(fam, kind="stable")
    bounds = np.r_[0, np.cumsum(fam_size)]
    for fi in fam_order:
        if len(chosen) >= top:
            break
        mem = members_of[bounds[fi]:bounds[fi + 1]]
        if len(chosen) + mem.size > top and chosen:
            continue   # a family is shown whole or not at all (unless it is the first)
        roots = sorted((int(x) for x in mem if not has_parent[x]), key=lambda x: (first[x], x))
        seen: set[int] = set()
        stack = roots[::-1] or [int(mem[0])]
        while stack and len(chosen) < top:   # depth-first: children right below the parent
            x = stack.pop()
            if x in seen:
                continue
            seen.add(x)
            chosen.append(x)
            stack.extend(sorted(children.get(x, []), key=lambda c: (first[c], c))[::-1])
    lanes = np.array(chosen, dtype=np.int64)
    shown_per_family = np.bincount(fam[lanes], minlength=n_fam) if lanes.size else fam_size * 0
    truncated = bool(((shown_per_family > 0) & (shown_per_family < fam_size)).any())
    lane_of = np.full(n, -1, dtype=np.int64)
    lane_of[lanes] = np.arange(lanes.size)
    others = ~np.isin(np.arange(n), lanes)
    return {"lanes": lanes, "lane_of": lane_of, "truncated": truncated, "family": fam, "n_families": int(n_fam),
            "shown_families": int(np.unique(fam[lanes]).size) if lanes.size else 0,
            "others_alive": mats["present"][others].sum(0), "n_others": int(others.sum()),
            "src": src, "dst": dst, "kind": kinds[link], **mats}


def _fmt_counts(lin: LineageData) -> str:
    c = counts(lin)
    dead = dead_lineages(lin).size
    return (f"{initial_count(lin):,} initial, "
            + ", ".join(f"{c[k]:,} {k}s" for k in ("split", "merge", "birth", "death"))
            + (f"; {dead:,} lineages of dead latents not drawn" if dead else ""))


def title(lin: LineageData, lay: dict[str, Any]) -> str:
    shown = lay["lanes"].size
    return (f"{TITLE}: {shown:,} of {lin.n_lineages:,} lineages shown "
            f"({lay['shown_families']:,} of {lay['n_families']:,} families"
            f"{', the largest cut at ' + str(shown) if lay['truncated'] else ''}); "
            f"{_fmt_counts(lin)}")


def caption(data: PlotData, top: int = DEFAULT_TOP) -> str:
    lin = data.lineage
    if lin is None:
        return _NO_LINEAGE
    lay = layout(lin, top)
    rest = (f" The other {lay['n_others']:,} lineages are summed in the grey “others” band "
            "(its height is how many of them are alive at each step)." if lay["n_others"]
            else "")
    return ("Each lane is a lineage: one feature followed across checkpoints by 1:1 matches of "
            "its decoder direction, coloured by the cosine to its first direction (yellow: "
            "unchanged, dark: drifted). Orange curves are splits, purple curves merges; ▲ a "
            "birth (the first checkpoint's lineages are initial, not births), ✕ a death; dead "
            "latents (no decoder or encoder) are not drawn. Lanes are the most eventful "
            f"families (lineages linked by splits and merges), shown whole.{rest} Look for "
            "bursts of splits at one step (the dictionary refining) and lineages that keep "
            "their identity but drift far.")


def _segments(lay: dict[str, Any], steps: np.ndarray, color: str,
              labels: dict[int, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line segments (x0, y, x1) between consecutive present checkpoints of every lane, and the
    value colouring each (cos_first at the segment's end, or a category index)."""
    pres = lay["present"][lay["lanes"]]
    both = pres[:, :-1] & pres[:, 1:]
    li, ti = np.nonzero(both)
    if color == "drift":
        val = lay["cos_first"][lay["lanes"][li], ti + 1]
    elif color == "label":
        names = sorted({labels[int(x)] for x in lay["lanes"] if int(x) in labels})
        code = {nm: i for i, nm in enumerate(names)}
        val = np.array([code.get(labels.get(int(lay["lanes"][i]), ""), -1) for i in li],
                       dtype=float)
    else:   # families numbered by first appearance among the shown lanes
        fam = lay["family"][lay["lanes"][li]]
        _, first_at, code = np.unique(fam, return_index=True, return_inverse=True)
        val = np.argsort(np.argsort(first_at))[code].astype(float) if fam.size else \
            np.zeros(0)
    return np.stack([steps[ti], li, steps[ti + 1]], axis=1).astype(float), val, li


def _links(lay: dict[str, Any], steps: np.ndarray, n_pts: int = 12) -> list[tuple[str, Any]]:
    """Split/merge curves (smoothstep from parent's last step to child's first) between lanes."""
    out = []
    lo = lay["lane_of"]
    pres = lay["present"]
    u = np.linspace(0, 1, n_pts)
    ease = u * u * (3 - 2 * u)
    for a, b, k in zip(lay["src"], lay["dst"], lay["kind"], strict=True):
        if lo[a] < 0 or lo[b] < 0:
            continue
        ta = np.flatnonzero(pres[a])
        tb = np.flatnonzero(pres[b])
        if not ta.size or not tb.size:
            continue
        x0, x1 = steps[ta[-1]], steps[tb[0]]
        out.append((str(k), np.stack([x0 + (x1 - x0) * u, lo[a] + (lo[b] - lo[a]) * ease], 1)))
    return out


def _markers(lin: LineageData, lay: dict[str, Any]) -> dict[str, np.ndarray]:
    """(x, lane) of births (after the first checkpoint: older lineage files still list the
    initial latents as births there) and of deaths, for shown lanes."""
    steps = lin.steps
    ev = lin.events
    kinds = np.asarray(ev["kind"], dtype=object)
    out = {}
    for kind, col in (("birth", "target"), ("death", "source")):
        m = (kinds == kind) & (ev[col] >= 0) & (ev[col] < lin.n_lineages)
        ids, st = ev[col][m], ev["step"][m]
        if kind == "birth":
            keep = st > steps[0]
        else:   # drawn at the last checkpoint where it was alive
            ti = np.searchsorted(steps, st) - 1
            keep = ti >= 0
            st = steps[np.maximum(ti, 0)]
        lane = lay["lane_of"][ids]
        keep &= lane >= 0
        pts = np.stack([st[keep], lane[keep]], axis=1) if keep.any() else np.zeros((0, 2))
        out[kind] = pts[np.lexsort((pts[:, 1], pts[:, 0]))]   # independent of row order
    return out


def _category_colors(val: np.ndarray) -> list[str]:
    """Distinct colours for category codes 0..max(val) (label / family colouring)."""
    import plotly.colors as pc

    n = int(val.max()) + 1 if val.size and val.max() >= 0 else 0
    return distinct_colors(n, list(pc.qualitative.T10))


def _drift_range(lay: dict[str, Any]) -> tuple[float, float]:
    v = lay["cos_first"][lay["lanes"]] if lay["lanes"].size else np.zeros(0)
    v = v[np.isfinite(v)]
    lo = float(min(v.min(), 0.95)) if v.size else 0.0
    return max(min(lo, 1.0), -1.0), 1.0


def png(data: PlotData, top: int = DEFAULT_TOP, color: str = "drift", **_: Any) -> Any:
    """Matplotlib lineage flow."""
    lin = data.lineage
    if lin is None or lin.n_lineages == 0:
        fig, ax = plt.subplots(figsize=(10, 2.6))
        empty_note(ax, _NO_LINEAGE)
        ax.set_title(TITLE)
        return fig
    lay = layout(lin, top)
    steps = lin.steps.astype(float)
    nl = lay["lanes"].size
    band = 0 if not lay["n_others"] else 4.0
    fig, ax = plt.subplots(figsize=(11, max(3.2, 0.16 * (nl + band) + 1.8)))
    seg, val, _li = _segments(lay, steps, color, data.feature_labels)
    lines = [((x0, y), (x1, y)) for x0, y, x1 in seg]
    if color == "drift":
        vmin, vmax = _drift_range(lay)
        lc = LineCollection(lines, cmap=_CMAP, linewidths=3.2, capstyle="round")
        lc.set_array(np.clip(val, vmin, vmax))
        lc.set_clim(vmin, vmax)
        ax.add_collection(lc)
        fig.colorbar(lc, ax=ax, label="cosine to first direction", pad=0.01, fraction=0.03)
    else:
        palette = _category_colors(val)
        cols = [palette[int(v)] if v >= 0 else "#bfbfbf" for v in val]
        ax.add_collection(LineCollection(lines, colors=cols, linewidths=3.2, capstyle="round"))
    single = lay["present"][lay["lanes"]].sum(1) == 1  # lanes alive at one checkpoint only
    if single.any():
        ti = np.argmax(lay["present"][lay["lanes"][single]], axis=1)
        ax.scatter(steps[ti], np.flatnonzero(single), s=10, color="0.45", zorder=2)
    for kind, pts in _links(lay, steps):
        ax.plot(pts[:, 0], pts[:, 1], color=_SPLIT if kind == "split" else _MERGE, lw=1.1,
                alpha=0.85, zorder=1)
    mk = _markers(lin, lay)
    ax.scatter(mk["birth"][:, 0], mk["birth"][:, 1], marker="^", s=18, color=_BIRTH, zorder=4)
    ax.scatter(mk["death"][:, 0], mk["death"][:, 1], marker="x", s=18, color=_DEATH, zorder=4)
    if lay["n_others"]:
        alive = lay["others_alive"].astype(float)
        h = band * alive / max(alive.max(), 1)
        base = nl + band + 0.5
        ax.fill_between(steps, base, base - h, color="0.7", alpha=0.7, lw=0)
        ax.text(steps[0], base - band - 0.3, f"others: {lay['n_others']:,} lineages "
                f"(up to {int(alive.max()):,} alive)", fontsize=7, color="0.3", va="bottom")
    ax.set_ylim(nl + band + 0.8, -1)
    ax.set_xlim(steps[0] - 0.02 * np.ptp(steps), steps[-1] + 0.02 * np.ptp(steps) + 1e-9)
    tick_every = max(1, nl // 30)
    ax.set_yticks(range(0, nl, tick_every), [f"L{lay['lanes'][i]}"
                                             for i in range(0, nl, tick_every)], fontsize=6)
    ax.set_ylabel("lineage")
    ax.set_xlabel("training step")
    ax.grid(axis="x", alpha=0.25)
    handles = [Line2D([], [], color=_SPLIT, label="split"),
               Line2D([], [], color=_MERGE, label="merge"),
               Line2D([], [], marker="^", ls="", color=_BIRTH, label="birth"),
               Line2D([], [], marker="x", ls="", color=_DEATH, label="death")]
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4,
              fontsize=7, frameon=False)
    ax.set_title(title(lin, lay), fontsize=9.5, pad=20)
    return fig


def _nan_sep(parts: list[np.ndarray]) -> tuple[list[Any], list[Any]]:
    xs: list[Any] = []
    ys: list[Any] = []
    for p in parts:
        xs.extend(p[:, 0].tolist() + [None])
        ys.extend(p[:, 1].tolist() + [None])
    return xs, ys


def figure(data: PlotData, top: int = DEFAULT_TOP, color: str = "drift", **_: Any) -> go.Figure:
    """Plotly lineage flow: segments binned by colour (a bounded number of traces), hover on
    every lineage point, split/merge curves and birth/death markers toggled from the legend."""
    lin = data.lineage
    fig = go.Figure()
    if lin is None or lin.n_lineages == 0:
        fig.update_layout(title=TITLE, template="plotly_white", height=300, annotations=[
            {"text": _NO_LINEAGE, "showarrow": False, "xref": "paper", "yref": "paper",
             "x": 0.5, "y": 0.5}])
        return fig
    lay = layout(lin, top)
    steps = lin.steps.astype(float)
    nl = lay["lanes"].size
    seg, val, _li = _segments(lay, steps, color, data.feature_labels)
    import plotly.colors as pc

    if color == "drift":
        vmin, vmax = _drift_range(lay)
        nb = 12
        b = np.clip(((np.nan_to_num(val, nan=vmax) - vmin) / max(vmax - vmin, 1e-9)
                     * (nb - 1)).round().astype(int), 0, nb - 1)
        palette = pc.sample_colorscale(_CMAP.capitalize(), [i / (nb - 1) for i in range(nb)])
    else:   # one colour per category (never repeated), grey for none
        palette = _category_colors(val)
        b = np.where(val >= 0, val, len(palette)).astype(int)
        palette = palette + ["#bbbbbb"]
    for k in np.unique(b):
        m = b == k
        xs, ys = _nan_sep([np.array([[x0, y], [x1, y]]) for x0, y, x1 in seg[m]])
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                 line={"color": palette[int(k)], "width": 5}))
    for kind, colr in (("split", _SPLIT), ("merge", _MERGE)):
        parts = [p for k, p in _links(lay, steps) if k == kind]
        xs, ys = _nan_sep(parts)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{kind} ({len(parts)} shown)",
                                 line={"color": colr, "width": 1.4}, hoverinfo="skip"))
    mk = _markers(lin, lay)
    for kind, sym, colr in (("birth", "triangle-up", _BIRTH), ("death", "x", _DEATH)):
        fig.add_trace(go.Scatter(x=mk[kind][:, 0], y=mk[kind][:, 1], mode="markers",
                                 name=kind, marker={"symbol": sym, "color": colr, "size": 7},
                                 hoverinfo="skip"))
    li, ti = np.nonzero(lay["present"][lay["lanes"]])
    ids = lay["lanes"][li]
    cf, cp = lay["cos_first"][ids, ti], lay["cos_prev"][ids, ti]
    hover = [f"lineage {i}{' “' + data.feature_labels[int(i)] + '”' if int(i) in data.feature_labels else ''}"
             f"<br>step {int(steps[t])}<br>cos to first {a:.3f}<br>cos to previous "
             f"{'—' if not np.isfinite(p) else f'{p:.3f}'}"
             for i, t, a, p in zip(ids, ti, np.nan_to_num(cf, nan=1.0), cp, strict=True)]
    marker: dict[str, Any] = {"size": 6, "opacity": 0.0}
    if color == "drift":
        marker.update(color=np.clip(np.nan_to_num(cf, nan=1.0), *_drift_range(lay)),
                      colorscale=_CMAP.capitalize(), cmin=_drift_range(lay)[0], cmax=1.0,
                      showscale=True, colorbar={"title": "cos to first", "len": 0.6},
                      opacity=0.01)
    fig.add_trace(go.Scatter(x=steps[ti], y=li, mode="markers", marker=marker,
                             hovertext=hover, hoverinfo="text", showlegend=False))
    if lay["n_others"]:
        alive = lay["others_alive"].astype(float)
        base = nl + 4.5
        h = 4.0 * alive / max(alive.max(), 1)
        fig.add_trace(go.Scatter(x=np.r_[steps, steps[::-1]], y=np.r_[base - h, [base] * steps.size],
                                 fill="toself", mode="lines", line={"width": 0},
                                 fillcolor="rgba(150,150,150,0.5)",
                                 name=f"others ({lay['n_others']:,} lineages)",
                                 text=[f"{int(a):,} other lineages alive" for a in alive],
                                 hoverinfo="text"))
    tick_every = max(1, nl // 40)
    fig.update_layout(title={"text": title(lin, lay), "font": {"size": 13}},
                      xaxis_title="training step", yaxis_title="lineage",
                      height=max(380, 14 * (nl + 6) + 160), template="plotly_white",
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
                      hovermode="closest")
    fig.update_yaxes(autorange="reversed", tickvals=list(range(0, nl, tick_every)),
                     ticktext=[f"L{lay['lanes'][i]}" for i in range(0, nl, tick_every)],
                     zeroline=False, showgrid=False)
    return fig
