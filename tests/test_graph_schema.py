"""Graph schema: the fork time-slice key against brute force, constraints and indexes on the
real ArcadeDB server, and the documented "as of step t" query against ``holds_at``."""

from __future__ import annotations

import numpy as np
import pytest

from ontochron.errors import StoreError
from ontochron.graph.cypher import load_cypher
from ontochron.graph.ingest import ingest
from ontochron.graph.schema import (
    OPEN_FORK,
    ensure_schema,
    fork_key,
    fork_keys,
    schema_statements,
    stab_keys,
)
from ontochron.ontology.intervals import OPEN, holds_at
from tests.test_graph_ingest import CONN, structured_stack

# ------------------------------------------------------------------ fork keys (no server)


def _fork_brute(lo: int, to: int) -> int:
    """Smallest aligned block [p * 2^L, (p + 1) * 2^L) holding [lo, to - 1], by search."""
    for level in range(0, 60):
        if lo >> level == (to - 1) >> level:
            return (lo >> level) * 64 + level
    raise AssertionError("no block")


def test_fork_keys_match_brute_force():
    rng = np.random.default_rng(0)
    lo = rng.integers(0, 5000, 400)
    to = lo + rng.integers(1, 3000, 400)
    got = fork_keys(lo, to)
    assert got.tolist() == [_fork_brute(int(a), int(b)) for a, b in zip(lo, to, strict=True)]
    assert fork_key(7, None) == OPEN_FORK == fork_keys(np.array([7]), np.array([OPEN]))[0]
    assert fork_key(5, 6) == 5 * 64  # a one-step interval is its own leaf
    assert fork_key(4, 8) == 1 * 64 + 2  # [4, 7] is the aligned block 1 of size 4


def test_fork_keys_exact_near_the_step_limit():
    """Steps between 2**53 and 2**56 - 1, where a float64 route rounds lo ^ hi up to the next
    power of two: the level is the integer bit length, as the brute force finds."""
    rng = np.random.default_rng(3)
    top = (1 << 56) - 1
    lo = np.array([0, 0, 1, (1 << 53) - 1, 1 << 53, (1 << 54) + 1, top - 1, top,
                   *rng.integers(1 << 53, top, 200, dtype=np.int64)], dtype=np.int64)
    to = np.array([1 << 53, top, top, 1 << 53, (1 << 53) + 2, 1 << 55, top, top + 1,
                   *rng.integers(1 << 53, top, 200, dtype=np.int64)], dtype=np.int64)
    lo, to = np.minimum(lo, to - 1), np.maximum(lo + 1, to)
    got = fork_keys(lo, to)
    assert got.tolist() == [_fork_brute(int(a), int(b)) for a, b in zip(lo, to, strict=True)]
    assert fork_key(0, top + 1) == 56  # [0, 2**56 - 1]: level 56 (frexp of 2**56 - 1 says 57)
    assert int(got.max()) < (1 << 62) + 64


def test_stab_keys_find_exactly_the_containing_intervals():
    """An interval contains t  =>  its fork is in stab_keys(t); checked exhaustively."""
    rng = np.random.default_rng(1)
    lo = rng.integers(0, 300, 3000)
    to = np.where(rng.random(3000) < 0.1, OPEN, lo + rng.integers(1, 200, 3000))
    forks = fork_keys(lo, to)
    last = 400
    for t in range(0, 520, 3):
        contains = holds_at(lo, to, t)
        for keys in (stab_keys(t), stab_keys(t, last_step=last)):
            candidate = np.isin(forks, keys)
            assert np.all(candidate[contains])  # never misses an interval
        # the candidates are few: at most one fork per tree level plus the open ones
        assert len(stab_keys(t, last_step=last)) <= 2 + max(t, last).bit_length()


def test_fork_rejects_negative_steps():
    with pytest.raises(Exception, match="interval steps"):
        fork_keys(np.array([-5]), np.array([3]))


# ------------------------------------------------------------------ constraints (server)


def _constraint_set(store) -> set[tuple[str, tuple[str, ...]]]:
    rows = store.run("SHOW CONSTRAINTS")
    return {(r["labelsOrTypes"][0], tuple(r["properties"])) for r in rows
            if r.get("type") == "UNIQUENESS"}


