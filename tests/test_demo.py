"""The end-to-end demo: a short real run (digits, CPU) and the bottleneck intervention."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from ontochron.cli import main
from ontochron.demo import DemoResult, probe_concepts, run_demo
from ontochron.demo.model import (
    DemoNet,
    bottleneck_intervention,
    load_demo_model,
    load_digits_split,
)
from ontochron.errors import InputError

FAST = dict(epochs=10, seed=0, quiet=True, graph=False, causal=False, plots=False,
            probes_per_class=6, lineage=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, DemoResult]:
    """Two fast demo runs with the same seed in different directories."""
    a = run_demo(tmp_path_factory.mktemp("demo_a"), **FAST)
    b = run_demo(tmp_path_factory.mktemp("demo_b"), **FAST)
    return a, b


def test_writes_checkpoints_and_analysis(runs: tuple[DemoResult, DemoResult]) -> None:
    res = runs[0]
    ckpts = sorted((res.out_dir / "checkpoints").glob("model_step*.pt"))
    assert len(ckpts) == FAST["epochs"] + 1 >= 10
    assert [s for s, _ in res.checkpoints] == sorted(s for s, _ in res.checkpoints)
    assert res.checkpoints[0][0] == 0
    # steps are optimizer steps: equal increments of ceil(n_train / 64) per epoch
    n_train = load_digits_split(0).y_train.size
    per_epoch = -(-n_train // 64)
    assert [s for s, _ in res.checkpoints] == [per_epoch * e for e in range(FAST["epochs"] + 1)]
    for name in ("summary.json", "events.csv", "relations.csv"):
        assert (res.out_dir / "analysis" / name).stat().st_size > 0
    assert (res.out_dir / "snapshots" / "reptimeline.json").stat().st_size > 0
    assert (res.out_dir / "snapshots" / "codes.npz").stat().st_size > 0
    def strict(const: str) -> None:
        raise AssertionError(f"demo.json holds {const}, not strict JSON")

    demo = json.loads((res.out_dir / "demo.json").read_text(), parse_constant=strict)
    assert [c["step"] for c in demo["checkpoints"]] == [s for s, _ in res.checkpoints]
    assert demo["checkpoints"][0]["train_loss"] is None  # no loss before the first step
    assert demo["checkpoints"][-1]["test_accuracy"] == res.accuracies[res.checkpoints[-1][0]]


def test_concepts_are_digits_and_probes(runs: tuple[DemoResult, DemoResult]) -> None:
    res = runs[0]
    data = load_digits_split(0)
    assert res.concept_groups["digits"] == [f"digit {k}" for k in range(10)]
    assert len(res.concept_groups["probes"]) == 10 * FAST["probes_per_class"]
    assert set(res.stack.concepts) == set(res.concept_groups["digits"]) | set(
        res.concept_groups["probes"])
    # a probe's name is "<label>#<row in load_digits()>"
    from sklearn.datasets import load_digits

    target = load_digits().target
    for name in res.concept_groups["probes"]:
        label, row = name.split("#")
        assert target[int(row)] == int(label)
    rows, _ = probe_concepts(data, None)
    assert len(rows) == 10 + data.y_test.size


def test_ontology_has_births_and_connections(runs: tuple[DemoResult, DemoResult]) -> None:
    ont = runs[0].ontology
    assert ont.events.count("birth") > 0
    assert ont.events.count("connection_form") > 0
    assert len(ont.relations.of_kind("connection")) > 0
    # every bit starts off (negative bias): the first checkpoint has no active code at all
    assert runs[0].stack.codes[0].nnz == 0


def test_extracted_codes_match_the_model(runs: tuple[DemoResult, DemoResult]) -> None:
    """The stack's row for a probe equals sigmoid(encoder(x)) > 0.5 recomputed by hand."""
    res = runs[0]
    data = load_digits_split(0)
    t = res.stack.n_steps - 1
    model = load_demo_model(res.checkpoints[t][1])
    w1, b1 = model.encoder[0].weight.detach().numpy(), model.encoder[0].bias.detach().numpy()
    w2, b2 = model.encoder[2].weight.detach().numpy(), model.encoder[2].bias.detach().numpy()
    idx = {c: i for i, c in enumerate(res.stack.concepts)}
    rows_by_dataset_row = {int(r): i for i, r in enumerate(data.test_index)}
    dense = res.stack.dense(t)
    for name in res.concept_groups["probes"][:12]:
        x = data.x_test[rows_by_dataset_row[int(name.split("#")[1])]].astype(np.float64)
        logits = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
        np.testing.assert_array_equal(dense[idx[name]], logits > 0)
    # "digit k" is the majority vote of all held-out images of class k
    h = np.maximum(data.x_test.astype(np.float64) @ w1.T + b1, 0) @ w2.T + b2
    bits = h > 0
    for k in range(10):
        np.testing.assert_array_equal(dense[idx[f"digit {k}"]],
                                      bits[data.y_test == k].mean(0) > 0.5)


