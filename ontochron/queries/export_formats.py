"""File writers for an exported subgraph (a MultiDiGraph from ``export.fetch_subgraph``):
GraphML, GEXF 1.3 with dynamic spells, APOC-style JSON lines, Cytoscape cyjs, a Cypher script
that recreates it, and CSV tables. Node attributes ``labels`` and ``caption`` are ontochron's
own; every other attribute is a property of the node or relationship in the graph store."""

from __future__ import annotations

import csv
import json
import math
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import networkx as nx

_META = ("labels", "caption")  # node attributes that are not graph properties
_INTERVAL = ("valid_from", "valid_to")


def _props(attrs: dict[str, Any], drop: tuple[str, ...] = _META) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in drop}


# ------------------------------------------------------------------------------ XML safety

#: Characters XML 1.0 cannot hold at all (not even as character references).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Node attribute holding the node's original id (JSON text) when xml_safe changed it.
XML_ORIGINAL = "xml_original"


def xml_safe(s: str) -> str:
    """``s`` with each character XML 1.0 cannot hold (NUL, other C0 controls except tab, LF,
    CR; lone surrogates; U+FFFE/U+FFFF) written as its JSON escape ``\\uXXXX``."""
    return _XML_INVALID.sub(lambda m: f"\\u{ord(m.group(0)):04x}", s)


def _xml_value(v: Any) -> Any:
    """A value for GraphML/GEXF, which have no list type: lists joined with ';', text made
    XML-safe."""
    if isinstance(v, (list, tuple)):
        v = ";".join(_gexf_value(x) for x in v)
    return xml_safe(v) if isinstance(v, str) else v


