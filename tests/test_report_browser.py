"""The report and every HTML plot, opened in headless Chromium as a person would: scripts run
without console errors, plotly draws each figure, the graph view draws, the screenshots are not
blank; on the demo the report and each HTML plot stay under 1.5 MB."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from ontochron.cli import main
from ontochron.viz import LINEAGE_PLOTS, PLOTLY_JS, PLOTS, from_ontology, load_analysis, render_all
from ontochron.viz.report import build_report, graph_views, summary_rows, write_report
from tests import lineage_files
from tests.test_plots import _write_analysis, check_png, small_ontology

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--virtual-time-budget=5000"]
LIMIT = 1_500_000


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (bash scripts/system-deps.sh)", pytrace=False)
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def open_page(tmp_path: Path, path: Path, height: int = 1000) -> tuple[str, np.ndarray]:
    """DOM after scripts ran (no console errors allowed) and a screenshot as an RGB array."""
    url = path.resolve().as_uri()
    dom = chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    errors = [ln for ln in console if "Uncaught" in ln or "Error" in ln]
    assert not errors, (path.name, errors)
    shot = tmp_path / f"{path.stem}-shot.png"
    res = chromium(tmp_path, f"--screenshot={shot}", f"--window-size=1280,{height}", url)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    img = mpimg.imread(shot)[..., :3]
    return dom.stdout, img


def assert_visible(img: np.ndarray, min_ink: float = 0.02) -> None:
    """Not a blank page: pixel variance, and a share of clearly non-white pixels."""
    assert img.shape[0] >= 800 and img.shape[1] >= 1000
    assert img.std() > 0.05
    assert (img.min(-1) < 0.85).mean() > min_ink


@pytest.fixture(scope="module")
def demo_pictures(tmp_path_factory):
    """The demo's analysis (short training) with lineage files added, every plot and the
    report written into one directory."""
    from ontochron.demo import run_demo

    root = tmp_path_factory.mktemp("demo")
    res = run_demo(root / "run", epochs=6, seed=0, quiet=True, graph=False, causal=True,
                   plots=False, probes_per_class=4)
    analysis = res.out_dir / "analysis"
    data = load_analysis(analysis)
    lineage_files.write(analysis, lineage_files.simulate([int(s) for s in data.steps], n0=40,
                                                         seed=5))
    data = load_analysis(analysis)
    out = root / "pictures"
    paths = render_all(data, out)
    report = write_report(data, out / "report.html")
    return data, out, paths, report


def test_demo_files_fit_the_size_budget(demo_pictures):
    data, out, paths, report = demo_pictures
    htmls = [p for p in paths if p.suffix == ".html"]
    assert {p.stem for p in htmls} == set(PLOTS)
    for p in [*htmls, report]:
        assert p.stat().st_size <= LIMIT, (p.name, p.stat().st_size)
        assert f'src="{PLOTLY_JS}"' in p.read_text(encoding="utf-8")
    # one bundle on disk, shared by every file
    assert len(list(out.glob("*.js"))) == 1 and (out / PLOTLY_JS).stat().st_size > 1_000_000
    text = report.read_text(encoding="utf-8")
    assert text.count("<script src=") == 1                       # one plotly per report
    assert not re.search(r"""<(script|link|img|iframe)\b[^>]*\b(src|href)=["']?(https?:)?//""",
                         text)                                 # nothing from the network
    for p in paths:
        if p.suffix == ".png":
            check_png(p)


@pytest.mark.parametrize("name", list(PLOTS))
def test_each_html_plot_draws_in_chromium(demo_pictures, tmp_path, name):
    _, out, _, _ = demo_pictures
    dom, img = open_page(tmp_path, out / f"{name}.html")
    assert 'class="main-svg"' in dom and 'class="plot-container plotly"' in dom
    assert "gtitle" in dom or "g-gtitle" in dom                  # the title is drawn
    assert "xtitle" in dom and ("training step" in dom or name == "causal")
    assert_visible(img)


