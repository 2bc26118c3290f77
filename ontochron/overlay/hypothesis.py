"""Read a hypothesis file: named primitives assigned to features, with a layer, expected
dependencies and an expected dual partner (ontochron's JSON/YAML layout or reptimeline's
``primitivos.json``), validated into typed, frozen dataclasses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx

from ontochron.errors import InputError

# our key -> accepted spellings (ontochron first, then reptimeline's primitivos.json)
_KEYS = {"name": ("name", "nombre"), "feature": ("feature", "bit"),
         "layer": ("layer", "capa"), "depends_on": ("depends_on", "deps"),
         "dual": ("dual",), "definition": ("definition", "def")}
_KNOWN = {k for v in _KEYS.values() for k in v} | {"primo", "prime", "lineage"}


@dataclass(frozen=True)
class Primitive:
    """One stated primitive: expected on ``feature`` (a feature index, or a lineage id when
    the run has lineages: ``Feature.index`` either way)."""

    name: str
    feature: int
    layer: int = 0
    depends_on: tuple[str, ...] = ()
    dual: str | None = None
    definition: str = ""


@dataclass(frozen=True)
class Hypothesis:
    """A validated set of primitives (names unique, one primitive per feature, acyclic
    expected dependencies, duals symmetric)."""

    primitives: tuple[Primitive, ...]
    source: str = ""

    @cached_property
    def by_name(self) -> dict[str, Primitive]:
        return {p.name: p for p in self.primitives}

    @cached_property
    def by_feature(self) -> dict[int, Primitive]:
        return {p.feature: p for p in self.primitives}

    @cached_property
    def dependencies(self) -> list[tuple[str, str]]:
        """Expected (child, parent) pairs as stated, in file order."""
        return [(p.name, d) for p in self.primitives for d in p.depends_on]

    @cached_property
    def duals(self) -> list[tuple[str, str]]:
        """Expected dual pairs, once each, the primitive on the lower feature first."""
        out = set()
        for p in self.primitives:
            if p.dual is not None:
                q = self.by_name[p.dual]
                out.add((p.name, q.name) if p.feature < q.feature else (q.name, p.name))
        return sorted(out, key=lambda ab: (self.by_name[ab[0]].feature,
                                           self.by_name[ab[1]].feature))

    @cached_property
    def graph(self) -> nx.DiGraph:
        """The expected dependency DAG, edges child -> parent."""
        g = nx.DiGraph()
        g.add_nodes_from(p.name for p in self.primitives)
        g.add_edges_from(self.dependencies)
        return g

    def closure(self, name: str) -> set[str]:
        """Every primitive ``name`` depends on, directly or transitively."""
        return set(nx.descendants(self.graph, name))


def _field(entry: dict[str, Any], key: str) -> Any:
    for k in _KEYS[key]:
        if k in entry:
            return entry[k]
    return None


def _int(value: Any, what: str, where: str, src: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: {what!r} must be an integer, got {value!r}", src)
    return value


def _entries(data: Any, src: str | None) -> list[Any]:
    """The document's non-empty ``primitives`` (or reptimeline's ``primitivos``) list."""
    if not isinstance(data, dict):
        raise InputError("a hypothesis must be a mapping with a 'primitives' list", src)
    entries = data.get("primitives", data.get("primitivos"))
    if not isinstance(entries, list) or not entries:
        raise InputError("needs a non-empty 'primitives' (or 'primitivos') list", src)
    return entries


def _feature_of(e: dict[str, Any], where: str, n_features: int | None,
                src: str | None) -> int:
    """The primitive's feature index, in range when ``n_features`` is known."""
    feat = _field(e, "feature")
    if feat is None:
        raise InputError(f"{where}: missing 'feature' (or 'bit')", src)
    feat = _int(feat, "feature", where, src)
    if feat < 0 or (n_features is not None and feat >= n_features):
        raise InputError(f"{where}: feature {feat} is out of range (the run has "
                         f"{n_features} features: 0..{(n_features or 0) - 1})"
                         if n_features is not None else
                         f"{where}: feature {feat} must be >= 0", src)
    return feat


