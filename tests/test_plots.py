"""Every plot renders from a small planted Ontology to a valid PNG and self-contained HTML, and
the numbers behind them match hand counts / brute force."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import matplotlib.image as mpimg
import numpy as np
import pytest

from ontochron.cli import main
from ontochron.errors import InputError
from ontochron.ontology.intervals import OPEN, holds_at
from ontochron.ontology.result import Events, Ontology, Relations
from ontochron.viz import LINEAGE_PLOTS, PLOTLY_JS, PLOTS, from_ontology, load_analysis, render_all
from ontochron.viz.common import active_counts, churn_matrix
from ontochron.viz.hierarchy import depths, layers
from ontochron.viz.swimlane import lanes

STEPS = np.array([0, 10, 20, 30])


def _rel(kind, a, b, vf, vt, c=None):
    n = len(a)
    return Relations(np.full(n, kind, dtype=object), np.array(a), np.array(b),
                     np.array(c if c is not None else [-1] * n), np.array(vf), np.array(vt))


def small_ontology() -> Ontology:
    # ACTIVATES intervals (concept, feature, from, to)
    act = _rel("activates", [0, 0, 1, 1, 2, 2], [0, 1, 1, 2, 3, 0],
               [0, 10, 0, 20, 10, 0], [OPEN, 30, 20, OPEN, OPEN, 10])
    hier = _rel("hierarchy", [0, 1, 0], [1, 2, 3], [10, 20, 0], [OPEN, OPEN, 20])
    conn = _rel("connection", [0, 1], [1, 2], [10, 0], [OPEN, 20])
    ev = Events(np.array(["birth", "phase_transition", "death"], dtype=object),
                np.array([10, 20, 30]), np.array([0, -1, 0]), np.array([1, -1, 1]),
                np.array(["", '{"metric": "entropy"}', ""], dtype=object))
    curves = {"entropy": np.array([0.1, 0.5, 0.9, 1.0]), "churn": np.array([0, 3, 2, 1.0]),
              "utilization": np.array([0.2, 0.4, 0.5, 0.5])}
    causal = {"tests": [
        {"feature": 0, "step": 30, "effect": 1.2, "causal": True, "q": 0.01},
        {"feature": 1, "step": 30, "effect": 0.1, "causal": False, "q": 0.5},
        {"feature": 3, "step": 20, "effect": -0.3, "causal": False, "q": 0.7}]}
    return Ontology(STEPS, ["cat", "dog", "car"], 5, ev, Relations.concat([hier, conn]), act,
                    curves, {}, {"n_births": 1, "causal": causal}, {})


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.divs, self.scripts, self.src = 0, 0, []

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if tag == "div" and "plotly-graph-div" in (d.get("class") or ""):
            self.divs += 1
        if tag == "script":
            self.scripts += 1
            if d.get("src"):
                self.src.append(d["src"])


def check_png(path):
    """A non-trivial picture: PNG, large enough, not one colour, several distinct colours."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 150 and img.shape[1] > 300
    rgb = img[..., :3]
    assert rgb.std() > 0.01   # not blank
    assert np.unique((rgb.reshape(-1, 3) * 255).astype(np.uint8), axis=0).shape[0] > 8
    assert (rgb.min(-1) < 0.9).mean() > 0.005   # some ink on the white page


def check_html(path, limit=1_500_000):
    """Loads plotly.js from the shared plotly.min.js next to it (no CDN) and stays small."""
    text = path.read_text(encoding="utf-8")
    p = _Collect()
    p.feed(text)
    assert p.divs >= 1 and p.scripts >= 1
    assert p.src == [PLOTLY_JS]                     # one shared bundle, relative path
    js = path.parent / PLOTLY_JS
    assert js.stat().st_size > 1_000_000 and b"plotly" in js.read_bytes()[:2000].lower()
    assert "Plotly.newPlot" in text and path.stat().st_size <= limit


NON_LINEAGE = [n for n in PLOTS if n not in LINEAGE_PLOTS]


