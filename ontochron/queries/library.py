"""The named Cypher query library: load the ``queries/cypher/*.cypher`` files, read their
machine-readable ``// @name/@summary/@param/@column`` headers, bind and type-check parameters,
and run them (or ad-hoc statements) into a typed :class:`QueryResult`.

Every value goes to the server as a query parameter; nothing is ever formatted into Cypher.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from ontochron.errors import InputError, StoreError
from ontochron.graph.cypher import iter_cypher_files, load_cypher, parameters
from ontochron.queries.results import (  # noqa: F401  (re-exported: the public result types)
    GRAPH_VALUES,
    Column,
    GraphNode,
    GraphPath,
    GraphRelationship,
    QueryResult,
    from_driver,
    plain,
)

if TYPE_CHECKING:
    from ontochron.graph.store import GraphStore

FOLDER = "queries/cypher"
PARAM_TYPES = ("string", "int", "float", "bool", "list<int>", "list<float>", "list<string>",
               "any")
_TAG = re.compile(r"^//\s*@(name|summary|param|column|split)\b\s*(.*)$")
_SPLIT_SPEC = re.compile(r"^(\w+)\s+IN\s+\$(\w+)$")
_PARAM_SPEC = re.compile(r"^(\w+)\s+(\S+)\s+(required|default=\S+|derived=\S+)\s*(.*)$")
_DERIVED = re.compile(r"^(\w+)\(([\w,\s]*)\)$")


def _stab_keys(*steps: int) -> list[int]:
    from ontochron.graph.schema import stab_keys
    return sorted({k for s in steps for k in stab_keys(int(s))})


#: Functions a ``derived=`` parameter may name: computed from other parameters when not given.
DERIVATIONS: dict[str, Callable[..., Any]] = {"stab_keys": _stab_keys}


def parse_value(text: str) -> Any:
    """A CLI parameter value: int, float, bool, null or JSON when it looks like one, else the
    string itself (``42`` -> 42, ``true`` -> True, ``[1,2]`` -> [1, 2], ``alpha`` -> 'alpha')."""
    s = text.strip()
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s)
    if s.lower() in ("true", "false"):
        return s.lower() == "true"
    if s.lower() == "null":
        return None
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?|[+-]?(nan|inf)", s.lower()):
        return float(s)
    if s[:1] in "[{\"":
        from ontochron.jsoninput import check_json_text

        check_json_text(s)  # bounded depth (InputError), before the recursive parser
        try:
            return json.loads(s)
        except json.JSONDecodeError:
            pass
    return text


def _is_type(value: Any, ptype: str) -> bool:
    if ptype == "any" or value is None:
        return True
    if ptype.startswith("list<"):
        return (isinstance(value, (list, tuple))
                and all(_is_type(v, ptype[5:-1]) and v is not None for v in value))
    if ptype == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ptype == "bool":
        return isinstance(value, bool)
    return isinstance(value, str)


@dataclass(frozen=True)
class Param:
    """One declared parameter: ``// @param NAME TYPE required|default=V|derived=F(args) text``."""

    name: str
    type: str
    required: bool = False
    default: Any = None
    derived: str | None = None
    description: str = ""

    def spec(self) -> str:
        """How the parameter is declared, for listings (e.g. ``step: int, required``)."""
        how = ("required" if self.required else f"derived from {self.derived}" if self.derived
               else f"default {json.dumps(self.default)}")
        return f"{self.name}: {self.type}, {how}"


@dataclass(frozen=True)
class NamedQuery:
    """A shipped query: its name, what it answers, parameters, column notes and Cypher text."""

    name: str
    summary: str
    params: tuple[Param, ...]
    columns: dict[str, str]
    text: str
    path: str
    #: ``// @split COLUMN IN $PARAM``: run the UNION ALL branches one by one, skipping those
    #: whose literal COLUMN is not in $PARAM (see :mod:`ontochron.queries.branches`).
    split: tuple[str, str] | None = None

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def bind(self, values: dict[str, Any]) -> dict[str, Any]:
        """Parameters to send: given values type-checked, defaults and derived ones filled in.
        Raises InputError for unknown, missing or mistyped parameters."""
        known = {p.name for p in self.params}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"query {self.name!r} has no parameter(s) "
                             f"{', '.join('$' + u for u in unknown)}; it takes: "
                             + "; ".join(p.spec() for p in self.params))
        derived = sorted(p.name for p in self.params if p.derived and p.name in values)
        if derived:
            raise InputError(f"query {self.name!r}: ${derived[0]} is derived ("
                             f"{self.param(derived[0]).spec()}); do not pass it, pass what it "
                             "is derived from")
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name in values:
                v = values[p.name]
                if p.type == "float" and isinstance(v, int) and not isinstance(v, bool):
                    v = float(v)
                if not _is_type(v, p.type) or (v is None and p.required):
                    raise InputError(f"query {self.name!r}: parameter ${p.name} must be "
                                     f"{p.type}, got {v!r}")
                out[p.name] = v
            elif p.required:
                raise InputError(f"query {self.name!r} needs parameter ${p.name} "
                                 f"({p.spec()}): pass --param {p.name}=VALUE")
            elif p.derived is None:
                out[p.name] = p.default
        for p in self.params:
            if p.derived is not None and p.name not in out:
                fn, args = _parse_derived(p.derived, self.path)
                out[p.name] = DERIVATIONS[fn](*(out[a] for a in args))
        return out


