"""Reads are read-only on the real Bolt server: every kind of writing statement run as a read is
refused with a clear message and leaves the graph (data and schema) unchanged."""

from __future__ import annotations

import pytest

from ontochron.cli import main
from ontochron.errors import StoreError
from ontochron.graph import readonly
from ontochron.graph.cypherlex import UNICODE_LINE_ENDS, tokens
from ontochron.graph.readonly import ReadOnlyError
from ontochron.graph.store import connect
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
    schema = store.run("SHOW INDEXES") + store.run("SHOW CONSTRAINTS")
    key = sorted((str(r["l"]), str(sorted(r["p"].items()))) for r in nodes)
    return (key, sorted(str(sorted(r.items())) for r in rels),
            sorted(str(sorted((k, v) for k, v in r.items() if k in ("name", "labelsOrTypes",
                                                                    "properties", "type")))
                   for r in schema))


GUARD = "CREATE CONSTRAINT ro_guard_key IF NOT EXISTS FOR (n:RoGuard) REQUIRE n.k IS UNIQUE"


@pytest.fixture
def probe_graph(graph_store):
    graph_store.write(GUARD)  # schema a hidden DROP would remove (schema outlives the test)
    graph_store.write("CREATE (:RoProbe {k: 1})-[:RO_LINK {w: 2}]->(:RoProbe {k: 2}), "
                      "(:RoProbe {k: 5})")
    return graph_store


@pytest.mark.parametrize("name", list(WRITES))
def test_write_refused_as_read_and_graph_unchanged(probe_graph, name):
    before = _state(probe_graph)
    assert len(before[0]) == 3 and len(before[1]) == 1
    with pytest.raises(ReadOnlyError, match="read-only; it was not sent to the server"):
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
    with pytest.raises(ReadOnlyError, match="server reports") as err:
        probe_graph.run(WRITES[name])
    assert "rolled back" in str(err.value) and "nothing was changed" not in str(err.value)
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


# Writes and file reads hidden from a simpler check, or reached by a door other than a writing
# clause; measured on ArcadeDB: "// x\rDROP CONSTRAINT ..." dropped a uniqueness constraint
# (schema changes are applied outside the read's transaction), LOAD CSV printed /etc/passwd,
# CALL { } IN TRANSACTIONS committed a node from inside a rolled-back read, and merge.node /
# do.when write.
BYPASSES = {
    "comment_ended_by_cr": "// x\rDROP CONSTRAINT ro_guard_key IF EXISTS",
    "comment_ended_by_crlf": "// x\r\nDROP CONSTRAINT ro_guard_key IF EXISTS",
    "comment_cr_create_index": "// x\rCREATE INDEX ro_bypass_idx IF NOT EXISTS "
                               "FOR (n:RoProbe) ON (n.w)",
    **{f"comment_ended_by_{ord(c):04x}": f"// x{c}DROP CONSTRAINT ro_guard_key IF EXISTS"
       for c in UNICODE_LINE_ENDS},
    "block_comment_before": "/* MATCH (n) RETURN n */ DROP CONSTRAINT ro_guard_key IF EXISTS",
    "block_comments_between": "MATCH (n:RoProbe) /* a */DETACH/* b */DELETE/**/n",
    "backslash_escaped_backslash": r"MATCH (n:RoProbe) WHERE n.k <> 'a\\' DETACH DELETE n // '",
    "load_csv_file": "LOAD CSV FROM 'file:///etc/passwd' AS r RETURN r",
    "load_csv_path_lowercase": "load csv from '/etc/passwd' as r return r",
    "load_csv_remote": "LOAD CSV WITH HEADERS FROM 'http://127.0.0.1:9/x.csv' AS r RETURN r",
    "periodic_commit": "USING PERIODIC COMMIT LOAD CSV FROM 'file:///etc/hostname' AS r "
                       "RETURN r",
    "in_transactions": "UNWIND [1, 2] AS x CALL (x) { WITH x RETURN x AS y } "
                       "IN TRANSACTIONS OF 1 ROW RETURN y",
    "in_concurrent_transactions": "UNWIND [1] AS x CALL { WITH x RETURN x AS y } "
                                  "IN 2 CONCURRENT TRANSACTIONS RETURN y",
    "insert": "INSERT (:RoProbe {k: 46})",
    "procedure_merge_node": "CALL merge.node(['RoProbe'], {k: 40}) YIELD node RETURN node",
    "procedure_apoc_alias": "CALL apoc.merge.node(['RoProbe'], {k: 41}) YIELD node RETURN node",
    "procedure_quoted_parts": "CALL `merge`.`node`(['RoProbe'], {k: 42}) YIELD node "
                              "RETURN node",
    "procedure_quoted_whole": "CALL `merge.node`(['RoProbe'], {k: 42}) YIELD node RETURN node",
    "procedure_spaced": "CALL merge /* */ . node(['RoProbe'], {k: 42}) YIELD node RETURN node",
    "procedure_do_when": "CALL do.when(true, 'CREATE (:RoProbe {k: 43}) RETURN 1 AS a', "
                         "'RETURN 1 AS a', {}) YIELD value RETURN value",
    "procedure_refactor": "MATCH (a:RoProbe {k: 1}), (b:RoProbe {k: 2}) "
                          "CALL refactor.mergeNodes([a, b]) YIELD node RETURN node",
    "procedure_schema": "CALL db.createUniquePropertyConstraint('ro_x', ['RoProbe'], ['k'])",
    "procedure_migrate": "CALL db.migrateLegacyTemporals()",
    "unterminated_string": "RETURN 'CREATE (n)",
}


