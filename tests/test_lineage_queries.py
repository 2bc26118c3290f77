"""The lineage named queries (issue 10, item 7) on the real ArcadeDB Bolt server, against the
hand-built lineage of tests/lineage_data.py whose answers are known, and the end-to-end path
through the embedded store: ingest, query, re-ingest (no change), append a checkpoint."""

from __future__ import annotations

import pytest

from ontochron.graph.ingest import ingest
from ontochron.graph.lineage_write import write_same_as
from ontochron.ontology import OntologyConfig
from ontochron.queries import run_query
from tests.lineage_data import (
    COS_FIRST,
    COS_PREV,
    FEATURES,
    RAMP,
    STEPS,
    hand_lineage,
    hand_lineage_stack,
)
from tests.test_graph_ingest import dump

CONN = OntologyConfig(connection_null="hypergeometric")
N = 24  # concepts


def _ingest(store, run, k=4, lineage=True):
    return ingest(hand_lineage_stack(k), run=run, store=store, config=CONN, progress=False,
                  lineage=hand_lineage(k) if lineage else None)


def _rows(res, cols):
    return [tuple(r[c] for c in cols) for r in res.records()]


def _check_lineage_queries(store, run: str) -> None:
    # formed abruptly or gradually: lineage 3 ramps 5 -> 9 -> 12 concepts (abruptness 5/12),
    # 5 appears with 12 concepts at once; 4, 6, 7 appear and vanish; 0-2 predate the record
    res = run_query(store, "feature_formation", run_id=run)
    got = {r["feature"]: r for r in res.records()}
    assert set(got) == {3, 4, 5, 6, 7}
    assert got[3]["formation"] == "gradual" and got[3]["abruptness"] == pytest.approx(5 / 12)
    assert got[3]["rise"] == pytest.approx(RAMP[30] / N) and got[3]["formed_at"] == 10
    assert got[3]["peak_step"] == 30 and got[3]["cos_first_last"] == pytest.approx(0.93)
    assert got[5]["formation"] == "abrupt" and got[5]["abruptness"] == pytest.approx(1.0)
    assert (got[5]["formed_at"], got[5]["first_step"]) == (20, 20)
    assert all(got[f]["formation"] == "abrupt" for f in (4, 6, 7))
    strict = run_query(store, "feature_formation", run_id=run, abrupt=1.01, min_rise=0.4)
    assert _rows(strict, ["feature", "formation"]) == [(5, "gradual"), (3, "gradual")]

    # drift of one lineage over training: lineage 3 exists at steps 10, 20, 30
    drift = run_query(store, "feature_drift", run_id=run, feature=3)
    want = [(STEPS[t], row.index(3),
             None if COS_PREV[t][row.index(3)] != COS_PREV[t][row.index(3)]
             else COS_PREV[t][row.index(3)], COS_FIRST[t][row.index(3)])
            for t, row in enumerate(FEATURES) if 3 in row]
    assert _rows(drift, ["step", "dict_index", "cos_prev", "cos_first"]) == want
    assert drift.column("activation_rate") == pytest.approx([RAMP[s] / N for s in (10, 20, 30)])

    # splits and merges between two steps
    sm = run_query(store, "splits_merges_between", run_id=run, **{"from": 0, "to": 30})
    assert _rows(sm, ["step", "kind", "source", "target", "cosine", "source_index",
                      "target_index"]) == [
        (10, "split", 1, 3, 0.61, 1, 0), (10, "split", 1, 4, 0.55, 1, 1),
        (20, "merge", 0, 5, 0.7, 2, 1), (20, "merge", 2, 5, 0.65, 3, 1)]
    only = run_query(store, "splits_merges_between", run_id=run, **{"from": 15, "to": 20})
    assert set(only.column("kind")) == {"merge"} and len(only) == 2
    assert len(run_query(store, "splits_merges_between", run_id=run,
                         **{"from": 21, "to": 30})) == 0

    # ancestry through splits and merges
    anc = run_query(store, "feature_ancestry", run_id=run, feature=5)
    assert _rows(anc, ["ancestor", "depth", "fate", "end_step"]) == [(0, 1, "merge", 20),
                                                                      (2, 1, "merge", 20)]
    anc3 = run_query(store, "feature_ancestry", run_id=run, feature=3)
    assert _rows(anc3, ["ancestor", "depth", "origin"]) == [(1, 1, "initial")]
    assert len(run_query(store, "feature_ancestry", run_id=run, feature=7)) == 0
    assert len(run_query(store, "feature_ancestry", run_id=run, feature=3, max_depth=0)) == 0


def test_lineage_queries_answer_the_planted_lineage(graph_store):
    _ingest(graph_store, "lin")
    _ingest(graph_store, "other")  # the same lineage under another run: answers stay per run
    graph_store.write("MATCH (a)-[r:MERGES_INTO]->(b) WHERE r.run_id = 'other' DELETE r")
    _check_lineage_queries(graph_store, "lin")


