"""The overlay (docs/overlay.md) on planted data whose truth is known: a hypothesis partly
right and partly wrong, reptimeline's primitivos.json, every bad file, the CLI on an analysis
directory and on a run in the embedded store (real Bolt server)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from ontochron.cli import main
from ontochron.errors import InputError
from ontochron.ontology import analyze
from ontochron.outputs import write_outputs
from ontochron.overlay import load_hypothesis, overlay
from ontochron.overlay.hypothesis import parse_hypothesis
from tests.overlay_data import HYPOTHESIS, N_FEATURES, STEPS, planted_stack


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    d = tmp_path_factory.mktemp("overlay")
    ont = analyze(planted_stack(), progress=False)
    write_outputs(ont, d / "analysis")
    (d / "hyp.json").write_text(json.dumps(HYPOTHESIS), encoding="utf-8")
    return d, ont


@pytest.fixture(scope="module")
def result(planted):
    d, _ = planted
    return overlay(d / "hyp.json", analysis=d / "analysis")


def _verdicts(res):
    return {(v.kind, v.a, v.b): v for v in res.expected}


def test_each_expected_relation_gets_its_planted_verdict(result):
    v = _verdicts(result)
    assert result.step == STEPS[-1]
    assert v[("dependency", "leaf", "root")].verdict == "found"
    assert v[("dual", "left", "right")].verdict == "found"
    # f4 == f5: expected dual, but significantly positively associated
    same = v[("dual", "same_a", "same_b")]
    assert same.verdict == "contradicted" and same.evidence["phi"] == pytest.approx(1.0)
    assert same.evidence["q_contra"] <= 0.05
    # truth is f10 -> f9: the stated kid(9) -> mom(10) is reversed
    kid = v[("dependency", "kid", "mom")]
    assert kid.verdict == "contradicted" and kid.evidence["reverse_confidence"] == 1.0
    assert v[("dependency", "noise", "right")].verdict == "missing"
    assert v[("dependency", "u", "root")].verdict == "missing"
    # found verdicts cite the analysis' q-values
    assert v[("dependency", "leaf", "root")].evidence["analysis_q_value"] <= 0.05


def test_discovered_dead_unassigned_and_swaps(result):
    disc = {(d.kind, d.a, d.b): d.status for d in result.discovered}
    assert disc[("dependency", "leaf", "root")] == "expected"
    assert disc[("dependency", "w", "root")] == "unexpected"     # f11 -> f0 is real
    assert disc[("dependency", "u", "left")] == "unexpected"     # f12 -> f2 is real
    feats = {(f.kind, f.feature) for f in result.features}
    assert ("dead_but_assigned", 7) in feats                     # ghost never fires
    ghost = next(f for f in result.features if f.primitive == "ghost")
    assert ghost.active_concepts == 0 and ghost.last_active_step is None
    assert ("active_but_unassigned", 8) in feats
    assert ("active_but_unassigned", 6) not in feats             # never on
    swaps = {(s.a, s.b): s for s in result.swaps}
    assert swaps[("u", "w")].fit_before == 0 and swaps[("u", "w")].fit_after == 2
    actions = {(c.action, c.subject) for c in result.corrections}
    assert ("swap", "u") in actions
    assert ("reverse_dependency", "kid") in actions
    assert ("remove_dual", "same_a") in actions
    assert ("drop", "ghost") in actions
    move = next(c for c in result.corrections if c.action == "move" and c.subject == "stray")
    assert move.evidence["to_feature"] == 14 and move.evidence["found_after"] == 1
    assert ("drop", "stray") not in actions          # the move explains the dead feature
    assert ("active_but_unassigned", 14) in feats


def test_agreement_score_is_f1_of_expected_against_discovered(result):
    a = result.agreement
    found = sum(v.verdict == "found" for v in result.expected)
    disc = sum(d.status != "implied" for d in result.discovered)
    assert a.matched == found == 2 and a.expected == len(result.expected) == 8
    assert a.discovered == disc
    assert a.f1 == pytest.approx(2 * found / (8 + disc))
    assert a.precision == pytest.approx(found / disc) and a.recall == pytest.approx(2 / 8)


def test_emergence_layers_and_duals(result, planted):
    _, ont = planted
    em = {e.name: e for e in result.emergence}
    stable = ont.feature_stats["first_stable_step"]
    assert em["root"].first_stable_step == int(stable[0])
    assert em["ghost"].first_active_step is None and em["ghost"].chain_complete_step is None
    assert em["leaf"].chain == ("root",)
    # layer 1 (features 0, 2, 3, 10) is planted before the noise of layer 2 stops
    lo = result.layers
    assert lo.layers[0].layer == 1 and lo.layers[0].complete_step is not None
    assert lo.kendall_tau is not None and lo.kendall_tau > 0 and lo.p_value < 0.05
    duals = {(d.a, d.b): d for d in result.duals}
    lr = duals[("left", "right")]
    assert lr.first_step == STEPS[0] and lr.q_value <= 0.05 and lr.phi == pytest.approx(-1)
    assert duals[("same_a", "same_b")].first_step is None
    # per (primitive, concept) first activation equals the analysis' birth events
    births = {(ont.concepts[c], int(f)): int(s) for k, c, f, s in
              zip(ont.events.kind, ont.events.concept, ont.events.feature, ont.events.step,
                  strict=True) if k == "birth"}
    feat = {p["name"]: p["feature"] for p in HYPOTHESIS["primitives"]}
    assert result.concept_first
    for prim, concept, step in result.concept_first:
        assert births[(concept, feat[prim])] == step


def test_history_intervals_and_reconciling_at_an_earlier_step(result, planted):
    d, _ = planted
    leaf = [h for h in result.history if (h.a, h.b) == ("leaf", "root")]
    assert leaf[-1].verdict == "found" and leaf[-1].valid_to == -1
    assert all(x.valid_to == y.valid_from for x, y in zip(leaf, leaf[1:], strict=False))
    early = overlay(d / "hyp.json", analysis=d / "analysis", at=0)
    # at step 0 the leaf bit is noise: the dependency is not found there
    assert _verdicts(early)[("dependency", "leaf", "root")].verdict != "found"
    assert leaf[0].valid_from == 0 and leaf[0].verdict != "found"
    with pytest.raises(InputError, match="not a checkpoint step"):
        overlay(d / "hyp.json", analysis=d / "analysis", at=7)


def test_without_structure_the_overlay_runs_the_native_test(tmp_path):
    from ontochron.ontology import OntologyConfig

    ont = analyze(planted_stack(), OntologyConfig(structure=False), progress=False)
    write_outputs(ont, tmp_path / "a")
    res = overlay(parse_hypothesis(HYPOTHESIS), analysis=tmp_path / "a")
    v = _verdicts(res)
    assert v[("dual", "left", "right")].verdict == "found"
    assert v[("dual", "left", "right")].evidence["q_native"] <= 0.05
    assert v[("dependency", "leaf", "root")].verdict == "found"
    assert v[("dual", "same_a", "same_b")].verdict == "contradicted"
    assert {d.source for d in res.duals} == {"overlay"}


def test_reptimeline_primitivos_json(tmp_path, planted):
    d, _ = planted
    p = tmp_path / "primitivos.json"
    p.write_text(json.dumps({"primitivos": [
        {"bit": 0, "primo": 2, "nombre": "raíz", "capa": 1, "deps": [], "def": "base"},
        {"bit": 1, "primo": 3, "nombre": "hoja", "capa": 2, "deps": ["raíz"]},
        {"bit": 2, "primo": 5, "nombre": "izq", "capa": 1, "dual": "der"},
        {"bit": 3, "primo": 7, "nombre": "der", "capa": 1, "dual": "izq"}]},
        ensure_ascii=False), encoding="utf-8")
    h = load_hypothesis(p, N_FEATURES)
    assert [x.name for x in h.primitives] == ["raíz", "hoja", "izq", "der"]
    assert h.by_name["hoja"].depends_on == ("raíz",) and h.by_name["raíz"].definition == "base"
    assert h.duals == [("izq", "der")]
    res = overlay(p, analysis=d / "analysis")
    assert {v.verdict for v in res.expected} == {"found"}
    assert res.agreement.matched == 2


def test_yaml_hypothesis(tmp_path):
    p = tmp_path / "h.yaml"
    p.write_text("primitives:\n  - name: a\n    feature: 0\n  - name: b\n    feature: 1\n"
                 "    depends_on: [a]\n    layer: 2\n", encoding="utf-8")
    h = load_hypothesis(p, 4)
    assert h.dependencies == [("b", "a")] and h.by_name["b"].layer == 2


BAD = [
    ({"primitives": [{"name": "a", "feature": 0, "depends_on": ["zz"]}]},
     r"primitive 'a': unknown dependency 'zz'"),
    ({"primitives": [{"name": "a", "feature": 99}]}, r"primitive 'a': feature 99 is out of range"),
    ({"primitives": [{"name": "a", "feature": 1}, {"name": "b", "feature": 1}]},
     r"primitive 'b': feature 1 is already assigned to primitive 'a'"),
    ({"primitives": [{"name": "a", "feature": 0, "depends_on": ["b"]},
                     {"name": "b", "feature": 1, "depends_on": ["c"]},
                     {"name": "c", "feature": 2, "depends_on": ["a"]}]}, r"form a cycle"),
    ({"primitives": [{"feature": 0}]}, r"primitive #0: missing or empty 'name'"),
    ({"primitives": [{"name": "a"}]}, r"primitive 'a': missing 'feature'"),
    ({"primitives": [{"name": "a", "feature": "3"}]}, r"'feature' must be an integer"),
    ({"primitives": [{"name": "a", "feature": 0, "layer": 1.5}]}, r"'layer' must be an integer"),
    ({"primitives": [{"name": "a", "feature": 0, "depends_on": "b"}]}, r"must be a list"),
    ({"primitives": [{"name": "a", "feature": 0, "dual": "q"}]}, r"unknown dual 'q'"),
    ({"primitives": [{"name": "a", "feature": 0, "colour": 1}]}, r"unknown field 'colour'"),
    ({"primitives": [{"name": "a", "feature": 0}, {"name": "a", "feature": 1}]},
     r"the name is used twice"),
    ({"primitives": []}, r"non-empty 'primitives'"),
]


@pytest.mark.parametrize("doc, message", BAD)
def test_bad_hypothesis_files(tmp_path, planted, doc, message):
    d, _ = planted
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError, match=message) as exc:
        load_hypothesis(p, N_FEATURES)
    assert str(p) in str(exc.value)
    out = tmp_path / "out"
    assert main(["overlay", str(p), "--analysis", str(d / "analysis"), "--out", str(out)]) == 2
    assert not out.exists()


def test_cli_on_an_analysis_dir(planted, tmp_path, capsys):
    d, _ = planted
    out = tmp_path / "ov"
    assert main(["overlay", str(d / "hyp.json"), "--analysis", str(d / "analysis"),
                 "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "2 found, 4 missing, 2 contradicted of 8 expected" in said
    with (out / "expected.csv").open(newline="") as fh:
        rows = {(r["a"], r["b"]): r for r in csv.DictReader(fh)}
    assert rows[("kid", "mom")]["verdict"] == "contradicted"
    assert float(rows[("same_a", "same_b")]["q_contra"]) <= 0.05
    doc = json.loads((out / "overlay.json").read_text())
    assert doc["agreement"]["matched"] == 2 and doc["step"] == STEPS[-1]
    text = (out / "report.txt").read_text()
    assert "swap: exchange the features of 'u' (12) and 'w' (11)" in text
    assert main(["overlay", str(d / "hyp.json"), "--analysis", str(tmp_path / "none"),
                 "--out", str(tmp_path / "x")]) == 2


@pytest.mark.graph
def test_cli_on_the_embedded_store(planted, result, bolt_server, graph_store, tmp_path,
                                   monkeypatch):
    from ontochron.graph.ingest import ingest
    from ontochron.queries.library import run_query

    d, _ = planted
    stack_file = tmp_path / "planted.npz"
    _save_npz(stack_file)
    ingest(str(stack_file), run="planted", store=graph_store, progress=False)
    monkeypatch.setenv("NEO4J_USERNAME", bolt_server.username)
    monkeypatch.setenv("NEO4J_PASSWORD", bolt_server.password)
    args = ["overlay", str(d / "hyp.json"), "--run", "planted", "--store",
            bolt_server.bolt_uri, "--database", bolt_server.database, "--quiet"]
    for i in range(2):  # idempotent: the second write leaves the same graph
        assert main([*args, "--out", str(tmp_path / f"o{i}")]) == 0
    a = json.loads((tmp_path / "o0" / "overlay.json").read_text())
    b = json.loads((d / "hyp.json").read_text())
    assert len(b["primitives"]) == graph_store.run(
        "MATCH (p:Primitive) WHERE p.run_id = $r RETURN count(p) AS n", r="planted")[0]["n"]
    verdict = {(v["a"], v["b"]): v["verdict"] for v in a["expected"]}
    assert verdict[("kid", "mom")] == "contradicted" and verdict[("leaf", "root")] == "found"
    # the stored run gives the same verdicts as its analysis directory
    assert verdict == {(v.a, v.b): v.verdict for v in result.expected}
    with (tmp_path / "o1" / "history.csv").open(newline="") as fh:
        n_hist = sum(1 for h in csv.DictReader(fh) if h["kind"] == "dependency")
    rels = graph_store.run("MATCH (x)-[r:EXPECTS_DEPENDENCY]->(y) WHERE r.run_id = $r "
                           "RETURN count(r) AS n", r="planted")[0]["n"]
    assert rels == n_hist
    linked = graph_store.run("MATCH (p:Primitive)-[:ASSIGNED_TO]->(f) WHERE p.run_id = $r "
                             "RETURN p.name AS name, f.index AS index", r="planted")
    assert {r["name"]: r["index"] for r in linked} == {
        p["name"]: p["feature"] for p in HYPOTHESIS["primitives"]}
    rows = run_query(graph_store, "expected_dependencies_at_step", run_id="planted",
                     step=STEPS[-1]).records()
    got = {(r["child"], r["parent"]): r["status"] for r in rows}
    deps = {(x["name"], dep) for x in HYPOTHESIS["primitives"]
            for dep in x.get("depends_on", [])}
    assert got == {k: v for k, v in verdict.items() if k in deps}
    early = run_query(graph_store, "expected_dependencies_at_step", run_id="planted",
                      step=0).records()
    assert {(r["child"], r["parent"]): r["status"] for r in early}[("leaf", "root")] != "found"


def _save_npz(path: Path) -> None:
    """The planted stack as a dense .npz (steps, concepts, codes)."""
    import numpy as np

    stack = planted_stack()
    codes = np.stack([stack.codes[t].toarray() for t in range(len(stack.steps))])
    np.savez(path, steps=np.asarray(stack.steps), concepts=np.asarray(stack.concepts),
             codes=codes.astype(np.uint8))


def test_docs_examples_run(tmp_path, monkeypatch):
    """Every ```bash and ```python block of docs/overlay.md runs (until tests/test_docs.py)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "overlay.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(bash|python|text)\n(.*?)```", text, re.S)
    assert sum(lang != "text" for lang, _ in blocks) >= 5
    env = {**__import__("os").environ, "PYTHONPATH": str(root),
           "PATH": f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}"}
    for i, (lang, code) in enumerate(blocks):
        if lang == "text":
            continue
        cmd = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else \
            [sys.executable, "-c", code]
        r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, (code, r.stdout, r.stderr)
        if lang == "bash" and i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            assert r.stdout == blocks[i + 1][1], code  # the sample output is the real one