def test_schema_constraints_and_indexes(graph_store):
    n = ensure_schema(graph_store)
    assert n == len(schema_statements()) > 10
    ensure_schema(graph_store)  # idempotent
    got = _constraint_set(graph_store)
    assert {("Run", ("run_id",)), ("Checkpoint", ("run_id", "step")),
            ("Concept", ("run_id", "name")), ("Feature", ("run_id", "index")),
            ("Triad", ("run_id", "input_a", "input_b", "output", "valid_from")),
            ("Event", ("run_id", "uid"))} <= got
    idx = {(r["labelsOrTypes"][0], tuple(r["properties"])) for r in
           graph_store.run("SHOW INDEXES")}
    for rtype in ("ACTIVATES", "CONNECTED", "DUAL", "DEPENDS_ON", "PARENT_OF"):
        assert (rtype, ("run_id", "fork")) in idx
    assert ("Feature", ("run_id", "fork")) in idx and ("Birth", ("run_id", "step")) in idx
    # uniqueness is enforced: a second Feature with the same (run_id, index) is refused
    graph_store.write("CREATE (:Feature {run_id: 'r', index: 1})")
    with pytest.raises(StoreError):
        graph_store.write("CREATE (:Feature {run_id: 'r', index: 1})")
    with pytest.raises(StoreError):
        graph_store.write("CREATE (:Event:Birth {run_id: 'r', uid: 'x'})\n"
                          "CREATE (:Event:Death {run_id: 'r', uid: 'x'})")
    # the same key in another run is fine
    graph_store.write("CREATE (:Feature {run_id: 'other', index: 1})")


# ------------------------------------------------------------------ time slices (server)

SLICE = {
    # type: (query file-like text, how rows map to the Ontology's relation rows)
    "ACTIVATES": "MATCH (c)-[r:ACTIVATES]->(f) WHERE r.run_id = $run_id AND r.fork IN $forks "
                 "AND r.valid_from <= $t AND (r.valid_to IS NULL OR r.valid_to > $t) "
                 "RETURN c.name AS a, f.index AS b, r.valid_from AS valid_from",
    "CONNECTED": "MATCH (c)-[r:CONNECTED]->(d) WHERE r.run_id = $run_id AND r.fork IN $forks "
                 "AND r.valid_from <= $t AND (r.valid_to IS NULL OR r.valid_to > $t) "
                 "RETURN c.name AS a, d.name AS b, r.valid_from AS valid_from",
    "DEPENDS_ON": "MATCH (c)-[r:DEPENDS_ON]->(p) WHERE r.run_id = $run_id AND r.fork IN $forks "
                  "AND r.valid_from <= $t AND (r.valid_to IS NULL OR r.valid_to > $t) "
                  "RETURN c.index AS a, p.index AS b, r.valid_from AS valid_from",
}


def test_as_of_step_matches_holds_at(graph_store):
    from ontochron.ontology import analyze

    stack = structured_stack(seed=3, n_steps=6)
    ont = analyze(stack, CONN, progress=False)
    ingest(stack, run="slice", store=graph_store, config=CONN, progress=False)
    run_props = graph_store.run(load_cypher("graph/cypher/run_read"), run_id="slice")[0]["props"]
    last = run_props["last_step"]
    names = ont.concepts
    for rtype, kind in (("ACTIVATES", "activates"), ("CONNECTED", "connection"),
                        ("DEPENDS_ON", "dependency")):
        rel = ont.activations if kind == "activates" else ont.relations.of_kind(kind)
        for t in (0, 50, 100, 250, 300, 499, 500, 10_000):
            m = holds_at(rel.valid_from, rel.valid_to, t)
            a = rel.a[m].tolist()
            b = rel.b[m].tolist()
            if rtype in ("ACTIVATES", "CONNECTED"):
                a = [names[i] for i in a]
            if rtype == "CONNECTED":
                b = [names[i] for i in b]
            want = sorted(zip(a, b, rel.valid_from[m].tolist(), strict=True))
            rows = graph_store.run(SLICE[rtype], run_id="slice", t=t,
                                   forks=stab_keys(t, last_step=last))
            got = sorted((r["a"], r["b"], r["valid_from"]) for r in rows)
            assert got == want, (rtype, t)
            if rtype != "DEPENDS_ON":
                assert want, (rtype, t)  # the check is not vacuous
    # node intervals: features alive at t, triads holding at t
    birth, death = ont.feature_stats["birth_step"], ont.feature_stats["death_step"]
    tri = ont.relations.of_kind("triad")
    for t in (0, 100, 250, 500, 900):
        born = birth != OPEN
        want_f = sorted(np.flatnonzero(born & holds_at(birth, death, t)).tolist())
        rows = graph_store.run(
            "MATCH (f:Feature) WHERE f.run_id = $run_id AND f.fork IN $forks "
            "AND f.valid_from <= $t AND (f.valid_to IS NULL OR f.valid_to > $t) "
            "RETURN f.index AS i", run_id="slice", t=t, forks=stab_keys(t, last))
        assert sorted(r["i"] for r in rows) == want_f and want_f
        m = holds_at(tri.valid_from, tri.valid_to, t)
        want_t = sorted(zip(tri.a[m].tolist(), tri.b[m].tolist(), tri.c[m].tolist(),
                            strict=True))
        rows = graph_store.run(
            "MATCH (x:Triad) WHERE x.run_id = $run_id AND x.fork IN $forks "
            "AND x.valid_from <= $t AND (x.valid_to IS NULL OR x.valid_to > $t) "
            "RETURN x.input_a AS a, x.input_b AS b, x.output AS c",
            run_id="slice", t=t, forks=stab_keys(t, last))
        assert sorted((r["a"], r["b"], r["c"]) for r in rows) == want_t