def test_render_all_writes_valid_files(tmp_path):
    data = from_ontology(small_ontology())
    paths = render_all(data, tmp_path, top=10)
    # without lineage files the lineage plots are not drawn by default
    assert sorted(p.name for p in paths) == sorted(f"{n}.{e}" for n in NON_LINEAGE
                                                   for e in ("png", "html"))
    for p in paths:
        (check_png if p.suffix == ".png" else check_html)(p)
    # asked for explicitly, they say there is nothing to show instead of failing
    for p in render_all(data, tmp_path / "l", formats=["png"], plots=list(LINEAGE_PLOTS)):
        assert p.exists() and p.stat().st_size > 1000


def test_render_empty_ontology(tmp_path):
    z = Relations.empty()
    ont = Ontology(np.array([5]), [], 0, Events.empty(), z, z, {}, {}, {}, {})
    for p in render_all(from_ontology(ont), tmp_path, formats=["png"]):
        check_png(p)
    with pytest.raises(InputError):
        render_all(from_ontology(ont), tmp_path, formats=["gif"])
    with pytest.raises(InputError):
        render_all(from_ontology(ont), tmp_path, plots=["nope"])


def test_active_counts_and_churn_match_brute_force():
    data = from_ontology(small_ontology())
    a = data.activations
    brute = [int(holds_at(a["valid_from"], a["valid_to"], s).sum()) for s in STEPS]
    assert active_counts(data).tolist() == brute == [3, 4, 4, 3]
    m = churn_matrix(data)
    # hand count: switches on (not at the first step) or off at each step, per feature
    expected = np.zeros((5, 4), int)
    expected[0, 1] = 1            # concept 2 loses f0 at step 10
    expected[1, 1] = 1            # concept 0 gains f1 at 10
    expected[1, 2] = 1            # concept 1 loses f1 at 20
    expected[2, 2] = 1            # concept 1 gains f2 at 20
    expected[3, 1] = 1            # concept 2 gains f3 at 10
    expected[1, 3] = 1            # concept 0 loses f1 at 30
    np.testing.assert_array_equal(m, expected)


def test_hierarchy_layers_by_hand():
    np.testing.assert_array_equal(depths(np.array([0, 1, 0]), np.array([1, 2, 2]), 3), [0, 1, 2])
    assert depths(np.array([0, 1]), np.array([1, 0]), 2).max() <= 2   # cycle terminates
    L = layers(from_ontology(small_ontology()))
    # step 0: 0->3 ; step 10: 0->1, 0->3 ; step 20,30: 0->1->2
    np.testing.assert_array_equal(L, [[1, 1, 0], [1, 2, 0], [1, 1, 1], [1, 1, 1]])


def test_swimlane_lanes_chosen_by_switches_and_grouped_by_layer():
    data = from_ontology(small_ontology())
    # switches (start after step 0, or a closed end): cat·f0 0, cat·f1 2, dog·f1 1, dog·f2 1,
    # car·f3 1, car·f0 1 -> per feature f1 3, f0 1, f2 1, f3 1. Features take turns: f1's best
    # (cat·f1), then the longest 1-switch pair of another feature (car·f3, 30 steps).
    d = lanes(data, top=2)
    assert sorted(zip([g["feature"] for g in d["groups"]], d["labels"], strict=True)) == [(1, "cat"),
                                                                             (3, "car")]
    # groups ordered by hierarchy layer at the last step: f3 is a root (0->3 ended), f1 layer 1
    assert [(g["feature"], g["layer"]) for g in d["groups"]] == [(3, 0), (1, 1)]
    assert [g["switches"] for g in d["groups"]] == [1, 3]
    # the pair that never switches only appears when nothing else is left
    full = lanes(data, top=100)
    assert len(full["labels"]) == 5 and "cat" in full["labels"]
    assert full["n_pairs"] == 6
    # one bar per interval of a chosen lane, on that lane's row
    assert sorted(full["lane_switches"].tolist()) == [1, 1, 1, 1, 2]
    # filters: by feature, concept and a text matched against concept names / feature labels
    assert sorted(lanes(data, features=[1])["labels"]) == ["cat", "dog"]
    assert lanes(data, concepts=["dog"])["labels"] == ["dog", "dog"]
    assert sorted(lanes(data, label="CA")["labels"]) == ["car", "car", "cat"]
    data.feature_labels = {2: "Dog-ness"}
    assert lanes(data, label="ness")["labels"] == ["dog"]
    with pytest.raises(InputError, match="unknown concept"):
        lanes(data, concepts=["cow"])
    with pytest.raises(InputError, match="out of range"):
        lanes(data, features=[9])


