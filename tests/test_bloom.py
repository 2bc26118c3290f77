"""Bloom perspective: structure, one category per schema label, numeric step properties for
the Slicer, and every search phrase's Cypher passing Neo4j's grammar and running on the Bolt
test server against the hand-built run."""

from __future__ import annotations

import json
import re

import pytest

from ontochron.cli import main
from ontochron.graph.schema import NODE_LABELS
from ontochron.queries.bloom import (
    CATEGORIES,
    RELATIONSHIPS,
    build_perspective,
    search_phrases,
    write_perspective,
)
from ontochron.queries.library import list_queries
from tests.test_cypher_grammar import lint
from tests.test_queries import CONCEPTS, RUN, ingest_hand_run

SAMPLE = {"step": 200, "feature": 0, "concept": CONCEPTS[2], "from": 100, "to": 300}


@pytest.fixture(scope="module")
def perspective():
    return build_perspective()


def test_one_category_per_schema_label(perspective):
    cats = perspective["categories"]
    labels = [c["labels"] for c in cats]
    assert all(len(x) == 1 for x in labels)
    assert {x[0] for x in labels} == set(NODE_LABELS) | {"Label", "CausalTest", "Primitive"}
    assert len(cats) == len({c["id"] for c in cats}) == len(labels)
    assert set(perspective["labels"]) == {x[0] for x in labels}
    for c in cats:
        assert re.fullmatch(r"#[0-9A-F]{6}", c["color"])
        props = {p["name"] for p in c["properties"]}
        assert c["captionKeys"] and set(c["captionKeys"]) <= props
        assert [x["key"] for x in c["captions"]] == c["captionKeys"]
    byname = {c["name"]: c for c in cats}
    assert byname["Feature"]["captionKeys"] == ["label", "index"]
    assert byname["Concept"]["captionKeys"] == ["name"]
    # specific event labels come before the generic Event category
    order = [c["name"] for c in cats]
    assert order.index("Event") > max(order.index(x) for x in ("Birth", "PhaseTransition"))


def test_steps_are_numeric_for_the_slicer(perspective):
    for label, props in perspective["labels"].items():
        types = {p["propertyKey"]: p["dataType"] for p in props}
        for key in ("step", "valid_from", "valid_to", "birth_step", "death_step"):
            if key in types:
                assert types[key] == "bigint", (label, key)
    for rel in perspective["relationshipTypes"]:
        types = {p["propertyKey"]: p["dataType"] for p in rel["properties"]}
        if "valid_from" in types:
            assert types["valid_from"] == types["valid_to"] == "bigint"


def test_relationship_types_cover_the_schema(perspective):
    names = [r["name"] for r in perspective["relationshipTypes"]]
    assert set(names) >= {"ACTIVATES", "CONNECTED", "DUAL", "DEPENDS_ON", "PARENT_OF",
                          "AND_INPUT", "AND_OUTPUT", "HAS_CHECKPOINT", "NEXT", "AT",
                          "OF_CONCEPT", "OF_FEATURE", "WITH_CONCEPT"}
    assert len(names) == len(set(names)) == len(RELATIONSHIPS)


def test_search_phrases_cover_the_named_queries(perspective):
    templates = perspective["templates"]
    texts = {t["text"] for t in templates}
    assert "lineage of feature $feature" in texts
    covered = {q.name for q in list_queries() if any(q.name in t["cypher"] for t in templates)}
    assert covered == {q.name for q in list_queries()}
    for t in templates:
        assert {p["name"] for p in t["params"]} == set(re.findall(r"\$\w+", t["text"]))
        assert all(p["dataType"] in ("Integer", "String") for p in t["params"])
        assert t["name"] and t["id"] and t["cypher"].strip()
    feat = next(t for t in templates if t["text"] == "lineage of feature $feature")
    assert feat["params"] == [{"name": "$feature", "dataType": "Integer", "collapsed": False,
                               "suggestionLabel": "Feature", "suggestionProp": "index",
                               "suggestionBoolean": False, "cypher": None}]