def _parse_derived(spec: str, path: str) -> tuple[str, list[str]]:
    m = _DERIVED.match(spec)
    if not m or m.group(1) not in DERIVATIONS:
        raise InputError(f"unknown derivation {spec!r} (known: {', '.join(DERIVATIONS)})", path)
    return m.group(1), [a.strip() for a in m.group(2).split(",") if a.strip()]


def parse_header(text: str, path: str) -> NamedQuery:
    """Read a query file's ``// @`` header. Indented ``//   ...`` lines continue the tag above;
    other comment lines are free notes."""
    tags: list[list[str]] = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        m = _TAG.match(line)
        if m:
            tags.append([m.group(1), m.group(2).strip()])
        elif tags and line.startswith("//  "):  # indented: continues the tag above
            tags[-1][1] += " " + line[2:].strip()
    name = next((v for k, v in tags if k == "name"), "")
    summary = next((v for k, v in tags if k == "summary"), "")
    if not name or not summary:
        raise InputError("a named query needs '// @name' and '// @summary' header lines", path)
    params: list[Param] = []
    columns: dict[str, str] = {}
    split = None
    for kind, value in tags:
        if kind == "split":
            m = _SPLIT_SPEC.match(value)
            if not m:
                raise InputError(f"bad '@split {value}': expected 'COLUMN IN $PARAM'", path)
            split = (m.group(1), m.group(2))
        elif kind == "column":
            col, _, doc = value.partition(" ")
            columns[col] = doc.strip()
        elif kind == "param":
            params.append(_parse_param(value, path))
    used = parameters(text)
    declared = {p.name for p in params}
    if used != declared:
        raise InputError(f"query {name!r}: parameters used {sorted(used)} differ from those "
                         f"declared with @param {sorted(declared)}", path)
    for p in params:
        if p.derived:
            _, args = _parse_derived(p.derived, path)
            if not set(args) <= declared:
                raise InputError(f"${p.name} is derived from undeclared {args}", path)
    if split is not None:
        if split[1] not in declared:
            raise InputError(f"@split names undeclared ${split[1]}", path)
        from ontochron.queries.branches import split_branches
        split_branches(text, split[0], path)  # refuse a shape it cannot run, at load
    return NamedQuery(name, summary, tuple(params), columns, text, path, split)


def _parse_param(value: str, path: str) -> Param:
    m = _PARAM_SPEC.match(value)
    if not m or m.group(2) not in PARAM_TYPES:
        raise InputError(f"bad '@param {value}': expected 'NAME TYPE required|default=V|"
                         f"derived=F(args) description' with TYPE one of {PARAM_TYPES}", path)
    pname, ptype, how, doc = m.groups()
    if how == "required":
        return Param(pname, ptype, required=True, description=doc)
    if how.startswith("derived="):
        return Param(pname, ptype, derived=how[8:], description=doc)
    default = parse_value(how[8:])
    if not _is_type(default, ptype):
        raise InputError(f"default of ${pname} is not {ptype}", path)
    return Param(pname, ptype, default=default, description=doc)


@cache
def _library() -> dict[str, NamedQuery]:
    out: dict[str, NamedQuery] = {}
    for path in iter_cypher_files():
        if path.parent.name != "cypher" or path.parent.parent.name != "queries":
            continue
        rel = f"{FOLDER}/{path.name}"
        text = load_cypher(rel)
        if not re.search(r"^//\s*@name\b", text, re.M):
            continue  # not a named query (e.g. a statement another module loads by path)
        q = parse_header(text, f"ontochron/{rel}")
        if q.name != path.stem:
            raise InputError(f"@name {q.name!r} must equal the file name", q.path)
        out[q.name] = q
    return dict(sorted(out.items()))


def list_queries() -> list[NamedQuery]:
    """Every named query shipped, sorted by name."""
    return list(_library().values())


def get_query(name: str) -> NamedQuery:
    """The named query ``name``; InputError listing the known names if there is none."""
    lib = _library()
    if name not in lib:
        raise InputError(f"unknown query {name!r}; known queries: {', '.join(lib)} "
                         "(see `ontochron query --list`)")
    return lib[name]


# ------------------------------------------------------------------------------- running

