"""lineage.csv, lineage_events.csv, lineage_links.csv, drift.csv and summary.json: write them
atomically (a temporary sibling directory renamed into place) and read them back."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.atomic import atomic_dir as _atomic_dir
from ontochron.errors import InputError
from ontochron.jsonfiles import json_default, read_summary
from ontochron.lineage.result import Lineage, LineageEvent
from ontochron.lineage.tables import read_lineage_tables

LINEAGE_FILES = ("lineage.csv", "lineage_events.csv", "lineage_links.csv", "drift.csv")


def _fmt(x: float) -> str:
    return "" if not np.isfinite(x) else f"{x:.6g}"


def write_lineage_files(lineage: Lineage, directory: str | os.PathLike[str]) -> list[Path]:
    """Write the lineage CSV files into an existing (usually temporary) directory."""
    d = Path(directory)
    with open(d / "lineage.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "index", "feature"])
        for step, feats in zip(lineage.steps.tolist(), lineage.features, strict=True):
            w.writerows((step, i, f) for i, f in enumerate(feats.tolist()))
    with open(d / "lineage_events.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "step", "source", "target"])
        w.writerows((e.kind, e.step, "" if e.source is None else e.source,
                     "" if e.target is None else e.target) for e in lineage.events)
    with open(d / "lineage_links.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "step", "source", "target", "cosine"])
        w.writerows((e.kind, e.step, e.source, e.target, _fmt(e.cosine or np.nan))
                    for e in lineage.events if e.kind in ("split", "merge"))
    with open(d / "drift.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "feature", "index", "cos_prev", "cos_first", "turned"])
        thresholds = lineage.step_thresholds()
        for t, step in enumerate(lineage.steps.tolist()):
            feats = lineage.features[t]
            turned = lineage.turned(t, thresholds).astype(int)
            order = np.argsort(feats, kind="stable")
            w.writerows((step, int(feats[i]), int(i), _fmt(lineage.cos_prev[t][i]),
                         _fmt(lineage.cos_first[t][i]), int(turned[i]))
                        for i in order.tolist())
    return [d / n for n in LINEAGE_FILES]


def atomic_dir(out_dir: str | os.PathLike[str], names: set[str],
               fill: Callable[[Path], None]) -> dict[str, Path]:
    """:func:`ontochron.atomic.atomic_dir`, returning name -> final path of ``names``."""
    out = _atomic_dir(out_dir, names, fill)
    return {n: out / n for n in sorted(names)}


def write_json(path: Path, obj: Any) -> None:
    """Indented JSON with numpy values converted."""
    path.write_text(json.dumps(obj, indent=2, default=json_default) + "\n", encoding="utf-8")


def write_lineage(lineage: Lineage, out_dir: str | os.PathLike[str],
                  summary: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write the lineage files plus summary.json into ``out_dir``, all or nothing."""
    def fill(tmp: Path) -> None:
        write_lineage_files(lineage, tmp)
        write_json(tmp / "summary.json", summary or lineage.summary())

    return atomic_dir(out_dir, set(LINEAGE_FILES) | {"summary.json"}, fill)


def _groups(pos: np.ndarray, n: int) -> list[np.ndarray]:
    """Row numbers per checkpoint position 0..n-1, in file order."""
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(n + 1))
    return [order[bounds[t]:bounds[t + 1]] for t in range(n)]


def _per_step(steps: np.ndarray, col: np.ndarray, path: Path) -> np.ndarray:
    """Checkpoint position of each row's step; a step not in the summary is an error."""
    pos = np.searchsorted(steps, col)
    bad = (pos >= steps.size) | (steps[np.minimum(pos, max(steps.size - 1, 0))] != col) \
        if steps.size else np.ones(col.size, bool)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"row {i + 2}: step {int(col[i])} is not one of the summary's "
                         "lineage steps", path)
    return pos


def read_lineage(directory: str | os.PathLike[str]) -> Lineage:
    """Read a directory written by :func:`write_lineage` (or an analysis directory) back."""
    d = Path(directory)
    summary_path = d / "summary.json"
    if not summary_path.exists():
        raise InputError("missing summary.json", d)
    summary = read_summary(summary_path)
    summary = summary.get("lineage", summary)
    try:
        steps = np.asarray(summary["steps"], dtype=np.int64)
        latents = [int(x) for x in summary["latents"]]
    except (KeyError, TypeError, ValueError):
        raise InputError("summary has no lineage 'steps' and 'latents'", summary_path) from None
    if len(latents) != steps.size:
        raise InputError("lineage 'steps' and 'latents' differ in length", summary_path)
    tabs = read_lineage_tables(d, summary)
    features = [np.full(n, -1, np.int64) for n in latents]
    cos_prev = [np.full(n, np.nan) for n in latents]
    cos_first = [np.ones(n) for n in latents]
    m, dr = tabs.members, tabs.drift
    mt = _per_step(steps, m["step"], d / "lineage.csv")
    dt = _per_step(steps, dr["step"], d / "drift.csv")
    n_at = np.asarray(latents, dtype=np.int64)
    bad_at = []  # (checkpoint, file order, file, index column, rows) of out-of-range indices
    for order, (name, pos, idx) in enumerate((("lineage.csv", mt, m["index"]),
                                              ("drift.csv", dt, dr["index"]))):
        bad = idx >= n_at[pos]
        if bad.any():
            bad_at.append((int(pos[bad].min()), order, name, idx, pos))
    if bad_at:  # the first checkpoint with one, lineage.csv before drift.csv
        t, _, name, idx, pos = min(bad_at, key=lambda b: b[:2])
        raise InputError(f"index {int(idx[pos == t].max())} at step {int(steps[t])} is "
                         f"beyond the summary's {latents[t]} latents", d / name)
    # rows grouped by checkpoint once (a stable sort), one vectorised assignment per group
    for t, rows in enumerate(_groups(mt, steps.size)):
        features[t][m["index"][rows]] = m["feature"][rows]
    for t, rows in enumerate(_groups(dt, steps.size)):
        cos_prev[t][dr["index"][rows]] = dr["cos_prev"][rows]
        cos_first[t][dr["index"][rows]] = dr["cos_first"][rows]
    k = tabs.links
    cosines = {(str(a), int(b), int(c), int(e)): None if np.isnan(x) else float(x)
               for a, b, c, e, x in zip(k["kind"], k["step"], k["source"], k["target"],
                                        k["cosine"], strict=True)}
    ev = tabs.events
    events = []
    for kind, step, src, tgt in zip(ev["kind"], ev["step"].tolist(), ev["source"].tolist(),
                                    ev["target"].tolist(), strict=True):
        s, g = (None if src < 0 else src), (None if tgt < 0 else tgt)
        events.append(LineageEvent(str(kind), step, s, g,
                                   cosines.get((str(kind), step, src, tgt))))
    thr = summary.get("threshold")
    n_lineages = summary.get("lineages")
    dead_ids = summary.get("dead", {}).get("lineages") if isinstance(summary.get("dead"),
                                                                     dict) else None
    dead = None
    if dead_ids:
        ids = np.asarray(dead_ids, dtype=np.int64)
        dead = [np.isin(f, ids) for f in features]
    return Lineage(steps, features, cos_prev, cos_first, events,
                   float("nan") if thr is None else float(thr), summary.get("null", {}),
                   tabs.n_lineages if n_lineages is None else int(n_lineages), dead=dead)
