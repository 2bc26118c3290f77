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
from ontochron.lineage.result import EVENT_KINDS, Lineage, LineageEvent

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
        w.writerow(["step", "feature", "index", "cos_prev", "cos_first"])
        for t, step in enumerate(lineage.steps.tolist()):
            feats = lineage.features[t]
            order = np.argsort(feats, kind="stable")
            w.writerows((step, int(feats[i]), int(i), _fmt(lineage.cos_prev[t][i]),
                         _fmt(lineage.cos_first[t][i])) for i in order.tolist())
    return [d / n for n in LINEAGE_FILES]


def atomic_dir(out_dir: str | os.PathLike[str], names: set[str],
               fill: Callable[[Path], None]) -> dict[str, Path]:
    """:func:`ontochron.atomic.atomic_dir`, returning name -> final path of ``names``."""
    out = _atomic_dir(out_dir, names, fill)
    return {n: out / n for n in sorted(names)}


def write_json(path: Path, obj: Any) -> None:
    """Indented JSON with numpy values converted."""
    from ontochron.outputs import _json_default

    path.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n", encoding="utf-8")


def write_lineage(lineage: Lineage, out_dir: str | os.PathLike[str],
                  summary: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write the lineage files plus summary.json into ``out_dir``, all or nothing."""
    def fill(tmp: Path) -> None:
        write_lineage_files(lineage, tmp)
        write_json(tmp / "summary.json", summary or lineage.summary())

    return atomic_dir(out_dir, set(LINEAGE_FILES) | {"summary.json"}, fill)


def _rows(path: Path, columns: list[str]) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            r = csv.DictReader(fh)
            if r.fieldnames is None or list(r.fieldnames)[:len(columns)] != columns:
                raise InputError(f"expected columns {','.join(columns)}, got "
                                 f"{','.join(r.fieldnames or [])}", path)
            return list(r)
    except FileNotFoundError:
        raise InputError("missing lineage file", path) from None


def _opt(v: str) -> int | None:
    return None if v == "" else int(v)


def read_lineage(directory: str | os.PathLike[str]) -> Lineage:
    """Read a directory written by :func:`write_lineage` (or an analysis directory) back."""
    d = Path(directory)
    summary_path = d / "summary.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("missing summary.json", d) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc}", summary_path) from None
    summary = summary.get("lineage", summary)
    try:
        steps = np.asarray(summary["steps"], dtype=np.int64)
        latents = [int(x) for x in summary["latents"]]
    except (KeyError, TypeError, ValueError):
        raise InputError("summary has no lineage 'steps' and 'latents'", summary_path) from None
    pos = {int(s): t for t, s in enumerate(steps.tolist())}
    features = [np.full(n, -1, np.int64) for n in latents]
    cos_prev = [np.full(n, np.nan) for n in latents]
    cos_first = [np.ones(n) for n in latents]
    try:
        for row in _rows(d / "lineage.csv", ["step", "index", "feature"]):
            features[pos[int(row["step"])]][int(row["index"])] = int(row["feature"])
        for row in _rows(d / "drift.csv", ["step", "feature", "index", "cos_prev", "cos_first"]):
            t, i = pos[int(row["step"])], int(row["index"])
            cos_prev[t][i] = float(row["cos_prev"]) if row["cos_prev"] else np.nan
            cos_first[t][i] = float(row["cos_first"]) if row["cos_first"] else np.nan
        cosines = {(r["kind"], int(r["step"]), int(r["source"]), int(r["target"])):
                   float(r["cosine"]) if r["cosine"] else None
                   for r in _rows(d / "lineage_links.csv",
                                  ["kind", "step", "source", "target", "cosine"])}
        events = []
        for r in _rows(d / "lineage_events.csv", ["kind", "step", "source", "target"]):
            if r["kind"] not in EVENT_KINDS:
                raise InputError(f"unknown event kind {r['kind']!r}", d / "lineage_events.csv")
            src, tgt = _opt(r["source"]), _opt(r["target"])
            events.append(LineageEvent(r["kind"], int(r["step"]), src, tgt,
                                       cosines.get((r["kind"], int(r["step"]), src, tgt))))
    except (KeyError, ValueError, IndexError) as exc:
        raise InputError(f"malformed lineage files: {exc}", d) from None
    thr = summary.get("threshold")
    return Lineage(steps, features, cos_prev, cos_first, events,
                   float("nan") if thr is None else float(thr), summary.get("null", {}),
                   int(summary["lineages"]))