def test_summary_json_counts_equal_the_ontology(runs: tuple[DemoResult, DemoResult]) -> None:
    res = runs[0]
    ont = res.ontology
    summary = json.loads((res.out_dir / "analysis" / "summary.json").read_text())
    assert summary["births"] == ont.events.count("birth")
    assert summary["deaths"] == ont.events.count("death")
    assert summary["connections"] == ont.events.count("connection_form")
    assert summary["phase_transitions"] == ont.events.count("phase_transition")
    last = int(ont.steps[-1])
    for key, kind in (("duals", "dual"), ("dependencies", "dependency"), ("triads", "triad")):
        rel = ont.relations.of_kind(kind)
        holds = (rel.valid_from <= last) & ((rel.valid_to == -1) | (rel.valid_to > last))
        assert summary[key] == int(holds.sum())
    with open(res.out_dir / "analysis" / "events.csv", newline="") as fh:
        kinds = [row["kind"] for row in csv.DictReader(fh)]
    assert kinds.count("birth") == summary["births"]
    assert summary["n_steps"] == FAST["epochs"] + 1
    assert summary["n_concepts"] == 10 + 10 * FAST["probes_per_class"]
    assert summary["n_features"] == 32


def test_model_learns(runs: tuple[DemoResult, DemoResult]) -> None:
    acc = runs[0].accuracies
    steps = sorted(acc)
    assert acc[steps[0]] < 0.3          # an untrained net is near chance (0.1)
    assert acc[steps[-1]] > 0.8         # well above chance after 10 epochs
    # the recorded accuracy is the real held-out accuracy of the saved checkpoint
    data = load_digits_split(0)
    model = load_demo_model(runs[0].checkpoints[-1][1])
    with torch.no_grad():
        pred = model(torch.as_tensor(data.x_test))[0].argmax(1).numpy()
    assert acc[steps[-1]] == pytest.approx(float((pred == data.y_test).mean()))


def test_deterministic_with_a_fixed_seed(runs: tuple[DemoResult, DemoResult]) -> None:
    a, b = runs
    sa = json.loads((a.out_dir / "analysis" / "summary.json").read_text())
    sb = json.loads((b.out_dir / "analysis" / "summary.json").read_text())
    assert sa == sb
    assert a.accuracies == b.accuracies
    for t in range(a.stack.n_steps):
        assert (a.stack.codes[t] != b.stack.codes[t]).nnz == 0
    for name in ("events.csv", "relations.csv"):
        assert (a.out_dir / "analysis" / name).read_bytes() == \
            (b.out_dir / "analysis" / name).read_bytes()


