"""Write an Ontology to a directory of CSV (and optionally Parquet) files plus summary.json,
atomically: everything goes to a temporary sibling directory renamed into place at the end."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.atomic import atomic_dir
from ontochron.errors import InputError
from ontochron.jsonfiles import json_default, read_summary  # noqa: F401  (public here too)
from ontochron.lineage.files import write_lineage_files
from ontochron.ontology.connections import CONNECTION_STATS
from ontochron.ontology.intervals import OPEN
from ontochron.ontology.result import Ontology

try:
    import pyarrow as pa
    import pyarrow.compute as pa_compute
    import pyarrow.csv as pa_csv
except ImportError:  # pragma: no cover - pyarrow is an optional extra
    pa = None
    pa_compute = None
    pa_csv = None

TABLES = ("events", "relations", "activations", "curves", "features")
# lineage.csv, lineage_events.csv, lineage_links.csv, drift.csv: see ontochron.lineage.files
LINEAGE_NAMES = frozenset({"lineage.csv", "lineage_events.csv", "lineage_links.csv",
                           "drift.csv"})
OUTPUT_NAMES = frozenset({"summary.json"} | {f"{t}.{ext}" for t in TABLES
                                             for ext in ("csv", "parquet")}) | LINEAGE_NAMES



@dataclass(frozen=True)
class Coded:
    """A text column as integer codes into a short list of labels (concept names, index
    numbers), turned into text by the writer instead of one Python string per row."""

    codes: np.ndarray
    labels: np.ndarray

    def strings(self) -> np.ndarray:
        """The column as an object array of str."""
        return self.labels[self.codes]


# A column: (values, valid mask or None); invalid entries are written empty.
Column = tuple["np.ndarray | Coded", "np.ndarray | None"]


def _names(ont: Ontology, idx: np.ndarray) -> Column:
    idx = np.asarray(idx, dtype=np.int64)
    valid = idx >= 0
    labels = np.asarray(ont.concepts + [""], dtype=object)
    return Coded(np.where(valid, idx, len(ont.concepts)), labels), valid


def _nonneg(values: np.ndarray) -> Column:
    values = np.asarray(values, dtype=np.int64)
    return values, values >= 0


def _floats(values: np.ndarray) -> Column:
    values = np.asarray(values, dtype=np.float64)
    return values, np.isfinite(values)


def _open_to(values: np.ndarray) -> Column:
    values = np.asarray(values, dtype=np.int64)
    return values, values != OPEN


def _tables(ont: Ontology) -> dict[str, dict[str, Column]]:
    """The five output tables as named columns."""
    ev = ont.events
    detail = np.asarray(ev.detail, dtype=object)
    events = {"kind": (np.asarray(ev.kind, dtype=object), None),
              "step": (np.asarray(ev.step, dtype=np.int64), None),
              "concept": _names(ont, ev.concept), "feature": _nonneg(ev.feature),
              "detail": (detail, detail != "")}
    rel = ont.relations
    conn = np.asarray(rel.kind == "connection", dtype=bool)

    n_concepts = len(ont.concepts)

    def endpoint(idx: np.ndarray) -> Column:
        """Concept names on connection rows, the index number on the others."""
        idx = np.asarray(idx, dtype=np.int64)
        valid = idx >= 0
        top = int(idx[valid & ~conn].max(initial=-1))
        labels = np.asarray(ont.concepts + [str(i) for i in range(top + 1)] + [""],
                            dtype=object)
        codes = np.where(conn, idx, n_concepts + idx)
        return Coded(np.where(valid, codes, labels.size - 1), labels), valid

    relations: dict[str, Column] = {
        "kind": (np.asarray(rel.kind, dtype=object), None),
        "a": endpoint(rel.a), "b": endpoint(rel.b), "c": endpoint(rel.c),
        "valid_from": (np.asarray(rel.valid_from, dtype=np.int64), None),
        "valid_to": _open_to(rel.valid_to)}
    relations.update({name: _floats(v) for name, v in rel.stats.items()})
    for name in CONNECTION_STATS:  # stable columns even when nothing connected
        relations.setdefault(name, _floats(np.full(len(rel), np.nan)))
    act = ont.activations
    activations = {"concept": _names(ont, act.a),
                   "feature": (np.asarray(act.b, dtype=np.int64), None),
                   "valid_from": (np.asarray(act.valid_from, dtype=np.int64), None),
                   "valid_to": _open_to(act.valid_to)}
    curves: dict[str, Column] = {"step": (np.asarray(ont.steps, dtype=np.int64), None)}
    curves.update({name: _floats(v) for name, v in ont.curves.items()})
    features: dict[str, Column] = {"feature": (np.arange(ont.n_features, dtype=np.int64), None)}
    for name, v in ont.feature_stats.items():
        v = np.asarray(v)
        if v.dtype.kind in "iub":
            features[name] = (_nonneg(v) if name.endswith("_step")
                              else (v.astype(np.int64), None))
        else:
            features[name] = _floats(v)
    return {"events": events, "relations": relations, "activations": activations,
            "curves": curves, "features": features}


def _arrow_table(cols: dict[str, Column]) -> Any:
    arrays = []
    for values, valid in cols.values():
        mask = None if valid is None else ~np.asarray(valid, dtype=bool)
        if isinstance(values, Coded):
            arrays.append(pa_compute.take(pa.array(values.labels, type=pa.string()),
                                          pa.array(values.codes, mask=mask)))
        elif values.dtype == object:
            arrays.append(pa.array(values, type=pa.string(), mask=mask))
        else:
            arrays.append(pa.array(values, mask=mask))
    return pa.table(arrays, names=list(cols))


def _write_csv(path: Path, cols: dict[str, Column]) -> None:
    """One CSV table; pyarrow's writer when available, else the csv module."""
    if pa_csv is not None:
        pa_csv.write_csv(_arrow_table(cols), str(path),
                         pa_csv.WriteOptions(quoting_style="needed"))
        return
    names = list(cols)  # fallback without pyarrow (tests/test_analyze_cli.py)
    series = []
    for values, valid in cols.values():
        vals = (values.strings() if isinstance(values, Coded) else values).tolist()
        if valid is not None:
            vals = [v if ok else "" for v, ok in zip(vals, valid.tolist(), strict=True)]
        series.append(vals)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        # The same bytes as pyarrow's writer: quoted header, "\n" line ends.
        csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow(names)
        csv.writer(fh, lineterminator="\n").writerows(zip(*series, strict=True))


