"""``plot``/``report --run`` draw from the graph what ``--analysis`` draws from the files
(issue 20, item 2): for one lineage run written both ways, every plot's figure DATA (plotly
traces and titles, not pixels) is the same, the lineage tables read from the store equal the
files', phase transitions keep their metric, and the report names the run's own null and
thresholds."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from ontochron.cli import main
from ontochron.viz import PLOTS, load_analysis
from ontochron.viz.graphdata import load_run
from ontochron.viz.phases import by_metric
from ontochron.viz.report import build_report
from tests.lineage_run import CONFIG, build


def same(a, b, path="") -> None:
    """Recursive equality of figure JSON, floats to 1e-9 relative (files keep 6 digits of
    cosines the graph stores in full: compared through the same rounding below)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, sorted(a), sorted(b))
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple, np.ndarray)):
        a, b = list(a), list(b)
        assert len(a) == len(b), (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9,
                                                                  abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.fixture(scope="module")
def both(tmp_path_factory, store_target):
    from ontochron.graph.store import connect

    store = connect(store_target.uri, store_target.username, store_target.password,
                    store_target.database, config=store_target)
    try:
        store.write("MATCH (n) WHERE n.run_id = 'lineage run' DETACH DELETE n")
        out, run, lin = build(tmp_path_factory.mktemp("gvf"), store)
        yield load_analysis(out), load_run(store, run), lin, out
    finally:
        store.close()


def test_lineage_tables_from_the_store_equal_the_files(both):
    files, graph, lin, _ = both
    assert graph.lineage is not None and files.lineage is not None
    a, b = files.lineage, graph.lineage
    assert a.steps.tolist() == b.steps.tolist() and a.n_lineages == b.n_lineages
    for name in ("members", "drift", "events", "links"):
        ta, tb = getattr(a, name), getattr(b, name)
        order = [k for k in ("step", "kind", "feature", "index", "source", "target") if k in ta]
        ka = sorted(zip(*(ta[k].tolist() for k in order), strict=True))
        kb = sorted(zip(*(tb[k].tolist() for k in order), strict=True))
        assert ka == kb, name
    assert sum(a.events["kind"] == "split") == lin.counts()["split"] > 0
    assert sum(b.events["kind"] == "merge") == lin.counts()["merge"] > 0
    assert b.summary["lineages"] == lin.n_lineages
    # drift values: the same cosines at the same (step, lineage)
    da = {(s, f): (p, q) for s, f, p, q in zip(*(a.drift[k].tolist() for k in (
        "step", "feature", "cos_prev", "cos_first")), strict=True)}
    db = {(s, f): (p, q) for s, f, p, q in zip(*(b.drift[k].tolist() for k in (
        "step", "feature", "cos_prev", "cos_first")), strict=True)}
    assert da.keys() == db.keys()
    for k, (p, q) in da.items():
        assert (math.isnan(p) and math.isnan(db[k][0])) or p == pytest.approx(db[k][0])
        assert q == pytest.approx(db[k][1])


def test_phase_transitions_keep_their_metric(both):
    files, graph, _, _ = both
    bf, bg = by_metric(files), by_metric(graph)
    assert "" not in bg and len(bg) >= 2          # several curves, each with its own steps
    assert {k: v.tolist() for k, v in bf.items()} == {k: v.tolist() for k, v in bg.items()}
    assert graph.events["detail"].tolist() != []
    detail = [json.loads(d) for d, k in zip(graph.events["detail"], graph.events["kind"],
                                            strict=True) if k == "phase_transition"]
    assert {d["metric"] for d in detail} == set(bf) and all("delta" in d for d in detail)


@pytest.mark.parametrize("name", list(PLOTS))
def test_every_plot_draws_the_same_data_from_graph_and_files(both, name):
    files, graph, _, _ = both
    ff, fg = PLOTS[name].figure(files), PLOTS[name].figure(graph)
    jf, jg = ff.to_plotly_json(), fg.to_plotly_json()
    if name in ("lineage", "drift", "phases", "swimlane", "churn"):
        assert jf["data"], name
    same(jf["data"], jg["data"], name)
    same(jf["layout"].get("annotations"), jg["layout"].get("annotations"), name)
    same(jf["layout"].get("title"), jg["layout"].get("title"), name)
    assert PLOTS[name].caption(files) == PLOTS[name].caption(graph)


def test_lineage_plots_are_drawn_from_the_store(both, tmp_path, bolt_server, monkeypatch,
                                                capsys):
    files, graph, _, out = both
    assert "lineage" in [t for t in ("lineage", "drift")] and graph.lineage is not None
    monkeypatch.setenv("NEO4J_USERNAME", bolt_server.username)
    monkeypatch.setenv("NEO4J_PASSWORD", bolt_server.password)
    store = ["--store", bolt_server.bolt_uri, "--database", bolt_server.database]
    assert main(["plot", "--run", "lineage run", *store, "--out", str(tmp_path / "p"),
                 "--format", "html", "--quiet"]) == 0
    names = sorted(p.stem for p in (tmp_path / "p").glob("*.html"))
    assert "lineage" in names and "drift" in names
    assert main(["report", "--run", "lineage run", *store, "-o", str(tmp_path / "r.html"),
                 "--quiet"]) == 0
    text = (tmp_path / "r.html").read_text()
    assert "No lineage files" not in text
    assert "lineage splits" in text and "detail ?" not in text
    # the report from the graph and from the files: the same top events
    rf, rg = build_report(files), build_report(graph)
    events = [r.split('<section id="events">')[1].split("</section>")[0] for r in (rf, rg)]
    assert events[0] == events[1]
    assert "phase transition" in events[1] and "lineage splits" in events[1]


def test_lineage_pngs_from_the_store_are_drawn_not_placeholders(both, tmp_path, bolt_server,
                                                                 monkeypatch):
    """``plot --run --format png`` of a stored lineage run draws the lineage flow and the
    drift heatmap from the graph: neither PNG is the "no lineage files" note."""
    from ontochron.viz import common, drift, lineage

    notes: list[str] = []

    def spy(ax, text):  # noqa: ANN001
        notes.append(text)
        return common.empty_note(ax, text)

    monkeypatch.setattr(lineage, "empty_note", spy)
    monkeypatch.setattr(drift, "empty_note", spy)
    monkeypatch.setenv("NEO4J_USERNAME", bolt_server.username)
    monkeypatch.setenv("NEO4J_PASSWORD", bolt_server.password)
    store = ["--store", bolt_server.bolt_uri, "--database", bolt_server.database]
    assert main(["plot", "--run", "lineage run", *store, "--out", str(tmp_path / "p"),
                 "--format", "png", "--quiet"]) == 0
    for name in ("lineage", "drift"):
        png = tmp_path / "p" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert notes == []
    # the spy does see the note where there is no lineage (so its silence above means something)
    import matplotlib.pyplot as plt

    plt.close(lineage.png(replace(both[1], lineage=None)))
    assert notes == [lineage._NO_LINEAGE]


def test_report_states_the_null_and_thresholds_used(both):
    files, graph, _, _ = both
    for data in (files, graph):
        text = build_report(data)
        assert "hypergeometric test" in text
        assert f"alpha = {CONFIG.alpha:g}" in text
        assert f"above {CONFIG.phase_z:g}" in text
    # another null and rule: the report follows the run's own config
    other = dict(files.summary["thresholds"], connection_null="auto", phase_rule="mean_std",
                 phase_sigma=2.5)
    other_run = replace(files, summary={**files.summary, "thresholds": other, "power": {
        "connection": {"nulls": {"bicm": 7, "fdsm": 3}}}})
    text = build_report(other_run)
    assert "hypergeometric test" not in text
    assert "BiCM null" in text and "at 7 checkpoints" in text and "FDSM null" in text
    assert "mean + 2.5 standard deviations" in text
    unrecorded = replace(files, summary={**files.summary, "thresholds": {}})
    assert "did not record its null" in build_report(unrecorded)


def test_an_empty_section_says_why(both):
    files, _, _, _ = both
    assert not files.causal
    text = build_report(files)
    section = text.split('id="plot-causal"')[1].split("</section>")[0]
    assert "No causal tests in this run" in section and "plotly-graph-div" not in section
    fig = PLOTS["causal"].figure(files).to_plotly_json()
    assert not fig["data"]
    assert "No causal tests" in fig["layout"]["annotations"][0]["text"]