def test_report_reads_like_a_figure_page(demo_pictures, tmp_path):
    data, _, _, report = demo_pictures
    dom, img = open_page(tmp_path, report, height=2400)
    assert 'data-ontochron-ready="1"' in dom
    figures = re.findall(r'<section id="plot-([a-z]+)" class="fig"><h3>Figure (\d+)\.', dom)
    assert [n for n, _ in figures] == ["phases", "swimlane", "lineage", "drift", "churn",
                                       "hierarchy", "causal"]
    assert dom.count('class="main-svg"') >= len(figures)         # plotly drew every figure
    assert dom.count("<p class=\"cap\">") >= len(figures) + 2     # every figure has a caption
    assert "<circle" in dom and "<path" in dom                   # graph view: nodes, edges
    assert_visible(img)
    # summary: one row per count, no key twice, each count linked to its definition
    rows = re.findall(r"<tr><th>([^<]+)</th><td class=\"num\">([^<]+)</td>", dom)
    labels = [r[0] for r in rows]
    assert len(labels) == len(set(labels)) and "features" in labels
    assert "n_features" not in labels and "n_concepts" not in labels
    s = data.summary
    got = dict(rows)
    assert got["phase transitions"] == f"{s['phase_transitions']:,}"
    assert got["features"] == f"{s['n_features']:,}" and got["births"] == f"{s['births']:,}"
    for anchor in re.findall(r'href="#(def-[a-z-]+)"', dom):
        assert f'id="{anchor}"' in dom
    # the phase figure's heading counts what the summary counts
    assert f"Phase dashboard: {s['phase_transitions']} phase transition" in dom


def test_report_is_self_contained(tmp_path):
    text = build_report(from_ontology(small_ontology(), name="tiny"))
    assert not re.search(r"""<(script|link|img|iframe)\b[^>]*\b(src|href)=["']?(https?:)?//""",
                         text)
    assert text.count("plotly-graph-div") == len(PLOTS) - len(LINEAGE_PLOTS)
    assert "ontochron report: tiny" in text and 'id="og-data"' in text
    assert "No lineage files" in text


def test_report_with_a_related_lineage_run(tmp_path):
    """A related run's lineage figures follow the run's own, numbered on, under a section of
    their own that the lineage note links to; a related run without lineage is left out."""
    lineage_files.write(tmp_path / "lin", lineage_files.simulate([0, 10, 20], n0=8, seed=2))
    from ontochron.viz import read_lineage_files

    rel = from_ontology(small_ontology(), name="tiny sae",
                        lineage=read_lineage_files(tmp_path / "lin"))
    text = build_report(from_ontology(small_ontology(), name="tiny"),
                        related=[rel, from_ontology(small_ontology(), name="flat")])
    figs = re.findall(r'<section id="plot-([a-z-]+)" class="fig"><h3>Figure (\d+)\.', text)
    own = len(PLOTS) - len(LINEAGE_PLOTS)
    assert [int(k) for _, k in figs] == list(range(1, own + 3))
    assert [n for n, _ in figs][own:] == ["tiny-sae-lineage", "tiny-sae-drift"]
    assert 'id="run-tiny-sae"' in text and 'href="#run-tiny-sae"' in text
    assert "run-flat" not in text
    assert text.count("plotly-graph-div") == own + 2
    head = text[:text.index('id="run-tiny-sae"')]
    labels = re.findall(r"<tr><th>([^<]+)</th>", head)
    assert "lineages" not in labels                    # the run's own summary has none
    assert re.search(r"<tr><th>lineages</th><td class=num>\d+</td>",
                     text[text.index('id="run-tiny-sae"'):])


def test_graph_view_layout_is_fixed_and_labels_do_not_collide():
    views = graph_views(from_ontology(small_ontology()))
    conn = views["connection"]
    labels = [n["label"] for n in conn["nodes"]]
    assert sorted(labels) == ["car", "cat", "dog"]
    edges = {(labels[e["a"]], labels[e["b"]], e["from"], e["to"]) for e in conn["edges"]}
    assert edges == {("cat", "dog", 10, None), ("dog", "car", 0, 20)}
    # by time: dog and car get their first relation at step 0, cat at 10 -> two columns
    x = {n["label"]: n["x"] for n in conn["nodes"]}
    assert conn["layout"] == "time" and x["dog"] == x["car"] < x["cat"]
    h = views["hierarchy"]
    assert h["layout"] == "layer" and len(h["edges"]) == 3
    hx = {n["label"]: n["x"] for n in h["nodes"]}
    assert hx["f0"] < hx["f1"] < hx["f2"]                        # layers 0, 1, 2 left to right


