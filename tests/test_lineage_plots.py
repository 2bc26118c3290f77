"""Lineage files (the lineage interface's exact format, written here) load back, and the lineage
flow / drift pictures draw what the files say: counts, chosen lanes, the others band, links."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ontochron.cli import main
from ontochron.errors import InputError
from ontochron.viz import drift as drift_plot
from ontochron.viz import from_ontology, load_analysis, read_lineage_files, render_all
from ontochron.viz import lineage as flow
from tests import lineage_files
from tests.test_plots import _write_analysis, check_html, check_png, small_ontology

STEPS = list(range(0, 200, 20))


@pytest.fixture(scope="module")
def sim():
    return lineage_files.simulate(STEPS, n0=30, seed=3)


@pytest.fixture
def lin_dir(tmp_path, sim):
    d = tmp_path / "lin"
    lineage_files.write(d, sim)
    return d


def test_loader_reads_the_three_files(lin_dir, sim):
    lin = read_lineage_files(lin_dir)
    assert lin.steps.tolist() == STEPS
    assert lin.n_lineages == sim["n_lineages"]
    assert len(lin.members["step"]) == len(sim["members"])
    kinds = [e[0] for e in sim["events"]]
    assert flow.counts(lin) == {k: kinds.count(k) for k in ("birth", "death", "split", "merge")}
    births = lin.events["kind"] == "birth"
    assert (lin.events["source"][births] == -1).all()        # empty source cell
    starts = np.isnan(lin.drift["cos_prev"])
    assert (lin.drift["cos_first"][starts] == 1.0).all()
    assert lin.summary["lineages"] == sim["n_lineages"]
    assert read_lineage_files(lin_dir.parent / "nothing-here") is None


def test_loader_errors_name_the_file(lin_dir):
    (lin_dir / "drift.csv").rename(lin_dir / "drift.bak")
    with pytest.raises(InputError, match="drift.csv"):
        read_lineage_files(lin_dir)
    (lin_dir / "drift.bak").rename(lin_dir / "drift.csv")
    text = (lin_dir / "lineage_events.csv").read_text().splitlines()
    (lin_dir / "lineage_events.csv").write_text("\n".join(text[:2] + ["grow,20,1,"]) + "\n")
    with pytest.raises(InputError, match=r"lineage_events.csv: row 3: kind .grow."):
        read_lineage_files(lin_dir)
    (lin_dir / "lineage_events.csv").write_text("\n".join(text) + "\n")
    (lin_dir / "lineage_links.csv").write_text("kind,step,source,target,cosine\n"
                                               "birth,20,,1,\n")   # optional, but checked
    with pytest.raises(InputError, match=r"lineage_links.csv: row 2: kind .birth."):
        read_lineage_files(lin_dir)
    (lin_dir / "lineage_links.csv").unlink()
    (lin_dir / "lineage.csv").write_text("step,idx,feature\n0,0,0\n")
    with pytest.raises(InputError, match="columns must be exactly step,index,feature"):
        read_lineage_files(lin_dir)


def test_layout_shows_whole_families_and_sums_the_rest(lin_dir):
    lin = read_lineage_files(lin_dir)
    lay = flow.layout(lin, top=25)
    lanes = lay["lanes"]
    assert 0 < lanes.size <= 25 and np.unique(lanes).size == lanes.size
    # brute force: alive per step from lineage.csv = shown lanes alive + the others band
    m = lin.members
    alive = np.array([np.unique(m["feature"][m["step"] == s]).size for s in STEPS])
    shown = np.array([np.isin(m["feature"][m["step"] == s], lanes).sum() for s in STEPS])
    np.testing.assert_array_equal(lay["others_alive"], alive - shown)
    assert lay["n_others"] == lin.n_lineages - lanes.size
    # families (split/merge components) are shown whole, except a first one that is too big
    fam = lay["family"]
    whole = [np.isin(np.flatnonzero(fam == f), lanes).all() for f in np.unique(fam[lanes])]
    assert sum(not w for w in whole) <= 1 and whole.count(False) == int(lay["truncated"])
    # children come after their parent (depth-first order)
    pos = {int(x): i for i, x in enumerate(lanes)}
    for a, b in zip(lay["src"], lay["dst"], strict=True):
        if int(a) in pos and int(b) in pos and not np.isin(b, lay["dst"][lay["src"] != a]):
            assert pos[int(a)] < pos[int(b)]
    # every split/merge between two shown lanes is drawn once
    links = flow._links(lay, lin.steps.astype(float))
    both = np.isin(lay["src"], lanes) & np.isin(lay["dst"], lanes)
    assert len(links) == int(both.sum())
    t = flow.title(lin, lay)
    c = flow.counts(lin)
    assert f"{lanes.size:,} of {lin.n_lineages:,} lineages shown" in t
    assert f"{c['split']:,} splits" in t and f"{c['death']:,} deaths" in t


def test_drift_rows_are_the_most_drifting(lin_dir):
    lin = read_lineage_files(lin_dir)
    d = drift_plot.rows(lin, top=10)
    dr = lin.drift
    low = {f: dr["cos_first"][dr["feature"] == f].min() for f in np.unique(dr["feature"])}
    expect = sorted(low.values())[:10]
    assert sorted(d["min_cos_first"].tolist()) == pytest.approx(expect)
    assert d["lineages"].tolist() == sorted(d["lineages"].tolist())
    i = int(d["lineages"][0])
    row = {int(s): c for s, f, c in zip(dr["step"], dr["feature"], dr["cos_prev"], strict=True)
           if f == i}
    got = d["cos_prev"][0]
    for t, s in enumerate(STEPS):
        if s in row:
            assert got[t] == pytest.approx(row[s], nan_ok=True)
        else:
            assert np.isnan(got[t])


def test_pictures_from_an_analysis_dir_with_lineage_files(tmp_path, sim):
    d = tmp_path / "analysis"
    _write_analysis(d)
    summary = lineage_files.write(d, sim)
    data = load_analysis(d)
    assert data.lineage is not None and data.lineage.summary == summary
    assert json.loads((d / "summary.json").read_text())["run_id"] == "r1"
    out = tmp_path / "plots"
    paths = render_all(data, out, top=20)
    names = {p.name for p in paths}
    assert {"lineage.png", "lineage.html", "drift.png", "drift.html"} <= names
    for p in paths:
        (check_png if p.suffix == ".png" else check_html)(p)
    for colour in ("label", "family"):
        data.feature_labels = {0: "edges", 1: "edges", 5: "loops"}
        fig = flow.figure(data, 20, color=colour)
        assert len(fig.data) >= 5
    assert main(["plot", "--analysis", str(d), "--out", str(tmp_path / "p2"), "--plots",
                 "lineage,drift", "--color", "family", "--quiet"]) == 0
    check_png(tmp_path / "p2" / "lineage.png")
    with pytest.raises(InputError, match="colour"):
        render_all(data, out, plots=["lineage"], color="rainbow")


def test_from_ontology_takes_a_lineage(lin_dir):
    data = from_ontology(small_ontology(), lineage=read_lineage_files(lin_dir))
    fig = drift_plot.figure(data, 5)
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"]
    assert "the 5 most drifting of" in fig.layout.title.text