def test_search_phrases_pass_the_neo4j_grammar(tmp_path):
    files = []
    for ph in search_phrases():
        f = tmp_path / f"{ph.name}.cypher"
        f.write_text(ph.cypher, encoding="utf-8")
        files.append(f)
    res = lint(*files)
    assert res.returncode == 0, res.stdout + res.stderr


#: The lineage phrases run on the hand-built lineage of tests/lineage_data.py (steps 0..30).
LINEAGE_SAMPLE = {"from": 0, "to": 30, "feature": 3, "other_run": "fixed"}
LINEAGE_PHRASES = {"feature_ancestry", "feature_drift", "splits_merges_between", "turned_features",
                   "shared_features"}


def test_search_phrases_run_on_the_server(graph_store):
    from ontochron.graph.ingest import delete_run, ingest
    from ontochron.graph.lineage_write import write_same_as
    from ontochron.overlay import overlay
    from ontochron.overlay.hypothesis import parse_hypothesis
    from tests.lineage_data import hand_lineage, hand_lineage_stack

    ingest_hand_run(graph_store)
    hyp = parse_hypothesis({"primitives": [{"name": "p", "feature": 0},
                                           {"name": "c", "feature": 2, "depends_on": ["p"]}]})
    overlay(hyp, run=RUN, store=graph_store, write=True)  # Primitive nodes, EXPECTS_*
    for run, lin in (("lin", hand_lineage()), ("fixed", None)):
        ingest(hand_lineage_stack(), run=run, store=graph_store, progress=False, lineage=lin)
    write_same_as(graph_store, "lin", "fixed", [{"a": 0, "b": 5, "cosine": 0.9, "kind": "same"}])
    n = {}
    for ph in search_phrases():
        sample = {**SAMPLE, **LINEAGE_SAMPLE} if ph.name in LINEAGE_PHRASES else SAMPLE
        rows = graph_store.run(ph.cypher, **{p[0]: sample[p[0]] for p in ph.params})
        n[ph.name] = len(rows)
    assert all(v > 0 for v in n.values()), n
    for run in ("lin", "fixed"):  # phrases are not run-scoped: leave the hand run alone
        delete_run(graph_store, run)
    rows = graph_store.run(next(p for p in search_phrases()
                                if p.name == "feature_lineage").cypher, feature=0)
    assert {r["p"][0]["index"] for r in rows} == {0}  # every path starts at feature 0
    # the feature alone, 5 relation intervals (dual 3, dependency/hierarchy with 2 and 4), 1 triad
    assert len(rows) == 1 + 5 + 1
    rows = graph_store.run(next(p for p in search_phrases()
                                if p.name == "most_stable_features").cypher)
    assert rows[0]["f"]["index"] == 5 and rows[0]["f"]["run_id"] == RUN


def test_write_perspective_and_cli(tmp_path, capsys):
    path = write_perspective(tmp_path / "sub" / "p.json", name="mine")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["name"] == "mine" and doc == build_perspective("mine")
    out = tmp_path / "cli.json"
    assert main(["bloom", "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["categories"]
    assert str(out) in capsys.readouterr().out
    assert set(CATEGORIES) == {c["name"] for c in doc["categories"]}


def test_docs_name_every_category_and_relationship_type():
    """docs/bloom.md lists what the perspective holds: every category (Split, Merge,
    Primitive included) and every relationship type (SPLITS_INTO, MERGES_INTO, SAME_AS, the
    overlay's types included)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "bloom.md").read_text()
    what = text.split("## What is in it")[1].split("## Importing it")[0]
    missing = [n for n in [*CATEGORIES, *RELATIONSHIPS] if f"`{n}`" not in what]
    assert not missing, missing
    for name in ("Split", "Merge", "Primitive"):
        assert name in CATEGORIES
    for name in ("SPLITS_INTO", "MERGES_INTO", "SAME_AS"):
        assert name in RELATIONSHIPS