def xml_graph(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of ``g`` that GraphML and GEXF can hold: ids, keys and values through
    :func:`xml_safe`, lists joined with ';'; a node whose id changed keeps the original as
    JSON text in its ``xml_original`` attribute."""
    h = nx.MultiDiGraph(**{xml_safe(str(k)): _xml_value(v) for k, v in g.graph.items()
                           if isinstance(v, (str, int))})
    ids = {n: xml_safe(str(n)) for n in g.nodes}
    if len(set(ids.values())) != len(ids):
        from ontochron.errors import InputError
        raise InputError("two node ids become equal once their XML-invalid characters are "
                         "escaped; export to json or cypher instead")
    for n, a in g.nodes(data=True):
        attrs = {xml_safe(str(k)): _xml_value(v) for k, v in a.items()}
        if ids[n] != str(n):
            attrs[XML_ORIGINAL] = json.dumps(str(n))
        h.add_node(ids[n], **attrs)
    for u, v, k, a in g.edges(keys=True, data=True):
        h.add_edge(ids[u], ids[v], key=xml_safe(str(k)),
                   **{xml_safe(str(x)): _xml_value(y) for x, y in a.items()})
    return h


# ------------------------------------------------------------------------------ GraphML

def write_graphml(g: nx.MultiDiGraph, path: Path) -> list[Path]:
    """GraphML with typed attributes; the caption becomes ``label`` (what Gephi and Cytoscape
    display), the edge type is the ``type`` attribute."""
    g = xml_graph(g)
    h = nx.MultiDiGraph(**g.graph)
    for n, a in g.nodes(data=True):
        h.add_node(n, **_props(a, ("caption",)), label=a.get("caption", str(n)))
    for u, v, k, a in g.edges(keys=True, data=True):
        h.add_edge(u, v, key=k, **a)
    nx.write_graphml(h, path, infer_numeric_types=True)
    return [path]


# ------------------------------------------------------------------------------ GEXF 1.3

GEXF_NS = "http://gexf.net/1.3"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _gexf_type(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "long"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "double"
    return "string"


def _gexf_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _closed(start: Any, stop: Any, last: Any = None) -> dict[str, str]:
    """A half-open step interval [start, stop) as GEXF's closed integer interval
    [start, stop - 1]; an open one (stop None) ends at the run's last checkpoint ``last``
    (it held up to there; networkx cannot read a spell without an end)."""
    out = {} if start is None else {"start": str(int(start))}
    if stop is not None:
        out["end"] = str(int(stop) - 1)
    elif last is not None and start is not None and int(last) >= int(start):
        out["end"] = str(int(last))
    return out


def _attr_block(parent: ET.Element, cls: str, items: list[dict[str, Any]]
                ) -> dict[str, tuple[str, str]]:
    """Declare the attributes of one class; returns title -> (id, type)."""
    values: dict[str, list[Any]] = defaultdict(list)
    for a in items:
        for k, v in a.items():
            values[k].append(v)
    decl = ET.SubElement(parent, "attributes", {"class": cls, "mode": "static"})
    out = {}
    for i, (title, vals) in enumerate(sorted(values.items())):
        typ = _gexf_type(vals)
        ET.SubElement(decl, "attribute", {"id": f"{cls[0]}{i}", "title": title, "type": typ})
        out[title] = (f"{cls[0]}{i}", typ)
    return out


def _attvalues(el: ET.Element, attrs: dict[str, Any],
               decl: dict[str, tuple[str, str]]) -> None:
    if not attrs:
        return
    box = ET.SubElement(el, "attvalues")
    for k, v in sorted(attrs.items()):
        ET.SubElement(box, "attvalue", {"for": decl[k][0], "value": _gexf_value(v)})


def _node_interval(a: dict[str, Any], last: Any) -> dict[str, str]:
    if a.get("labels") == "Concept":  # present at checkpoints first_seen..last_seen
        out = {} if a.get("first_seen") is None else {"start": str(a["first_seen"])}
        end = a.get("last_seen", last)
        if end is not None:
            out["end"] = str(end)
        return out
    return _closed(a.get("valid_from"), a.get("valid_to"), last)


def write_gexf(g: nx.MultiDiGraph, path: Path) -> list[Path]:
    """GEXF 1.3, ``mode="dynamic"``, integer time: every node and edge carries its validity
    interval so Gephi's timeline plays the evolution. The intervals of one relation (same
    type, source, target) become the ``<spells>`` of one edge, which keeps Gephi from merging
    parallel edges; its attributes are those of the latest interval. Open intervals end at
    the run's last checkpoint (``g.graph["last_step"]``)."""
    g = xml_graph(g)
    last = g.graph.get("last_step")
    root = ET.Element("gexf", {"xmlns:xsi": _XSI, "version": "1.3",
                               "xsi:schemaLocation": f"{GEXF_NS} {GEXF_NS}/gexf.xsd"})
    root.set("xmlns", GEXF_NS)
    meta = ET.SubElement(root, "meta", {"lastmodifieddate": date.today().isoformat()})
    ET.SubElement(meta, "creator").text = "ontochron"
    ET.SubElement(meta, "description").text = f"run {g.graph.get('run_id', '')}"
    graph = ET.SubElement(root, "graph", {"defaultedgetype": "directed", "mode": "dynamic",
                                          "timeformat": "integer",
                                          "timerepresentation": "interval"})
    node_attrs = {n: _props(a) for n, a in g.nodes(data=True)}
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for u, v, a in g.edges(data=True):
        groups[(u, v, a.get("type", ""))].append(a)
    for ivs in groups.values():
        ivs.sort(key=lambda a: a.get("valid_from", -1))
    edge_attrs = {key: _props(ivs[-1], ("type", *_INTERVAL)) for key, ivs in groups.items()}
    n_decl = _attr_block(graph, "node", list(node_attrs.values()))
    e_decl = _attr_block(graph, "edge", list(edge_attrs.values()))
    nodes = ET.SubElement(graph, "nodes")
    for n, a in g.nodes(data=True):
        el = ET.SubElement(nodes, "node", {"id": str(n), "label": str(a.get("caption", n)),
                                           **_node_interval(a, last)})
        _attvalues(el, node_attrs[n], n_decl)
    edges = ET.SubElement(graph, "edges")
    for i, ((u, v, rtype), ivs) in enumerate(groups.items()):
        el = ET.SubElement(edges, "edge", {"id": f"e{i}", "source": str(u), "target": str(v),
                                           "label": rtype, "kind": rtype})
        spans = [_closed(a.get("valid_from"), a.get("valid_to"), last) for a in ivs]
        if len(spans) == 1:
            el.attrib.update(spans[0])
        elif any(spans):
            box = ET.SubElement(el, "spells")
            for s in spans:
                ET.SubElement(box, "spell", s)
        _attvalues(el, edge_attrs[(u, v, rtype)], e_decl)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
    return [path]


# ------------------------------------------------------------------------------ JSON

def _labels(a: dict[str, Any]) -> list[str]:
    return sorted(x for x in str(a.get("labels", "")).split(":") if x)


def write_apoc_json(g: nx.MultiDiGraph, path: Path) -> list[Path]:
    """JSON lines in the shape of APOC's ``apoc.export.json``: one ``{"type":"node",...}`` or
    ``{"type":"relationship",...}`` object per line."""
    with open(path, "w", encoding="utf-8") as fh:
        for n, a in g.nodes(data=True):
            fh.write(json.dumps({"type": "node", "id": str(n), "labels": _labels(a),
                                 "properties": _props(a)}, ensure_ascii=False) + "\n")
        for u, v, k, a in g.edges(keys=True, data=True):
            fh.write(json.dumps({
                "type": "relationship", "id": str(k), "label": a.get("type"),
                "start": {"id": str(u), "labels": _labels(g.nodes[u])},
                "end": {"id": str(v), "labels": _labels(g.nodes[v])},
                "properties": _props(a, ("type",))}, ensure_ascii=False) + "\n")
    return [path]


