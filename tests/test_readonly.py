"""Reads are read-only on the real Bolt server: every kind of writing statement run as a read is
refused with a clear message and leaves the graph (data and schema) unchanged."""

from __future__ import annotations

import pytest

from ontochron.cli import main
from ontochron.graph import readonly
from ontochron.graph.readonly import ReadOnlyError
from ontochron.queries.library import run_cypher

WRITES = {
    "create": "CREATE (n:RoProbe {k: 99}) RETURN n",
    "merge": "MERGE (n:RoProbe {k: 98}) RETURN n.k AS k",
    "set": "MATCH (n:RoProbe) SET n.k = 0 RETURN count(n) AS c",
    "set_label": "MATCH (n:RoProbe) SET n:Other",
    "delete_rel": "MATCH (:RoProbe)-[r:RO_LINK]->() DELETE r",
    "delete": "MATCH (n:RoProbe {k: 5}) DELETE n",
    "detach_delete": "MATCH (n) DETACH DELETE n",
    "remove": "MATCH (n:RoProbe) REMOVE n.k",
    "remove_label": "MATCH (n:RoProbe) REMOVE n:RoProbe",
    "create_index": "CREATE INDEX ro_probe_idx IF NOT EXISTS FOR (n:RoProbe) ON (n.k)",
    "create_constraint": ("CREATE CONSTRAINT ro_probe_key IF NOT EXISTS FOR (n:RoProbe) "
                          "REQUIRE n.k IS UNIQUE"),
    "drop_index": "DROP INDEX ro_probe_idx IF EXISTS",
    "call_subquery": "MATCH (n:RoProbe) CALL { WITH n CREATE (:RoProbe {k: n.k + 10}) } "
                     "RETURN count(*) AS c",
    "call_subquery_delete": "CALL { MATCH (n:RoProbe) DETACH DELETE n } RETURN 1 AS one",
    "foreach": "MATCH (n:RoProbe) FOREACH (x IN [1] | SET n.k = x)",
    "lowercase": "match (n) detach delete n",
}
# Data writes, where the server's summary + rollback alone must hold (schema commands are
# applied outside transactions by ArcadeDB, which is why they are refused before sending).
DATA_WRITES = [k for k in WRITES if not k.startswith(("create_index", "create_constraint",
                                                       "drop_index"))]


def _state(store) -> tuple:
    nodes = store.run("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    rels = store.run("MATCH (a)-[r]->(b) RETURN type(r) AS t, a.k AS a, b.k AS b")
    indexes = store.run("SHOW INDEXES")
    key = sorted((str(r["l"]), str(sorted(r["p"].items()))) for r in nodes)
    return (key, sorted(str(sorted(r.items())) for r in rels),
            sorted(str(sorted((k, v) for k, v in r.items() if k in ("name", "labelsOrTypes",
                                                                    "properties")))
                   for r in indexes))


@pytest.fixture
def probe_graph(graph_store):
    graph_store.write("CREATE (:RoProbe {k: 1})-[:RO_LINK {w: 2}]->(:RoProbe {k: 2}), "
                      "(:RoProbe {k: 5})")
    return graph_store


@pytest.mark.parametrize("name", list(WRITES))
def test_write_refused_as_read_and_graph_unchanged(probe_graph, name):
    before = _state(probe_graph)
    assert len(before[0]) == 3 and len(before[1]) == 1
    with pytest.raises(ReadOnlyError, match="read-only; nothing was changed"):
        probe_graph.run(WRITES[name])
    with pytest.raises(ReadOnlyError):
        run_cypher(probe_graph, WRITES[name])
    assert _state(probe_graph) == before


@pytest.mark.parametrize("name", DATA_WRITES)
def test_server_summary_and_rollback_hold_without_the_precheck(probe_graph, name, monkeypatch):
    """The guarantee for data: with the lexical pre-check switched off, the server-reported
    summary refuses the statement and the always-rolled-back transaction commits nothing."""
    monkeypatch.setattr(readonly, "check_statement", lambda cypher: None)
    before = _state(probe_graph)
    with pytest.raises(ReadOnlyError, match="server reports"):
        probe_graph.run(WRITES[name])
    assert _state(probe_graph) == before


# schema commands are refused by the pre-check only (see readonly's module docstring)
@pytest.mark.parametrize(("name", "precheck"), [
    ("create", True), ("set", True), ("detach_delete", True), ("create_index", True),
    ("create", False), ("set", False), ("detach_delete", False)])
def test_read_many_refuses_a_write_among_reads_and_commits_nothing(probe_graph, name, precheck,
                                                                   monkeypatch):
    """Several reads in one transaction (GraphStore.read_many, the @split path): a write among
    them is refused, by the pre-check or else by the server's summary, and nothing commits."""
    if not precheck:
        monkeypatch.setattr(readonly, "check_statement", lambda cypher: None)
    before = _state(probe_graph)
    reads = ("MATCH (n:RoProbe) RETURN count(n) AS c", None)
    with pytest.raises(ReadOnlyError):
        probe_graph.read_many([reads, (WRITES[name], None), reads])
    assert _state(probe_graph) == before
    ok = probe_graph.read_many([reads, ("MATCH (n:RoProbe {k: $k}) RETURN n.k AS k", {"k": 5})])
    assert ok == [(["c"], [{"c": 3}]), (["k"], [{"k": 5}])]


def test_reads_still_work_including_write_words_as_names(probe_graph):
    rows = probe_graph.run("MATCH (n:RoProbe) WITH n, {set: n.k, create: 'DELETE me'} AS m "
                           "// MERGE in a comment\n RETURN m.set AS s, m.create AS c "
                           "ORDER BY s")
    assert rows == [{"s": k, "c": "DELETE me"} for k in (1, 2, 5)]
    res = run_cypher(probe_graph, "MATCH (a)-[r:RO_LINK]->(b) RETURN a.k AS a, r.w AS w")
    assert res.rows == [(1, 2)]


def test_write_flag_still_writes(probe_graph):
    run_cypher(probe_graph, "CREATE (:RoProbe {k: 3})", write=True)
    assert probe_graph.run("MATCH (n:RoProbe) RETURN count(n) AS c") == [{"c": 4}]


def test_precheck_ignores_names_and_strings():
    for ok in ("MATCH (n:Create) RETURN n.set AS x", "RETURN 'CREATE (n)' AS s, $merge AS m",
               "MATCH (n) WHERE n.name STARTS WITH 'x' RETURN `delete` AS d",
               "CALL db.labels() YIELD label RETURN label"):
        readonly.check_statement(ok)
    for bad in ("CALL db.createIndex('a')", "MATCH (n) SET n += {a: 1}",
                "/* x */ DROP CONSTRAINT c", "OPTIONAL MATCH (n) REMOVE n.a"):
        with pytest.raises(ReadOnlyError):
            readonly.check_statement(bad)


def test_cli_refuses_write_without_flag(probe_graph, store_target, monkeypatch, capsys):
    monkeypatch.setenv("NEO4J_USERNAME", store_target.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", store_target.password or "")
    env = ["--store", store_target.uri, "--database", store_target.database]
    before = _state(probe_graph)
    assert main(["query", "--cypher", "MATCH (n) DETACH DELETE n", *env]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "read-only" in err[0] and "--write" in err[0]
    assert _state(probe_graph) == before
    assert main(["query", "--cypher", "CREATE (:RoProbe {k: 7})", "--write", *env]) == 0
    assert probe_graph.run("MATCH (n:RoProbe {k: 7}) RETURN count(n) AS c") == [{"c": 1}]
