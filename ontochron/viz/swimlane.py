"""Swimlane: when each (concept, feature) pair is active, for the pairs whose state changes most.

Lanes are chosen by information: a pair's score is how often it switches (an ACTIVATES interval
starting after the first checkpoint or ending before the last); features take turns (the most
switching feature first) so one feature cannot fill every lane. Lanes are grouped by feature,
groups ordered by hierarchy layer then switches, lanes by first activation.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ontochron.errors import InputError
from ontochron.ontology.intervals import OPEN, holds_at
from ontochron.viz.common import (
    DEFAULT_TOP,
    check_top,
    concept_label,
    distinct_colors,
    empty_note,
)
from ontochron.viz.data import PlotData

TITLE = "Concept × feature activity"
GAP = 0.7  # vertical space between feature groups, in lanes
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
           "#9c755f", "#e15759", "#bab0ac")


def feature_layers(data: PlotData) -> np.ndarray:
    """Hierarchy layer of every feature at the last checkpoint (0 when not in the hierarchy)."""
    from ontochron.viz.hierarchy import depths

    n = max(data.n_features, 1)
    r = data.relations
    m = np.asarray(r["kind"], dtype=object) == "hierarchy"
    out = np.zeros(n, dtype=np.int64)
    if not m.any() or data.steps.size == 0:
        return out
    a, b = np.asarray(r["a"])[m], np.asarray(r["b"])[m]
    h = holds_at(np.asarray(r["valid_from"])[m], np.asarray(r["valid_to"])[m],
                 int(data.steps[-1]))
    ok = h & (a >= 0) & (b >= 0) & (a < n) & (b < n)
    return depths(a[ok], b[ok], n) if ok.any() else out


def feature_name(data: PlotData, f: int) -> str:
    lab = data.feature_labels.get(int(f))
    return f"f{f} “{lab}”" if lab else f"f{f}"


def select_mask(data: PlotData, concepts: list[str] | None = None,
                features: list[int] | None = None, label: str | None = None) -> np.ndarray:
    """ACTIVATES rows kept by the lane filters: concept names, feature ids, and a
    case-insensitive text matched against concept names and feature labels."""
    a = data.activations
    c = np.asarray(a["concept"], dtype=np.int64)
    f = np.asarray(a["feature"], dtype=np.int64)
    keep = np.ones(c.size, dtype=bool)
    if concepts:
        index = {n: i for i, n in enumerate(data.concepts)}
        missing = [n for n in concepts if n not in index]
        if missing:
            raise InputError(f"unknown concept(s) {missing[:5]}; the run has "
                             f"{len(data.concepts)} concepts, e.g. {data.concepts[:3]}")
        keep &= np.isin(c, [index[n] for n in concepts])
    if features:
        bad = [x for x in features if not 0 <= int(x) < max(data.n_features, 1)]
        if bad:
            raise InputError(f"feature(s) {bad[:5]} out of range 0..{data.n_features - 1}")
        keep &= np.isin(f, np.asarray(features, dtype=np.int64))
    if label:
        t = label.casefold()
        cm = np.array([t in n.casefold() for n in data.concepts] + [False], dtype=bool)
        fm = np.zeros(max(data.n_features, int(f.max()) + 1 if f.size else 1) + 1, dtype=bool)
        for k, v in data.feature_labels.items():
            if 0 <= k < fm.size - 1 and t in str(v).casefold():
                fm[k] = True
        keep &= cm[np.where(c >= 0, c, -1)] | fm[np.where(f >= 0, f, -1)]
    return keep


def lanes(data: PlotData, top: int = DEFAULT_TOP, concepts: list[str] | None = None,
          features: list[int] | None = None, label: str | None = None) -> dict[str, Any]:
    """Bars of the chosen lanes: ``lane``/``y`` per interval, ``labels`` per lane (concept),
    ``groups`` (feature, first lane, n lanes, switches, layer) and the counts behind the title."""
    top = check_top(top)
    a = data.activations
    sel = select_mask(data, concepts, features, label)
    c = np.asarray(a["concept"], dtype=np.int64)[sel]
    f = np.asarray(a["feature"], dtype=np.int64)[sel]
    vf = np.asarray(a["valid_from"], dtype=np.int64)[sel]
    vt_raw = np.asarray(a["valid_to"], dtype=np.int64)[sel]
    # open intervals (still on at the last checkpoint) run to the end of the axis
    end = np.where(vt_raw == OPEN, axis_end(data), vt_raw.astype(float))
    first = int(data.steps[0]) if data.steps.size else 0
    width = max(data.n_features, int(f.max()) + 1 if f.size else 1)
    key = c * width + f
    uniq, inv = np.unique(key, return_inverse=True)
    switches = np.bincount(inv, weights=(vf > first).astype(float) + (vt_raw != OPEN),
                           minlength=uniq.size) if key.size else np.zeros(0)
    dur = np.bincount(inv, weights=(end - vf).astype(float), minlength=uniq.size) \
        if key.size else np.zeros(0)
    pf = uniq % width
    cand = np.flatnonzero(switches > 0) if (switches > 0).any() else np.arange(uniq.size)
    # round robin over features (most switching feature first), best pair of each in turn
    fsw = np.bincount(pf, weights=switches, minlength=width)
    order = cand[np.lexsort((uniq[cand], -dur[cand], -switches[cand], -fsw[pf[cand]]))]
    rank_in_feature = np.zeros(order.size, dtype=np.int64)
    if order.size:
        fo = pf[order]
        srt = np.argsort(fo, kind="stable")
        starts = np.r_[0, np.flatnonzero(np.diff(fo[srt])) + 1]
        counts = np.diff(np.r_[starts, srt.size])
        rank_in_feature[srt] = np.arange(srt.size) - np.repeat(starts, counts)
    chosen = order[np.lexsort((np.arange(order.size), rank_in_feature))][:top]
    layer = feature_layers(data)
    layer = np.pad(layer, (0, max(0, width - layer.size)))
    cf = pf[chosen]
    first_on = np.full(uniq.size, np.iinfo(np.int64).max)
    if key.size:
        np.minimum.at(first_on, inv, vf)
    chosen = chosen[np.lexsort((uniq[chosen], first_on[chosen], cf, -fsw[cf], layer[cf]))]
    lane_of = np.full(uniq.size, -1)
    lane_of[chosen] = np.arange(chosen.size)
    # y: lanes top to bottom, a gap between feature groups
    cf = pf[chosen]
    newgrp = np.r_[True, cf[1:] != cf[:-1]] if chosen.size else np.zeros(0, bool)
    y = np.arange(chosen.size) + GAP * (np.cumsum(newgrp) - 1)
    gstart = np.flatnonzero(newgrp)
    gcount = np.diff(np.r_[gstart, chosen.size])
    groups = [{"feature": int(cf[s]), "lane": int(s), "n": int(n), "y0": float(y[s]),
               "y1": float(y[s + n - 1]), "switches": int(fsw[cf[s]]),
               "layer": int(layer[cf[s]])} for s, n in zip(gstart, gcount, strict=True)]
    ln = lane_of[inv] if key.size else np.zeros(0, dtype=np.int64)
    keep = ln >= 0
    return {"lane": ln[keep], "y": y[ln[keep]] if keep.any() else np.zeros(0),
            "start": vf[keep], "end": end[keep], "open": vt_raw[keep] == OPEN,
            "feature": f[keep], "labels": [concept_label(data, int(k // width))
                                           for k in uniq[chosen]],
            "lane_y": y, "groups": groups, "n_pairs": int(uniq.size),
            "n_changing": int((switches > 0).sum()), "first": first,
            "lane_switches": switches[chosen].astype(int)}


def title(d: dict[str, Any]) -> str:
    n = len(d["labels"])
    return (f"{TITLE}: the {n} most-switching of {d['n_pairs']:,} pairs, "
            f"{len(d['groups'])} features")


def caption(data: PlotData, top: int = DEFAULT_TOP) -> str:
    return ("Each bar is an interval during which a concept's code has the feature on. Lanes "
            "are the concept-feature pairs that switch most often, grouped by feature (ordered "
            "by hierarchy layer); ▲ marks a switch on, ▼ a switch off. Look for features whose "
            "concepts all switch at the same step (a reorganisation) and for pairs that flicker.")


def colors(n: int) -> list[str]:
    """``n`` distinct colours for the feature groups (:func:`common.distinct_colors`)."""
    return distinct_colors(n, PALETTE)


def axis_end(data: PlotData) -> float:
    """Where the step axis ends: just past the last checkpoint (a pad of 1% of the span), so
    intervals still open there reach the edge without an empty extra step."""
    if data.steps.size == 0:
        return 1.0
    span = float(data.steps[-1] - data.steps[0])
    return float(data.steps[-1]) + (0.01 * span if span > 0 else 0.5)


def axis_start(data: PlotData) -> float:
    """Where the step axis starts (the same pad before the first checkpoint)."""
    if data.steps.size == 0:
        return 0.0
    return float(data.steps[0]) - (axis_end(data) - float(data.steps[-1]))


def png(data: PlotData, top: int = DEFAULT_TOP, **sel: Any) -> Any:
    """Matplotlib swimlane figure."""
    d = lanes(data, top, **sel)
    n = len(d["labels"])
    height = d["lane_y"][-1] + 1 if n else 1
    fig, ax = plt.subplots(figsize=(10.5, max(2.8, 0.2 * height + 1.6)))
    if n == 0:
        empty_note(ax, "no ACTIVATES intervals" + (" match the selection" if any(sel.values())
                                                   else ""))
        ax.set_title(TITLE)
        return fig
    gi = {g["feature"]: i for i, g in enumerate(d["groups"])}
    palette = colors(len(d["groups"]))
    ax.barh(d["y"], d["end"] - d["start"], left=d["start"], height=0.72,
            color=[palette[gi[int(x)]] for x in d["feature"]], edgecolor="none")
    on = d["start"] > d["first"]
    ax.scatter(d["start"][on], d["y"][on], marker=">", s=14, color="#1a7f37", zorder=3)
    off = ~d["open"]
    ax.scatter(d["end"][off], d["y"][off], marker="<", s=14, color="#b42318", zorder=3)
    ax.set_yticks(d["lane_y"], d["labels"], fontsize=6.5)
    for g in d["groups"]:
        ax.axhspan(g["y0"] - 0.5, g["y1"] + 0.5, color=palette[gi[g["feature"]]], alpha=0.06,
                   lw=0)
        ax.text(1.005, (g["y0"] + g["y1"]) / 2, f"{feature_name(data, g['feature'])}\n"
                f"layer {g['layer']} · {g['switches']} switches", transform=ax.get_yaxis_transform(),
                fontsize=6.5, va="center", color=palette[gi[g["feature"]]], fontweight="bold")
    ax.set_ylim(height - 0.4, -0.6)
    ax.set_xlabel("training step")
    ax.set_xlim(axis_start(data), axis_end(data))
    ax.grid(axis="x", alpha=0.25)
    handles = [Patch(color="0.55", label="active interval (colour = feature)"),
               Line2D([], [], marker=">", ls="", color="#1a7f37", label="switch on"),
               Line2D([], [], marker="<", ls="", color="#b42318", label="switch off")]
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3,
              fontsize=7, frameon=False)
    ax.set_title(title(d), fontsize=10, pad=22)
    return fig


def figure(data: PlotData, top: int = DEFAULT_TOP, **sel: Any) -> go.Figure:
    """Plotly swimlane: one trace per feature group (legend toggles), switch markers."""
    d = lanes(data, top, **sel)
    fig = go.Figure()
    gi = {g["feature"]: i for i, g in enumerate(d["groups"])}
    palette = colors(len(d["groups"]))
    labels = d["labels"]
    for g in d["groups"]:
        m = d["feature"] == g["feature"]
        if not m.any():
            continue
        lane = d["lane"][m]
        fig.add_trace(go.Bar(
            x=d["end"][m] - d["start"][m], base=d["start"][m], y=d["y"][m], orientation="h",
            width=0.72, marker={"color": palette[gi[g["feature"]]]},
            name=f"{feature_name(data, g['feature'])} (layer {g['layer']}, "
                 f"{g['switches']} switches)",
            customdata=np.stack([d["start"][m].astype(np.int64).astype(object),
                                 np.where(d["open"][m], "…) (on at the last checkpoint",
                                          d["end"][m].astype(np.int64).astype(str) + ")"),
                                 np.array(labels, dtype=object)[lane]], axis=1),
            hovertemplate=f"{feature_name(data, g['feature'])} · %{{customdata[2]}}<br>"
                          "active in steps [%{customdata[0]}, %{customdata[1]}"
                          "<extra></extra>"))
    on = d["start"] > d["first"]
    off = ~d["open"]
    fig.add_trace(go.Scatter(x=d["start"][on], y=d["y"][on], mode="markers", name="switch on",
                             marker={"symbol": "triangle-right", "color": "#1a7f37", "size": 7},
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=d["end"][off], y=d["y"][off], mode="markers", name="switch off",
                             marker={"symbol": "triangle-left", "color": "#b42318", "size": 7},
                             hoverinfo="skip"))
    height = float(d["lane_y"][-1] + 1) if labels else 1.0
    fig.update_layout(title={"text": title(d), "font": {"size": 14}},
                      xaxis_title="training step", barmode="overlay",
                      height=max(320, int(17 * height) + 160), template="plotly_white",
                      legend={"font": {"size": 10}}, margin={"l": 90})
    fig.update_yaxes(tickvals=d["lane_y"], ticktext=labels, autorange="reversed",
                     tickfont={"size": 9})
    if data.steps.size:
        fig.update_xaxes(range=[axis_start(data), axis_end(data)])
    return fig