def _write_parquet(path: Path, cols: dict[str, Column]) -> None:
    import pyarrow.parquet as pq

    pq.write_table(_arrow_table(cols), str(path))


def write_outputs(ontology: Ontology, out_dir: str | os.PathLike[str], *,
                  parquet: bool = False, lineage: Any = None) -> dict[str, Path]:
    """Write summary.json and events/relations/activations/curves/features CSV files (and
    Parquet copies with ``parquet=True``) into ``out_dir``; return name -> final path.

    All-or-nothing: files are written to a temporary sibling directory that replaces
    ``out_dir`` at the end. An existing ``out_dir`` is replaced only if it holds nothing but
    ontochron outputs. With ``lineage`` (a :class:`ontochron.lineage.Lineage`) the lineage
    files are written too and its summary goes under ``"lineage"`` in summary.json.
    """
    if parquet and pa is None:
        raise InputError("--parquet needs pyarrow: pip install 'ontochron[parquet]'")
    written: list[str] = []

    def fill(tmp: Path) -> None:
        summary = ontology.summary
        if lineage is not None:
            written.extend(p.name for p in write_lineage_files(lineage, tmp))
            summary = {**summary, "lineage": lineage.summary()}
        (tmp / "summary.json").write_text(
            json.dumps(summary, indent=2, default=json_default) + "\n", encoding="utf-8")
        written.append("summary.json")
        for name, cols in _tables(ontology).items():
            _write_csv(tmp / f"{name}.csv", cols)
            written.append(f"{name}.csv")
            if parquet:
                _write_parquet(tmp / f"{name}.parquet", cols)
                written.append(f"{name}.parquet")

    out = atomic_dir(out_dir, OUTPUT_NAMES, fill)
    return {name: out / name for name in written}
