"""``@split`` execution (ontochron.queries.branches): which UNION ALL shapes it accepts, and that
running the branches one by one with packed rows returns what the statement returns as
written, graph values and constants included, on the real Bolt server."""

from __future__ import annotations

import pytest

from ontochron.errors import InputError
from ontochron.queries.branches import run_split, split_branches
from ontochron.queries.library import GraphNode, GraphRelationship, parse_header, run_cypher

GOOD = """MATCH (n:SplitProbe) WHERE n.k >= $min
RETURN 'node' AS kind, n.k AS k, n AS value, null AS other, 7 AS seven
UNION ALL
MATCH (a:SplitProbe)-[r:SPLIT_LINK]->(b)
WITH a, r, b WHERE r.w > $min
RETURN 'rel' AS kind, a.k AS k, r AS value, [b.k, 'x, y'] AS other, 7 AS seven
UNION ALL
MATCH (n:SplitProbe) WHERE n.k < 0
RETURN 'none' AS kind, n.k AS k, n AS value, null AS other, 7 AS seven
"""


@pytest.fixture
def split_graph(graph_store):
    graph_store.write("CREATE (:SplitProbe {k: 1, name: $name})-[:SPLIT_LINK {w: 2}]->"
                      "(:SplitProbe {k: 2}), (:SplitProbe {k: 5})", name="it's \"q\" `x`")
    return graph_store


def test_split_branches_reads_literals_constants_and_packs():
    branches = split_branches(GOOD, "kind")
    assert [b.literal for b in branches] == ["node", "rel", "none"]
    assert branches[0].columns == ("kind", "k", "value", "other", "seven")
    assert dict(branches[0].constants) == {0: "node", 3: None, 4: 7}
    assert dict(branches[1].constants) == {0: "rel", 4: 7}  # a list expression is sent
    assert branches[1].packed.endswith("RETURN collect([a.k, r, [b.k, 'x, y']]) AS rows")
    assert branches[1].packed.startswith("MATCH (a:SplitProbe)")


@pytest.mark.parametrize(("text", "message"), [
    ("MATCH (n) RETURN 'a' AS t, n.k AS k UNION MATCH (n) RETURN 'b' AS t, n.k AS k",
     "needs UNION ALL"),
    ("MATCH (n) RETURN 'a' AS t, n.k AS k ORDER BY k", "must be plain"),
    ("MATCH (n) RETURN DISTINCT 'a' AS t, n.k AS k", "must be plain"),
    ("MATCH (n) RETURN 'a' AS t, count(n) AS k", "must be plain"),
    ("MATCH (n) RETURN 'a' AS t, n.k AS k LIMIT 3", "must be plain"),
    ("MATCH (n) RETURN 'a' AS t, n.k", "needs 'AS name'"),
    ("MATCH (n) RETURN n.t AS t, n.k AS k", "own string literal"),
    ("MATCH (n) RETURN 'a' AS t, n.k AS k UNION ALL MATCH (n) RETURN 'a' AS t, n.k AS k",
     "own string literal"),
    ("MATCH (n) RETURN 'a' AS t, n.k AS k UNION ALL MATCH (n) RETURN 'b' AS t, n.k AS j",
     "different columns"),
    ("MATCH (n) RETURN 'a' AS kind, n.k AS k", "does not return 't'"),
])
def test_split_branches_refuses_shapes_it_cannot_run(text, message):
    with pytest.raises(InputError, match=message):
        split_branches(text, "t")


def test_split_header_is_checked_at_load():
    head = "// @name q\n// @summary s\n// @param sel list<string> default=null  x\n"
    q = parse_header(head + "// @split t IN $sel\nMATCH (n) WHERE $sel IS NULL "
                     "RETURN 'a' AS t, n.k AS k", "q.cypher")
    assert q.split == ("t", "sel")
    with pytest.raises(InputError, match="undeclared"):
        parse_header(head + "// @split t IN $other\nMATCH (n) WHERE $sel IS NULL "
                     "RETURN 'a' AS t", "q.cypher")
    with pytest.raises(InputError, match="needs UNION ALL"):
        parse_header(head + "// @split t IN $sel\nMATCH (n) WHERE $sel IS NULL RETURN 'a' AS t"
                     " UNION MATCH (n) RETURN 'b' AS t", "q.cypher")


@pytest.mark.parametrize("kinds", [None, ["rel"], ["node", "none"], ["nothing"]])
def test_run_split_equals_the_statement_as_written(split_graph, kinds):
    params = {"min": 1, "kinds": kinds}
    whole = run_cypher(split_graph, GOOD, **params)
    want = [r for r in whole.rows if kinds is None or r[0] in kinds]
    got = run_split(split_graph, GOOD, ("kind", "kinds"), params)
    assert sorted(got.rows, key=repr) == sorted(want, key=repr)
    assert got.names == ["kind", "k", "value", "other", "seven"]
    if kinds is None:
        assert got.rows == whole.rows and got.columns == whole.columns
        assert len(got) == 4
        assert {type(r[2]) for r in got.rows} == {GraphNode, GraphRelationship}
        rel = next(r for r in got.rows if r[0] == "rel")
        assert rel[3] == [2, "x, y"] and rel[4] == 7