def run_cypher(store: GraphStore, cypher: str, /, *, write: bool = False,
               **params: Any) -> QueryResult:
    """Run one statement with ``params`` as query parameters; columns keep the statement's
    RETURN order even with no rows. Read-only unless ``write=True`` (then routed as a write)."""
    import neo4j
    from neo4j.exceptions import DriverError, Neo4jError

    if not write:  # read-only, enforced by the store (refused and rolled back otherwise)
        keys, rows = store.read(cypher, params, convert=_row)
        return QueryResult.from_rows(keys, rows, params=params)
    try:
        records, _, keys = store.driver.execute_query(cypher, params, database_=store.database,
                                                      routing_=neo4j.RoutingControl.WRITE)
    except (Neo4jError, DriverError) as exc:
        raise StoreError(f"query failed: {exc}") from exc
    rows = [{k: from_driver(r[k]) for k in keys} for r in records]
    return QueryResult.from_records(list(keys), rows, params=params)


def _row(record: Any) -> tuple[Any, ...]:
    return tuple([plain(v) for v in record.values()])


#: Parameters an ad-hoc statement's ``$forks`` is derived from (every one given counts).
FORK_SOURCES = ("step", "t", "from", "to")


def bind_cypher(cypher: str, params: dict[str, Any], run_id: str | None = None
                ) -> dict[str, Any]:
    """Parameters for an ad-hoc statement: ``params`` plus the derived ones it uses and was
    not given: ``$run_id`` (``run_id``, the default run) and ``$forks`` (the time-slice keys
    of ``$step``/``$t``/``$from``/``$to``, :func:`~ontochron.graph.schema.stab_keys`).
    InputError when a given parameter would override a derived one."""
    used = parameters(cypher)
    out = dict(params)
    if "forks" in out and "forks" in used:
        raise InputError("$forks is derived from " + "/".join("$" + k for k in FORK_SOURCES)
                         + "; pass -p step=N (or t, from, to) instead of -p forks=...")
    if run_id is not None and "run_id" in used:
        if "run_id" in out and out["run_id"] != run_id:
            raise InputError(f"$run_id given twice: --run {run_id!r} and -p run_id="
                             f"{out['run_id']!r}")
        out["run_id"] = run_id
    if "forks" in used:
        sources = [k for k in FORK_SOURCES if k in out]
        if not sources:
            raise InputError("the statement uses $forks, which is derived from $step (or $t, "
                             "$from, $to): pass -p step=N")
        for k in sources:
            if isinstance(out[k], bool) or not isinstance(out[k], int):
                raise InputError(f"${k} must be an integer step to derive $forks, "
                                 f"got {out[k]!r}")
        out["forks"] = _stab_keys(*(out[k] for k in sources))
    return out


def run_query(store: GraphStore, name: str, /, **params: Any) -> QueryResult:
    """Run the named query ``name`` (see ``list_queries``) with type-checked parameters."""
    q = get_query(name)
    bound = q.bind(params)
    if q.split is not None:
        from ontochron.queries.branches import run_split
        res = run_split(store, q.text, q.split, bound)
    else:
        res = run_cypher(store, q.text, **bound)
    res.query = name
    return res


def list_runs(store: GraphStore) -> list[str]:
    """The ``run_id`` of every run in the store, sorted."""
    return [r["run_id"] for r in store.run(load_cypher(f"{FOLDER}/internal/runs_list"))]


def resolve_run(store: GraphStore, run: str | None) -> str:
    """The run every ``--run`` option means: ``run`` if given and present; with none, the only
    run in the store. InputError (exit 2) naming the runs that exist otherwise."""
    runs = list_runs(store)
    listed = ", ".join(repr(r) for r in runs)
    if run is not None:
        if run not in runs:
            raise InputError(f"no run {run!r} in the store (runs: {listed or 'none'})")
        return run
    if len(runs) == 1:
        return runs[0]
    if not runs:
        raise InputError("the store holds no run yet: ingest one first "
                         "(`ontochron ingest SOURCE --run NAME` or `ontochron demo`)")
    raise InputError(f"the store holds {len(runs)} runs ({listed}): pass --run NAME")


#: The three named queries the demo prints: (title, query name, parameters besides run_id).
DEMO_QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("most and least stable features", "feature_stability", {"limit": 5}),
    ("concepts that connected and later separated", "connected_then_separated", {"limit": 20}),
    ("hierarchy at the last checkpoint", "hierarchy_at_step", {}),
]


def demo_queries(store: GraphStore, run_id: str) -> list[tuple[str, QueryResult]]:
    """Run :data:`DEMO_QUERIES` on run ``run_id`` (steps default to its last checkpoint)."""
    runs = {r["run_id"]: r["last_step"]
            for r in store.run(load_cypher(f"{FOLDER}/internal/runs_list"))}
    if run_id not in runs:
        raise InputError(f"no run {run_id!r} in the store")
    out = []
    for title, name, extra in DEMO_QUERIES:
        params = {"run_id": run_id, **extra}
        if get_query(name).param("step") is not None:
            params["step"] = int(runs[run_id])
        out.append((title, run_query(store, name, **params)))
    return out