def test_a_feature_that_dies_reports_its_last_active_step(tmp_path):
    import numpy as np

    from tests.synthetic import stack_from_dense

    rng = np.random.default_rng(3)
    names = [f"c{i}" for i in range(40)]
    frames = []
    for s in (0, 10, 20, 30):
        x = (rng.random((40, 4)) < 0.5).astype(np.int8)
        if s >= 20:
            x[:, 0] = 0  # feature 0 dies at step 20
        frames.append((s, names, x))
    write_outputs(analyze(stack_from_dense(frames), progress=False), tmp_path / "a")
    hyp = parse_hypothesis({"primitives": [{"name": "gone", "feature": 0},
                                           {"name": "kept", "feature": 1}]})
    res = overlay(hyp, analysis=tmp_path / "a")
    dead = {f.primitive: f for f in res.features if f.kind == "dead_but_assigned"}
    assert set(dead) == {"gone"} and dead["gone"].last_active_step == 10
    assert {f.feature for f in res.features if f.kind == "active_but_unassigned"} == {2, 3}
    early = overlay(hyp, analysis=tmp_path / "a", at=10)
    assert not [f for f in early.features if f.kind == "dead_but_assigned"]


def test_layer_order_verdict_needs_evidence(tmp_path, planted, capsys):
    """Issue 20: "layers stabilise in the stated order: yes" with 0 concordant and 0
    discordant pairs. Without a pair of primitives in different layers that stabilise at
    different steps there is no verdict, and the summary says so."""
    d, _ = planted
    one_layer = parse_hypothesis({"primitives": [{"name": "a", "feature": 0, "layer": 1},
                                                 {"name": "b", "feature": 2, "layer": 1}]})
    res = overlay(one_layer, analysis=d / "analysis")
    lo = res.layers
    assert lo.concordant == lo.discordant == 0 and lo.in_order is None
    (tmp_path / "h.json").write_text(json.dumps({"primitives": [
        {"name": "a", "feature": 0, "layer": 1}, {"name": "b", "feature": 2, "layer": 1}]}))
    assert main(["overlay", str(tmp_path / "h.json"), "--analysis", str(d / "analysis"),
                 "--out", str(tmp_path / "o")]) == 0
    out = (tmp_path / "o" / "report.txt").read_text()
    assert "stated order: no verdict (no evidence: 0 concordant, 0 discordant" in out
    assert "stated order: yes" not in out
    # the planted hypothesis has evidence: a verdict with its pair counts
    full = overlay(d / "hyp.json", analysis=d / "analysis").layers
    assert full.concordant + full.discordant > 0 and full.in_order is not None