def test_ancestry_follows_chains_of_splits_and_merges(graph_store):
    _ingest(graph_store, "lin")
    # give lineage 1 (split at 10) a parent of its own by hand: 6 -> 1 (depth 2 from 3)
    graph_store.write("MATCH (a:Feature {run_id: 'lin', index: 6}), "
                      "(b:Feature {run_id: 'lin', index: 1}) "
                      "CREATE (a)-[:MERGES_INTO {run_id: 'lin', step: 0}]->(b)")
    anc = run_query(graph_store, "feature_ancestry", run_id="lin", feature=3)
    assert _rows(anc, ["ancestor", "depth"]) == [(1, 1), (6, 2)]
    one = run_query(graph_store, "feature_ancestry", run_id="lin", feature=3, max_depth=1)
    assert _rows(one, ["ancestor", "depth"]) == [(1, 1)]


def test_fixed_dictionary_drift_and_formation(graph_store):
    _ingest(graph_store, "fixed", lineage=False)
    drift = run_query(graph_store, "feature_drift", run_id="fixed", feature=3)
    assert _rows(drift, ["step", "dict_index", "cos_prev"]) == [(s, 3, None) for s in STEPS]
    form = {r["feature"]: r for r in
            run_query(graph_store, "feature_formation", run_id="fixed").records()}
    assert form[3]["formation"] == "gradual" and form[3]["cos_first_last"] is None
    assert len(run_query(graph_store, "splits_merges_between", run_id="fixed",
                         **{"from": 0, "to": 30})) == 0


def test_shared_features_between_two_runs(graph_store):
    _ingest(graph_store, "A")
    _ingest(graph_store, "B", lineage=False)
    write_same_as(graph_store, "A", "B", [
        {"a": 0, "b": 2, "cosine": 0.91, "kind": "same"},
        {"a": 1, "b": 4, "cosine": 0.7, "kind": "split"},
        {"a": 1, "b": 6, "cosine": 0.66, "kind": "split"}])
    res = run_query(graph_store, "shared_features", run_id="A", other_run="B")
    assert _rows(res, ["feature", "other_feature", "kind", "cosine", "step", "other_step"]) == [
        (3, 4, "split", 0.7, 30, 30), (3, 6, "split", 0.66, 30, 30),
        (5, 2, "same", 0.91, 30, 30)]
    back = run_query(graph_store, "shared_features", run_id="B", other_run="A", kind="same")
    assert _rows(back, ["feature", "other_feature", "kind"]) == [(2, 5, "same")]
    assert len(run_query(graph_store, "shared_features", run_id="A", other_run="A")) == 0


def test_end_to_end_through_the_embedded_store(graph_store, store_target):
    """Ingest a lineage with splits, merges, births and deaths through ``ingest`` on the
    embedded ArcadeDB server, answer the named queries, re-ingest (nothing changes), then
    ingest after a checkpoint was appended (the same graph as all four at once)."""
    assert store_target.data_dir is not None or store_target.uri.startswith("neo4j")
    first = _ingest(graph_store, "e2e", k=3)
    assert first.tables["SPLITS_INTO"]["created"] == 2 == first.tables["MERGES_INTO"]["created"]
    assert first.tables["Event"]["created"] > 0
    early = run_query(graph_store, "splits_merges_between", run_id="e2e", **{"from": 0, "to": 30})
    assert len(early) == 4
    assert _rows(run_query(graph_store, "feature_drift", run_id="e2e", feature=3),
                 ["step"]) == [(10,), (20,)]
    again = _ingest(graph_store, "e2e", k=3)
    assert again.changed == 0 and again.rows_written == 0
    more = _ingest(graph_store, "e2e", k=4)
    assert 0 < more.changed and more.tables["Feature"]["created"] == 1
    assert more.tables["SPLITS_INTO"]["created"] == more.tables["MERGES_INTO"]["created"] == 0
    _check_lineage_queries(graph_store, "e2e")
    _ingest(graph_store, "all", k=4)
    assert dump(graph_store, "e2e") == dump(graph_store, "all")
    assert _ingest(graph_store, "e2e", k=4).changed == 0


def _blocks(path: str, lang: str) -> list[str]:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / path).read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def test_docs_lineage_examples_run(graph_store, capsys):
    """The lineage examples of docs/queries.md (their printed output is the ```text block
    after them) and docs/schema.md run on the hand-built lineage."""
    _ingest(graph_store, "lin")
    py = [b for b in _blocks("docs/queries.md", "python") if "splits_merges_between" in b]
    assert len(py) == 1
    text = _blocks("docs/queries.md", "text")
    want = next(t for t in text if t.startswith("step  kind   source"))
    exec(compile(py[0], "docs/queries.md", "exec"), {"store": graph_store})
    assert capsys.readouterr().out == want
    section = (_blocks("docs/schema.md", "cypher"))
    lineage_blocks = [b for b in section if "SPLITS_INTO]->(child)" in b or "dict_index[i]" in b]
    assert len(lineage_blocks) == 2
    rows = graph_store.run(lineage_blocks[0], run_id="lin", feature=3)
    assert [(r["step"], r["dict_index"]) for r in rows] == [(10, 0), (20, 0), (30, 1)]
    rows = graph_store.run(lineage_blocks[1], run_id="lin", feature=1)
    assert [(r["child"], r["step"]) for r in rows] == [(3, 10), (4, 10)]