def test_cli_demo(tmp_path: Path) -> None:
    out = tmp_path / "cli-out"
    rc = main(["demo", "--out", str(out), "--epochs", "2", "--seed", "1", "--quiet",
               "--probes-per-class", "1", "--no-graph", "--no-causal", "--no-plots",
               "--no-lineage"])
    assert rc == 0
    assert len(list((out / "checkpoints").glob("model_step*.pt"))) == 3
    demo = json.loads((out / "demo.json").read_text())
    assert demo["options"]["seed"] == 1
    assert demo["stages"] == {"graph": {"status": "off"}, "causal": {"status": "off"},
                              "plots": {"status": "off"}, "lineage": {"status": "off"}}


def test_cli_rejects_bad_epochs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["demo", "--out", str(tmp_path / "x"), "--epochs", "0", "--quiet"])
    assert rc == 2
    assert "epochs" in capsys.readouterr().err


# --- bottleneck_intervention ---------------------------------------------------------------

@pytest.fixture(scope="module")
def small_model() -> tuple[DemoNet, np.ndarray, np.ndarray]:
    torch.manual_seed(3)
    model = DemoNet(bit_bias=0.0).eval()
    data = load_digits_split(0)
    return model, data.x_test[:40], data.y_test[:40]


def _reference(model: DemoNet, x: np.ndarray, y: np.ndarray, feature: int, mode: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """Loss change and KL recomputed with numpy from the weights."""
    w1, b1 = model.encoder[0].weight.detach().numpy(), model.encoder[0].bias.detach().numpy()
    w2, b2 = model.encoder[2].weight.detach().numpy(), model.encoder[2].bias.detach().numpy()
    wh, bh = model.head.weight.detach().numpy(), model.head.bias.detach().numpy()
    bits = ((np.maximum(x @ w1.T + b1, 0) @ w2.T + b2) > 0).astype(np.float64)
    patched = bits.copy()
    patched[:, feature] = 1 - patched[:, feature] if mode == "flip" else 0

    def log_softmax(z: np.ndarray) -> np.ndarray:
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))

    lc, li = log_softmax(bits @ wh.T + bh), log_softmax(patched @ wh.T + bh)
    n = np.arange(len(y))
    return lc[n, y] - li[n, y], (np.exp(lc) * (lc - li)).sum(1)


@pytest.mark.parametrize("mode", ["flip", "zero"])
def test_intervention_matches_numpy_reference(small_model, mode: str) -> None:
    model, x, y = small_model
    for feature in (0, 7, 31):
        loss = bottleneck_intervention(model, x, y, feature, mode=mode)
        kl = bottleneck_intervention(model, x, None, feature, mode=mode, measure="kl")
        ref_loss, ref_kl = _reference(model, x.astype(np.float64), y, feature, mode)
        np.testing.assert_allclose(loss, ref_loss, atol=1e-4)
        np.testing.assert_allclose(kl, ref_kl, atol=1e-4)
        assert loss.shape == (len(x),) and np.all(kl >= -1e-6)


def test_zeroing_an_off_bit_has_no_effect(small_model) -> None:
    model, x, y = small_model
    with torch.no_grad():
        bits = (model.probs(torch.as_tensor(x)) > 0.5).numpy()
    f = int(np.argmax((~bits).sum(0) * bits.sum(0)))  # a bit that is on for some, off for others
    eff = bottleneck_intervention(model, x, y, f, mode="zero", measure="kl")
    assert np.all(eff[~bits[:, f]] == 0)
    assert np.any(eff[bits[:, f]] > 0)
    # flipping twice is the identity: the effect of "flip" on off-bits equals turning them on
    flip = bottleneck_intervention(model, x, y, f, mode="flip", measure="kl")
    assert np.all(flip[~bits[:, f]] > 0)


