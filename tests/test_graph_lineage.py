"""Lineage in the graph (issue 10, item 6) against the real ArcadeDB Bolt server: one Feature
per lineage with its per-checkpoint dictionary index and drift, SPLITS_INTO / MERGES_INTO,
Split / Merge events, idempotent and incremental ingest, the identity lineage giving exactly
the graph of a fixed dictionary, and SAME_AS between two runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ontochron.errors import InputError
from ontochron.graph.ingest import ingest
from ontochron.graph.lineage_write import NO_COSINE, write_same_as
from ontochron.lineage.result import Lineage
from ontochron.ontology import OntologyConfig
from tests.lineage_data import (
    COS_FIRST,
    COS_PREV,
    EVENTS,
    FEATURES,
    N_LINEAGES,
    STEPS,
    hand_lineage,
    hand_lineage_stack,
)
from tests.test_graph_ingest import counts, dump

CONN = OntologyConfig(connection_null="hypergeometric")


def _ingest(store, run: str, k: int = 4, lineage: Lineage | None | str = "hand"):
    lin = hand_lineage(k) if lineage == "hand" else lineage
    return ingest(hand_lineage_stack(k), run=run, store=store, config=CONN, progress=False,
                  lineage=lin)


def _features(store, run: str) -> dict[int, dict]:
    rows = store.run("MATCH (f:Feature) WHERE f.run_id = $run RETURN f.index AS i, "
                     "properties(f) AS p", run=run)
    return {r["i"]: r["p"] for r in rows}


def test_feature_nodes_carry_the_lineage(graph_store):
    _ingest(graph_store, "lin")
    feats = _features(graph_store, "lin")
    assert sorted(feats) == list(range(N_LINEAGES))
    for fid, p in feats.items():
        # dict_index[i] is the lineage's dictionary index at Run.steps[i], -1 where absent
        want = [row.index(fid) if fid in row else -1 for row in FEATURES]
        assert p["dict_index"] == want
        for t, row in enumerate(FEATURES):
            if fid in row:
                i = row.index(fid)
                prev = COS_PREV[t][i]
                assert p["drift_prev"][t] == (NO_COSINE if np.isnan(prev) else prev)
                assert p["drift_first"][t] == COS_FIRST[t][i]
            else:
                assert p["drift_prev"][t] == p["drift_first"][t] == NO_COSINE
        present = [STEPS[t] for t, row in enumerate(FEATURES) if fid in row]
        assert (p["first_step"], p["last_step"]) == (present[0], present[-1])
    # how each lineage began and ended, and when it was first missing
    got = {f: (p["origin"], p.get("fate"), p.get("end_step")) for f, p in feats.items()}
    assert got == {0: ("initial", "merge", 20), 1: ("initial", "split", 10),
                   2: ("initial", "merge", 20), 3: ("split", None, None),
                   4: ("split", "death", 20), 5: ("merge", None, None),
                   6: ("birth", "death", 30), 7: ("birth", None, None)}
    run = graph_store.run("MATCH (r:Run) WHERE r.run_id = 'lin' RETURN r.lineage AS l, "
                          "r.n_features AS n")[0]
    summary = json.loads(run["l"])
    assert run["n"] == N_LINEAGES and summary["lineages"] == N_LINEAGES
    assert summary["threshold"] == 0.94 and summary["null"]["kind"] == "random"
    assert summary["counts"] == {"birth": 2, "death": 2, "split": 2, "merge": 2, "continue": 5}
    assert (summary["initial"], summary["dead"], summary["turned"]) == (3, 0, 1)
    assert all(p["dead"] is False for p in feats.values())
    assert {f: p.get("turned_step") for f, p in feats.items() if p["turned"]} == {3: 30}


def test_split_merge_relationships_and_events(graph_store):
    _ingest(graph_store, "lin")
    links = graph_store.run("MATCH (a)-[r:SPLITS_INTO|MERGES_INTO]->(b) WHERE r.run_id = "
                            "'lin' RETURN type(r) AS t, a.index AS a, b.index AS b, "
                            "r.step AS s, r.cosine AS c")
    want = {("SPLITS_INTO" if k == "split" else "MERGES_INTO", s, t, step, c)
            for k, step, s, t, c in EVENTS if k in ("split", "merge")}
    assert {(r["t"], r["a"], r["b"], r["s"], r["c"]) for r in links} == want
    ev = graph_store.run(
        "MATCH (e:Event)-[:AT]->(k) WHERE e.run_id = 'lin' AND (e:Split OR e:Merge) "
        "MATCH (e)-[o:OF_FEATURE]->(f) RETURN labels(e) AS l, e.step AS s, k.step AS ks, "
        "e.feature AS feature, e.sources AS src, e.targets AS tgt, e.cosines AS cos, "
        "o.role AS role, f.index AS f")
    by_event: dict = {}
    for r in ev:
        assert r["s"] == r["ks"]
        key = (tuple(sorted(r["l"])), r["s"], r["feature"], tuple(r["src"]), tuple(r["tgt"]),
               tuple(r["cos"]))
        by_event.setdefault(key, set()).add((r["role"], r["f"]))
    assert by_event == {
        (("Event", "Split"), 10, 1, (1,), (3, 4), (0.61, 0.55)):
            {("source", 1), ("target", 3), ("target", 4)},
        (("Event", "Merge"), 20, 5, (0, 2), (5,), (0.7, 0.65)):
            {("source", 0), ("source", 2), ("target", 5)}}
    # findable like every other event (the Event label, the (run_id, step) index)
    kinds = graph_store.run("MATCH (e:Event) WHERE e.run_id = 'lin' AND e.step = 20 "
                            "RETURN DISTINCT e.kind AS k")
    assert "merge" in {r["k"] for r in kinds}


def test_reingest_is_idempotent_and_incremental_equals_full(graph_store):
    _ingest(graph_store, "lin")
    before = dump(graph_store, "lin")
    again = _ingest(graph_store, "lin")
    assert again.changed == 0 and again.rows_written == 0
    assert dump(graph_store, "lin") == before
    # three checkpoints first, then the fourth appended: the same graph as all at once
    first = _ingest(graph_store, "inc", k=3)
    assert first.tables["Feature"]["created"] == 7
    more = _ingest(graph_store, "inc", k=4)
    assert dump(graph_store, "inc") == before
    assert "Feature" in more.rebuilt  # diffed against its state rebuilt from the source
    assert more.tables["SPLITS_INTO"]["created"] == 0
    assert more.tables["Feature"]["created"] == 1  # lineage 7, born at step 30
    assert 0 < more.rows_written < first.rows_written + 8
    # a hand edit of a lineage link is repaired once the digests are cleared
    graph_store.write("MATCH (a)-[r:SPLITS_INTO]->(b) WHERE r.run_id = 'inc' AND b.index = 4 "
                      "DELETE r")
    graph_store.write("MATCH (r:Run) WHERE r.run_id = 'inc' SET r.digests = null")
    fixed = _ingest(graph_store, "inc")
    assert fixed.tables["SPLITS_INTO"]["created"] == 1
    assert dump(graph_store, "inc") == before


def test_identity_lineage_gives_the_fixed_dictionary_graph(graph_store):
    stack = hand_lineage_stack()
    ingest(stack, run="fixed", store=graph_store, config=CONN, progress=False)
    ingest(stack, run="ident", store=graph_store, config=CONN, progress=False,
           lineage=Lineage.identity(STEPS, N_LINEAGES))
    assert dump(graph_store, "ident") == dump(graph_store, "fixed")
    nodes, rels = counts(graph_store, "fixed")
    assert "Split" not in nodes and "SPLITS_INTO" not in rels
    p = _features(graph_store, "fixed")[0]
    assert "dict_index" not in p and "origin" not in p
    # a run first ingested with a lineage, then without one, loses every lineage fact
    _ingest(graph_store, "flip")
    _ingest(graph_store, "flip", lineage=None)
    assert dump(graph_store, "flip") == dump(graph_store, "fixed")


def test_lineage_that_does_not_fit_the_codes_is_refused(graph_store):
    bad_steps = hand_lineage()
    bad_steps.steps = np.array([0, 10, 20, 31])
    with pytest.raises(InputError, match="steps"):
        _ingest(graph_store, "bad", lineage=bad_steps)
    with pytest.raises(InputError, match="7 lineages but the codes have 8"):
        ingest(hand_lineage_stack(4), run="bad", store=graph_store, config=CONN,
               progress=False, lineage=_with_n(hand_lineage(4), 7))
    assert graph_store.run("MATCH (n) WHERE n.run_id = 'bad' RETURN count(n) AS n")[0]["n"] == 0


def _with_n(lin: Lineage, n: int) -> Lineage:
    lin.n_lineages = n
    return lin


def _same_as(store) -> set[tuple]:
    rows = store.run("MATCH (a)-[s:SAME_AS]->(b) RETURN a.run_id AS ra, a.index AS a, "
                     "b.run_id AS rb, b.index AS b, s.kind AS k, s.cosine AS c, "
                     "s.step_a AS sa, s.step_b AS sb")
    return {(r["ra"], r["a"], r["rb"], r["b"], r["k"], r["c"], r["sa"], r["sb"]) for r in rows}


def test_same_as_maps_dictionary_indices_to_lineages(graph_store):
    _ingest(graph_store, "A")
    ingest(hand_lineage_stack(), run="B", store=graph_store, config=CONN, progress=False)
    # A's dictionary at its last step (30) holds lineages [5, 3, 7]; B is a fixed dictionary
    rows = [{"a": 0, "b": 2, "cosine": 0.91, "kind": "same"},
            {"a": 1, "b": 4, "cosine": 0.7, "kind": "split"},
            {"a": 1, "b": 6, "cosine": 0.66, "kind": "split"}]
    assert write_same_as(graph_store, "A", "B", rows) == 3
    want = {("A", 5, "B", 2, "same", 0.91, 30, 30), ("A", 3, "B", 4, "split", 0.7, 30, 30),
            ("A", 3, "B", 6, "split", 0.66, 30, 30)}
    assert _same_as(graph_store) == want
    assert write_same_as(graph_store, "A", "B", rows) == 0  # idempotent
    assert _same_as(graph_store) == want
    # a second compare replaces the first: one changed, one gone, one new
    rows2 = [{"a": 0, "b": 2, "cosine": 0.93, "kind": "same"},
             {"a": 1, "b": 4, "cosine": 0.7, "kind": "split"},
             {"a": 2, "b": 7, "cosine": 0.8, "kind": "same"}]
    assert write_same_as(graph_store, "A", "B", rows2) == 3
    assert _same_as(graph_store) == {
        ("A", 5, "B", 2, "same", 0.93, 30, 30), ("A", 3, "B", 4, "split", 0.7, 30, 30),
        ("A", 7, "B", 7, "same", 0.8, 30, 30)}
    # an earlier checkpoint of A: index 1 at step 10 is lineage 4
    graph_store.write("MATCH ()-[s:SAME_AS]->() DELETE s")
    assert write_same_as(graph_store, "A", "B", [{"a": 1, "b": 0, "cosine": 0.5,
                                                   "kind": "same"}], step_a=10, step_b=0) == 1
    assert _same_as(graph_store) == {("A", 4, "B", 0, "same", 0.5, 10, 0)}


def test_same_as_errors_name_the_problem(graph_store):
    _ingest(graph_store, "A")
    row = [{"a": 0, "b": 0, "cosine": 0.9, "kind": "same"}]
    with pytest.raises(InputError, match="no run 'nope' in the store"):
        write_same_as(graph_store, "A", "nope", row)
    with pytest.raises(InputError, match="no checkpoint at step 15"):
        write_same_as(graph_store, "A", "A", row, step_a=15)
    with pytest.raises(InputError, match="row 1: dictionary index a=3 is no feature of run "
                                         "'A' at step 30"):
        write_same_as(graph_store, "A", "A", [{"a": 3, "b": 0, "cosine": 0.9, "kind": "same"}])
    with pytest.raises(InputError, match="row 2: kind must be one of"):
        write_same_as(graph_store, "A", "A", row + [{"a": 1, "b": 1, "cosine": 1,
                                                     "kind": "twin"}])
    with pytest.raises(InputError, match="row 1: needs integer a, b"):
        write_same_as(graph_store, "A", "A", [{"a": "x", "b": 0, "kind": "same"}])
    assert _same_as(graph_store) == set()
