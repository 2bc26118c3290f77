"""``ontochron ingest`` on the real ArcadeDB Bolt server: exact counts from the Ontology,
idempotency, incremental == full (canonical dumps), crash safety (SIGKILLed subprocess),
and concept names stored verbatim."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ontochron.cli import main as cli_main
from ontochron.graph.ingest import ingest
from ontochron.ingest.readers import save_npz
from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.ontology import OntologyConfig, analyze

# These fixtures' groups are small (42 features): the graph mechanics are tested under the
# hypergeometric connection null, which connects them (tests/test_bicm.py tests the BiCM).
CONN = OntologyConfig(connection_null="hypergeometric")

WEIRD = ["it's", 'say "hi"', "back`tick", "{braces}", "MATCH (n) DETACH DELETE n", "RETURN",
         "$run_id", "$rows", "naïve ☃", "new\nline", "back\\slash", "a.b", ""]


def structured_stack(seed: int = 4, n_steps: int = 6, n: int = 120) -> CodeStack:
    """Planted structure that every detector finds (a dual broken every third checkpoint, a
    dependency chain, an AND gate, three concept groups), 1% bit noise per checkpoint, one
    pair that dies and comes back, one concept absent at step 300, and weird names."""
    rng = np.random.default_rng(seed)
    names = WEIRD + [f"c{i}" for i in range(n - len(WEIRD))]
    base = rng.random((n, 12)) < 0.12
    base[:, 0] = rng.random(n) < 0.4
    base[:, 1] = ~base[:, 0] & (rng.random(n) < 0.8)
    base[:, 2] = rng.random(n) < 0.5
    base[:, 3] = base[:, 2] & (rng.random(n) < 0.5)
    base[:, 5] = rng.random(n) < 0.3
    base[:, 6] = rng.random(n) < 0.3
    base[:, 7] = base[:, 5] & base[:, 6]
    groups = np.zeros((n, 30), dtype=bool)
    for g in range(3):
        groups[g * 5:(g + 1) * 5, g * 8:(g + 1) * 8] = True
    frames = []
    for t in range(n_steps):
        x = np.hstack([base, groups]) ^ (rng.random((n, 42)) < 0.01)
        if t % 3 == 2:
            x[:, 1] = rng.random(n) < 0.5
        x[0, 41] = t % 2 == 0  # (names[0], 41): on, off, on, ... deaths that get undone
        keep = np.ones(n, dtype=bool)
        keep[n - 1] = t != 3
        frames.append(Snapshot.create(100 * t, [c for c, k in zip(names, keep, strict=True)
                                                if k], x[keep]))
    return CodeStack.from_snapshots(frames)


def prefix(stack: CodeStack, k: int) -> CodeStack:
    """The first ``k`` checkpoints of a stack."""
    return CodeStack.from_snapshots([stack.snapshot(t) for t in range(k)])


# ------------------------------------------------------------------ canonical dump

_VOLATILE = {"run_id", "created_at", "name", "source", "digests"}  # Run identity/bookkeeping


def _canon(props: dict[str, Any], labels: list[str]) -> str:
    keep = {k: v for k, v in props.items()
            if k != "run_id" and not ("Run" in labels and k in _VOLATILE)}
    return json.dumps([sorted(labels), keep], sort_keys=True, ensure_ascii=False)


def dump(store, run_id: str) -> tuple[Counter, Counter]:
    """Every node and relationship of a run as a multiset of canonical strings."""
    nodes = store.run("MATCH (n) WHERE n.run_id = $run_id "
                      "RETURN labels(n) AS labels, properties(n) AS props", run_id=run_id)
    rels = store.run("MATCH (a)-[r]->(b) WHERE r.run_id = $run_id "
                     "RETURN type(r) AS type, properties(r) AS props, labels(a) AS la, "
                     "properties(a) AS pa, labels(b) AS lb, properties(b) AS pb",
                     run_id=run_id)
    n = Counter(_canon(r["props"], r["labels"]) for r in nodes)
    e = Counter(json.dumps([r["type"], _canon(r["props"], []), _canon(r["pa"], r["la"]),
                            _canon(r["pb"], r["lb"])], ensure_ascii=False) for r in rels)
    return n, e


def counts(store, run_id: str) -> tuple[Counter, Counter]:
    nodes = store.run("MATCH (n) WHERE n.run_id = $run_id RETURN labels(n) AS l",
                      run_id=run_id)
    rels = store.run("MATCH ()-[r]->() WHERE r.run_id = $run_id RETURN type(r) AS t",
                     run_id=run_id)
    return (Counter(lab for r in nodes for lab in r["l"]), Counter(r["t"] for r in rels))


# ------------------------------------------------------------------ tests


def test_full_ingest_counts_match_ontology(graph_store):
    stack = structured_stack(seed=0)  # a seed where every detector fires
    ont = analyze(stack, CONN, progress=False)
    report = ingest(stack, run="r1", store=graph_store, config=CONN, progress=False)
    nodes, rels = counts(graph_store, "r1")
    kinds = Counter(ont.relations.kind.tolist())
    ev = Counter(ont.events.kind.tolist())
    assert all(kinds[k] > 0 for k in ("connection", "dual", "dependency", "triad", "hierarchy"))
    assert all(ev[k] > 0 for k in ("birth", "death", "connection_form", "connection_break",
                                   "phase_transition"))
    T = len(ont.steps)
    assert nodes == Counter({
        "Run": 1, "Checkpoint": T, "Concept": len(ont.concepts), "Feature": ont.n_features,
        "Triad": kinds["triad"], "Event": len(ont.events), "Birth": ev["birth"],
        "Death": ev["death"], "ConnectionForm": ev["connection_form"],
        "ConnectionBreak": ev["connection_break"], "PhaseTransition": ev["phase_transition"]})
    n_conn_ev = ev["connection_form"] + ev["connection_break"]
    assert rels == Counter({
        "HAS_CHECKPOINT": T, "NEXT": T - 1, "ACTIVATES": len(ont.activations),
        "CONNECTED": kinds["connection"], "DUAL": kinds["dual"],
        "DEPENDS_ON": kinds["dependency"], "PARENT_OF": kinds["hierarchy"],
        "AND_INPUT": 2 * kinds["triad"], "AND_OUTPUT": kinds["triad"],
        "AT": len(ont.events), "OF_CONCEPT": ev["birth"] + ev["death"] + n_conn_ev,
        "OF_FEATURE": ev["birth"] + ev["death"], "WITH_CONCEPT": n_conn_ev})
    assert report.changed == (2 * T - 1 + len(ont.concepts) + ont.n_features
                              + len(ont.activations) + len(ont.relations) + len(ont.events))
    run = graph_store.run("MATCH (r:Run {run_id: 'r1'}) RETURN properties(r) AS p")[0]["p"]
    assert run["steps"] == ont.steps.tolist() and run["last_step"] == 500
    assert run["status"] == "complete" and run["n_features"] == ont.n_features
    # open intervals have no valid_to; closed ones end at a later checkpoint step
    vt = graph_store.run("MATCH ()-[r:ACTIVATES]->() WHERE r.run_id = 'r1' "
                         "RETURN r.valid_from AS a, r.valid_to AS b")
    assert sum(r["b"] is None for r in vt) == int(ont.activations.open_mask().sum())
    assert all(r["b"] is None or (r["b"] > r["a"] and r["b"] in run["steps"]) for r in vt)
    # per-checkpoint list values align with Run.steps
    f = graph_store.run("MATCH (f:Feature) WHERE f.run_id = 'r1' AND f.index = 0 "
                        "RETURN f.activation_rate AS rate")[0]["rate"]
    want = [float(stack.codes[t][:, [0]].sum()) / stack.present[t].sum() for t in range(T)]
    assert f == pytest.approx(want)


def test_ingest_twice_is_idempotent_and_keeps_labels(graph_store):
    stack = structured_stack(seed=1, n_steps=4)
    ingest(stack, run="idem", store=graph_store, config=CONN, progress=False)
    # a label written by the labelling step is not ingest's to remove
    graph_store.write("MATCH (f:Feature) WHERE f.run_id = 'idem' AND f.index = 3 "
                      "SET f.label = 'edges', f.label_source = 'test'")
    before = dump(graph_store, "idem")
    again = ingest(stack, run="idem", store=graph_store, config=CONN, progress=False)
    assert again.changed == 0 and again.rows_written == 0
    assert dump(graph_store, "idem") == before
    row = graph_store.run("MATCH (f:Feature) WHERE f.run_id = 'idem' AND f.index = 3 "
                          "RETURN f.label AS l, f.label_source AS s")[0]
    assert row == {"l": "edges", "s": "test"}


def test_diff_repairs_a_tampered_graph(graph_store):
    """Without stored digests every table is read and diffed: a missing relationship, a
    duplicated one, a changed property and a stray event are all put right."""
    stack = structured_stack(seed=2, n_steps=3, n=60)
    ingest(stack, run="fix", store=graph_store, config=CONN, progress=False)
    before = dump(graph_store, "fix")
    again = ingest(stack, run="fix", store=graph_store, config=CONN, progress=False)
    assert again.read_seconds == {}  # all digests matched: nothing was read
    graph_store.write("MATCH (r:Run {run_id: 'fix'}) SET r.digests = null")
    graph_store.write("MATCH ()-[r:ACTIVATES]->() WHERE r.run_id = 'fix' "
                      "WITH r ORDER BY r.valid_from LIMIT 1 DELETE r")
    graph_store.write("MATCH (a)-[r:CONNECTED]->(b) WHERE r.run_id = 'fix' "
                      "WITH a, b, r LIMIT 1 CREATE (a)-[d:CONNECTED]->(b) SET d = properties(r)")
    graph_store.write("MATCH (f:Feature) WHERE f.run_id = 'fix' AND f.index = 0 "
                      "SET f.stability = -1.0")
    graph_store.write("MATCH (k:Checkpoint) WHERE k.run_id = 'fix' AND k.step = 0 "
                      "CREATE (:Event:Birth {run_id: 'fix', uid: 'stray', step: 0})-[:AT "
                      "{run_id: 'fix'}]->(k)")
    assert dump(graph_store, "fix") != before
    fixed = ingest(stack, run="fix", store=graph_store, config=CONN, progress=False)
    assert fixed.tables["ACTIVATES"]["created"] == 1
    assert fixed.tables["CONNECTED"]["deleted"] == 1 == fixed.tables["CONNECTED"]["created"]
    assert fixed.tables["Feature"]["updated"] == 1 and fixed.tables["Event"]["deleted"] == 1
    assert dump(graph_store, "fix") == before


@pytest.mark.parametrize("seed,k", [(4, 3)])
def test_incremental_equals_full(graph_store, seed, k):
    stack = structured_stack(seed=seed, n_steps=6)
    first = ingest(prefix(stack, k), run="inc", store=graph_store, config=CONN, progress=False)
    more = ingest(stack, run="inc", store=graph_store, config=CONN, progress=False)
    full = ingest(stack, run="full", store=graph_store, config=CONN, progress=False)
    assert dump(graph_store, "inc") == dump(graph_store, "full")
    # only the difference was written, and it included closing/removing old facts
    assert 0 < more.rows_written < full.rows_written
    assert more.tables["ACTIVATES"]["updated"] > 0  # open intervals closed
    assert first.tables["Event"]["created"] > 0
    if k == 3:  # (names[0], 41) died at step 100 or 300 and re-activates later
        assert more.tables["Event"]["deleted"] > 0


def test_killed_ingest_then_rerun_equals_uninterrupted(graph_store, bolt_server, tmp_path):
    stack = structured_stack(seed=6, n_steps=4)
    src = tmp_path / "run.npz"
    save_npz(stack, src)
    env = dict(os.environ, NEO4J_USERNAME=bolt_server.username,
               NEO4J_PASSWORD=bolt_server.password,
               ONTOCHRON_TEST_PAUSE_AFTER_BATCHES="4", ONTOCHRON_TEST_PAUSE_S="60")
    cmd = [sys.executable, "-m", "ontochron", "ingest", str(src), "--run", "crash",
           "--store", bolt_server.bolt_uri, "--database", bolt_server.database,
           "--batch-size", "300", "--quiet", "--connection-null", "hypergeometric"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[1])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until some but not all batches landed
            n = graph_store.run("MATCH (c:Concept) WHERE c.run_id = 'crash' "
                                "RETURN count(c) AS n")[0]["n"]
            if n > 0 and proc.poll() is None:
                time.sleep(1.0)  # let it reach the pause after its 4th batch
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        else:
            pytest.fail("the ingest subprocess wrote nothing in time")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    status = graph_store.run("MATCH (r:Run {run_id: 'crash'}) RETURN r.status AS s")[0]["s"]
    assert status == "ingesting"
    ingest(src, run="ref", store=graph_store, config=CONN, progress=False)
    assert dump(graph_store, "crash") != dump(graph_store, "ref")  # it really was partial
    ingest(src, run="crash", store=graph_store, config=CONN, progress=False)
    assert dump(graph_store, "crash") == dump(graph_store, "ref")


def test_weird_names_stored_verbatim(graph_store):
    stack = structured_stack(seed=7, n_steps=3, n=40)
    run_id = "run `x` {y} 'z' $run_id"
    ingest(stack, run=run_id, store=graph_store, config=CONN, progress=False)
    got = graph_store.run("MATCH (c:Concept) WHERE c.run_id = $run_id RETURN c.name AS n",
                          run_id=run_id)
    assert sorted(r["n"] for r in got) == sorted(stack.concepts)
    for name in WEIRD:  # each weird concept keeps its ACTIVATES and its events
        acts = graph_store.run("MATCH (c:Concept) WHERE c.run_id = $run_id AND c.name = $name "
                               "MATCH (c)-[r:ACTIVATES]->(f) RETURN count(r) AS n",
                               run_id=run_id, name=name)[0]["n"]
        want = int(stack.codes[0][[stack.concepts.index(name)]].sum())
        assert acts >= want > 0 or want == 0
        ev = graph_store.run("MATCH (e:Birth) WHERE e.run_id = $run_id AND e.concept = $name "
                             "MATCH (e)-[:OF_CONCEPT]->(c) RETURN c.name AS n",
                             run_id=run_id, name=name)
        assert all(r["n"] == name for r in ev)
    assert ingest(stack, run=run_id, store=graph_store, config=CONN, progress=False).changed == 0


def test_cli_ingest_bad_source_names_file(tmp_path, capsys):
    missing = tmp_path / "nope.npz"
    code = cli_main(["ingest", str(missing), "--store", "bolt://127.0.0.1:1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "nope.npz" in err


def test_reptimeline_compat_ingest_is_idempotent(graph_store):
    stack = structured_stack(seed=0, n_steps=3, n=40)
    ont = analyze(stack, compat="reptimeline", progress=False)
    first = ingest(stack, run="rt", store=graph_store, compat="reptimeline", progress=False)
    assert first.tables["ACTIVATES"]["created"] == len(ont.activations)
    mode = graph_store.run("MATCH (r:Run {run_id: 'rt'}) RETURN r.mode AS m")[0]["m"]
    assert mode == "reptimeline"
    again = ingest(stack, run="rt", store=graph_store, compat="reptimeline", progress=False)
    assert again.changed == 0


# ------------------------------------------------------------------ write-path speed-ups

def test_incremental_diffs_against_rebuilt_prior_state(graph_store):
    """Appending checkpoints: ACTIVATES, Concept and Feature are diffed against their state
    rebuilt from the source (verified by the stored digest) instead of read back, and the
    result still equals a full ingest; a hand-edit plus removed digests forces a real read."""
    stack = structured_stack(seed=5, n_steps=6)
    ingest(prefix(stack, 4), run="inc2", store=graph_store, config=CONN, progress=False)
    more = ingest(stack, run="inc2", store=graph_store, config=CONN, progress=False)
    ingest(stack, run="full2", store=graph_store, config=CONN, progress=False)
    # Feature: statistics read without the lists, activation_rate appended to
    assert {"ACTIVATES", "Concept", "Checkpoint", "NEXT", "Feature"} <= set(more.rebuilt)
    assert more.tables["Feature"]["updated"] == stack.n_features
    assert dump(graph_store, "inc2") == dump(graph_store, "full2")
    # concepts whose last_seen moved got only that value: every still-present concept
    moved = int(stack.present[-1].sum())
    assert more.tables["Concept"]["updated"] == moved

    # an edited graph without digests is read, not rebuilt, and repaired
    ingest(prefix(stack, 4), run="inc3", store=graph_store, config=CONN, progress=False)
    graph_store.write("MATCH (c:Concept)-[r:ACTIVATES]->() WHERE c.run_id = 'inc3' "
                      "WITH r LIMIT 1 DELETE r")
    graph_store.write("MATCH (r:Run) WHERE r.run_id = 'inc3' SET r.digests = null")
    fixed = ingest(stack, run="inc3", store=graph_store, config=CONN, progress=False)
    assert fixed.rebuilt == []
    assert dump(graph_store, "inc3") == dump(graph_store, "full2")


def test_prior_rows_clip_intervals_and_last_seen():
    """prior_rows against hand-computed rows for a source cut at step 100."""
    from ontochron.graph.ingest import prior_rows
    from ontochron.graph.schema import OPEN_FORK, fork_key

    def rel(a, vf, vt):
        return {"a": a, "b": 0, "valid_from": vf,
                "props": {"run_id": "r", "valid_from": vf, "valid_to": vt,
                          "fork": fork_key(vf, vt)}}

    rows = [rel("x", 0, 100), rel("x", 0, 200), rel("y", 100, None), rel("y", 200, None)]
    steps = np.array([0, 100, 200])
    got = prior_rows("ACTIVATES", rows, None, steps, 100)  # type: ignore[arg-type]
    assert got == [rel("x", 0, 100),
                   {**rel("x", 0, 200), "props": {**rel("x", 0, 200)["props"],
                                                  "valid_to": None, "fork": OPEN_FORK}},
                   rel("y", 100, None)]
    frames = [Snapshot.create(0, ["p", "q"], np.ones((2, 3), dtype=bool)),
              Snapshot.create(100, ["q"], np.ones((1, 3), dtype=bool)),
              Snapshot.create(200, ["p", "q", "z"], np.ones((3, 3), dtype=bool))]
    stack = CodeStack.from_snapshots(frames)
    crow = {n: {"name": n, "props": {"index": i, "first_seen": None, "last_seen": 200}}
            for i, n in enumerate(stack.concepts)}
    prior = prior_rows("Concept", list(crow.values()), stack, np.asarray(stack.steps), 100)
    assert {r["name"]: r["props"]["last_seen"] for r in prior} == {"p": 0, "q": 100}
    assert prior_rows("Feature", [], stack, np.asarray(stack.steps), 100) is None


def test_relationships_by_element_id_fall_back_to_keys(graph_store):
    """Creating relationships by element id: a stale id (no such record) makes the writer
    delete that batch by key and create it by key, so every row exists exactly once."""
    from ontochron.graph.ingest import table_specs
    from ontochron.graph.writer import BatchWriter, Diff, apply_diff

    specs = table_specs()
    writer = BatchWriter(graph_store, "ids", batch_size=2, progress=False)
    ids: dict = {}
    apply_diff(writer, specs["Concept"], Diff(create=[
        {"name": n, "props": {"index": i, "first_seen": 0, "last_seen": 0}}
        for i, n in enumerate(["a", "b", "$run_id"])]), ids)
    apply_diff(writer, specs["Feature"], Diff(create=[
        {"index": i, "props": {"kind": "feature"}} for i in range(3)]), ids)
    assert set(ids["Concept"]) == {"a", "b", "$run_id"} and set(ids["Feature"]) == {0, 1, 2}
    ids["Concept"]["b"] = "#9999:9999"  # stale: resolves to nothing
    del ids["Feature"][2]  # unknown: looked up by key first
    rows = [{"a": a, "b": b, "valid_from": 0,
             "props": {"run_id": "ids", "valid_from": 0, "valid_to": None, "fork": -1}}
            for a, b in [("a", 0), ("$run_id", 1), ("b", 2), ("a", 2), ("b", 0)]]
    apply_diff(writer, specs["ACTIVATES"], Diff(create=rows), ids)
    got = graph_store.run("MATCH (c)-[r:ACTIVATES]->(f) WHERE r.run_id = 'ids' "
                          "RETURN c.name AS a, f.index AS b")
    assert sorted((r["a"], r["b"]) for r in got) == sorted((r["a"], r["b"]) for r in rows)


def test_feature_append_is_not_applied_twice(graph_store):
    """feature_update_append appends only where the stored list has the expected length, so
    a batch sent twice (a retried transaction) leaves the same list."""
    from ontochron.graph.cypher import load_cypher
    from ontochron.graph.writer import BatchWriter

    graph_store.write("CREATE (:Feature {run_id: 'app', index: 0, activation_rate: [0.5, 0.25],"
                      " kind: 'feature'})")
    writer = BatchWriter(graph_store, "app", progress=False)
    rows = [{"index": 0, "n": 2, "tail": [0.125], "props": {"death_step": 300}}]
    for _ in range(2):
        writer.write(load_cypher("graph/cypher/feature_update_append"), rows, "append")
    got = graph_store.run("MATCH (f:Feature) WHERE f.run_id = 'app' "
                          "RETURN f.activation_rate AS r, f.death_step AS d")
    assert got == [{"r": [0.5, 0.25, 0.125], "d": 300}]
