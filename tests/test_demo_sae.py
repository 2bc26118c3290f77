"""The demo's per-checkpoint SAEs (issue 10, item 8): trained on the hidden layer of real demo
checkpoints, written in the SAELens layout with probe activations, independently initialised
(indices not aligned between checkpoints); the lineage summary the demo prints; and the
lineage stage end to end (needs ontochron.lineage.pipeline, engineer i10a's)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ontochron.demo import probe_concepts, run_demo
from ontochron.demo.model import load_digits_split, train_demo_model
from ontochron.demo.sae import PROBE_FILENAME, summarize_lineage, train_checkpoint_saes
from ontochron.ingest.checkpoints import discover_checkpoints
from tests.lineage_data import hand_lineage


@pytest.fixture(scope="module")
def saes(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo_sae")
    data = load_digits_split(0)
    train_demo_model(data, out / "checkpoints", epochs=3, seed=0)
    rows, _ = probe_concepts(data, 2)
    ckpts = discover_checkpoints(out / "checkpoints")
    recs = train_checkpoint_saes(ckpts, data.x_train, data.x_test, rows, out / "sae", seed=0)
    return out, ckpts, rows, recs


def _unit(w: np.ndarray) -> np.ndarray:
    return w / np.linalg.norm(w, axis=1, keepdims=True)


def test_writes_one_saelens_folder_per_checkpoint(saes) -> None:
    from safetensors.numpy import load_file

    out, ckpts, rows, recs = saes
    assert [r.step for r in recs] == [s for s, _ in ckpts] and len(recs) == 4
    for rec in recs:
        assert rec.path == out / "sae" / f"step_{rec.step}"
        cfg = json.loads((rec.path / "cfg.json").read_text())
        assert (cfg["architecture"], cfg["d_in"], cfg["d_sae"]) == ("standard", 128, 64)
        w = load_file(str(rec.path / "sae_weights.safetensors"))
        assert {k: v.shape for k, v in w.items()} == {
            "W_enc": (128, 64), "b_enc": (64,), "W_dec": (64, 128), "b_dec": (128,)}
        assert all(np.isfinite(v).all() for v in w.values())
        with np.load(rec.path / PROBE_FILENAME) as z:
            assert z["concepts"].tolist() == list(rows)
            assert z["activations"].shape == (len(rows), 128)
            assert (z["activations"] >= 0).all()  # after the ReLU
        assert 0 < rec.l0 < 64 and rec.mse < 0.05


def test_saes_are_independent_yet_find_similar_directions(saes) -> None:
    from safetensors.numpy import load_file

    _, _, _, recs = saes
    a, b = (_unit(load_file(str(r.path / "sae_weights.safetensors"))["W_dec"])
            for r in recs[-2:])
    cos = a @ b.T
    # the same index is not the same feature (independent initialisations) ...
    assert np.mean(np.diag(cos)) < 0.3
    # ... but most latents have a close counterpart somewhere in the other dictionary
    assert np.median(cos.max(axis=1)) > 0.6


def test_summarize_lineage_counts_one_split_and_the_longest_drift() -> None:
    s = summarize_lineage(hand_lineage())
    assert s["counts"] == {"birth": 2, "death": 2, "split": 2, "merge": 2, "continue": 5}
    assert s["lineages"] == 8 and s["threshold"] == 0.94
    assert s["example"] == {"kind": "split", "step": 10, "sources": [1], "targets": [3, 4],
                            "cosines": [0.61, 0.55]}
    # lineage 3 lives at steps 10, 20, 30 (as long as 5 would if it had one more step)
    assert s["drift"] == {"feature": 3, "checkpoints": 3, "path": [
        {"step": 10, "index": 0, "cos_first": 1.0}, {"step": 20, "index": 0, "cos_first": 0.95},
        {"step": 30, "index": 1, "cos_first": 0.93}]}


def test_lineage_stage_end_to_end(graph_store, tmp_path: Path) -> None:
    """The demo's lineage stage (SAEs -> ontochron.lineage.pipeline.load_aligned -> graph run
    'demo-sae')."""
    res = run_demo(tmp_path / "d", epochs=4, seed=0, quiet=True, graph=True, causal=False,
                   plots=False, probes_per_class=2, store=graph_store, lineage=True)
    st = res.stages["lineage"]
    assert st["status"] == "ok" and st["dictionaries"] == 5
    assert st["lineages"] == res.lineage.n_lineages > 0
    assert res.lineage_stack.n_features == res.lineage.n_lineages
    assert sum(st["counts"].values()) > 0 and st["drift"]["checkpoints"] >= 1
    g = res.stages["graph"]["lineage_run"]
    assert g["run"] == "demo-sae" and [q["query"] for q in g["queries"]] == [
        "splits_merges_between", "feature_formation", "feature_drift"]
    n = graph_store.run("MATCH (f:Feature) WHERE f.run_id = 'demo-sae' RETURN count(f) AS n")
    assert n[0]["n"] == res.lineage.n_lineages


def test_demo_draws_the_lineage_pictures_of_demo_sae(tmp_path: Path) -> None:
    """Plots stage with the lineage stage on: analysis-sae/ holds the lineage files, the flow
    and drift of run demo-sae are drawn (PNG + HTML) and make a section of the one report,
    which Chromium draws; the printed summary says where the pictures are."""
    import re

    from rich.console import Console

    from ontochron.lineage.files import read_lineage
    from ontochron.viz import load_analysis
    from tests.test_plots import check_html, check_png
    from tests.test_report_browser import LIMIT, assert_visible, open_page

    con = Console(record=True, width=400)
    res = run_demo(tmp_path / "d", epochs=4, seed=0, quiet=False, graph=False, causal=False,
                   plots=True, probes_per_class=2, lineage=True, console=con)
    assert {k: v["status"] for k, v in res.stages.items()} == {
        "causal": "off", "lineage": "ok", "graph": "off", "plots": "ok"}
    lin = res.lineage
    # the lineage files the pictures are drawn from round-trip to the demo's lineage
    sae_dir = res.out_dir / "analysis-sae"
    back = read_lineage(sae_dir)
    assert [f.tolist() for f in back.features] == [f.tolist() for f in lin.features]
    assert back.counts() == lin.counts()
    assert load_analysis(sae_dir).lineage.n_lineages == lin.n_lineages
    # PNG + HTML of the flow and the drift, non-trivial, in plots/demo-sae/
    pics = res.stages["plots"]["lineage_pictures"]
    pic_dir = res.out_dir / "plots" / "demo-sae"
    assert pics["run"] == "demo-sae"
    assert sorted(Path(p).name for p in pics["files"]) == [
        "drift.html", "drift.png", "lineage.html", "lineage.png"]
    assert all(Path(p).parent == pic_dir for p in pics["files"])
    for name in ("lineage", "drift"):
        check_png(pic_dir / f"{name}.png")
        check_html(pic_dir / f"{name}.html")
    c = lin.counts()
    flow = (pic_dir / "lineage.html").read_text(encoding="utf-8")
    assert f"of {lin.n_lineages:,} lineages shown" in flow
    assert f"{c['split']:,} splits" in flow and f"{c['birth']:,} births" in flow
    # the demo's report: the bottleneck run's figures, then a section for demo-sae
    report = res.out_dir / "report.html"
    assert report.stat().st_size <= LIMIT
    text = report.read_text(encoding="utf-8")
    assert 'href="#run-demo-sae"' in text
    dom, img = open_page(tmp_path, report, height=6000)
    figs = re.findall(r'<section id="plot-([a-z-]+)" class="fig(?: empty)?"><h3>Figure (\d+)\.', dom)
    names = [n for n, _ in figs]
    assert names[-2:] == ["demo-sae-lineage", "demo-sae-drift"]
    assert "lineage" not in names and "drift" not in names     # the bits have no lineage
    assert [int(k) for _, k in figs] == list(range(1, len(figs) + 1))
    section = dom[dom.index('<section id="run-demo-sae"'):dom.index('id="ontology-graph"')]
    rows = dict(re.findall(r"<tr><th>([^<]+)</th><td class=\"num\">([^<]+)</td>", section))
    assert rows == {"lineages": f"{lin.n_lineages:,}", "lineage splits": f"{c['split']:,}",
                    "lineage merges": f"{c['merge']:,}", "lineage births": f"{c['birth']:,}",
                    "lineage deaths": f"{c['death']:,}"}
    assert section.count('class="main-svg"') >= 2            # plotly drew both figures
    assert f"of {lin.n_lineages:,} lineages shown" in section
    assert_visible(img)
    # the printed stages name the pictures
    out = con.export_text()
    assert "lineage flow and drift of run 'demo-sae'" in out
    assert str(pic_dir / "lineage.png") in out.replace("\n", "")
    # the same directory again without the lineage stage: nothing of the earlier lineage
    # stays behind to look like this run's, while a file of the user's is kept
    keep = res.out_dir / "analysis-sae" / "my-notes.txt"
    keep.write_text("mine\n", encoding="utf-8")
    again = run_demo(tmp_path / "d", epochs=4, seed=0, quiet=True, graph=False, causal=False,
                     plots=True, probes_per_class=2, lineage=False)
    assert again.stages["lineage"] == {"status": "off"}
    assert not (res.out_dir / "sae").exists()
    assert not pic_dir.exists()
    assert sorted(p.name for p in (res.out_dir / "analysis-sae").iterdir()) == ["my-notes.txt"]
    assert 'href="#run-demo-sae"' not in (res.out_dir / "report.html").read_text("utf-8")
