"""What the plots need, loaded from an :class:`Ontology` or an ``ontochron analyze`` directory.

:class:`PlotData` is a small columnar view (numpy arrays keyed by column name) so every plot
works the same whether the run came from memory or from ``summary.json`` + CSV files.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.ontology.intervals import OPEN
from ontochron.ontology.result import Ontology

Table = dict[str, np.ndarray]

LINEAGE_FILES = ("lineage.csv", "lineage_events.csv", "drift.csv")
LINEAGE_KINDS = ("birth", "death", "split", "merge")
_LINEAGE_COLUMNS = {"lineage.csv": ("step", "index", "feature"),
                    "lineage_events.csv": ("kind", "step", "source", "target"),
                    "drift.csv": ("step", "feature", "index", "cos_prev", "cos_first")}


@dataclass
class LineageData:
    """Lineages of a run as columns (docs/plots.md, lineage files of ``ontochron lineage``).

    ``members``: step, index, feature (one row per latent per checkpoint). ``events``: kind,
    step, source, target (-1 where empty). ``drift``: step, feature, index, cos_prev (NaN where
    the lineage starts), cos_first. ``summary``: the lineage summary object.
    """

    steps: np.ndarray
    members: Table
    events: Table
    drift: Table
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def n_lineages(self) -> int:
        f = self.members["feature"]
        return int(f.max()) + 1 if f.size else 0


@dataclass
class PlotData:
    """Run data for plotting. Interval tables have int64 ``valid_from``/``valid_to`` (OPEN=-1).

    ``activations``: concept, feature, valid_from, valid_to (ACTIVATES intervals).
    ``events``: kind, step, concept, feature, detail. ``relations``: kind, a, b, c, valid_from,
    valid_to. ``curves``: name -> values aligned with ``steps``. ``causal``: test rows.
    """

    steps: np.ndarray
    concepts: list[str]
    n_features: int
    activations: Table
    events: Table
    relations: Table
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    causal: list[dict[str, Any]] = field(default_factory=list)
    name: str = "run"
    lineage: LineageData | None = None
    feature_labels: dict[int, str] = field(default_factory=dict)

    @property
    def end_step(self) -> int:
        """A step just past the last checkpoint, used to draw OPEN intervals."""
        s = self.steps
        if s.size == 0:
            return 1
        gap = int(np.median(np.diff(s))) if s.size > 1 else 1
        return int(s[-1]) + max(gap, 1)

    def closed_to(self, valid_to: np.ndarray) -> np.ndarray:
        """``valid_to`` with OPEN replaced by :attr:`end_step`."""
        v = np.asarray(valid_to, dtype=np.int64)
        return np.where(v == OPEN, self.end_step, v)


def from_ontology(ont: Ontology, causal: list[dict[str, Any]] | None = None,
                  name: str = "run", lineage: LineageData | None = None) -> PlotData:
    """Plot data of an in-memory ontology (``causal`` rows default to summary['causal'])."""
    ev, rel, act = ont.events, ont.relations, ont.activations
    summary = dict(ont.summary)
    rows = causal if causal is not None else list(summary.get("causal", {}).get("tests", []))
    return PlotData(
        np.asarray(ont.steps, dtype=np.int64), list(ont.concepts), int(ont.n_features),
        {"concept": act.a, "feature": act.b, "valid_from": act.valid_from,
         "valid_to": act.valid_to},
        {"kind": ev.kind, "step": ev.step, "concept": ev.concept, "feature": ev.feature,
         "detail": ev.detail},
        {"kind": rel.kind, "a": rel.a, "b": rel.b, "c": rel.c, "valid_from": rel.valid_from,
         "valid_to": rel.valid_to},
        {k: np.asarray(v, dtype=float) for k, v in ont.curves.items()}, summary, rows, name,
        lineage)


def _read_csv(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            rows = [r for r in reader if r]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read CSV: {exc}", path) from None
    bad = next((i for i, r in enumerate(rows) if len(r) != len(header)), None)
    if bad is not None:
        raise InputError(f"row {bad + 2} has {len(rows[bad])} fields, header has "
                         f"{len(header)}", path)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    return {name: list(col) for name, col in zip(header, columns, strict=True)}


def _pick(cols: dict[str, list[str]], names: tuple[str, ...], path: Path,
          default: Any = None) -> list[str] | None:
    for n in names:
        if n in cols:
            return cols[n]
    if default is not None or not cols:
        return default
    raise InputError(f"missing column (one of {names}); have {sorted(cols)}", path)


def _ints(values: list[str] | None, n: int, path: Path, blank: int = OPEN) -> np.ndarray:
    if values is None:
        return np.full(n, -1, dtype=np.int64)
    arr = np.char.strip(np.asarray(values, dtype=str)) if values else np.zeros(0, dtype=str)
    empty = np.isin(arr, ("", "null", "None"))
    try:
        out = np.where(empty, "0", arr).astype(np.float64).astype(np.int64)
    except ValueError as exc:
        raise InputError(f"expected integers: {exc}", path) from None
    out[empty] = blank
    return out


def _concept_index(values: list[str] | None, concepts: list[str], n: int) -> np.ndarray:
    """Concept names -> indices ("" -> -1), appending unseen names to ``concepts`` in order
    of first appearance."""
    if values is None:
        return np.full(n, -1, dtype=np.int64)
    arr = np.asarray(values, dtype=object)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, first, inv = np.unique(arr.astype(str), return_index=True, return_inverse=True)
    index = {c: i for i, c in enumerate(concepts)}
    for name in uniq[np.argsort(first)]:  # one entry per distinct name, not per row
        if name != "":
            index.setdefault(str(name), len(index))
    concepts[:] = list(index)
    lookup = np.array([index.get(str(u), -1) for u in uniq], dtype=np.int64)
    return lookup[inv.ravel()]


def _floats(values: list[str], path: Path) -> np.ndarray:
    arr = np.char.strip(np.asarray(values, dtype=str)) if values else np.zeros(0, dtype=str)
    empty = np.isin(arr, ("", "nan", "NaN", "null", "None"))
    try:
        return np.where(empty, np.nan, np.where(empty, "0", arr).astype(np.float64))
    except ValueError as exc:
        raise InputError(f"expected numbers: {exc}", path) from None


def read_lineage_files(path: str | os.PathLike[str],
                       summary: dict[str, Any] | None = None) -> LineageData | None:
    """Read lineage.csv, lineage_events.csv and drift.csv from a directory (None when
    lineage.csv is absent). ``summary``: the lineage summary (else summary.json's "lineage"
    key, or the whole summary.json of ``ontochron lineage``)."""
    d = Path(path)
    if not (d / "lineage.csv").exists():
        return None
    cols: dict[str, dict[str, list[str]]] = {}
    for name in LINEAGE_FILES:
        p = d / name
        if not p.exists():
            raise InputError(f"lineage files come as a set ({', '.join(LINEAGE_FILES)}); "
                             f"{name} is missing", p)
        c = _read_csv(p)
        want = _LINEAGE_COLUMNS[name]
        if tuple(c) != want:
            raise InputError(f"columns must be exactly {','.join(want)}; have "
                             f"{','.join(c) or '(none)'}", p)
        cols[name] = c
    lp, ep, dp = (d / n for n in LINEAGE_FILES)
    lc, ec, dc = (cols[n] for n in LINEAGE_FILES)
    n, ne, nd = len(lc["step"]), len(ec["step"]), len(dc["step"])
    members = {k: _ints(lc[k], n, lp, blank=-1) for k in ("step", "index", "feature")}
    if n and (members["feature"] < 0).any():
        raise InputError(f"row {int(np.argmax(members['feature'] < 0)) + 2}: feature must "
                         "be a lineage id >= 0", lp)
    kinds = np.array([k.strip() for k in ec["kind"]], dtype=object)
    bad = ~np.isin(kinds.astype(str), LINEAGE_KINDS) if ne else np.zeros(0, bool)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"row {i + 2}: kind {kinds[i]!r} is not one of {LINEAGE_KINDS}", ep)
    events = {"kind": kinds, "step": _ints(ec["step"], ne, ep, blank=-1),
              "source": _ints(ec["source"], ne, ep, blank=-1),
              "target": _ints(ec["target"], ne, ep, blank=-1)}
    drift = {"step": _ints(dc["step"], nd, dp, blank=-1),
             "feature": _ints(dc["feature"], nd, dp, blank=-1),
             "index": _ints(dc["index"], nd, dp, blank=-1),
             "cos_prev": _floats(dc["cos_prev"], dp), "cos_first": _floats(dc["cos_first"], dp)}
    if summary is None:
        from ontochron.outputs import read_summary

        whole = read_summary(d / "summary.json")
        summary = whole.get("lineage", whole if "counts" in whole else {})
    steps = np.unique(members["step"])
    return LineageData(steps, members, events, drift, dict(summary or {}))


def load_analysis(path: str | os.PathLike[str]) -> PlotData:
    """Read an ``ontochron analyze`` output directory (summary.json + CSV tables)."""
    d = Path(path)
    if not d.is_dir():
        raise InputError("not an analysis directory", d)
    from ontochron.outputs import read_summary

    summary = read_summary(d / "summary.json")
    concepts: list[str] = [str(c) for c in summary.get("concepts", [])]

    cp = d / "curves.csv"
    cc = _read_csv(cp)
    steps = _ints(_pick(cc, ("step",), cp, []), len(cc.get("step", [])), cp)
    curves = {k: np.array([float(x) if x not in ("", "nan") else np.nan for x in v])
              for k, v in cc.items() if k != "step"}

    ap = d / "activations.csv"
    ac = _read_csv(ap)
    na = len(next(iter(ac.values()), []))
    act = {"concept": _concept_index(_pick(ac, ("concept", "concept_name"), ap), concepts, na),
           "feature": _ints(_pick(ac, ("feature", "feature_index"), ap), na, ap),
           "valid_from": _ints(_pick(ac, ("valid_from", "from"), ap), na, ap),
           "valid_to": _ints(_pick(ac, ("valid_to", "to"), ap), na, ap)}

    ep = d / "events.csv"
    ec = _read_csv(ep)
    ne = len(next(iter(ec.values()), []))
    events = {"kind": np.array(_pick(ec, ("kind", "event"), ep) or [], dtype=object),
              "step": _ints(_pick(ec, ("step",), ep), ne, ep),
              "concept": _concept_index(_pick(ec, ("concept",), ep, None) if "concept" in ec
                                        else None, concepts, ne),
              "feature": _ints(ec.get("feature"), ne, ep, blank=-1),
              "detail": np.array(ec.get("detail", [""] * ne), dtype=object)}

    rp = d / "relations.csv"
    rc = _read_csv(rp)
    nr = len(next(iter(rc.values()), []))
    kinds = np.array(_pick(rc, ("kind", "relation"), rp) or [], dtype=object)
    ab = {k: rc.get(k, [""] * nr) for k in ("a", "b", "c")}
    # connection rows name concepts; every other kind names features
    conn = kinds == "connection"
    rel = {"kind": kinds}
    for k in ("a", "b", "c"):
        col = np.full(nr, -1, dtype=np.int64)
        vals = ab[k]
        if nr:
            ci = _concept_index([v if m else "" for v, m in zip(vals, conn, strict=True)],
                                concepts, nr)
            fi = _ints([v if not m else "" for v, m in zip(vals, conn, strict=True)], nr, rp,
                       blank=-1)
            col = np.where(conn, ci, fi)
        rel[k] = col
    rel["valid_from"] = _ints(_pick(rc, ("valid_from", "from"), rp), nr, rp)
    rel["valid_to"] = _ints(_pick(rc, ("valid_to", "to"), rp), nr, rp)

    if steps.size == 0:
        steps = np.array(sorted(summary.get("steps", [])) or
                         np.unique(np.concatenate([act["valid_from"], events["step"]])),
                         dtype=np.int64)
    n_features = int(summary.get("n_features", 0) or
                     (int(act["feature"].max()) + 1 if na else 0))
    causal = list(summary.get("causal", {}).get("tests", []))
    lineage = read_lineage_files(d, summary.get("lineage") if isinstance(
        summary.get("lineage"), dict) else None)
    return PlotData(steps, concepts, n_features, act, events, rel, curves, summary, causal,
                    name=str(summary.get("run_id", summary.get("run", d.name))),
                    lineage=lineage)