def test_intervention_from_checkpoint_path_and_errors(small_model, tmp_path: Path) -> None:
    model, x, y = small_model
    path = tmp_path / "model_step5.pt"
    torch.save(model.state_dict(), path)
    np.testing.assert_allclose(bottleneck_intervention(path, x, y, 3),
                               bottleneck_intervention(model, x, y, 3))
    with pytest.raises(InputError, match="feature"):
        bottleneck_intervention(model, x, y, 32)
    with pytest.raises(InputError, match="mode"):
        bottleneck_intervention(model, x, y, 0, mode="double")
    with pytest.raises(InputError, match="labels"):
        bottleneck_intervention(model, x, None, 0)
    bad = tmp_path / "model_step6.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="model_step6.pt"):
        bottleneck_intervention(bad, x, y, 0)


def test_cross_entropy_reference_is_consistent(small_model) -> None:
    """Guard the reference itself: its clean loss equals torch's cross-entropy."""
    model, x, y = small_model
    with torch.no_grad():
        logits = model(torch.as_tensor(x))[0]
    ce = F.cross_entropy(logits, torch.as_tensor(y), reduction="none").numpy()
    wh, bh = model.head.weight.detach().numpy(), model.head.bias.detach().numpy()
    w1, b1 = model.encoder[0].weight.detach().numpy(), model.encoder[0].bias.detach().numpy()
    w2, b2 = model.encoder[2].weight.detach().numpy(), model.encoder[2].bias.detach().numpy()
    bits = ((np.maximum(x @ w1.T + b1, 0) @ w2.T + b2) > 0).astype(np.float64)
    z = bits @ wh.T + bh
    ref = np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y]
    np.testing.assert_allclose(ce, ref, atol=1e-4)


# --- later stages: causal, graph (real ArcadeDB Bolt server), plots -------------------------

@pytest.mark.graph
def test_all_stages_into_the_graph(graph_store, tmp_path: Path) -> None:
    from ontochron.demo.pipeline import _redact

    # six epochs: under the default null some connections have formed and separated again
    res = run_demo(tmp_path / "full", epochs=6, seed=0, quiet=True, graph=True, causal=True,
                   plots=True, probes_per_class=2, store=graph_store, lineage=False)
    assert {k: v["status"] for k, v in res.stages.items()} == {
        "causal": "ok", "graph": "ok", "plots": "ok", "lineage": "off"}
    ont = res.ontology
    # the graph holds exactly the run's concepts, connection intervals and causal tests
    rows = graph_store.run("MATCH (c:Concept {run_id: $run_id}) RETURN count(c) AS n",
                           run_id="demo")
    assert rows[0]["n"] == len(ont.concepts)
    rows = graph_store.run("MATCH (a)-[r:CONNECTED]->(b) WHERE r.run_id = $run_id "
                           "RETURN count(r) AS n", run_id="demo")
    assert rows[0]["n"] == len(ont.relations.of_kind("connection"))
    rows = graph_store.run("MATCH (t:CausalTest {run_id: $run_id}) RETURN count(t) AS n",
                           run_id="demo")
    assert rows[0]["n"] == res.stages["causal"]["n_tested"] == len(res.causal.results) > 0
    # causal section in summary.json; each causal bit is on for some digit at the last step
    summary = json.loads((res.out_dir / "analysis" / "summary.json").read_text())
    assert summary["causal"]["n_tested"] == res.stages["causal"]["n_tested"]
    idx = {c: i for i, c in enumerate(res.stack.concepts)}
    digits = res.stack.dense(res.stack.n_steps - 1)[[idx[f"digit {k}"] for k in range(10)]]
    for f in res.stages["causal"]["causal_features"]:
        assert digits[:, f].any()
    # the example queries answer from the graph what the ontology says
    q = {x["query"]: x for x in res.stages["graph"]["queries"]}
    assert set(q) == {"feature_stability", "connected_then_separated", "hierarchy_at_step"}
    assert all(x["status"] == "ok" for x in q.values())
    stab = ont.feature_stats["stability"]
    for row in q["feature_stability"]["rows"]:
        assert row["stability"] == pytest.approx(float(stab[row["feature"]]))
    conn = ont.relations.of_kind("connection")
    closed = {tuple(sorted((ont.concepts[a], ont.concepts[b]))) + (int(f), int(t))
              for a, b, f, t in zip(conn.a, conn.b, conn.valid_from, conn.valid_to,
                                    strict=True) if t != -1}
    got = {tuple(sorted((r["concept_a"], r["concept_b"]))) + (r["connected_at"],
                                                             r["separated_at"])
           for r in q["connected_then_separated"]["rows"]}
    assert closed and got <= closed and len(got) == min(10, len(closed))
    hier = ont.relations.of_kind("hierarchy")
    last = int(ont.steps[-1])
    n_hier = int(((hier.valid_from <= last) & ((hier.valid_to == -1) | (hier.valid_to > last)))
                 .sum())
    assert q["hierarchy_at_step"]["n_rows"] == n_hier
    # the export opens in networkx with the graph's concepts, and the perspective is JSON
    import networkx as nx

    exported = nx.read_graphml(res.out_dir / "export" / "demo.graphml")
    names = {d.get("name") for _, d in exported.nodes(data=True)}
    assert set(ont.concepts) <= names
    assert (res.out_dir / "export" / "demo.gexf").stat().st_size > 0
    persp = json.loads((res.out_dir / "perspective.json").read_text())
    assert persp and isinstance(persp, dict)
    # plots and the report were written
    assert len(list((res.out_dir / "plots").glob("*.png"))) >= 5
    assert (res.out_dir / "report.html").stat().st_size > 0
    # with --no-lineage there are no lineage pictures, and the report says why
    assert "lineage_pictures" not in res.stages["plots"]
    assert not (res.out_dir / "plots" / "demo-sae").exists()
    assert not (res.out_dir / "analysis-sae").exists()
    report = (res.out_dir / "report.html").read_text(encoding="utf-8")
    assert "No lineage files in this run" in report and 'id="run-demo-sae"' not in report
    assert _redact("bolt://neo4j:s3cret@localhost:7687") == "bolt://localhost:7687"