def test_phase_title_counts_what_the_summary_counts(tmp_path):
    from ontochron.viz import phases

    data = from_ontology(small_ontology())
    assert {k: v.tolist() for k, v in phases.by_metric(data).items()} == {"entropy": [20]}
    ev = Events(np.array(["phase_transition"] * 3, dtype=object), np.array([10, 10, 20]),
                np.full(3, -1), np.full(3, -1),
                np.array(['{"metric": "entropy"}', '{"metric": "churn"}',
                          '{"metric": "entropy"}'], dtype=object))
    ont = small_ontology()
    ont = Ontology(ont.steps, ont.concepts, ont.n_features, ev, ont.relations,
                   ont.activations, ont.curves, {}, {"phase_transitions": 3}, {})
    d = from_ontology(ont)
    assert phases.title(d).startswith("Phase dashboard: 3 phase transitions (metric × step) "
                                      "at 2 steps")
    fig = phases.figure(d)
    # each panel marks only its own curve's transitions
    titles = [a.text for a in fig.layout.annotations]
    assert "entropy (2 transitions)" in titles and "churn (1 transitions)" in titles
    assert "utilization (0 transitions)" in titles
    assert len(fig.layout.shapes) == 3


def test_causal_with_one_checkpoint_is_a_bar_chart():
    from ontochron.viz import causal

    data = from_ontology(small_ontology())
    rows = [{"feature": f, "step": 30, "effect": e, "causal": c, "ci_low": e - 0.1,
             "ci_high": e + 0.1} for f, e, c in ((0, 1.2, True), (1, 0.1, False), (2, 0.5, True))]
    data.causal = rows
    fig = causal.figure(data)
    assert [t.type for t in fig.data] == ["bar"]
    assert list(fig.data[0].x) == ["f0", "f2", "f1"]          # sorted by effect
    assert "at step 30: 2 causal of 3 shown (3 tested)" in fig.layout.title.text
    assert fig.layout.xaxis.title.text.startswith("feature")
    png = causal.png(data)
    assert len(png.axes[0].patches) == 3                       # three bars
    import matplotlib.pyplot as plt

    plt.close(png)
    data.causal = rows + [{"feature": 0, "step": 20, "effect": 0.3, "causal": False}]
    assert [t.type for t in causal.figure(data).data] == ["heatmap"]


def _write_analysis(d):
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({"run_id": "r1", "n_features": 4, "causal": {
        "tests": [{"feature": 1, "step": 10, "effect": 0.5, "causal": True}]}}))
    (d / "curves.csv").write_text("step,entropy,churn\n0,0.1,0\n10,0.4,2\n20,0.5,1\n")
    (d / "activations.csv").write_text(
        "concept,feature,valid_from,valid_to\ncat,0,0,\ncat,1,10,20\ndog,1,0,\n")
    (d / "events.csv").write_text(
        "kind,step,concept,feature,detail\nbirth,10,cat,1,\nphase_transition,10,,,\n")
    (d / "relations.csv").write_text(
        "kind,a,b,c,valid_from,valid_to\nconnection,cat,dog,,10,20\nhierarchy,0,1,,0,\n")


