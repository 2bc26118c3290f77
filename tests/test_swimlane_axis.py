"""Swimlane rough edges (issue 20, item 6): the step axis ends at the last checkpoint (no extra
step after it), and no two feature groups share a colour, however many there are."""

from __future__ import annotations

import numpy as np

from ontochron.ontology import analyze
from ontochron.viz import from_ontology, swimlane
from tests.synthetic import stack_from_dense


def _run(n_features: int = 24, steps=(0, 100, 200, 300)):
    rng = np.random.default_rng(1)
    names = [f"c{i}" for i in range(30)]
    frames = [(s, names, (rng.random((30, n_features)) < 0.4).astype(np.int8)) for s in steps]
    return from_ontology(analyze(stack_from_dense(frames), progress=False))


def test_axis_ends_at_the_last_checkpoint():
    data = _run()
    fig = swimlane.figure(data, top=40)
    lo, hi = fig.layout.xaxis.range
    span = 300 - 0
    assert 300 <= hi <= 300 + 0.02 * span and -0.02 * span <= lo <= 0
    bars = [t for t in fig.data if t.type == "bar"]
    ends = np.concatenate([np.asarray(t.base) + np.asarray(t.x) for t in bars])
    assert ends.max() <= hi + 1e-9                      # nothing drawn past the axis
    starts = np.concatenate([np.asarray(t.base) for t in bars])
    assert starts.max() <= 300 and starts.min() >= 0
    png = swimlane.png(data, top=40)
    assert png.axes[0].get_xlim()[1] == hi


def test_feature_groups_never_share_a_colour():
    data = _run(n_features=24)
    fig = swimlane.figure(data, top=40)
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) > 10                               # more groups than the base palette
    cols = [t.marker.color for t in bars]
    assert len(set(cols)) == len(cols)
    for n in (1, 10, 11, 40, 97):
        c = swimlane.colors(n)
        assert len(c) == n and len(set(c)) == n


def test_lineage_families_never_share_a_colour(tmp_path):
    from ontochron.viz import lineage as flow
    from ontochron.viz import read_lineage_files
    from tests import lineage_files
    from tests.test_plots import small_ontology

    lineage_files.write(tmp_path / "lin", lineage_files.simulate(
        list(range(0, 200, 20)), n0=60, seed=3, p_split=0.03, p_merge=0.02))
    data = from_ontology(small_ontology(), lineage=read_lineage_files(tmp_path / "lin"))
    lay = flow.layout(data.lineage, 100)
    n_fam = np.unique(lay["family"][lay["lanes"]]).size
    assert n_fam > 10                                    # more than the 10-colour palette
    fig = flow.figure(data, 100, color="family")
    lines = [t for t in fig.data if t.mode == "lines" and t.showlegend is False]
    cols = [t.line.color for t in lines]
    # one colour per family drawn (a family of one-checkpoint lineages has no segment)
    assert len(cols) == len(set(cols)) > 10 and len(cols) >= n_fam - 2
    png = flow.png(data, 100, color="family")
    segs = png.axes[0].collections[0].get_colors()
    assert len({tuple(c) for c in segs.tolist()}) == len(cols)
