"""Causal verification: planted causal features are found, null features rarely are, and the
statistics agree with brute force / scipy on small cases."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import stats

from ontochron.causal import (
    benjamini_hochberg,
    from_table,
    hedges_g,
    sae_ablation,
    selectivity,
    verify_features,
)
from ontochron.causal.persist import write_summary
from ontochron.errors import InputError
from ontochron.ingest.snapshot import Snapshot
from ontochron.ontology.result import Events, Ontology, Relations

CAUSAL = {0, 3, 7}


def linear_model(seed: int, n_concepts: int = 24, n_features: int = 10, n_inputs: int = 6,
                 noise: float = 0.5, causal: set[int] = CAUSAL):
    """Concept codes + a linear readout where only features 0, 3, 7 have weight.

    Ablating feature f on an input of concept c changes the output by w_f * code[c, f] plus
    measurement noise, so only 0, 3, 7 are causal by construction.
    """
    rng = np.random.default_rng(seed)
    codes = rng.random((n_concepts, n_features)) < 0.35
    codes[0, :] = True   # every feature has own concepts and others
    codes[1, :] = False
    w = np.zeros(n_features)
    w[sorted(causal)] = [1.5, 1.0, 2.0][:len(causal)]
    names = [f"c{i}" for i in range(n_concepts)]
    index = {n: i for i, n in enumerate(names)}
    noise_rng = np.random.default_rng(seed + 1000)
    table = {(f, n): w[f] * codes[index[n], f] + noise * noise_rng.standard_normal(n_inputs)
             for f in range(n_features) for n in names}
    return Snapshot.create(100, names, codes), from_table(table)


def test_planted_causal_features_are_found():
    snap, intervene = linear_model(0)
    rep = verify_features(intervene, snap, n_resamples=499, seed=0)
    assert set(rep.causal_features()) == CAUSAL
    by_f = {r.feature: r for r in rep.results}
    for f in CAUSAL:
        r = by_f[f]
        assert r.ci_low > 0 and r.ci_low <= r.effect <= r.ci_high
        assert r.selectivity > 0.8 and r.hedges_g > 1
    assert all(r.step == 100 for r in rep.results)


def test_false_discoveries_are_rare_over_seeds():
    fdp = []
    found = []
    for seed in range(15):
        snap, intervene = linear_model(seed, n_inputs=4)
        rep = verify_features(intervene, snap, n_resamples=199, seed=seed, ci_method="percentile")
        disc = set(rep.causal_features())
        found.append(len(disc & CAUSAL) / len(CAUSAL))
        fdp.append(len(disc - CAUSAL) / max(len(disc), 1))
    assert np.mean(found) > 0.95          # power
    assert np.mean(fdp) <= 0.05 + 0.05    # FDR at alpha=0.05, with slack for 15 runs


def test_global_null_rarely_yields_any_discovery():
    # no feature has weight: under the global null BH keeps P(any discovery) <= alpha
    any_disc = []
    for seed in range(20):
        snap, intervene = linear_model(100 + seed, n_inputs=3, causal=set())
        rep = verify_features(intervene, snap, n_resamples=199, seed=seed,
                              ci_method="percentile")
        any_disc.append(bool(rep.causal_features()))
        assert all(0 <= r.p <= 1 and r.q >= r.p for r in rep.results)
    assert np.mean(any_disc) <= 0.15     # 0.05 expected; slack for 20 runs


def test_pvalue_matches_exact_permutation_brute_force():
    x = np.array([3.1, 2.4, 4.0, 2.9])
    y = np.array([0.2, 1.1, -0.3, 0.9, 2.5])
    codes = np.array([[1], [0]])
    rep = verify_features(from_table({(0, "a"): x, (0, "b"): y}), codes, concepts=["a", "b"],
                          n_resamples=999)
    obs = x.mean() - y.mean()
    pooled = np.concatenate([x, y])
    ge = total = 0
    for own in itertools.combinations(range(9), 4):
        m = np.zeros(9, bool)
        m[list(own)] = True
        total += 1
        ge += pooled[m].mean() - pooled[~m].mean() >= obs - 1e-12
    r = rep.results[0]
    assert total == 126
    assert r.p == pytest.approx(ge / total)
    assert r.effect == pytest.approx(obs)
    assert (r.n, r.n_own, r.n_other) == (9, 4, 5)


def test_ci_matches_scipy_bootstrap_and_effect_sizes():
    rng = np.random.default_rng(5)
    x, y = rng.normal(1, 1, 30), rng.normal(0, 1, 40)
    rep = verify_features(from_table({(2, "a"): x, (2, "b"): y}), np.array([[0, 0, 1], [0, 0, 0]]),
                          [2], concepts=["a", "b"], n_resamples=500, seed=11)
    ref = stats.bootstrap((x, y), lambda a, b, axis=-1: a.mean(axis) - b.mean(axis),
                          n_resamples=500, vectorized=True, method="BCa", batch=256,
                          rng=np.random.default_rng([11, 2, 1]))
    r = rep.results[0]
    assert r.ci_low == pytest.approx(ref.confidence_interval.low)
    assert r.ci_high == pytest.approx(ref.confidence_interval.high)
    sp_ = math.sqrt((29 * x.var(ddof=1) + 39 * y.var(ddof=1)) / 68)
    d = (x.mean() - y.mean()) / sp_
    assert r.cohen_d == pytest.approx(d)
    assert r.hedges_g == pytest.approx(d * (1 - 3 / (4 * 70 - 9)))
    assert hedges_g(x, y)[0] == pytest.approx(d)
    assert selectivity(2.0, 0.0) == 1.0 and selectivity(1.0, 1.0) == 0.0


def _bh_reference(p):
    """BH step-up by hand: q_(i) = min_{j>=i} p_(j) * m / j."""
    m = len(p)
    order = np.argsort(p)
    q = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        q[i] = running
    return q


def test_bh_is_applied_across_all_tested_features():
    snap, intervene = linear_model(3)
    rep = verify_features(intervene, snap, n_resamples=199)
    p = np.array([r.p for r in rep.results])
    q = np.array([r.q for r in rep.results])
    np.testing.assert_allclose(q, _bh_reference(p))
    assert np.all(q >= p - 1e-15)
    np.testing.assert_allclose(benjamini_hochberg(np.array([0.01, np.nan, 0.04])),
                               [0.02, np.nan, 0.04])
    # a subset gets its own (smaller) correction
    sub = verify_features(intervene, snap, [0, 1], n_resamples=199)
    assert sub.results[0].p == pytest.approx(rep.results[0].p)
    np.testing.assert_allclose([r.q for r in sub.results], _bh_reference(p[:2]))


def test_untestable_and_constant_features():
    codes = np.array([[1, 1], [1, 0]])
    table = {(0, "a"): [1.0, 2.0], (0, "b"): [1.0, 2.0], (1, "a"): [0.0, 0.0],
             (1, "b"): [0.0, 0.0]}
    rep = verify_features(from_table(table), codes, concepts=["a", "b"], n_resamples=99)
    r0, r1 = rep.results
    assert math.isnan(r0.p) and not r0.causal and r0.n_other == 0   # no "other" concepts
    assert r1.p == 1.0 and not r1.causal and r1.effect == 0.0
    assert rep.rows()[0]["p"] is None
    # perfectly separated groups: infinite Cohen's d, stored as None so JSON stays valid
    sep = verify_features(from_table({(0, "a"): [1.0, 1.0], (0, "b"): [0.0, 0.0]}),
                          np.array([[1], [0]]), concepts=["a", "b"], n_resamples=99)
    assert math.isinf(sep.results[0].cohen_d) and sep.rows()[0]["cohen_d"] is None
    json.dumps(sep.summary(), allow_nan=False)


def test_parameter_validation():
    snap, intervene = linear_model(0)
    for kw in ({"alpha": 1.5}, {"n_resamples": 3}, {"alternative": "up"}, {"unit": "x"},
               {"ci_method": "foo"}):
        with pytest.raises(InputError):
            verify_features(intervene, snap, **kw)
    with pytest.raises(InputError, match="out of range"):
        verify_features(intervene, snap, [99])
    with pytest.raises(InputError, match="no effects"):
        verify_features(from_table({}), snap, [0])


def test_ontology_source_and_concept_unit():
    snap, intervene = linear_model(1)
    coo = snap.codes.tocoo()
    acts = Relations(np.full(coo.nnz, "activates", dtype=object), coo.row.astype(np.int64),
                     coo.col.astype(np.int64), np.full(coo.nnz, -1), np.full(coo.nnz, 50),
                     np.full(coo.nnz, -1))
    ont = Ontology(np.array([50, 100]), list(snap.concepts), snap.n_features, Events.empty(),
                   Relations.empty(), acts, {}, {}, {}, {})
    a = verify_features(intervene, ont, [0, 1], step=100, n_resamples=199)
    b = verify_features(intervene, snap, [0, 1], n_resamples=199)
    assert [r.p for r in a.results] == [r.p for r in b.results]
    c = verify_features(intervene, snap, [0], n_resamples=199, unit="concept")
    assert c.results[0].n == snap.n_concepts
    with pytest.raises(InputError, match="not a checkpoint"):
        verify_features(intervene, ont, step=7)


class TinySAE:
    """Linear SAE: latents = relu(x W_enc), recon = z W_dec."""

    def __init__(self):
        self.W_enc = np.eye(3, dtype=np.float32)
        self.W_dec = np.diag([1.0, 2.0, 0.0]).astype(np.float32)

    def encode(self, x):
        z = np.maximum(x @ self.W_enc, 0)
        return z > 0, z

    def decode(self, z):
        return z @ self.W_dec


def test_sae_ablation_effect_is_decoder_norm_times_latent():
    acts = {"a": np.array([[1.0, 1.0, 1.0], [2.0, 0.0, 1.0]])}
    iv = sae_ablation(TinySAE(), acts)
    np.testing.assert_allclose(iv(0, "a"), [1.0, 2.0])
    np.testing.assert_allclose(iv(1, "a"), [2.0, 0.0])
    np.testing.assert_allclose(iv(2, "a"), [0.0, 0.0])   # dead decoder row: no effect
    iv2 = sae_ablation(TinySAE(), acts, readout=lambda r: -r.sum(axis=1))
    np.testing.assert_allclose(iv2(1, "a"), [2.0, 0.0])


def test_summary_section_merges_into_summary_json(tmp_path):
    snap, intervene = linear_model(0)
    rep = verify_features(intervene, snap, [0, 1], n_resamples=99)
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"n_births": 4}))
    write_summary(path, rep)
    data = json.loads(path.read_text())
    assert data["n_births"] == 4
    assert data["causal"]["n_tested"] == 2
    assert data["causal"]["tests"][0]["feature"] == 0
    assert data["causal"]["causal_features"] == rep.causal_features()


def test_verify_demo_never_calls_a_disconnected_bit_causal():
    torch = pytest.importorskip("torch")
    from ontochron.causal import verify_demo
    from ontochron.demo.model import DemoNet, load_digits_split

    torch.manual_seed(0)
    net = DemoNet(bit_bias=0.0).eval()
    dead = [1, 2, 5]
    with torch.no_grad():
        net.head.weight[:, dead] = 0.0          # these bits cannot change the output
        net.head.weight[:, 0] *= 20.0            # this one changes it a lot
    data = load_digits_split()
    x, y = data.x_test[:200], data.y_test[:200]
    rep = verify_demo(net, x, y, features=[0, 1, 2, 5], step=3, n_resamples=49,
                      concept_name=lambda k: f"digit_{k}", measure="kl")
    by_f = {r.feature: r for r in rep.results}
    for f in dead:
        r = by_f[f]
        assert not r.causal and (r.effect == 0.0 or r.n_own == 0 or r.n_other == 0)
        assert r.p == 1.0 or math.isnan(r.p)
    assert rep.step == 3 and rep.method == "bottleneck_flip_kl"


def test_sae_ablation_with_the_real_sae_extractor():
    from ontochron.ingest.extractors import SAEExtractor

    sae = SAEExtractor(np.eye(3), np.zeros(3), np.zeros(3), W_dec=np.diag([1.0, 3.0, 0.5]))
    acts = {"a": np.array([[1.0, 2.0, 0.0]]), "b": np.array([[0.0, 1.0, 4.0]])}
    iv = sae_ablation(sae, acts)
    # zeroing latent f moves the reconstruction by |z_f| * ||W_dec[f]||
    np.testing.assert_allclose(iv(1, "a"), [6.0])
    np.testing.assert_allclose(iv(2, "b"), [2.0])
    np.testing.assert_allclose(iv(0, "b"), [0.0])


def test_verify_cli_on_a_demo_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    from ontochron.cli import main
    from ontochron.demo.model import DemoNet

    torch.manual_seed(0)
    ck = tmp_path / "ck"
    ck.mkdir()
    torch.save(DemoNet(bit_bias=0.0).state_dict(), ck / "model_step5.pt")
    summary, out = tmp_path / "summary.json", tmp_path / "causal.json"
    assert main(["verify", "--demo-checkpoints", str(ck), "--features", "0-2,7",
                 "--n-resamples", "49", "--measure", "kl", "--summary", str(summary),
                 "--json", str(out), "--quiet"]) == 0
    data = json.loads(summary.read_text())["causal"]
    assert data["step"] == 5 and data["n_tested"] == 4
    assert [t["feature"] for t in data["tests"]] == [0, 1, 2, 7]
    assert json.loads(out.read_text())["tests"] == data["tests"]
    assert main(["verify", "--demo-checkpoints", str(ck), "--at", "9", "--quiet"]) == 2
    assert main(["verify", "--demo-checkpoints", str(ck), "--features", "x", "--quiet"]) == 2


@pytest.mark.graph
def test_causal_tests_written_to_the_graph(graph_store):
    from ontochron.causal.persist import write_graph

    run = "run'1 \"x\""   # quotes in the run id: parameters, never string formatting
    graph_store.write("CREATE (:Run {run_id: $r})", r=run)
    graph_store.write("UNWIND range(0, 9) AS i CREATE (:Feature {run_id: $r, index: i})", r=run)
    graph_store.write("CREATE (:Checkpoint {run_id: $r, step: 100})", r=run)
    snap, intervene = linear_model(0)
    rep = verify_features(intervene, snap, n_resamples=99)
    assert write_graph(graph_store, run, rep) == 10
    write_graph(graph_store, run, rep)   # idempotent: MERGE on the test's key
    rows = graph_store.run(
        "MATCH (t:CausalTest {run_id: $r})-[:TESTS]->(f:Feature), (t)-[:AT]->(k:Checkpoint) "
        "RETURN f.index AS f, k.step AS step, t.q AS q, t.causal AS causal, t.p AS p, "
        "t.ci_low AS lo ORDER BY f", r=run)
    assert [r["f"] for r in rows] == list(range(10))
    assert {r["f"] for r in rows if r["causal"]} == CAUSAL
    by_f = {r.feature: r for r in rep.results}
    for r in rows:
        assert r["step"] == 100
        assert r["q"] == pytest.approx(by_f[r["f"]].q) and r["p"] == pytest.approx(by_f[r["f"]].p)