def test_load_analysis_dir_and_cli(tmp_path):
    d = tmp_path / "analysis"
    _write_analysis(d)
    data = load_analysis(d)
    assert data.name == "r1" and data.steps.tolist() == [0, 10, 20]
    assert data.concepts == ["cat", "dog"]
    assert data.activations["valid_to"].tolist() == [OPEN, 20, OPEN]
    assert data.relations["a"].tolist() == [0, 0] and data.relations["b"].tolist() == [1, 1]
    out = tmp_path / "plots"
    assert main(["plot", "--analysis", str(d), "--out", str(out), "--format", "png,html",
                 "--quiet"]) == 0
    for n in NON_LINEAGE:
        check_png(out / f"{n}.png")
        check_html(out / f"{n}.html")
    assert main(["plot", "--analysis", str(tmp_path / "missing"), "--out", str(out)]) == 2
    # lane picking flags
    sel = tmp_path / "sel"
    assert main(["plot", "--analysis", str(d), "--out", str(sel), "--plots", "swimlane",
                 "--features", "1", "--concepts", "cat", "--label", "ca", "--quiet"]) == 0
    check_png(sel / "swimlane.png")
    assert main(["plot", "--analysis", str(d), "--out", str(sel), "--features", "1,x"]) == 2
    assert main(["plot", "--analysis", str(d), "--out", str(sel), "--concepts", "cow"]) == 2


@pytest.mark.graph
def test_plot_from_a_stored_run(graph_store, bolt_server, tmp_path, monkeypatch):
    from ontochron.viz.graphdata import load_run

    r = "g1"
    w = graph_store.write
    w("CREATE (:Run {run_id: $r, name: $r, steps: [0, 10, 20], n_features: 3, summary: $s})",
      r=r, s=json.dumps({"n_births": 2}))
    w("UNWIND $ks AS k CREATE (:Checkpoint {run_id: $r, step: k.step, ordinal: k.o, "
      "entropy: k.e})", r=r, ks=[{"step": s, "o": i, "e": e}
                                  for i, (s, e) in enumerate([(0, 0.1), (10, 0.5), (20, 0.7)])])
    w("UNWIND $cs AS c CREATE (:Concept {run_id: $r, name: c.n, index: c.i})", r=r,
      cs=[{"n": "cat", "i": 0}, {"n": "dog", "i": 1}])
    w("UNWIND range(0, 2) AS i CREATE (:Feature {run_id: $r, index: i})", r=r)
    w("MATCH (f:Feature {run_id: $r, index: 2}) SET f.label = 'dog-ness'", r=r)
    w("UNWIND $rows AS x MATCH (c:Concept {run_id: $r, index: x.c}), "
      "(f:Feature {run_id: $r, index: x.f}) CREATE (c)-[:ACTIVATES {run_id: $r, "
      "valid_from: x.a, valid_to: x.b}]->(f)", r=r,
      rows=[{"c": 0, "f": 0, "a": 0, "b": None}, {"c": 1, "f": 2, "a": 10, "b": 20}])
    w("MATCH (p:Feature {run_id: $r, index: 0}), (c:Feature {run_id: $r, index: 2}) "
      "CREATE (p)-[:PARENT_OF {run_id: $r, valid_from: 10, valid_to: null}]->(c)", r=r)
    w("MATCH (a:Concept {run_id: $r, index: 0}), (b:Concept {run_id: $r, index: 1}) "
      "CREATE (a)-[:CONNECTED {run_id: $r, valid_from: 10, valid_to: 20}]->(b)", r=r)
    w("CREATE (:PhaseTransition {run_id: $r, uid: 'u1', step: 10, metric: 'entropy'})", r=r)
    w("CREATE (:Birth {run_id: $r, uid: 'u2', step: 10, concept: 'dog', feature: 2})", r=r)
    w("CREATE (:CausalTest {run_id: $r, feature: 2, step: 20, effect: 0.4, causal: true})",
      r=r)
    assert load_run(graph_store, "nope") is None
    data = load_run(graph_store, r)
    assert data.steps.tolist() == [0, 10, 20] and data.concepts == ["cat", "dog"]
    assert data.curves["entropy"].tolist() == [0.1, 0.5, 0.7]
    order = np.argsort(data.activations["concept"])
    assert data.activations["valid_to"][order].tolist() == [OPEN, 20]
    assert sorted(data.relations["kind"].tolist()) == ["connection", "hierarchy"]
    assert sorted(data.events["kind"].tolist()) == ["birth", "phase_transition"]
    assert data.causal[0]["feature"] == 2
    assert data.feature_labels == {2: "dog-ness"}
    assert layers(data).tolist() == [[0, 0], [1, 1], [1, 1]]

    monkeypatch.setenv("NEO4J_USERNAME", bolt_server.username)
    monkeypatch.setenv("NEO4J_PASSWORD", bolt_server.password)
    out = tmp_path / "plots"
    assert main(["plot", "--run", r, "--store", bolt_server.bolt_uri, "--database",
                 bolt_server.database, "--out", str(out), "--format", "png", "--quiet"]) == 0
    for n in NON_LINEAGE:
        check_png(out / f"{n}.png")


