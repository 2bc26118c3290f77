"""The one-file HTML report renders in headless Chromium: scripts run without console errors,
plotly draws every plot, the ontology graph view draws, and the screenshot is not blank."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from ontochron.cli import main
from ontochron.viz import PLOTS, from_ontology
from ontochron.viz.report import build_report, graph_views, write_report
from tests.test_plots import _write_analysis, small_ontology

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--virtual-time-budget=5000"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install -y chromium)", pytrace=False)
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_is_self_contained(tmp_path):
    text = build_report(from_ontology(small_ontology(), name="tiny"))
    # no CDN: no external script/stylesheet/image tags, so it works offline
    assert not re.search(r"""<(script|link|img|iframe)\b[^>]*\b(src|href)=["']?(https?:)?//""",
                         text)
    assert text.count("plotly-graph-div") >= len(PLOTS)
    assert "ontochron report: tiny" in text and 'id="og-data"' in text


def test_graph_view_edges_follow_intervals():
    views = graph_views(from_ontology(small_ontology()))
    conn = views["connection"]
    labels = [n["label"] for n in conn["nodes"]]
    assert sorted(labels) == ["car", "cat", "dog"]
    edges = {(labels[e["a"]], labels[e["b"]], e["from"], e["to"]) for e in conn["edges"]}
    assert edges == {("cat", "dog", 10, None), ("dog", "car", 0, 20)}
    assert len(views["hierarchy"]["edges"]) == 3


def test_report_renders_in_headless_chromium(tmp_path):
    path = write_report(from_ontology(small_ontology(), name="tiny"), tmp_path / "report.html")
    url = path.resolve().as_uri()
    dom = chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-ontochron-ready="1"' in dom.stdout and 'id="ontochron-ready"' in dom.stdout
    assert dom.stdout.count('class="main-svg"') >= len(PLOTS)   # plotly drew every figure
    assert "<circle" in dom.stdout and "<line" in dom.stdout    # graph view drew nodes/edges
    console = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    errors = [ln for ln in console if "Uncaught" in ln or "Error" in ln]
    assert not errors, errors

    shot = tmp_path / "shot.png"
    res = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", url)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(shot)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    assert img[..., :3].std() > 0.05          # not a blank page


def test_report_cli_from_analysis_dir(tmp_path):
    d = tmp_path / "analysis"
    _write_analysis(d)
    out = tmp_path / "r" / "report.html"
    assert main(["report", "--analysis", str(d), "-o", str(out), "--quiet"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "ontochron report: r1" in text and "phase_transition" in text
