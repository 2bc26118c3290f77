"""Query results as plain Python values: graph values (nodes, relationships, paths), typed
columns and :class:`QueryResult` with its table/JSON/CSV formatting. Shared by the named-query
library and the branch-by-branch runner, so neither imports the other for them."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ontochron.errors import InputError


def _props(props: dict[str, Any]) -> str:
    if not props:
        return ""
    inner = ", ".join(f"{k}: {_literal(v)}" for k, v in sorted(props.items()))
    return " {" + inner + "}"


def _literal(v: Any) -> str:
    """A property value the way Cypher writes it (strings single-quoted)."""
    if isinstance(v, str):
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_literal(x) for x in v) + "]"
    return _cell(v)


@dataclass(frozen=True)
class GraphNode:
    """A node in a result: element id, labels, properties. Prints as ``(:Label {k: v})``."""

    id: str
    labels: tuple[str, ...]
    properties: dict[str, Any]

    def __str__(self) -> str:
        return "(" + "".join(":" + lb for lb in self.labels) + _props(self.properties) + ")"

    def to_json(self) -> dict[str, Any]:
        """APOC-export shape: ``{"type": "node", "id", "labels", "properties"}``."""
        return {"type": "node", "id": self.id, "labels": list(self.labels),
                "properties": self.properties}


@dataclass(frozen=True)
class GraphRelationship:
    """A relationship in a result. Prints as ``[:TYPE {k: v}]``."""

    id: str
    type: str
    start: str | None
    end: str | None
    properties: dict[str, Any]

    def __str__(self) -> str:
        return f"[:{self.type}{_props(self.properties)}]"

    def to_json(self) -> dict[str, Any]:
        """APOC-export shape: ``{"type": "relationship", "id", "label", "start", "end",
        "properties"}`` (start/end: element ids)."""
        return {"type": "relationship", "id": self.id, "label": self.type,
                "start": self.start, "end": self.end, "properties": self.properties}


@dataclass(frozen=True)
class GraphPath:
    """A path in a result. Prints as ``(:A {..})-[:R {..}]->(:B {..})``."""

    nodes: tuple[GraphNode, ...]
    relationships: tuple[GraphRelationship, ...]

    def __str__(self) -> str:
        out = str(self.nodes[0]) if self.nodes else ""
        for i, r in enumerate(self.relationships):
            nxt = self.nodes[i + 1]
            forward = r.end is None or r.end == nxt.id
            out += (f"-{r}->" if forward else f"<-{r}-") + str(nxt)
        return out

    def to_json(self) -> dict[str, Any]:
        """``{"type": "path", "nodes": [...], "relationships": [...]}``."""
        return {"type": "path", "nodes": [n.to_json() for n in self.nodes],
                "relationships": [r.to_json() for r in self.relationships]}


GRAPH_VALUES = (GraphNode, GraphRelationship, GraphPath)


def from_driver(v: Any) -> Any:
    """A driver value as a plain one: nodes, relationships and paths as :class:`GraphNode` /
    :class:`GraphRelationship` / :class:`GraphPath`, temporal and spatial values as text."""
    from neo4j.graph import Node, Path, Relationship

    if isinstance(v, Node):
        return _node(v)
    if isinstance(v, Relationship):
        return _rel(v)
    if isinstance(v, Path):
        return GraphPath(tuple(_node(n) for n in v.nodes),
                         tuple(_rel(r) for r in v.relationships))
    if isinstance(v, (list, tuple)):
        return [from_driver(x) for x in v]
    if isinstance(v, dict):
        return {k: from_driver(x) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return v
    return str(v)  # neo4j.time / spatial values


#: Values the driver already returns as plain Python values (no conversion needed).
_PLAIN_TYPES = frozenset({type(None), bool, int, float, str, bytes})
_SCALAR_NAMES = {bool: "bool", int: "int", float: "float", str: "string", bytes: "bytes"}


def plain(v: Any) -> Any:
    """:func:`from_driver`, with a shortcut for scalars (most values of most rows)."""
    return v if type(v) in _PLAIN_TYPES else from_driver(v)


def _node(n: Any) -> GraphNode:
    return GraphNode(str(n.element_id), tuple(sorted(n.labels)),
                     {k: from_driver(x) for k, x in dict(n).items()})


def _rel(r: Any) -> GraphRelationship:
    start = r.start_node.element_id if r.start_node is not None else None
    end = r.end_node.element_id if r.end_node is not None else None
    return GraphRelationship(str(r.element_id), str(r.type), start, end,
                             {k: from_driver(x) for k, x in dict(r).items()})


def _json_default(v: Any) -> Any:
    if isinstance(v, GRAPH_VALUES):
        return v.to_json()
    return str(v)


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "list"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, GraphNode):
        return "node"
    if isinstance(v, GraphRelationship):
        return "relationship"
    if isinstance(v, GraphPath):
        return "path"
    return type(v).__name__


@dataclass(frozen=True)
class Column:
    """A result column: its name and the type(s) of its non-null values ('null' if none)."""

    name: str
    type: str


@dataclass
class QueryResult:
    """Rows of a query with typed columns; ``records()`` gives dicts, ``format()`` text."""

    columns: list[Column]
    rows: list[tuple[Any, ...]]
    query: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_records(cls, keys: Sequence[str], records: Sequence[dict[str, Any]],
                     query: str | None = None, params: dict[str, Any] | None = None
                     ) -> QueryResult:
        """From one dict per row (missing keys are null)."""
        return cls.from_rows(keys, [tuple(r.get(k) for k in keys) for r in records], query,
                             params)

    @classmethod
    def from_rows(cls, keys: Sequence[str], rows: list[tuple[Any, ...]],
                  query: str | None = None, params: dict[str, Any] | None = None
                  ) -> QueryResult:
        """From one tuple per row, in ``keys`` order; column types from the values."""
        cols = []
        for i, k in enumerate(keys):
            names: set[str] = set()
            for t in {type(r[i]) for r in rows}:  # few distinct types: name each once
                if t in _SCALAR_NAMES:
                    names.add(_SCALAR_NAMES[t])
                elif t is not type(None):
                    names.update(_type_name(r[i]) for r in rows if type(r[i]) is t)
            types = sorted(names)
            if types == ["float", "int"]:
                types = ["float"]
            cols.append(Column(k, "|".join(types) or "null"))
        return cls(cols, rows, query, dict(params or {}))

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.names, r, strict=True)) for r in self.rows]

    def column(self, name: str) -> list[Any]:
        i = self.names.index(name)
        return [r[i] for r in self.rows]

    def format(self, fmt: str = "table") -> str:
        """The result as ``table`` (aligned text), ``json`` (array of objects) or ``csv``."""
        if fmt == "json":
            return json.dumps(self.records(), ensure_ascii=False, indent=1,
                              default=_json_default)
        if fmt == "csv":
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(self.names)
            w.writerows([[_cell(v, csv_mode=True) for v in r] for r in self.rows])
            return buf.getvalue()
        if fmt != "table":
            raise InputError(f"unknown format {fmt!r} (table, json, csv)")
        cells = [self.names] + [[_cell(v) for v in r] for r in self.rows]
        widths = [min(60, max(len(row[i]) for row in cells)) for i in range(len(self.names))]
        lines = ["  ".join(c[:w].ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                 for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"({len(self.rows)} row{'s' if len(self.rows) != 1 else ''})")
        return "\n".join(lines)


def _cell(v: Any, csv_mode: bool = False) -> str:
    if v is None:
        return "" if csv_mode else "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, float) and not csv_mode:
        # a table is read by people: 6 significant digits (0.17500000000000002 -> 0.175),
        # still a float (1.0 stays 1.0); csv and json keep every digit
        return repr(float(f"{v:.6g}"))
    if isinstance(v, (list, dict)):
        if _has_graph_value(v):
            items = v.items() if isinstance(v, dict) else None
            return ("{" + ", ".join(f"{k}: {_literal(x)}" for k, x in items) + "}" if items
                    is not None else "[" + ", ".join(_literal(x) for x in v) + "]")
        return json.dumps(v, ensure_ascii=False, default=_json_default)
    return str(v)


def _has_graph_value(v: Any) -> bool:
    if isinstance(v, GRAPH_VALUES):
        return True
    if isinstance(v, (list, tuple)):
        return any(_has_graph_value(x) for x in v)
    if isinstance(v, dict):
        return any(_has_graph_value(x) for x in v.values())
    return False
