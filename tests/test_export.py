"""Subgraph export: the fetched MultiDiGraph against the hand-built run's known intervals, and
round trips of every file format (networkx readers, JSON parsing, GEXF 1.3 structure, the
Cypher script re-run into an empty graph on the Bolt test server)."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest

from ontochron.cli import main
from ontochron.errors import InputError
from ontochron.queries.export import export_subgraph, fetch_subgraph, node_id, write_graph
from ontochron.queries.export_formats import (
    GEXF_NS,
    cypher_literal,
    cypher_name,
    cypher_statements,
)
from tests.test_queries import (
    ACTIVATIONS,
    CONCEPTS,
    OP,
    RELATIONS,
    RUN,
    STEPS,
    _lifecycle,
    expected_graph_at,
    ingest_hand_run,
)

INTERVAL_TYPES = {"connection": "CONNECTED", "dual": "DUAL", "dependency": "DEPENDS_ON",
                  "hierarchy": "PARENT_OF"}


def _nid(rtype: str, i: int, end: str) -> str:
    concept = (rtype == "ACTIVATES" and end == "a") or rtype == "CONNECTED"
    return node_id("Concept", CONCEPTS[i]) if concept else node_id("Feature", i)


def all_edges() -> set[tuple[str, str, str, int, int | None]]:
    """(type, source id, target id, valid_from, valid_to) of every interval relation."""
    out = {("ACTIVATES", _nid("ACTIVATES", c, "a"), _nid("ACTIVATES", f, "b"), a,
            None if b == OP else b) for c, f, a, b in ACTIVATIONS}
    for kind, a, b, _, v0, v1, _ in RELATIONS:
        if kind in INTERVAL_TYPES:
            t = INTERVAL_TYPES[kind]
            out.add((t, _nid(t, a, "a"), _nid(t, b, "b"), v0, None if v1 == OP else v1))
    return out


def _edges(g: nx.MultiDiGraph) -> set[tuple]:
    return {(d["type"], u, v, d.get("valid_from"), d.get("valid_to"))
            for u, v, d in g.edges(data=True) if not d["type"].startswith("AND_")}


def test_whole_run(hand_store):
    g = fetch_subgraph(hand_store, RUN)
    assert _edges(g) == all_edges()
    assert g.number_of_nodes() == len(CONCEPTS) + 8 + 1  # every feature, one triad
    assert g.nodes["Feature:0"]["labels"] == "Feature"
    assert g.nodes["Feature:0"]["stability"] == pytest.approx(0.9)
    assert g.nodes["Feature:0"]["activation_rate"] == pytest.approx([0.2, 0.4, 0.4, 0.4, 0.4])
    assert g.nodes[node_id("Concept", CONCEPTS[2])]["caption"] == CONCEPTS[2]
    assert all(d["run_id"] == RUN for _, d in g.nodes(data=True))
    triad = [n for n in g if n.startswith("Triad:")]
    assert triad == ["Triad:0,1,2@100"]
    assert sorted((d["type"], v) for _, v, d in g.out_edges(triad[0], data=True)) == [
        ("AND_INPUT", "Feature:0"), ("AND_INPUT", "Feature:1"), ("AND_OUTPUT", "Feature:2")]
    scalar = (str, int, float, bool)
    for _, d in g.nodes(data=True):  # scalars, or lists of scalars; no nulls
        assert all(isinstance(v, scalar) or (isinstance(v, list) and all(
            isinstance(x, scalar) for x in v)) for v in d.values())


@pytest.mark.parametrize("step", [0, 150, 300, 400])
def test_time_slice_matches_holds_at(hand_store, step):
    g = fetch_subgraph(hand_store, RUN, at=step, kinds="activates,connected,dual,depends_on,"
                                                       "parent_of")
    want = {(t, _nid(t, CONCEPTS.index(s) if isinstance(s, str) else s, "a"),
             _nid(t, CONCEPTS.index(d) if isinstance(d, str) else d, "b"), a, b)
            for t, s, d, a, b in expected_graph_at(step) if t != "Feature"}
    assert _edges(g) == want
    alive = {f"Feature:{s}" for t, s, *_ in expected_graph_at(step) if t == "Feature"}
    assert {n for n in g if n.startswith("Feature:")} == alive


def test_window_keeps_overlapping_intervals(hand_store):
    g = fetch_subgraph(hand_store, RUN, start=250, end=320, kinds=["dual", "connected"])
    want = {e for e in all_edges() if e[0] in ("DUAL", "CONNECTED")
            and e[3] <= 320 and (e[4] is None or e[4] > 250)}
    assert _edges(g) == want and len(want) == 3
    with pytest.raises(InputError):
        fetch_subgraph(hand_store, RUN, start=5, end=1)
    with pytest.raises(InputError):
        fetch_subgraph(hand_store, RUN, at=5, start=1)
    with pytest.raises(InputError, match="unknown kind"):
        fetch_subgraph(hand_store, RUN, kinds="dual,bogus")


def _ego(edges: set[tuple], seed: str, hops: int) -> set[tuple]:
    """Brute force: edges with both ends within ``hops`` of ``seed`` reached by BFS."""
    seen, frontier, kept = {seed}, {seed}, set()
    for _ in range(hops):
        step = {e for e in edges if e[1] in frontier or e[2] in frontier}
        kept |= step
        reached = {x for e in step for x in e[1:3]}
        frontier = reached - seen
        seen |= reached
    return kept


@pytest.mark.parametrize(("around", "seed", "hops"),
                         [("0", "Feature:0", 1), (4, "Feature:4", 2),
                          ("it's \"q\"", "Concept:it's \"q\"", 2), ("gamma", "Concept:gamma", 3),
                          ("7", "Feature:7", 2), ("feature:5", "Feature:5", 1),
                          ("concept:beta", "Concept:beta", 2)])
def test_around(hand_store, around, seed, hops):
    g = fetch_subgraph(hand_store, RUN, around=around, hops=hops,
                       kinds="activates,connected,dual,depends_on,parent_of")
    want = _ego(all_edges(), seed, hops)
    assert _edges(g) == want
    assert set(g.nodes) == {seed} | {x for e in want for x in e[1:3]}
    assert all("labels" in d for _, d in g.nodes(data=True))


def test_around_unknown_node(hand_store):
    with pytest.raises(InputError, match="no concept 'nobody'"):
        fetch_subgraph(hand_store, RUN, around="nobody")
    with pytest.raises(InputError, match="no feature 99"):
        fetch_subgraph(hand_store, RUN, around=99)
    with pytest.raises(InputError, match="no concept '3'"):
        fetch_subgraph(hand_store, RUN, around="concept:3")
    with pytest.raises(InputError, match="must be an integer"):
        fetch_subgraph(hand_store, RUN, around="feature:x")


@pytest.fixture(scope="module")
def whole(hand_store):
    return fetch_subgraph(hand_store, RUN)


def test_graphml_round_trip(whole, tmp_path):
    path = tmp_path / "g.graphml"
    write_graph(whole, "graphml", path)
    back = nx.read_graphml(path, force_multigraph=True)
    assert back.number_of_nodes() == whole.number_of_nodes()
    assert back.number_of_edges() == whole.number_of_edges()
    assert back.nodes["Feature:0"]["stability"] == pytest.approx(0.9)
    assert back.nodes["Feature:0"]["index"] == 0  # typed: an int, not "0"
    assert back.nodes["Feature:3"]["label"] == "feature 3"
    assert back.nodes["Concept:back`tick"]["name"] == "back`tick"
    assert {(d["type"], u, v, d.get("valid_from"), d.get("valid_to"))
            for u, v, d in back.edges(data=True) if not d["type"].startswith("AND_")} \
        == all_edges()


def test_gexf_is_dynamic_gexf_13(whole, tmp_path):
    path = tmp_path / "g.gexf"
    write_graph(whole, "gexf", path)
    ns = {"g": GEXF_NS}
    root = ET.parse(path).getroot()
    assert root.tag == f"{{{GEXF_NS}}}gexf" and root.get("version") == "1.3"
    graph = root.find("g:graph", ns)
    assert (graph.get("mode"), graph.get("timeformat")) == ("dynamic", "integer")
    nodes = {n.get("id"): n for n in graph.findall("g:nodes/g:node", ns)}
    assert set(nodes) == set(whole.nodes)
    birth, death = _lifecycle()
    last = STEPS[-1]
    for f in range(8):  # features: [birth, death) as closed [birth, death - 1]
        n = nodes[f"Feature:{f}"]
        assert n.get("start") == (None if birth[f] == OP else str(birth[f]))
        # alive at the end: closed at the run's last checkpoint (networkx needs an end)
        assert n.get("end") == (None if birth[f] == OP else str(last) if death[f] == OP
                                else str(death[f] - 1))
    # one edge per relation, its intervals as spells: alpha-beta connected twice
    titles = {a.get("id"): a.get("title") for a in graph.findall("g:attributes/g:attribute", ns)}
    edges = graph.findall("g:edges/g:edge", ns)
    ab = [e for e in edges if (e.get("source"), e.get("target"), e.get("kind")) ==
          ("Concept:alpha", "Concept:beta", "CONNECTED")]
    assert len(ab) == 1
    spells = [(s.get("start"), s.get("end")) for s in ab[0].findall("g:spells/g:spell", ns)]
    assert spells == [("100", "299"), ("400", "400")]
    relations = {(u, v, d["type"]) for u, v, d in whole.edges(data=True)}
    assert len(edges) == len(relations)
    shared = {titles[a.get("for")]: a.get("value") for a in ab[0].findall(
        "g:attvalues/g:attvalue", ns)}
    assert float(shared["shared"]) == 2.0  # attributes of the latest interval
    n_spells = sum(max(1, len(e.findall("g:spells/g:spell", ns))) for e in edges)
    assert n_spells == whole.number_of_edges()



def test_gexf_time_slice_reads_back_with_networkx(hand_store, tmp_path):
    g = fetch_subgraph(hand_store, RUN, at=200)
    path = tmp_path / "slice.gexf"
    write_graph(g, "gexf", path)
    back = nx.read_gexf(path)
    assert set(back.nodes) == set(g.nodes)
    assert back.number_of_edges() == g.number_of_edges()
    assert back.nodes["Feature:2"]["start"] == 100 and back.nodes["Feature:2"]["end"] == 399
    assert back.nodes["Feature:2"]["stability"] == pytest.approx(0.3)
    assert back.nodes["Feature:0"]["end"] == STEPS[-1]  # open: ends at the last checkpoint


def test_gexf_whole_run_round_trips_through_networkx(whole, tmp_path):
    """Every node, relation, attribute and interval (open ones included) survives
    networkx.read_gexf."""
    path = tmp_path / "g.gexf"
    write_graph(whole, "gexf", path)
    back = nx.read_gexf(path)
    assert set(back.nodes) == set(whole.nodes)
    last = STEPS[-1]
    # every interval [a, b) of a relation is back as a closed [a, b - 1] (open: [a, last])
    got = set()
    for u, v, d in back.edges(data=True):
        if d["label"].startswith("AND_"):
            assert "start" not in d and "end" not in d  # triad edges carry no interval
            continue
        spans = d.get("spells") or [(d.get("start"), d.get("end"))]
        assert all(b is not None for _, b in spans), (u, v, d)
        got |= {(d["label"], u, v, a, None if b == last and (d["label"], u, v, a, None)
                 in all_edges() else b + 1) for a, b in spans}
    assert got == all_edges()
    for n, a in whole.nodes(data=True):
        for k, v in a.items():
            if k in ("labels", "caption"):
                continue
            expect = ";".join(str(x) for x in v) if isinstance(v, list) else v
            assert back.nodes[n][k] == (pytest.approx(expect) if isinstance(v, float)
                                        else expect), (n, k)
    assert back.nodes["Concept:alpha"]["label"] == "alpha"


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_xml_invalid_characters_are_escaped(fmt, tmp_path):
    """NUL and other control characters cannot be in XML at all: written as \\uXXXX, the
    original id kept as JSON text in xml_original."""
    g = nx.MultiDiGraph(run_id="r\x00un", last_step=4)
    bad, ok = "Concept:a\x00b\x1bc", "Concept:plain\ttab"
    g.add_node(bad, labels="Concept", caption="a\x00b\x1bc", name="a\x00b\x1bc",
               first_seen=0, last_seen=4, rates=[0.5, 1.0])
    g.add_node(ok, labels="Concept", caption="plain\ttab", name="plain\ttab", first_seen=0,
               last_seen=4)
    g.add_edge(bad, ok, key="CONNECTED:x", type="CONNECTED", run_id="r", valid_from=1,
               note="\x07bell")
    path = tmp_path / f"g.{fmt}"
    write_graph(g, fmt, path)
    back = (nx.read_graphml(path, force_multigraph=True) if fmt == "graphml"
            else nx.read_gexf(path))
    esc = "Concept:a\\u0000b\\u001bc"
    assert set(back.nodes) == {esc, ok}
    assert json.loads(back.nodes[esc]["xml_original"]) == bad
    assert "xml_original" not in back.nodes[ok]
    assert back.nodes[esc]["name"] == "a\\u0000b\\u001bc"
    assert back.nodes[ok]["name"] == "plain\ttab"  # tab is valid XML: kept
    assert back.nodes[esc]["rates"] == "0.5;1.0"
    (_, _, d), = back.edges(data=True)
    assert d["note"] == "\\u0007bell"


def test_apoc_json_lines(whole, tmp_path):
    path = tmp_path / "g.json"
    write_graph(whole, "json", path)
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    nodes = [x for x in lines if x["type"] == "node"]
    rels = [x for x in lines if x["type"] == "relationship"]
    assert len(nodes) == whole.number_of_nodes() and len(rels) == whole.number_of_edges()
    byid = {n["id"]: n for n in nodes}
    assert byid["Feature:2"]["labels"] == ["Feature"]
    assert byid["Feature:2"]["properties"]["death_step"] == 400
    assert "caption" not in byid["Feature:2"]["properties"]
    assert {(r["label"], r["start"]["id"], r["end"]["id"], r["properties"].get("valid_from"),
             r["properties"].get("valid_to")) for r in rels if not r["label"].startswith("AND")
            } == all_edges()
    assert all(r["start"]["labels"] == byid[r["start"]["id"]]["labels"] for r in rels)


def test_cyjs(whole, tmp_path):
    path = tmp_path / "g.cyjs"
    write_graph(whole, "cyjs", path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    nodes, edges = doc["elements"]["nodes"], doc["elements"]["edges"]
    assert {n["data"]["id"] for n in nodes} == set(whole.nodes)
    assert len(edges) == whole.number_of_edges()
    ids = {n["data"]["id"] for n in nodes}
    assert all(e["data"]["source"] in ids and e["data"]["target"] in ids for e in edges)
    assert len({e["data"]["id"] for e in edges}) == len(edges)


def test_csv_tables(whole, tmp_path):
    files = write_graph(whole, "csv", tmp_path / "tables")
    with open(files[0], newline="", encoding="utf-8") as fh:
        nodes = list(csv.DictReader(fh))
    with open(files[1], newline="", encoding="utf-8") as fh:
        rels = list(csv.DictReader(fh))
    assert len(nodes) == whole.number_of_nodes() and len(rels) == whole.number_of_edges()
    assert {r["id"] for r in nodes} == set(whole.nodes)
    assert {(r["type"], r["source"], r["target"], int(r["valid_from"]),
             int(r["valid_to"]) if r["valid_to"] else None) for r in rels
            if not r["type"].startswith("AND_")} == all_edges()


@pytest.mark.parametrize("value", ["plain", "it's", 'say "hi"', "back`tick", "a\\b", "new\nline",
                                   "tab\tend", "\x01ctl", "ünï©ødé ✓", "' OR 1=1 //"])
def test_cypher_literals_round_trip(hand_store, value):
    from ontochron.queries.library import run_cypher
    res = run_cypher(hand_store, f"RETURN {cypher_literal(value)} AS v, "
                                 f"{cypher_literal(3)} AS i, {cypher_literal(-0.25)} AS f")
    assert res.rows[0] == (value, 3, -0.25)
    assert cypher_name("a`b") == "`a``b`"


def test_export_subgraph_and_cli(hand_store, store_target, monkeypatch, tmp_path, capsys):
    files = export_subgraph(hand_store, RUN, "json", tmp_path / "a" / "g.json", at=200)
    assert files == [tmp_path / "a" / "g.json"] and files[0].exists()
    with pytest.raises(InputError, match="unknown export format"):
        export_subgraph(hand_store, RUN, "pdf", tmp_path / "x")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(InputError, match="cannot write the json export") as err:
        export_subgraph(hand_store, RUN, "json", tmp_path / "dir.json")
    assert err.value.path == str(tmp_path / "dir.json")
    monkeypatch.setenv("NEO4J_USERNAME", store_target.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", store_target.password or "")
    out = tmp_path / "cli.graphml"
    args = ["export", "--store", store_target.uri, "--run", RUN, "--around", "beta",
            "--hops", "1", "--kinds", "activates,connected", "-f", "graphml", "-o", str(out)]
    if store_target.database:
        args += ["--database", store_target.database]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    g = nx.read_graphml(out, force_multigraph=True)
    assert set(g.nodes) == {"Concept:beta", "Feature:0", "Feature:3", "Concept:alpha"}
    assert main(args[:-4] + ["-f", "graphml", "-o", str(out), "--at", "1", "--from", "0"]) == 2
    assert "either --at" in capsys.readouterr().err


def test_runs_are_scoped(hand_store):
    g = fetch_subgraph(hand_store, "other run")
    assert g.number_of_edges() == fetch_subgraph(hand_store, RUN).number_of_edges()
    assert {d["run_id"] for *_, d in g.edges(data=True)} == {"other run"}
    assert int(np.sum([1 for n in g if n.startswith("Concept:")])) == len(CONCEPTS)


def test_cypher_script_recreates_the_subgraph(graph_store, tmp_path):
    # graph_store empties the whole graph, so this test comes last in the module.
    ingest_hand_run(graph_store)
    graph_store.write("MATCH (c:Concept {run_id: $r, name: 'gamma'}) SET c.`odd `` key` = 'x'",
                      r=RUN)
    before = fetch_subgraph(graph_store, RUN)
    path = tmp_path / "g.cypher"
    write_graph(before, "cypher", path)
    graph_store.write("MATCH (n) DETACH DELETE n")
    for stmt in cypher_statements(path.read_text(encoding="utf-8")):
        graph_store.write(stmt)
    graph_store.write("CREATE (:Run {run_id: $r})", r=RUN)
    after = fetch_subgraph(graph_store, RUN)
    assert dict(after.nodes(data=True)) == dict(before.nodes(data=True))
    assert sorted(after.edges(keys=True, data=True)) == sorted(before.edges(keys=True,
                                                                            data=True))
    assert after.nodes["Concept:gamma"]["odd ` key"] == "x"
    # lists stay lists (docs/schema.md: Feature.activation_rate is a list of floats)
    rates = after.nodes["Feature:0"]["activation_rate"]
    assert isinstance(rates, list) and len(rates) == len(STEPS)
    assert rates == before.nodes["Feature:0"]["activation_rate"]


def test_kinds_drop_isolated_concepts_unless_asked(hand_store, store_target, monkeypatch,
                                                   tmp_path, capsys):
    """--kinds dual is a feature graph: concepts with no relationship of the chosen kinds are
    left out (issue 20: 55 isolated concept nodes of 65), --keep-isolated keeps them."""
    g = fetch_subgraph(hand_store, RUN, kinds="dual")
    assert not [n for n, d in g.nodes(data=True) if d["labels"] == "Concept"]
    assert g.number_of_edges() > 0
    kept = fetch_subgraph(hand_store, RUN, kinds="dual", keep_isolated=True)
    concepts = [n for n, d in kept.nodes(data=True) if d["labels"] == "Concept"]
    assert len(concepts) == len(CONCEPTS) and all(kept.degree(n) == 0 for n in concepts)
    # concepts that do have a relationship of the kinds stay
    conn = fetch_subgraph(hand_store, RUN, kinds="connected")
    have = {n for n, d in conn.nodes(data=True) if d["labels"] == "Concept"}
    assert have and all(conn.degree(n) > 0 for n in have)
    assert have == {n for e in conn.edges() for n in e if n.startswith("Concept:")}
    # the whole run (no --kinds) is unchanged
    assert fetch_subgraph(hand_store, RUN).number_of_nodes() == len(CONCEPTS) + 8 + 1
    # the CLI flag, and --help saying plainly that json is JSON Lines
    monkeypatch.setenv("NEO4J_USERNAME", store_target.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", store_target.password or "")
    out = tmp_path / "d.jsonl"
    args = ["export", "--run", RUN, "--store", store_target.uri, "--kinds", "dual", "-f", "json",
            "-o", str(out)]
    if store_target.database:
        args += ["--database", store_target.database]
    assert main(args) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert not [x for x in lines if x["type"] == "node" and x["labels"] == ["Concept"]]
    assert main([*args, "--keep-isolated"]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len([x for x in lines if x["type"] == "node" and x["labels"] == ["Concept"]]
               ) == len(CONCEPTS)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "JSON Lines" in " ".join(capsys.readouterr().out.split())
