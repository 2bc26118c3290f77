"""Named query library: every query against the real ArcadeDB Bolt server on a hand-built run
whose answers are computed independently in Python from the Ontology (``holds_at``)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from ontochron.cli import main
from ontochron.errors import InputError
from ontochron.graph.cypher import parameters
from ontochron.graph.ingest import write_ontology
from ontochron.graph.schema import stab_keys
from ontochron.ingest.snapshot import CodeStack
from ontochron.ontology.intervals import OPEN, holds_at
from ontochron.ontology.result import Events, Ontology, Relations
from ontochron.queries import (
    demo_queries,
    get_query,
    list_queries,
    parse_value,
    run_cypher,
    run_query,
)
from tests.synthetic import stack_from_dense

RUN = "hand run"
STEPS = [0, 100, 200, 300, 400]
CONCEPTS = ["alpha", "beta", "it's \"q\"", "back`tick", "gamma"]
N_FEATURES = 8
OP = OPEN
# (concept index, feature, valid_from, valid_to): the concept's code has the feature on.
ACTIVATIONS = [(0, 0, 0, OP), (0, 1, 0, 200), (0, 1, 300, OP), (0, 2, 100, 400),
               (1, 0, 100, OP), (1, 3, 0, 300), (2, 1, 0, 100), (2, 4, 200, OP),
               (3, 5, 0, OP), (3, 2, 200, 300), (4, 6, 300, OP)]
# (kind, a, b, c, valid_from, valid_to, stats)
RELATIONS = [
    ("connection", 0, 1, -1, 100, 300, {"shared": 1.0}),
    ("connection", 0, 2, -1, 0, 100, {"shared": 1.0}),
    ("connection", 0, 1, -1, 400, OP, {"shared": 2.0}),
    ("connection", 3, 4, -1, 300, OP, {"shared": 0.0}),
    ("dual", 0, 3, -1, 0, 200, {"phi": -0.9}),
    ("dual", 1, 5, -1, 100, OP, {"phi": -0.8}),
    ("dependency", 2, 0, -1, 100, 400, {"confidence": 0.95}),   # child 2 -> parent 0
    ("dependency", 4, 0, -1, 200, OP, {"confidence": 0.91}),
    ("hierarchy", 0, 2, -1, 100, 400, {}),                      # parent 0 -> child 2
    ("hierarchy", 0, 4, -1, 200, OP, {}),
    ("triad", 0, 1, 2, 100, 300, {"interaction": 0.4}),
]
STABILITY = [0.9, 0.5, 0.3, 0.1, 0.7, 0.95, 0.2, np.nan]
LAYER = [0, 0, 1, 0, 1, 0, 0, 0]
# Phase transitions: (step, metric, delta, direction, z)
PHASES = [(200, "entropy", 0.5, "up", 4.0), (400, "churn", -0.25, "down", -3.9)]


def _relations(rows: list[tuple]) -> Relations:
    names = sorted({k for r in rows for k in r[6]})
    return Relations(np.array([r[0] for r in rows], dtype=object),
                     *(np.array([r[i] for r in rows], dtype=np.int64) for i in range(1, 6)),
                     {n: np.array([r[6].get(n, np.nan) for r in rows], dtype=np.float64)
                      for n in names})


def _activations() -> Relations:
    return _relations([("activates", c, f, -1, a, b, {}) for c, f, a, b in ACTIVATIONS])


def hand_stack() -> CodeStack:
    """The codes implied by ACTIVATIONS (every concept present at every checkpoint)."""
    frames = []
    for s in STEPS:
        codes = np.zeros((len(CONCEPTS), N_FEATURES), dtype=np.uint8)
        for c, f, a, b in ACTIVATIONS:
            if a <= s and (b == OP or s < b):
                codes[c, f] = 1
        frames.append((s, CONCEPTS, codes))
    return stack_from_dense(frames)


def _lifecycle() -> tuple[np.ndarray, np.ndarray]:
    """Feature birth/death steps from the activations (death OPEN while alive)."""
    act = _activations()
    birth = np.full(N_FEATURES, OP, dtype=np.int64)
    death = np.full(N_FEATURES, OP, dtype=np.int64)
    for f in range(N_FEATURES):
        m = act.b == f
        if not m.any():
            continue
        birth[f] = act.valid_from[m].min()
        to = act.valid_to[m]
        death[f] = OP if (to == OP).any() else to.max()
    return birth, death


def _events() -> Events:
    rows: list[tuple[str, int, int, int, str]] = []
    for c, f, a, b in ACTIVATIONS:
        later = [x for x in ACTIVATIONS if x[0] == c and x[1] == f and x[2] > a]
        if not later:  # births/deaths mark the pair's last activation
            rows.append(("birth", a, c, f, ""))
            if b != OP:
                rows.append(("death", b, c, f, ""))
    for kind, a, b, _, start, end, st in RELATIONS:
        if kind == "connection":
            det = json.dumps({"b": CONCEPTS[b], "shared": int(st["shared"])})
            rows.append(("connection_form", start, a, -1, det))
            if end != OP:
                rows.append(("connection_break", end, a, -1, det))
    for s, metric, delta, direction, z in PHASES:
        rows.append(("phase_transition", s, -1, -1, json.dumps(
            {"metric": metric, "delta": delta, "direction": direction, "z": z})))
    return Events(np.array([r[0] for r in rows], dtype=object),
                  *(np.array([r[i] for r in rows], dtype=np.int64) for i in (1, 2, 3)),
                  np.array([r[4] for r in rows], dtype=object))


def hand_ontology() -> Ontology:
    """A run with every node and relationship kind of the schema and known intervals."""
    birth, death = _lifecycle()
    curves = {"entropy": np.array([0.1, 0.2, 0.7, 0.7, 0.6]),
              "churn": np.array([0.0, 0.3, 0.3, 0.3, 0.05])}
    stats = {"birth_step": birth, "death_step": death,
             "stability": np.array(STABILITY), "layer": np.array(LAYER, dtype=np.int64)}
    return Ontology(np.array(STEPS, dtype=np.int64), list(CONCEPTS), N_FEATURES, _events(),
                    _relations(RELATIONS), _activations(), curves, stats, {}, {})


def ingest_hand_run(store: Any, run_id: str = RUN) -> Ontology:
    """Write the hand-built run through the real ingest writer; returns its Ontology."""
    ont = hand_ontology()
    write_ontology(store, ont, hand_stack(), run_id, progress=False)
    return ont


# --------------------------------------------------------------------------- expectations
# (the hand_store fixture that holds this run lives in conftest.py)

def _relations_by_type() -> dict[str, Relations]:
    ont = hand_ontology()
    return {"ACTIVATES": ont.activations, "CONNECTED": ont.relations.of_kind("connection"),
            "DUAL": ont.relations.of_kind("dual"),
            "DEPENDS_ON": ont.relations.of_kind("dependency"),
            "PARENT_OF": ont.relations.of_kind("hierarchy")}


def _end(rtype: str, i: int, which: str) -> Any:
    concept_end = (rtype == "ACTIVATES" and which == "a") or rtype == "CONNECTED"
    return CONCEPTS[i] if concept_end else i


def _to(v: int) -> int | None:
    return None if v == OP else int(v)


def expected_graph_at(step: int) -> set[tuple]:
    """Brute force: every feature alive and relation holding at ``step`` (holds_at)."""
    birth, death = _lifecycle()
    born = birth != OP
    alive = born & holds_at(birth, death, step)
    out = {("Feature", int(f), None, int(birth[f]), _to(death[f]))
           for f in np.flatnonzero(alive)}
    for rtype, rel in _relations_by_type().items():
        for k in np.flatnonzero(holds_at(rel.valid_from, rel.valid_to, step)):
            out.add((rtype, _end(rtype, int(rel.a[k]), "a"), _end(rtype, int(rel.b[k]), "b"),
                     int(rel.valid_from[k]), _to(rel.valid_to[k])))
    return out


def _rows(res: Any, cols: list[str]) -> list[tuple]:
    return [tuple(r[c] for c in cols) for r in res.records()]


# --------------------------------------------------------------------------- named queries

@pytest.mark.parametrize("step", [0, 99, 100, 150, 200, 299, 300, 400, 10_000])
def test_graph_at_step_matches_holds_at(hand_store, step):
    res = run_query(hand_store, "graph_at_step", run_id=RUN, step=step)
    got = _rows(res, ["type", "source", "target", "valid_from", "valid_to"])
    assert len(got) == len(set(got))
    assert set(got) == expected_graph_at(step)


@pytest.mark.parametrize("types", [["DUAL"], ["Feature", "CONNECTED"], []])
def test_graph_at_step_types_filter(hand_store, types):
    res = run_query(hand_store, "graph_at_step", run_id=RUN, step=100, types=types)
    got = set(_rows(res, ["type", "source", "target", "valid_from", "valid_to"]))
    assert got == {r for r in expected_graph_at(100) if r[0] in types}


def test_graph_at_step_before_first_step_is_empty(hand_store):
    assert len(run_query(hand_store, "graph_at_step", run_id=RUN, step=-5)) == 0
    assert len(run_query(hand_store, "graph_at_step", run_id="no such run", step=100)) == 0


@pytest.mark.parametrize(("step", "types"), [(0, None), (100, None), (300, None),
                                             (10_000, None), (200, ["ACTIVATES"]),
                                             (100, ["Feature", "DUAL"]), (100, ["PARENT_OF"])])
def test_graph_at_step_split_run_equals_the_statement_as_written(hand_store, step, types):
    """run_query runs graph_at_step branch by branch (@split), rows packed per branch; the rows,
    their order and the column types equal those of the whole UNION ALL run as one statement."""
    q = get_query("graph_at_step")
    assert q.split == ("type", "types")
    whole = run_cypher(hand_store, q.text, **q.bind({"run_id": RUN, "step": step,
                                                     "types": types}))
    split = run_query(hand_store, "graph_at_step", run_id=RUN, step=step, types=types)
    assert len(whole) > 0
    assert split.rows == whole.rows
    assert split.columns == whole.columns
    assert split.params == whole.params


def test_split_run_keeps_columns_of_an_empty_result(hand_store):
    res = run_query(hand_store, "graph_at_step", run_id=RUN, step=100, types=[])
    assert len(res) == 0
    assert res.names == ["type", "source", "target", "valid_from", "valid_to"]


@pytest.mark.parametrize("step", [0, 100, 250, 400])
def test_hierarchy_at_step(hand_store, step):
    rel = hand_ontology().relations.of_kind("hierarchy")
    want = [(int(rel.a[k]), int(rel.b[k]), LAYER[rel.a[k]], LAYER[rel.b[k]],
             int(rel.valid_from[k]), _to(rel.valid_to[k]))
            for k in np.flatnonzero(holds_at(rel.valid_from, rel.valid_to, step))]
    res = run_query(hand_store, "hierarchy_at_step", run_id=RUN, step=step)
    got = _rows(res, ["parent", "child", "parent_layer", "child_layer", "valid_from",
                      "valid_to"])
    assert got == sorted(want, key=lambda r: (r[2], r[0], r[1]))


def _overlap(a0: int, a1: int, b0: int, b1: int) -> bool:
    inf = 1 << 60
    return b0 < (inf if a1 == OP else a1) and a0 < (inf if b1 == OP else b1)


def _feature_relations(f: int) -> list[tuple[str, int, int, int]]:
    """(role, other feature, valid_from, valid_to) of every relation interval of feature f."""
    out = []
    roles = {"DUAL": ("dual", "dual"), "DEPENDS_ON": ("depends_on", "dependency_of"),
             "PARENT_OF": ("parent_of", "child_of")}
    for rtype, (out_role, in_role) in roles.items():
        rel = _relations_by_type()[rtype]
        for k in range(len(rel)):
            a, b = int(rel.a[k]), int(rel.b[k])
            if f in (a, b):
                out.append((out_role if a == f else in_role, b if a == f else a,
                            int(rel.valid_from[k]), int(rel.valid_to[k])))
    return out


@pytest.mark.parametrize("concept", range(len(CONCEPTS)))
def test_concept_lineage(hand_store, concept):
    want = set()
    for c, f, a0, a1 in ACTIVATIONS:
        if c != concept:
            continue
        rels = [r for r in _feature_relations(f) if _overlap(a0, a1, r[2], r[3])]
        if not rels:
            want.add((f, a0, _to(a1), None, None, None, None))
        for role, other, r0, r1 in rels:
            want.add((f, a0, _to(a1), role, other, r0, _to(r1)))
    res = run_query(hand_store, "concept_lineage", run_id=RUN, concept=CONCEPTS[concept])
    got = _rows(res, ["feature", "active_from", "active_to", "relation", "other_feature",
                      "relation_from", "relation_to"])
    assert len(got) == len(want) and set(got) == want
    assert [r[1] for r in got] == sorted(r[1] for r in got)  # ordered by activation start


@pytest.mark.parametrize("feature", range(N_FEATURES))
def test_feature_lineage(hand_store, feature):
    birth, death = _lifecycle()
    want = {("lifetime", _to(birth[feature]), _to(death[feature]), ())}
    want |= {(role, r0, _to(r1), (other,)) for role, other, r0, r1 in _feature_relations(feature)}
    for kind, a, b, c, r0, r1, _ in RELATIONS:
        if kind == "triad" and feature in (a, b, c):
            want.add(("and_output" if feature == c else "and_input", r0, _to(r1), (a, b, c)))
    res = run_query(hand_store, "feature_lineage", run_id=RUN, feature=feature)
    got = [(k, f, t, tuple(x)) for k, f, t, x in
           _rows(res, ["kind", "valid_from", "valid_to", "features"])]
    assert len(got) == len(want) and set(got) == want
    life = next(r for r in res.records() if r["kind"] == "lifetime")
    if np.isnan(STABILITY[feature]):
        assert life["value"] is None
    else:
        assert life["value"] == pytest.approx(STABILITY[feature])


def test_feature_lineage_shows_label_history(hand_store):
    hand_store.write("MATCH (f:Feature {run_id: $run_id, index: 5}) "
                     "SET f.label = 'edge', f.label_score = 0.8 "
                     "CREATE (:Label {run_id: $run_id, text: 'edge', method: 'llm', score: 0.8})"
                     "-[:DESCRIBES {valid_from: 100}]->(f)", run_id=RUN)
    try:
        res = run_query(hand_store, "feature_lineage", run_id=RUN, feature=5)
        got = {(r["kind"], r["valid_from"], r["detail"], r["value"]) for r in res.records()
               if "label" in r["kind"]}
        assert got == {("label", 100, "edge (llm)", 0.8), ("current_label", None, "edge", 0.8)}
    finally:
        hand_store.write("MATCH (l:Label {run_id: $run_id}) DETACH DELETE l "
                         "WITH count(*) AS n MATCH (f:Feature {run_id: $run_id, index: 5}) "
                         "REMOVE f.label, f.label_score", run_id=RUN)


@pytest.mark.parametrize(("start", "stop", "kinds"),
                         [(0, 400, None), (100, 200, None), (150, 350, ["death", "birth"]),
                          (200, 200, ["phase_transition"]), (401, 900, None)])
def test_events_between(hand_store, start, stop, kinds):
    ev = hand_ontology().events
    keep = (ev.step >= start) & (ev.step <= stop)
    if kinds is not None:
        keep &= np.isin(ev.kind, kinds)
    want = set()
    for k in np.flatnonzero(keep):
        det = json.loads(ev.detail[k]) if ev.detail[k] else {}
        want.add((int(ev.step[k]), ev.kind[k],
                  CONCEPTS[ev.concept[k]] if ev.concept[k] >= 0 else None,
                  int(ev.feature[k]) if ev.feature[k] >= 0 else None,
                  det.get("b"), det.get("metric")))
    res = run_query(hand_store, "events_between", run_id=RUN, **{"from": start, "to": stop},
                    kinds=kinds)
    got = _rows(res, ["step", "kind", "concept", "feature", "partner", "metric"])
    assert len(got) == len(want) and set(got) == want
    assert [r[0] for r in got] == sorted(r[0] for r in got)
    for r in res.records():
        if r["kind"] != "phase_transition":
            assert r["births"] is None and r["value_after"] is None
            continue
        at = ev.step == r["step"]
        assert r["births"] == int(np.count_nonzero(at & (ev.kind == "birth")))
        assert r["deaths"] == int(np.count_nonzero(at & (ev.kind == "death")))
        assert r["connections_formed"] == int(np.count_nonzero(at & (ev.kind ==
                                                                     "connection_form")))
        assert r["connections_broken"] == int(np.count_nonzero(at & (ev.kind ==
                                                                     "connection_break")))
        curve = hand_ontology().curves[r["metric"]]
        i = STEPS.index(r["step"])
        assert r["value_after"] == pytest.approx(curve[i])
        assert r["value_before"] == pytest.approx(curve[i - 1])


@pytest.mark.parametrize(("a", "b"), [(0, 100), (100, 300), (0, 400), (300, 100), (200, 200)])
def test_diff_checkpoints(hand_store, a, b):
    before, after = expected_graph_at(a), expected_graph_at(b)
    key = {r[:3] for r in before} ^ {r[:3] for r in after}
    want = {("closed", *r) for r in before if r[:3] in key}
    want |= {("opened", *r) for r in after if r[:3] in key}
    res = run_query(hand_store, "diff_checkpoints", run_id=RUN, **{"from": a, "to": b})
    got = _rows(res, ["change", "type", "source", "target", "valid_from", "valid_to"])
    assert len(got) == len(want) and set(got) == want


def test_connected_then_separated(hand_store):
    rel = _relations_by_type()["CONNECTED"]
    want = set()
    for k in np.flatnonzero(rel.valid_to != OP):
        pair = (rel.a == rel.a[k]) & (rel.b == rel.b[k]) & (rel.valid_from >= rel.valid_to[k])
        again = int(rel.valid_from[pair].min()) if pair.any() else None
        want.add((CONCEPTS[rel.a[k]], CONCEPTS[rel.b[k]], int(rel.valid_from[k]),
                  int(rel.valid_to[k]), again))
    res = run_query(hand_store, "connected_then_separated", run_id=RUN)
    got = _rows(res, ["concept_a", "concept_b", "connected_at", "separated_at",
                      "reconnected_at"])
    assert set(got) == want and len(got) == 2
    assert len(run_query(hand_store, "connected_then_separated", run_id=RUN, limit=1)) == 1


@pytest.mark.parametrize("limit", [1, 3, 10])
def test_feature_stability(hand_store, limit):
    s = np.array(STABILITY)
    birth, _ = _lifecycle()
    idx = np.flatnonzero(~np.isnan(s) & (birth != OP))  # never-active features left out
    most = sorted(idx, key=lambda f: (-s[f], f))[:limit]
    least = sorted(idx, key=lambda f: (s[f], f))[:limit]
    res = run_query(hand_store, "feature_stability", run_id=RUN, limit=limit)
    got = _rows(res, ["rank", "feature"])
    assert [f for r, f in got if r == "most_stable"] == [int(f) for f in most]
    assert [f for r, f in got if r == "least_stable"] == [int(f) for f in least]


def test_feature_stability_leaves_out_never_active_features(hand_store):
    # feature 7 never activates; give it a perfect stability: it must still not be listed
    never = [f for f, b in enumerate(_lifecycle()[0]) if b == OP]
    assert never == [7]
    set_stab = ("MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = $index "
                "SET f.stability = $value")
    hand_store.write(set_stab, run_id=RUN, index=7, value=1.0)
    try:
        res = run_query(hand_store, "feature_stability", run_id=RUN, limit=10)
        assert 7 not in {f for _, f in _rows(res, ["rank", "feature"])}
        assert _rows(res, ["rank", "feature"])[0] == ("most_stable", 5)  # 0.95, born
    finally:
        hand_store.write("MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = $index "
                         "REMOVE f.stability", run_id=RUN, index=7)


def test_demo_queries_run_three_named_queries(hand_store):
    out = demo_queries(hand_store, RUN)
    assert len(out) == 3
    names = {r.query for _, r in out}
    assert names <= {q.name for q in list_queries()} and len(names) == 3
    hier = dict((r.query, r) for _, r in out)["hierarchy_at_step"]
    assert _rows(hier, ["parent", "child"]) == [(0, 4)]  # at the last step, 400
    with pytest.raises(InputError):
        demo_queries(hand_store, "no such run")


# --------------------------------------------------------------------------- library

def test_list_queries_declares_every_parameter():
    qs = {q.name: q for q in list_queries()}
    assert set(qs) >= {"graph_at_step", "concept_lineage", "feature_lineage", "events_between",
                       "diff_checkpoints", "connected_then_separated", "feature_stability",
                       "hierarchy_at_step"}
    for q in qs.values():
        assert q.summary and q.param("run_id") is not None and q.param("run_id").required
        assert {p.name for p in q.params} == parameters(q.text)
    step = qs["graph_at_step"].param("step")
    assert (step.type, step.required) == ("int", True)
    assert qs["feature_stability"].param("limit").default == 10
    assert qs["graph_at_step"].param("forks").derived == "stab_keys(step)"


def test_bind_checks_types_and_fills_defaults_and_forks():
    q = get_query("graph_at_step")
    bound = q.bind({"run_id": "r", "step": 1500})
    assert bound["forks"] == sorted(stab_keys(1500))
    assert set(stab_keys(1500)) == set(bound["forks"])
    d = get_query("diff_checkpoints").bind({"run_id": "r", "from": 3, "to": 9})
    assert set(d["forks"]) == set(stab_keys(3)) | set(stab_keys(9))
    assert get_query("feature_stability").bind({"run_id": "r"})["limit"] == 10
    with pytest.raises(InputError, match=r"\$step must be int, got 'x'"):
        q.bind({"run_id": "r", "step": "x"})
    with pytest.raises(InputError, match=r"\$step must be int"):
        q.bind({"run_id": "r", "step": True})
    with pytest.raises(InputError, match=r"needs parameter \$step"):
        q.bind({"run_id": "r"})
    with pytest.raises(InputError, match=r"no parameter\(s\) \$bogus"):
        q.bind({"run_id": "r", "step": 1, "bogus": 2})
    with pytest.raises(InputError, match="unknown query 'nope'.*graph_at_step"):
        get_query("nope")


def test_browser_fork_expression_equals_stab_keys(hand_store):
    """The ':param forks => ...' line in the headers computes exactly stab_keys(step)."""
    res = run_cypher(hand_store, "RETURN [-1] + [L IN range(0, 56) | ($step / toInteger(2^L)) "
                                 "* 64 + L] AS forks", step=123457)
    assert res.rows[0][0] == stab_keys(123457)
    assert "toInteger(2^L)" in get_query("graph_at_step").text


@pytest.mark.parametrize(("text", "value"), [
    ("42", 42), ("-3", -3), ("2.5", 2.5), ("1e3", 1000.0), ("true", True), ("False", False),
    ("null", None), ("[1, 2]", [1, 2]), ('{"a": 1}', {"a": 1}), ("alpha", "alpha"),
    ("it's", "it's"), ("[not json", "[not json"), ("", "")])
def test_parse_value(text, value):
    got = parse_value(text)
    assert got == value and type(got) is type(value)


def test_query_result_types_and_formats(hand_store):
    res = run_cypher(hand_store, "MATCH (c:Concept {run_id: $r}) WHERE c.index < 3 "
                                 "RETURN c.name AS name, c.index AS i, null AS z "
                                 "ORDER BY i", r=RUN)
    assert [(c.name, c.type) for c in res.columns] == [("name", "string"), ("i", "int"),
                                                      ("z", "null")]
    assert json.loads(res.format("json")) == [{"name": n, "i": i, "z": None}
                                              for i, n in enumerate(CONCEPTS[:3])]
    import csv
    import io
    rows = list(csv.reader(io.StringIO(res.format("csv"))))
    assert rows == [["name", "i", "z"]] + [[n, str(i), ""] for i, n in enumerate(CONCEPTS[:3])]
    table = res.format("table").splitlines()
    assert table[0].split() == ["name", "i", "z"] and table[-1] == "(3 rows)"
    empty = run_cypher(hand_store, "MATCH (c:Concept {run_id: 'none'}) RETURN c.name AS n")
    assert len(empty) == 0 and empty.names in ([], ["n"])  # ArcadeDB sends no keys when empty


# --------------------------------------------------------------------------- CLI

@pytest.fixture
def cli_env(monkeypatch, store_target):
    monkeypatch.setenv("NEO4J_USERNAME", store_target.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", store_target.password or "")
    return ["--store", store_target.uri] + (["--database", store_target.database]
                                            if store_target.database else [])


def test_cli_list_shows_queries_and_parameters(capsys):
    assert main(["query", "--list"]) == 0
    out = capsys.readouterr().out
    for q in list_queries():
        assert q.name in out
    assert "--param step: int, required" in out


def test_cli_named_query_json(hand_store, cli_env, capsys):
    rc = main(["query", "feature_stability", "--run", RUN, "-p", "limit=2", "--format", "json",
               *cli_env])
    assert rc == 0
    got = json.loads(capsys.readouterr().out)
    assert [(r["rank"], r["feature"]) for r in got] == [
        ("most_stable", 5), ("most_stable", 0), ("least_stable", 3), ("least_stable", 6)]


def test_cli_concept_with_quotes_and_csv(hand_store, cli_env, capsys):
    rc = main(["query", "concept_lineage", "--run", RUN, "-p", f"concept={CONCEPTS[2]}",
               "--format", "csv", *cli_env])
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("feature,active_from") and len(lines) == 1 + 3


def test_cli_adhoc_cypher_uses_parameters(hand_store, cli_env, capsys):
    rc = main(["query", "--cypher", "MATCH (c:Concept {run_id: $run_id, name: $n}) "
               "RETURN c.index AS i", "--run", RUN, "-p", f"n={CONCEPTS[3]}", "-f", "json",
               *cli_env])
    assert rc == 0 and json.loads(capsys.readouterr().out) == [{"i": 3}]


def test_cli_errors(hand_store, cli_env, capsys):
    assert main(["query", "no_such_query", *cli_env]) == 2
    assert "unknown query 'no_such_query'" in capsys.readouterr().err
    assert main(["query", "graph_at_step", "-p", "step=soon", "--run", RUN, *cli_env]) == 2
    assert "$step must be int, got 'soon'" in capsys.readouterr().err
    assert main(["query", "graph_at_step", "--run", RUN, *cli_env]) == 2
    assert "needs parameter $step" in capsys.readouterr().err
    assert main(["query", "feature_stability", *cli_env]) == 2  # two runs: --run needed
    assert "pass --run NAME" in capsys.readouterr().err
    assert main(["query", "feature_stability", "--run", "nope", *cli_env]) == 2
    assert "no run 'nope'" in capsys.readouterr().err
    assert main(["query", "graph_at_step", "-p", "oops", *cli_env]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
