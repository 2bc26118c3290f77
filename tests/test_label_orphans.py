"""Labels never outlive their Feature: when ingest deletes Feature nodes (a re-ingest whose
source has fewer features) it removes the Label versions describing only them in the same
batch transaction, keeps every other label untouched, converges after a crash in the middle
of the deletes, sweeps orphans left by older versions, and ``delete_run`` removes a run's
labels. On the real ArcadeDB Bolt server, labelled with the offline embedding labeler."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np
import pytest

from ontochron.graph.cypher import load_cypher
from ontochron.graph.ingest import delete_run, ingest
from ontochron.graph.store import GraphStore
from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.labels import EmbeddingLabeler, Vectors, label_run

STEPS = (0, 100, 200)
N_CONCEPTS, N_FEATURES = 16, 6
LABELLED = (1, 4, 5)  # features 4 and 5 go when the source shrinks to 4 features


def stack(n_features: int = N_FEATURES) -> CodeStack:
    """Every feature on for at least 4 of 16 concepts at every step (so each has evidence),
    with the code of concept t flipped at step t so the checkpoints differ."""
    rng = np.random.default_rng(11)
    base = rng.random((N_CONCEPTS, N_FEATURES)) < 0.4
    base[np.arange(N_CONCEPTS), np.arange(N_CONCEPTS) % N_FEATURES] = True
    names = [f"c{i}" for i in range(N_CONCEPTS)]
    frames = []
    for t, step in enumerate(STEPS):
        x = base.copy()
        x[t] = ~x[t]
        frames.append(Snapshot.create(step, names, x[:, :n_features]))
    return CodeStack.from_snapshots(frames)


def labeler() -> EmbeddingLabeler:
    rng = np.random.default_rng(5)
    concepts = Vectors([f"c{i}" for i in range(N_CONCEPTS)], rng.normal(size=(N_CONCEPTS, 4)))
    vocab = Vectors(["north", "south", "east", "west"], np.eye(4))
    return EmbeddingLabeler(concepts, vocab)


def label(store: GraphStore, run: str, features=LABELLED) -> int:
    """Label ``features`` at steps 100 and 200 (two versions each); returns labels created."""
    rep = label_run(store, labeler(), run_id=run, steps=[100, 200], features=list(features))
    assert not rep.failed and rep.fatal is None
    return rep.written.created if rep.written else 0


def labels(store: GraphStore, run: str) -> dict[str, tuple[int, int, Any]]:
    """label_id -> (feature, valid_from, valid_to) over every DESCRIBES of the run."""
    rows = store.run("MATCH (l:Label)-[d:DESCRIBES]->(f) WHERE l.run_id = $run "
                     "RETURN l.label_id AS id, f.index AS f, d.valid_from AS a, "
                     "d.valid_to AS b", run=run)
    return {r["id"]: (r["f"], r["a"], r["b"]) for r in rows}


def n_labels(store: GraphStore, run: str) -> int:
    return store.run("MATCH (l:Label) WHERE l.run_id = $run RETURN count(l) AS n",
                     run=run)[0]["n"]


def n_orphans(store: GraphStore) -> int:
    return store.run("MATCH (l:Label) WHERE NOT EXISTS { MATCH (l)-[:DESCRIBES]->() } "
                     "RETURN count(l) AS n")[0]["n"]


def features(store: GraphStore, run: str) -> list[int]:
    return sorted(r["i"] for r in store.run(
        "MATCH (f:Feature) WHERE f.run_id = $run RETURN f.index AS i", run=run))


def without_labels(store: GraphStore, run: str) -> tuple[Counter, Counter]:
    """The run's nodes and relationships (Run's identity, Label nodes, DESCRIBES and label_*
    props left out) as multisets of canonical strings: what ingest alone owns."""
    def canon(props: dict[str, Any]) -> str:
        return json.dumps({k: v for k, v in props.items()
                           if not k.startswith("label") and k != "run_id"}, sort_keys=True)
    nodes = store.run("MATCH (n) WHERE n.run_id = $run AND NOT n:Label AND NOT n:Run "
                      "RETURN labels(n) AS l, properties(n) AS p", run=run)
    rels = store.run("MATCH (a)-[r]->(b) WHERE r.run_id = $run AND NOT type(r) IN $skip "
                     "RETURN type(r) AS t, properties(r) AS p, properties(a) AS pa, "
                     "properties(b) AS pb", run=run, skip=["DESCRIBES", "HAS_CHECKPOINT"])
    return (Counter(json.dumps([sorted(r["l"]), canon(r["p"])]) for r in nodes),
            Counter(json.dumps([r["t"], canon(r["p"]), canon(r["pa"]), canon(r["pb"])])
                    for r in rels))


@pytest.fixture
def labelled(graph_store):
    """Run 'r' ingested with 6 features, features 1, 4, 5 labelled at two steps."""
    ingest(stack(), run="r", store=graph_store, progress=False)
    assert label(graph_store, "r") == 2 * len(LABELLED)
    got = labels(graph_store, "r")
    assert Counter(f for f, _, _ in got.values()) == Counter({1: 2, 4: 2, 5: 2})
    return got


def test_shrinking_reingest_removes_only_the_deleted_features_labels(graph_store, labelled):
    kept = {k: v for k, v in labelled.items() if v[0] == 1}
    rep = ingest(stack(4), run="r", store=graph_store, progress=False)
    assert rep.tables["Feature"]["deleted"] == 2 and rep.labels_deleted == 4
    assert "Label" in rep.summary() and "-4" in rep.summary()
    assert features(graph_store, "r") == [0, 1, 2, 3]
    assert labels(graph_store, "r") == kept  # same versions, same intervals
    assert n_labels(graph_store, "r") == 2 and n_orphans(graph_store) == 0
    mirror = graph_store.run("MATCH (f:Feature) WHERE f.run_id = 'r' AND f.index = 1 "
                             "RETURN f.label_id AS id, f.label_step AS s")[0]
    assert mirror["id"] in kept and mirror["s"] == 200
    # idempotent afterwards, and the features coming back start unlabelled; labelling them
    # again at the same steps creates the same label ids anew (an orphan with that id left
    # behind would break the Label uniqueness constraint here)
    assert ingest(stack(4), run="r", store=graph_store, progress=False).changed == 0
    back = ingest(stack(), run="r", store=graph_store, progress=False)
    assert back.tables["Feature"]["created"] == 2 and back.labels_deleted == 0
    assert graph_store.run("MATCH (f:Feature) WHERE f.run_id = 'r' AND f.index IN [4, 5] "
                           "RETURN collect(f.label) AS l")[0]["l"] == []
    assert label(graph_store, "r", features=(4, 5)) == 4
    assert labels(graph_store, "r") == labelled


class CrashAfterFeatureDeletes(GraphStore):
    """The real store, whose client dies (raises) when it is about to send the ``after``+1-th
    Feature delete batch: the batches before it are committed, the rest never sent."""

    def __init__(self, store: GraphStore, after: int) -> None:
        super().__init__(store.driver, store.database, uri=store.uri)
        self.left = after

    def write(self, cypher: str, /, **params: Any) -> list[dict[str, Any]]:
        if cypher == load_cypher("graph/cypher/feature_delete"):
            if self.left == 0:
                raise RuntimeError("simulated crash")
            self.left -= 1
        return super().write(cypher, **params)


def test_crash_between_feature_delete_batches_then_rerun_converges(graph_store, labelled):
    crashing = CrashAfterFeatureDeletes(graph_store, after=1)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest(stack(4), run="r", store=crashing, progress=False, batch_size=1)
    left = features(graph_store, "r")
    assert len(left) == 5 and left[:4] == [0, 1, 2, 3]  # one of 4, 5 deleted, one not yet
    # the committed batch took its feature's labels along: no orphan in between
    assert n_orphans(graph_store) == 0
    assert Counter(f for f, _, _ in labels(graph_store, "r").values()) == \
        Counter({1: 2, left[4]: 2})
    assert graph_store.run("MATCH (r:Run {run_id: 'r'}) RETURN r.status AS s")[0]["s"] == \
        "ingesting"
    again = ingest(stack(4), run="r", store=graph_store, progress=False)
    assert again.tables["Feature"]["deleted"] == 1 and again.labels_deleted == 2
    assert labels(graph_store, "r") == {k: v for k, v in labelled.items() if v[0] == 1}
    assert n_labels(graph_store, "r") == 2 and n_orphans(graph_store) == 0
    ingest(stack(4), run="ref", store=graph_store, progress=False)
    assert without_labels(graph_store, "r") == without_labels(graph_store, "ref")


def test_ingest_sweeps_orphans_and_labels_shared_by_deleted_features(graph_store, labelled):
    # an orphan as an older ontochron left it: the feature deleted without its labels
    graph_store.write("MATCH (f:Feature) WHERE f.run_id = 'r' AND f.index = 5 "
                      "DETACH DELETE f")
    graph_store.write("MATCH (r:Run {run_id: 'r'}) SET r.digests = null")
    assert n_orphans(graph_store) == 2
    rep = ingest(stack(), run="r", store=graph_store, progress=False)
    assert rep.tables["Feature"]["created"] == 1 and rep.labels_deleted == 2
    assert n_orphans(graph_store) == 0
    assert labels(graph_store, "r") == {k: v for k, v in labelled.items() if v[0] != 5}
    # hand-made labels describing two features: kept while one of them stays, removed when
    # both are deleted in the same batch
    graph_store.write(
        "MATCH (a:Feature {run_id: 'r', index: 4}), (b:Feature {run_id: 'r', index: 5}), "
        "(c:Feature {run_id: 'r', index: 1}) "
        "CREATE (x:Label {run_id: 'r', label_id: 'both-gone'}) "
        "CREATE (x)-[:DESCRIBES {run_id: 'r', valid_from: 0}]->(a) "
        "CREATE (x)-[:DESCRIBES {run_id: 'r', valid_from: 0}]->(b) "
        "CREATE (y:Label {run_id: 'r', label_id: 'one-stays'}) "
        "CREATE (y)-[:DESCRIBES {run_id: 'r', valid_from: 0}]->(a) "
        "CREATE (y)-[:DESCRIBES {run_id: 'r', valid_from: 0}]->(c)")
    rep = ingest(stack(4), run="r", store=graph_store, progress=False)
    assert rep.labels_deleted == 2 + 1  # feature 4's two versions, then 'both-gone'
    got = labels(graph_store, "r")
    assert got.pop("one-stays") == (1, 0, None)
    assert got == {k: v for k, v in labelled.items() if v[0] == 1}
    assert n_orphans(graph_store) == 0


def test_delete_run_removes_its_labels_only(graph_store, labelled):
    ingest(stack(), run="other", store=graph_store, progress=False)
    assert label(graph_store, "other", features=(2,)) == 2
    delete_run(graph_store, "r")
    assert n_labels(graph_store, "r") == 0 and features(graph_store, "r") == []
    assert n_labels(graph_store, "other") == 2 and n_orphans(graph_store) == 0