def test_printed_summary(runs: tuple[DemoResult, DemoResult]) -> None:
    """The rich summary shows the real counts, accuracies and digit 0/6 shared bits."""
    from rich.console import Console

    from ontochron.demo.console import print_summary, top_stable_features

    res = runs[0]
    con = Console(record=True, width=200)
    print_summary(res, con)
    text = con.export_text()
    ont = res.ontology
    counts = {}
    for ln in text.splitlines():
        cells = [c.strip() for c in ln.strip("│┃ ").split("│")]
        if len(cells) == 2 and cells[1].isdigit():
            counts[cells[0]] = int(cells[1])
    assert counts["births"] == ont.events.count("birth")
    null = ont.summary["thresholds"]["connection_null"]
    assert counts[f"connections ({null} null)"] == ont.events.count("connection_form")
    last_acc = res.accuracies[res.checkpoints[-1][0]]
    assert f"{last_acc:.3f}" in text
    idx = {c: i for i, c in enumerate(res.stack.concepts)}
    dense = res.stack.dense(res.stack.n_steps - 1)
    shared_last = int((dense[idx["digit 0"]] & dense[idx["digit 6"]]).sum())
    line = next(ln for ln in text.splitlines() if "digit 0 & digit 6 share" in ln)
    pairs = re.findall(r"(\d+) bits from step (\d+)", line)
    assert pairs[0][1] == "0" and int(pairs[-1][0]) == shared_last
    # top stable features: sorted by stability, only bits alive at the last checkpoint
    top = top_stable_features(res, n=5)
    stab = [r["stability"] for r in top]
    assert stab == sorted(stab, reverse=True)
    for r in top:
        assert dense[:, r["feature"]].any()
        on = {str(k) for k in range(10) if dense[idx[f"digit {k}"], r["feature"]]}
        assert set(r["digits"]) == on