def test_label_boxes_never_overlap_on_a_crowded_view():
    from ontochron.viz.report import _CHAR_W, _LINE_H

    rng = np.random.default_rng(0)
    n = 300
    ont = small_ontology()
    from ontochron.ontology.result import Ontology, Relations

    a, b = rng.integers(0, n, 900), rng.integers(0, n, 900)
    ok = a != b
    conn = Relations(np.full(ok.sum(), "connection", dtype=object), a[ok], b[ok],
                     np.full(ok.sum(), -1), rng.integers(0, 4, ok.sum()) * 10,
                     np.full(ok.sum(), -1))
    big = Ontology(ont.steps, [f"a concept with a long name {i}" for i in range(n)], 5, ont.events, conn,
                   ont.activations, ont.curves, {}, {}, {})
    view = graph_views(from_ontology(big))["connection"]
    boxes = []
    for nd in view["nodes"]:
        if nd["lab"]:
            x0 = nd["lab"][0] if nd["lab"][2] == "start" else nd["lab"][0] - _CHAR_W * len(
                nd["label"])
            boxes.append((x0, nd["lab"][1] - _LINE_H, x0 + _CHAR_W * len(nd["label"]),
                          nd["lab"][1]))
    assert 5 < len(boxes) < len(view["nodes"])                   # some labels had to go
    assert all(0 <= p[0] and p[2] <= 960 for p in boxes)      # inside the canvas
    for i, p in enumerate(boxes):
        for q in boxes[i + 1:]:
            assert not (p[0] < q[2] - 1 and q[0] < p[2] - 1 and p[1] < q[3] - 1
                        and q[1] < p[3] - 1), (p, q)


def test_summary_rows_have_no_duplicates():
    data = from_ontology(small_ontology())
    data.summary = {"n_features": 5, "features": 5, "n_concepts": 3, "births": 1,
                    "phase_transitions": 1, "connections": 2, "connection_intervals": 2}
    labels = [r[0] for r in summary_rows(data)]
    assert len(labels) == len(set(labels))
    assert labels.count("connections") == 1 and "connection_intervals" not in labels


def test_report_cli_from_analysis_dir(tmp_path):
    d = tmp_path / "analysis"
    _write_analysis(d)
    out = tmp_path / "r" / "report.html"
    assert main(["report", "--analysis", str(d), "-o", str(out), "--quiet"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "ontochron report: r1" in text and "phase transition" in text
    assert (out.parent / PLOTLY_JS).exists()


def test_report_of_a_stored_lineage_run_draws_its_lineage(tmp_path, graph_store, bolt_server,
                                                          monkeypatch):
    """``report --run`` on a lineage run in the graph: the lineage flow and drift figures are
    drawn from the store (no "No lineage files" note), with the splits in Top events."""
    from tests.lineage_run import build

    build(tmp_path, graph_store, run="stored lineage")
    monkeypatch.setenv("NEO4J_USERNAME", bolt_server.username)
    monkeypatch.setenv("NEO4J_PASSWORD", bolt_server.password)
    out = tmp_path / "r" / "report.html"
    assert main(["report", "--run", "stored lineage", "--store", bolt_server.bolt_uri,
                 "--database", bolt_server.database, "-o", str(out), "--quiet"]) == 0
    dom, img = open_page(tmp_path, out, height=2400)
    assert 'data-ontochron-ready="1"' in dom and "No lineage files" not in dom
    figures = re.findall(r'<section id="plot-([a-z]+)" class="fig"><h3>Figure (\d+)\.', dom)
    names = [n for n, _ in figures]
    assert names[:4] == ["phases", "swimlane", "lineage", "drift"]
    assert dom.count('class="main-svg"') >= len(figures)          # plotly drew every figure
    assert re.search(r"Lineage flow: \d+ of \d+ lineages shown", dom)
    assert "lineage splits" in dom and "lineage merges" in dom
    # no causal tests in this run: the section says so instead of an empty chart
    assert "No causal tests in this run" in dom
    assert_visible(img)
