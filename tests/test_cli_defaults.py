"""Behaviour every graph command shares (issue 11): the default run (the only one in the store,
else a clear error listing the runs), ``$run_id``/``$forks`` derived for ad-hoc Cypher and
never silently overridden, and nodes/relationships/paths printed with their properties."""

from __future__ import annotations

import csv
import io
import json

import pytest

from ontochron.cli import main
from ontochron.graph.schema import stab_keys
from ontochron.graph.store import connect
from tests.test_queries import RUN, ingest_hand_run

SLICE = ("MATCH (c:Concept)-[r:ACTIVATES]->(f:Feature) WHERE r.run_id = $run_id "
         "AND r.fork IN $forks AND r.valid_from <= $step AND (r.valid_to IS NULL OR "
         "r.valid_to > $step) RETURN c.name AS c, f.index AS f ORDER BY c, f")


@pytest.fixture(scope="module")
def one_run(store_target):
    """A store holding exactly one run (the hand-built one)."""
    store = connect(store_target.uri, store_target.username, store_target.password,
                    store_target.database, config=store_target)
    try:
        store.write("MATCH (n) DETACH DELETE n")
        ingest_hand_run(store)
        yield store
    finally:
        store.close()


@pytest.fixture
def env(monkeypatch, store_target):
    monkeypatch.setenv("NEO4J_USERNAME", store_target.username or "")
    monkeypatch.setenv("NEO4J_PASSWORD", store_target.password or "")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return ["--store", store_target.uri] + (["--database", store_target.database]
                                            if store_target.database else [])


def _commands(tmp_path):
    """Every command that takes --run, without it."""
    return {
        "query": ["query", "feature_stability"],
        "query --cypher": ["query", "--cypher",
                           "MATCH (r:Run {run_id: $run_id}) RETURN r.run_id AS run"],
        "export": ["export", "-f", "json", "-o", str(tmp_path / "g.json")],
        "report": ["report", "-o", str(tmp_path / "r.html"), "--quiet"],
        "plot": ["plot", "--out", str(tmp_path / "plots"), "--format", "html",
                 "--plots", "churn", "--quiet"],
        "label": ["label", "--dry-run", "--features", "0", "--no-cache"],
    }


def test_the_only_run_is_the_default_everywhere(one_run, env, tmp_path, capsys):
    # report and plot draw on the demo run in tests/test_docs.py (the hand-built run has no
    # Run.n_features, which the churn plot needs); here they are in the several-runs test.
    for name, argv in _commands(tmp_path).items():
        if name in ("report", "plot"):
            continue
        assert main([*argv, *env]) == 0, name
        out = capsys.readouterr().out
        if name == "query --cypher":
            assert RUN in out
    assert json.loads((tmp_path / "g.json").read_text().splitlines()[0])["type"] == "node"


def test_cypher_derives_forks_from_step(one_run, env, capsys):
    for step in (0, 150, 300, 400):
        assert main(["query", "--cypher", SLICE, "-p", f"step={step}", "-f", "json",
                     *env]) == 0
        got = json.loads(capsys.readouterr().out)
        want = [dict(r) for r in one_run.run(SLICE, run_id=RUN, step=step,
                                             forks=stab_keys(step))]
        assert got == want and (step == 0 or got), step


@pytest.mark.parametrize(("argv", "message"), [
    (["query", "--cypher", SLICE, "-p", "step=1", "-p", "forks=[1,2]"],
     "$forks is derived from $step"),
    (["query", "--cypher", SLICE], "pass -p step=N"),
    (["query", "--cypher", SLICE, "-p", "step=later"], "$step must be an integer"),
    (["query", "hierarchy_at_step", "-p", "step=1", "-p", "forks=[1,2]"],
     "$forks is derived"),
    (["query", "feature_stability", "--run", RUN, "-p", "run_id=other"],
     "$run_id given twice"),
])
def test_user_parameters_never_override_derived_ones(one_run, env, capsys, argv, message):
    assert main([*argv, *env]) == 2
    assert message in capsys.readouterr().err


def test_nodes_relationships_and_paths_are_printed_with_properties(one_run, env, capsys):
    stmt = ("MATCH p = (c:Concept {run_id: $run_id, name: 'alpha'})-[r:ACTIVATES]->(f:Feature) "
            "RETURN c, r, f, p ORDER BY r.valid_from, f.index LIMIT 1")
    assert main(["query", "--cypher", stmt, "-f", "json", *env]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["c"]["type"] == "node" and row["c"]["labels"] == ["Concept"]
    assert row["c"]["properties"]["name"] == "alpha"
    assert row["r"]["type"] == "relationship" and row["r"]["label"] == "ACTIVATES"
    assert row["r"]["properties"]["run_id"] == RUN and "valid_from" in row["r"]["properties"]
    assert (row["r"]["start"], row["r"]["end"]) == (row["c"]["id"], row["f"]["id"])
    assert [n["id"] for n in row["p"]["nodes"]] == [row["c"]["id"], row["f"]["id"]]
    assert row["p"]["relationships"][0]["id"] == row["r"]["id"]

    assert main(["query", "--cypher", stmt, "-f", "csv", *env]) == 0
    (rec,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rec["r"].startswith("[:ACTIVATES {") and f"run_id: '{RUN}'" in rec["r"]
    assert rec["c"].startswith("(:Concept {") and "name: 'alpha'" in rec["c"]
    assert rec["p"].startswith("(:Concept {") and "-[:ACTIVATES {" in rec["p"]
    assert "Node" not in rec["c"] and "<" not in "".join(rec.values())

    assert main(["query", "--cypher", stmt, *env]) == 0
    table = capsys.readouterr().out
    assert "[:ACTIVATES {" in table and "{}" not in table


def test_several_runs_are_listed(one_run, env, tmp_path, capsys):
    ingest_hand_run(one_run, "second run")
    for name, argv in _commands(tmp_path).items():
        assert main([*argv, *env]) == 2, name
        err = capsys.readouterr().err
        assert "2 runs ('hand run', 'second run'): pass --run NAME" in err, (name, err)