def test_analysis_dir_written_by_outputs_round_trips(tmp_path):
    from ontochron.ingest.snapshot import CodeStack, Snapshot
    from ontochron.ontology.analyze import analyze
    from ontochron.outputs import write_outputs

    rng = np.random.default_rng(0)
    names = [f"c{i}" for i in range(12)]
    snaps, codes = [], rng.random((12, 16)) < 0.3
    for step in range(0, 80, 10):
        codes = codes ^ (rng.random(codes.shape) < 0.08)   # some churn per checkpoint
        snaps.append(Snapshot.create(step, names, codes))
    ont = analyze(CodeStack.from_snapshots(snaps), progress=False)
    write_outputs(ont, tmp_path / "a")
    got, ref = load_analysis(tmp_path / "a"), from_ontology(ont)
    assert got.steps.tolist() == ref.steps.tolist() and got.n_features == 16

    def act_rows(d):
        a = d.activations
        return sorted(zip((d.concepts[i] for i in a["concept"]), a["feature"].tolist(),
                          a["valid_from"].tolist(), a["valid_to"].tolist(), strict=True))

    assert act_rows(got) == act_rows(ref) and len(act_rows(ref)) > 0
    np.testing.assert_array_equal(churn_matrix(got), churn_matrix(ref))
    assert sorted(got.events["kind"].tolist()) == sorted(ref.events["kind"].tolist())
    assert sorted(got.relations["kind"].tolist()) == sorted(ref.relations["kind"].tolist())
    np.testing.assert_array_equal(layers(got), layers(ref))
    for k, v in ref.curves.items():
        np.testing.assert_allclose(got.curves[k], v, equal_nan=True)
    # one definition of a transition: the phase plot's title counts what summary.json counts
    from ontochron.viz import phases

    n = sum(v.size for v in phases.by_metric(got).values())
    assert n == ont.summary["phase_transitions"]
    assert phases.title(got).startswith(f"Phase dashboard: {n} phase transition")


def test_docs_plots_examples_run(tmp_path, monkeypatch, capsys):
    """docs/plots.md's Python and CLI examples, executed as written; outputs as shown."""
    import re
    import shlex
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "plots.md").read_text()
    monkeypatch.chdir(tmp_path)
    py = doc.split("<!-- example: plots-python -->", 1)[1]
    code, out = re.search(r"```python\n(.*?)```\s*```text\n(.*?)```", py, re.S).groups()
    exec(compile(code, "docs/plots.md", "exec"), {})
    assert capsys.readouterr().out == out
    sh = doc.split("<!-- example: plots-cli -->", 1)[1]
    cmds, out = re.search(r"```bash\n(.*?)```\s*```text\n(.*?)```", sh, re.S).groups()
    for line in cmds.strip().splitlines():
        argv = shlex.split(line)
        if argv[0] == "ls":
            assert "\n".join(sorted(p.name for p in Path(argv[1]).iterdir())) + "\n" == out
        else:
            assert argv[0] == "ontochron" and main(argv[1:]) == 0
    for name in re.findall(r"!\[[^\]]*\]\((img/[^)]+)\)", doc):   # pictures exist and are small
        p = Path(__file__).resolve().parents[1] / "docs" / name
        check_png(p)
        assert p.stat().st_size < 200_000