def _stated_relations(e: dict[str, Any], where: str, src: str | None
                      ) -> tuple[list[str], str | None]:
    """The primitive's expected dependencies (names, each once) and dual (a name or None)."""
    deps = _field(e, "depends_on")
    deps = [] if deps is None else deps
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise InputError(f"{where}: 'depends_on' (or 'deps') must be a list of primitive "
                         f"names, got {deps!r}", src)
    if len(set(deps)) != len(deps):
        raise InputError(f"{where}: a dependency is listed twice in {deps!r}", src)
    dual = _field(e, "dual")
    if dual is not None and not isinstance(dual, str):
        raise InputError(f"{where}: 'dual' must be a primitive name, got {dual!r}", src)
    return deps, dual


def _parse_primitive(e: Any, i: int, names: dict[str, int], features: dict[int, str],
                     n_features: int | None, src: str | None) -> Primitive:
    """One entry as a Primitive; ``names`` / ``features`` (what earlier entries used) are
    updated so a name or feature given twice is refused."""
    where = f"primitive #{i}"
    if not isinstance(e, dict):
        raise InputError(f"{where} must be a mapping, got {type(e).__name__}", src)
    name = _field(e, "name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}: missing or empty 'name' (or 'nombre')", src)
    where = f"primitive {name!r}"
    if name in names:
        raise InputError(f"{where}: the name is used twice (entries #{names[name]} "
                         f"and #{i})", src)
    names[name] = i
    feat = _feature_of(e, where, n_features, src)
    if feat in features:
        raise InputError(f"{where}: feature {feat} is already assigned to primitive "
                         f"{features[feat]!r}", src)
    features[feat] = name
    layer = _field(e, "layer")
    layer = 0 if layer is None else _int(layer, "layer", where, src)
    deps, dual = _stated_relations(e, where, src)
    definition = _field(e, "definition")
    definition = "" if definition is None else definition
    if not isinstance(definition, str):
        raise InputError(f"{where}: 'definition' (or 'def') must be text", src)
    unknown = sorted(set(e) - _KNOWN)
    if unknown:
        raise InputError(f"{where}: unknown field {unknown[0]!r} (known: name, feature, "
                         f"layer, depends_on, dual, definition, or reptimeline's nombre, "
                         f"bit, capa, deps, dual, def)", src)
    return Primitive(name, feat, layer, tuple(deps), dual or None, definition)


def _check_references(prims: list[Primitive], src: str | None) -> None:
    """Every named dependency and dual is a primitive of the hypothesis (not itself), and
    duals name each other."""
    by_name = {p.name: p for p in prims}
    for p in prims:
        for d in p.depends_on:
            if d not in by_name:
                raise InputError(f"primitive {p.name!r}: unknown dependency {d!r}", src)
            if d == p.name:
                raise InputError(f"primitive {p.name!r}: depends on itself", src)
        if p.dual is not None:
            if p.dual not in by_name:
                raise InputError(f"primitive {p.name!r}: unknown dual {p.dual!r}", src)
            if p.dual == p.name:
                raise InputError(f"primitive {p.name!r}: is its own dual", src)
            back = by_name[p.dual].dual
            if back is not None and back != p.name:
                raise InputError(f"primitive {p.name!r}: dual {p.dual!r} names another dual "
                                 f"({back!r})", src)


def _check_acyclic(hyp: Hypothesis, src: str | None) -> None:
    """The expected dependencies form no cycle (the error names one)."""
    try:
        cycle = nx.find_cycle(hyp.graph)
    except nx.NetworkXNoCycle:
        return
    chain = " -> ".join([a for a, _ in cycle] + [cycle[0][0]])
    raise InputError(f"primitive {cycle[0][0]!r}: the expected dependencies form a cycle "
                     f"({chain})", src)


def parse_hypothesis(data: Any, source: str = "", n_features: int | None = None
                     ) -> Hypothesis:
    """Validate a loaded hypothesis document; ``n_features`` bounds the feature indices."""
    src = source or None
    names: dict[str, int] = {}
    features: dict[int, str] = {}
    prims = [_parse_primitive(e, i, names, features, n_features, src)
             for i, e in enumerate(_entries(data, src))]
    _check_references(prims, src)
    hyp = Hypothesis(tuple(prims), source)
    _check_acyclic(hyp, src)
    return hyp


def load_hypothesis(path: str | os.PathLike[str], n_features: int | None = None
                    ) -> Hypothesis:
    """Read a hypothesis from a .json, .yaml or .yml file (or reptimeline's primitivos.json)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the hypothesis: {exc}", p) from None
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML: {exc}", p) from None
    else:
        from ontochron.jsoninput import parse_json

        data = parse_json(text, p, invalid="not valid JSON")
    return parse_hypothesis(data, str(p), n_features)
