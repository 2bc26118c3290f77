"""``verify`` on a lineage run (issue 20, item 1): the latent tested at step S is written onto
the lineage (Feature) that holds it at S (``Feature.dict_index``), never onto lineage number
``latent``; a latent with no lineage at S is reported on stderr and not written; ``--summary``
into a lineage-space analysis directory maps the same way (its lineage files)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ontochron.causal.lineage_space import to_lineages
from ontochron.causal.verify import verify_features
from ontochron.cli import main
from ontochron.errors import InputError
from ontochron.graph.ingest import ingest
from ontochron.ontology import OntologyConfig, analyze
from ontochron.outputs import write_outputs
from tests.lineage_data import FEATURES, STEPS, hand_lineage, hand_lineage_stack
from tests.test_verify_cli_sae import CAUSAL, D_SAE, write_activations, write_sae

CONN = OntologyConfig(connection_null="hypergeometric")


@pytest.fixture
def sae_case(tmp_path):
    return write_sae(tmp_path / "sae"), write_activations(tmp_path / "acts.npz")


def _store_args(bolt_server, monkeypatch) -> list[str]:
    monkeypatch.setenv("NEO4J_USERNAME", bolt_server.username)
    monkeypatch.setenv("NEO4J_PASSWORD", bolt_server.password)
    return ["--store", bolt_server.bolt_uri, "--database", bolt_server.database]


@pytest.mark.parametrize("t", [1, 2])
def test_tested_latents_land_on_the_lineage_holding_them(sae_case, graph_store, bolt_server,
                                                         monkeypatch, capsys, t):
    sae_dir, acts = sae_case
    ingest(hand_lineage_stack(), run="lin", store=graph_store, config=CONN, progress=False,
           lineage=hand_lineage())
    step, held = STEPS[t], FEATURES[t]       # held[i]: lineage of dictionary index i at step
    rc = main(["verify", "--sae", str(sae_dir), "--activations", str(acts), "--at", str(step),
               "--n-resamples", "99", "--run", "lin", *_store_args(bolt_server, monkeypatch)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    got = graph_store.run("MATCH (t:CausalTest)-[:TESTS]->(f:Feature) WHERE t.run_id = 'lin' "
                          "MATCH (t)-[:AT]->(k) RETURN f.index AS f, f.dict_index AS di, "
                          "t.dict_index AS latent, t.feature AS tf, t.causal AS causal, "
                          "k.step AS step")
    assert {r["step"] for r in got} == {step}
    # exactly the latents that exist at the step, each on the lineage that holds it there
    assert sorted(r["latent"] for r in got) == list(range(len(held)))
    for r in got:
        assert r["f"] == r["tf"] == held[r["latent"]]
        assert r["di"][t] == r["latent"]        # the Feature's dict_index at the step agrees
    assert sorted(r["f"] for r in got if r["causal"]) == sorted(
        held[i] for i in CAUSAL if i < len(held))
    missing = list(range(len(held), D_SAE))
    assert f"{len(missing)} tested latents have no lineage at step {step}" in err
    assert str(missing) in err
    assert f"{held[0]}" in out and "latent->lineage" in out


def test_summary_in_a_lineage_analysis_maps_the_same_way(sae_case, tmp_path, capsys):
    sae_dir, acts = sae_case
    ont = analyze(hand_lineage_stack(), CONN, progress=False)
    out_dir = tmp_path / "analysis"
    write_outputs(ont, out_dir, lineage=hand_lineage())
    summary = out_dir / "summary.json"
    rc = main(["verify", "--sae", str(sae_dir), "--activations", str(acts), "--at", "20",
               "--n-resamples", "99", "--quiet", "--summary", str(summary)])
    err = capsys.readouterr().err
    assert rc == 0, err
    causal = json.loads(summary.read_text())["causal"]
    held = FEATURES[2]
    assert {t["dict_index"]: t["feature"] for t in causal["tests"]} == dict(enumerate(held))
    assert causal["config"]["space"] == "lineage"
    assert causal["config"]["no_lineage"] == list(range(len(held), D_SAE))
    assert causal["causal_features"] == [held[i] for i in CAUSAL]
    assert "have no lineage at step 20" in err
    # a step the lineage files do not have: exit 2, the summary untouched
    before = summary.read_text()
    rc = main(["verify", "--sae", str(sae_dir), "--activations", str(acts), "--at", "15",
               "--n-resamples", "99", "--quiet", "--summary", str(summary)])
    err = capsys.readouterr().err
    assert rc == 2 and "no checkpoint at step 15" in err and "lineage.csv" in err
    assert summary.read_text() == before


def test_fixed_dictionary_summary_is_left_in_dictionary_space(sae_case, tmp_path, capsys):
    sae_dir, acts = sae_case
    summary = tmp_path / "summary.json"
    summary.write_text("{}")
    assert main(["verify", "--sae", str(sae_dir), "--activations", str(acts), "--quiet",
                 "--n-resamples", "99", "--summary", str(summary)]) == 0
    causal = json.loads(summary.read_text())["causal"]
    assert [t["feature"] for t in causal["tests"]] == list(range(D_SAE))
    assert all("dict_index" not in t for t in causal["tests"]) and "config" in causal
    assert "space" not in causal["config"]


def test_to_lineages_keeps_the_statistics_and_is_idempotent():
    codes = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]], dtype=bool)
    table = {(f, c): np.full(3, float(codes[i, f]) + 0.1 * i)
             for f in range(3) for i, c in enumerate("abcd")}
    rep = verify_features(lambda f, c: table[(f, c)], codes, concepts=list("abcd"),
                          n_resamples=99)
    mapped = to_lineages(rep, {0: 7, 2: 4}, "test")
    assert [(r.feature, r.dict_index) for r in mapped.results] == [(7, 0), (4, 2)]
    assert [r.p for r in mapped.results] == [rep.results[0].p, rep.results[2].p]
    assert [r.q for r in mapped.results] == [rep.results[0].q, rep.results[2].q]
    assert mapped.config["no_lineage"] == [1] and mapped.space == "lineage"
    assert to_lineages(mapped, {7: 0}, "again") is mapped


def test_a_run_without_the_step_is_a_clear_error(sae_case, graph_store, bolt_server,
                                                  monkeypatch, capsys):
    sae_dir, acts = sae_case
    ingest(hand_lineage_stack(), run="lin", store=graph_store, config=CONN, progress=False,
           lineage=hand_lineage())
    rc = main(["verify", "--sae", str(sae_dir), "--activations", str(acts), "--at", "15",
               "--n-resamples", "99", "--quiet", "--run", "lin",
               *_store_args(bolt_server, monkeypatch)])
    err = capsys.readouterr().err
    assert rc == 2 and "run 'lin' has no checkpoint at step 15" in err
    assert graph_store.run("MATCH (t:CausalTest) RETURN count(t) AS n")[0]["n"] == 0
    with pytest.raises(InputError, match="no run 'nope'"):
        from ontochron.causal.lineage_space import run_lineage_map
        run_lineage_map(graph_store, "nope", 10)
