"""Export a run's concept/feature subgraph (a time slice, a step window, or the neighbourhood
of a feature or concept) from the graph store into a ``networkx.MultiDiGraph`` with clean
scalar attributes, and write it as GraphML, GEXF 1.3 (dynamic), APOC JSON lines, Cytoscape
cyjs, a Cypher script, or CSV tables (see :mod:`ontochron.queries.export_formats`)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ontochron.errors import InputError
from ontochron.graph.cypher import load_cypher

if TYPE_CHECKING:
    import networkx as nx

    from ontochron.graph.store import GraphStore

#: --kinds names -> relationship type ('triad' adds Triad nodes with AND_INPUT/AND_OUTPUT).
KINDS: dict[str, str] = {"activates": "ACTIVATES", "connected": "CONNECTED", "dual": "DUAL",
                         "depends_on": "DEPENDS_ON", "parent_of": "PARENT_OF",
                         "triad": "TRIAD"}
FORMATS = ("graphml", "gexf", "json", "cyjs", "cypher", "csv")
_CONCEPT_ENDS = {"ACTIVATES": ("Concept", "Feature"), "CONNECTED": ("Concept", "Concept")}


@dataclass(frozen=True)
class Window:
    """Which steps to keep: relations whose interval overlaps ``[start, end]`` (None: open)."""

    start: int | None = None
    end: int | None = None

    @classmethod
    def of(cls, at: int | None = None, start: int | None = None,
           end: int | None = None) -> Window:
        if at is not None and (start is not None or end is not None):
            raise InputError("give either --at STEP or --from/--to, not both")
        if at is not None:
            return cls(int(at), int(at))
        if start is not None and end is not None and start > end:
            raise InputError(f"--from {start} is after --to {end}")
        return cls(start, end)

    def params(self) -> dict[str, int | None]:
        return {"from": self.start, "to": self.end}


def node_id(label: str, key: Any) -> str:
    """The export id of a node: ``Concept:<name>``, ``Feature:<index>`` or ``Triad:a,b,c@t``."""
    return f"{label}:{key}"


def clean_attrs(props: dict[str, Any]) -> dict[str, Any]:
    """Attributes without nulls: None and non-finite floats dropped (also inside lists),
    lists kept as lists (the writers without a list type join them), maps as JSON text."""
    out: dict[str, Any] = {}
    for k, v in props.items():
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        if isinstance(v, (list, tuple)):
            v = [x for x in v if x is not None and not (isinstance(x, float)
                                                        and not math.isfinite(x))]
        elif isinstance(v, dict):
            v = json.dumps(v, sort_keys=True, default=str)
        out[k] = v
    return out


def parse_kinds(kinds: str | Iterable[str] | None) -> list[str]:
    """``"dual,depends_on"`` or a list -> validated kind names (all kinds when None)."""
    if kinds is None:
        return list(KINDS)
    items = [k.strip().lower() for k in (kinds.split(",") if isinstance(kinds, str) else kinds)]
    bad = [k for k in items if k not in KINDS]
    if bad or not items:
        raise InputError(f"unknown kind(s) {bad or items}; choose from {', '.join(KINDS)}")
    return items


class _Builder:
    """Accumulates nodes and relationships into a MultiDiGraph with clean attributes."""

    def __init__(self, run_id: str) -> None:
        import networkx as nx  # here, so that the CLI can list FORMATS without loading it

        self.g = nx.MultiDiGraph(run_id=run_id)

    def node(self, label: str, key: Any, props: dict[str, Any]) -> str:
        nid = node_id(label, key)
        caption = props.get("label") or (props.get("name") if label == "Concept"
                                         else f"{label.lower()} {key}")
        self.g.add_node(nid, labels=label, caption=str(caption), **clean_attrs(props))
        return nid

    def edge(self, row: dict[str, Any]) -> tuple[str, str]:
        rtype = row["type"]
        s_label, e_label = _CONCEPT_ENDS.get(rtype, ("Feature", "Feature"))
        src = node_id(s_label, row["s_name"] if s_label == "Concept" else row["s_index"])
        dst = node_id(e_label, row["e_name"] if e_label == "Concept" else row["e_index"])
        props = row["props"]
        key = f"{rtype}:{src}->{dst}@{props.get('valid_from')}"
        self.g.add_edge(src, dst, key=key, type=rtype, **clean_attrs(props))
        return src, dst


def _split(ids: Iterable[str]) -> tuple[list[str], list[int]]:
    concepts, features = [], []
    for nid in ids:
        label, _, key = nid.partition(":")
        if label == "Concept":
            concepts.append(key)
        elif label == "Feature":
            features.append(int(key))
    return concepts, features


def _seed(store: GraphStore, run_id: str, around: str | int) -> str:
    """The node id of --around: ``feature:N`` or an integer is a feature index,
    ``concept:NAME`` or anything else a concept name."""
    text = str(around)
    label, sep, rest = text.partition(":")
    if sep and label.lower() in ("feature", "concept"):
        is_index, text = label.lower() == "feature", rest
        if is_index and not text.strip().lstrip("-").isdigit():
            raise InputError(f"--around {around!r}: a feature index must be an integer")
    else:
        is_index = isinstance(around, int) or text.strip().lstrip("-").isdigit()
    concepts, features = ([], [int(text)]) if is_index else ([text], [])
    rows = store.run(load_cypher("queries/cypher/internal/export_nodes_by_key"), run_id=run_id,
                     concepts=concepts, features=features)
    if not rows:
        what = f"feature {text}" if is_index else f"concept {text!r}"
        raise InputError(f"no {what} in run {run_id!r}")
    return node_id(rows[0]["label"], rows[0]["key"])


def fetch_subgraph(store: GraphStore, run_id: str, *, at: int | None = None,
                   start: int | None = None, end: int | None = None,
                   around: str | int | None = None, hops: int = 1,
                   kinds: str | Iterable[str] | None = None,
                   keep_isolated: bool = False) -> nx.MultiDiGraph:
    """The subgraph of run ``run_id`` as a MultiDiGraph: nodes ``Concept:<name>`` /
    ``Feature:<i>`` / ``Triad:...`` with a ``labels`` and ``caption`` attribute plus their
    properties, one edge per validity interval keyed ``TYPE:src->dst@valid_from``.

    ``at`` keeps what holds at that step, ``start``/``end`` what overlaps the window;
    ``around`` (a feature index or concept name; ``feature:N`` / ``concept:NAME`` to be
    explicit) keeps only what lies within ``hops`` relationships of it. With ``kinds`` given,
    concepts left without any relationship of those kinds are dropped (``--kinds dual`` is
    about features) unless ``keep_isolated``; the ``around`` seed always stays.
    """
    win = Window.of(at, start, end)
    kind_list = parse_kinds(kinds)
    types = [KINDS[k] for k in kind_list if k != "triad"]
    if hops < 0:
        raise InputError("--hops must be >= 0")
    b = _Builder(run_id)
    seed_node = None
    q = "queries/cypher/internal/"
    last = {r["run_id"]: r["last_step"] for r in store.run(load_cypher(q + "runs_list"))}
    if last.get(run_id) is not None:
        b.g.graph["last_step"] = int(last[run_id])  # where GEXF closes open intervals
    if around is None:
        for row in store.run(load_cypher(q + "export_concepts"), run_id=run_id, **win.params()):
            b.node("Concept", row["key"], row["props"])
        for row in store.run(load_cypher(q + "export_features"), run_id=run_id, **win.params()):
            b.node("Feature", row["key"], row["props"])
        for row in store.run(load_cypher(q + "export_edges"), run_id=run_id, types=types,
                             **win.params()):
            b.edge(row)
    else:
        seen = {_seed(store, run_id, around)}
        seed_node = next(iter(seen))
        frontier = set(seen)
        for _ in range(hops):  # one indexed expansion query per hop
            if not frontier:
                break
            concepts, features = _split(frontier)
            rows = store.run(load_cypher(q + "export_expand"), run_id=run_id, types=types,
                             concepts=concepts, features=features, **win.params())
            reached = set()
            for row in rows:
                reached.update(b.edge(row))
            frontier = reached - seen
            seen |= reached
        b.g.add_nodes_from(seen)
    # Endpoints not fetched as nodes yet (all of them with --around): properties by key.
    missing = [n for n in b.g.nodes if "labels" not in b.g.nodes[n]]
    if missing:
        concepts, features = _split(missing)
        for row in store.run(load_cypher(q + "export_nodes_by_key"), run_id=run_id,
                             concepts=concepts, features=features):
            b.node(row["label"], row["key"], row["props"])
    if kinds is not None and not keep_isolated:
        keep = {seed_node} if around is not None else set()
        b.g.remove_nodes_from([n for n, d in b.g.nodes(data=True)
                               if d.get("labels") == "Concept" and b.g.degree(n) == 0
                               and n not in keep])
    if "triad" in kind_list:
        _add_triads(store, b, run_id, win)
    return b.g


def _add_triads(store: GraphStore, b: _Builder, run_id: str, win: Window) -> None:
    """Add Triad nodes (and their AND_INPUT/AND_OUTPUT edges) whose three features are in."""
    for row in store.run(load_cypher("queries/cypher/internal/export_triads"), run_id=run_id,
                         **win.params()):
        p = row["props"]
        ends = [node_id("Feature", p[k]) for k in ("input_a", "input_b", "output")]
        if not all(e in b.g for e in ends):
            continue
        tid = b.node("Triad", f"{p['input_a']},{p['input_b']},{p['output']}@{p['valid_from']}",
                     p)
        b.g.nodes[tid]["caption"] = f"AND({p['input_a']},{p['input_b']})->{p['output']}"
        for rtype, dst in (("AND_INPUT", ends[0]), ("AND_INPUT", ends[1]),
                           ("AND_OUTPUT", ends[2])):
            b.g.add_edge(tid, dst, key=f"{rtype}:{tid}->{dst}", type=rtype, run_id=run_id)


def write_graph(g: nx.MultiDiGraph, fmt: str, path: str | os.PathLike[str]) -> list[Path]:
    """Write ``g`` in ``fmt`` (one of FORMATS) to ``path`` (a directory for csv); returns the
    files written."""
    from ontochron.queries import export_formats as ef

    writers = {"graphml": ef.write_graphml, "gexf": ef.write_gexf, "json": ef.write_apoc_json,
               "cyjs": ef.write_cyjs, "cypher": ef.write_cypher, "csv": ef.write_csv}
    if fmt not in writers:
        raise InputError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    out = Path(path)
    parent = out if fmt == "csv" else out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output directory: {exc}", parent) from exc
    try:
        return writers[fmt](g, out)
    except OSError as exc:
        raise InputError(f"cannot write the {fmt} export: {exc.strerror or exc}", out) from exc


def export_subgraph(store: GraphStore, run_id: str, fmt: str, path: str | os.PathLike[str],
                    **selection: Any) -> list[Path]:
    """Fetch a subgraph (``fetch_subgraph`` keywords: at, start, end, around, hops, kinds)
    and write it in ``fmt``; returns the files written."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    return write_graph(fetch_subgraph(store, run_id, **selection), fmt, path)