@pytest.mark.parametrize("name", list(BYPASSES))
def test_bypass_refused_before_sending_and_graph_unchanged(probe_graph, name):
    before = _state(probe_graph)
    assert any("ro_guard_key" in row for row in before[2])
    for attempt in (lambda s: probe_graph.run(s), lambda s: run_cypher(probe_graph, s),
                    lambda s: probe_graph.read_many([("RETURN 1 AS one", None), (s, None)])):
        with pytest.raises(ReadOnlyError, match="not sent to the server") as err:
            attempt(BYPASSES[name])
        assert "nothing was changed" not in str(err.value)
    assert _state(probe_graph) == before


def test_cli_refuses_the_measured_bypasses(probe_graph, store_target, monkeypatch, capsys):
    """The two holes as measured through `query --cypher`: exit 2, one truthful line, the
    constraint still there, nothing of the file printed."""
    monkeypatch.setenv("NEO4J_USERNAME", store_target.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", store_target.password or "")
    env = ["--store", store_target.uri, "--database", store_target.database]
    before = _state(probe_graph)
    for stmt in ("// x\rDROP CONSTRAINT ro_guard_key IF EXISTS",
                 "LOAD CSV FROM 'file:///etc/passwd' AS r RETURN r"):
        assert main(["query", "--cypher", stmt, *env]) == 2
        out = capsys.readouterr()
        err = out.err.strip().splitlines()
        assert out.out == "" and len(err) == 1, out
        assert "not sent to the server" in err[0] and "nothing was changed" not in err[0]
        assert "root:" not in out.err
    assert _state(probe_graph) == before


def test_embedded_server_reads_no_files_even_as_a_write(bolt_server, tmp_path):
    """LOAD CSV is switched off in the embedded server's own configuration: file URLs, bare
    paths and remote URLs fail there even with --write (the pre-check is not the only guard)."""
    secret = tmp_path / "secret.csv"
    secret.write_text("ro-secret-line,1\n")
    store = connect(bolt_server.bolt_uri, bolt_server.username, bolt_server.password,
                    bolt_server.database)
    try:
        for url in (secret.as_uri(), str(secret), "http://127.0.0.1:9/x.csv"):
            with pytest.raises(StoreError, match="disabled") as err:
                run_cypher(store, f"LOAD CSV FROM '{url}' AS r RETURN r", write=True)
            assert "ro-secret-line" not in str(err.value)
    finally:
        store.close()


READS = {  # statement -> rows; the graph holds RoProbe k = 1, 2, 5
    "keywords_in_strings": ("RETURN 'CREATE INDEX x; DROP CONSTRAINT y' AS s, "
                            "\"LOAD CSV FROM 'file:///etc/passwd'\" AS t",
                            [{"s": "CREATE INDEX x; DROP CONSTRAINT y",
                              "t": "LOAD CSV FROM 'file:///etc/passwd'"}]),
    "escaped_quote_in_string": (r"RETURN 'it\'s // DELETE' AS s, 'a\\' AS b",
                                [{"s": "it's // DELETE", "b": "a\\"}]),
    "keywords_in_comments": ("MATCH (n:RoProbe) // DETACH DELETE n\rRETURN count(n) AS c "
                             "/* DROP INDEX x */", [{"c": 3}]),
    "crlf_comments": ("MATCH (n:RoProbe)\r\n// SET n.k = 0\r\nRETURN count(n) AS c",
                      [{"c": 3}]),
    "quoted_names": ("MATCH (n:RoProbe) RETURN n.k AS `delete`, n.k AS `load csv` "
                     "ORDER BY `delete` LIMIT 1", [{"delete": 1, "load csv": 1}]),
    "names_that_are_keywords": ("MATCH (n:RoProbe) WITH {set: n.k, load: 1} AS m "
                                "RETURN sum(m.set) AS s, max(m.load) AS l", [{"s": 8, "l": 1}]),
    "read_procedure": ("CALL db.labels() YIELD label WITH label WHERE label = 'RoProbe' "
                       "RETURN label", [{"label": "RoProbe"}]),
    "call_subquery": ("MATCH (n:RoProbe) CALL (n) { RETURN n.k * 2 AS d } "
                      "RETURN sum(d) AS d", [{"d": 16}]),
}


@pytest.mark.parametrize("name", list(READS))
def test_reads_with_keywords_in_strings_comments_and_names_still_run(probe_graph, name):
    stmt, rows = READS[name]
    assert probe_graph.run(stmt) == rows


def test_lexer_reads_comments_strings_and_names_as_cypher():
    text = "RETURN 'a\\'b' AS `x``y` // c\rMATCH /* d\n */ (n) \"e\"\u2028f"
    kinds = [(t.kind, t.text) for t in tokens(text)]
    assert kinds == [("word", "RETURN"), ("string", "'a\\'b'"), ("word", "AS"),
                     ("name", "x`y"), ("word", "MATCH"), ("punct", "("), ("word", "n"),
                     ("punct", ")"), ("string", '"e"'), ("word", "f")]
    # a // comment runs past U+2028 for the server, not for the Unicode reading
    assert [t.text for t in tokens("// a\u2028b")] == []
    assert [t.text for t in tokens("// a\u2028b", UNICODE_LINE_ENDS)] == ["b"]