def write_cyjs(g: nx.MultiDiGraph, path: Path) -> list[Path]:
    """Cytoscape JSON (``.cyjs``): ``{"data": {...}, "elements": {"nodes": [...],
    "edges": [...]}}``; an edge's relationship type is ``interaction``, as in Cytoscape."""
    nodes = [{"data": {**_props(a, ("caption",)), "id": str(n),
                       "name": a.get("caption", str(n))}} for n, a in g.nodes(data=True)]
    edges = [{"data": {**_props(a, ("type",)), "id": str(k), "source": str(u),
                       "target": str(v), "interaction": a.get("type")}}
             for u, v, k, a in g.edges(keys=True, data=True)]
    doc = {"format_version": "1.0", "generated_by": "ontochron", "target_cytoscapejs_version":
           "~3.0", "data": {"name": f"ontochron {g.graph.get('run_id', '')}".strip()},
           "elements": {"nodes": nodes, "edges": edges}}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return [path]


# ------------------------------------------------------------------------------ Cypher

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
            "\f": "\\f"}


def cypher_string(s: str) -> str:
    """A single-quoted Cypher string literal for ``s`` (backslash, quote and control
    characters escaped)."""
    def esc(m: re.Match[str]) -> str:
        c = m.group(0)
        return _ESCAPES.get(c, f"\\u{ord(c):04x}")
    return "'" + re.sub(r"[\\'\x00-\x1f\x7f]", esc, s) + "'"


def cypher_name(s: str) -> str:
    """A backquoted Cypher identifier (embedded backticks doubled)."""
    return "`" + s.replace("`", "``") + "`"


def cypher_literal(v: Any) -> str:
    """A Cypher literal for a property value (a scalar or a list of scalars)."""
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(cypher_literal(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("non-finite floats have no Cypher literal")
        return repr(v)
    return cypher_string(str(v))


def _map(props: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{cypher_name(k)}: {cypher_literal(v)}"
                           for k, v in sorted(props.items())) + "}"


_KEYS = {"Concept": ("run_id", "name"), "Feature": ("run_id", "index"),
         "Triad": ("run_id", "input_a", "input_b", "output", "valid_from")}


def _match(var: str, a: dict[str, Any]) -> str:
    label = _labels(a)[0]
    keys = _KEYS.get(label, tuple(k for k in _props(a)))
    return f"MATCH ({var}:{cypher_name(label)} {_map({k: a[k] for k in keys if k in a})})"


def write_cypher(g: nx.MultiDiGraph, path: Path) -> list[Path]:
    """A Cypher script recreating the subgraph: one statement per line (``cypher-shell -f``);
    nodes by CREATE, relationships by matching their ends on the schema's natural keys.
    Values are literals (a script has no parameters), escaped by ``cypher_literal``."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"// ontochron export of run {g.graph.get('run_id', '')!s}: "
                 f"{g.number_of_nodes()} nodes, {g.number_of_edges()} relationships\n"
                 .replace("\n", " ").rstrip() + "\n")
        for _, a in g.nodes(data=True):
            labels = "".join(":" + cypher_name(x) for x in _labels(a))
            fh.write(f"CREATE ({labels} {_map(_props(a))});\n")
        for u, v, a in g.edges(data=True):
            fh.write(f"{_match('a', g.nodes[u])} {_match('b', g.nodes[v])} "
                     f"CREATE (a)-[:{cypher_name(a['type'])} {_map(_props(a, ('type',)))}]"
                     f"->(b);\n")
    return [path]


def cypher_statements(text: str) -> list[str]:
    """The statements of a script written by ``write_cypher`` (one per line, comments out)."""
    return [line.rstrip().rstrip(";") for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("//")]


# ------------------------------------------------------------------------------ CSV

def write_csv(g: nx.MultiDiGraph, path: Path) -> list[Path]:
    """``nodes.csv`` (id, labels, caption, properties...) and ``relationships.csv`` (id, type,
    source, target, properties...) in the directory ``path``."""
    node_cols = sorted({k for _, a in g.nodes(data=True) for k in _props(a)})
    edge_cols = sorted({k for *_, a in g.edges(data=True) for k in _props(a, ("type",))})
    nodes_csv, rels_csv = path / "nodes.csv", path / "relationships.csv"
    with open(nodes_csv, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "labels", "caption", *node_cols])
        for n, a in g.nodes(data=True):
            w.writerow([n, a.get("labels", ""), a.get("caption", ""),
                        *(_csv(a.get(c)) for c in node_cols)])
    with open(rels_csv, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "type", "source", "target", *edge_cols])
        for u, v, k, a in g.edges(keys=True, data=True):
            w.writerow([k, a.get("type", ""), u, v, *(_csv(a.get(c)) for c in edge_cols)])
    return [nodes_csv, rels_csv]


def _csv(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ";".join(str(_csv(x)) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return v
