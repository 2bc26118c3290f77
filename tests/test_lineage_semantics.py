"""Lineage semantics (issue 19 item 3): dead latents are marked dead once (not born and
killed at every checkpoint), the first checkpoint has no births, a lineage whose direction
turned away from its first one is flagged (drift.csv, summary, graph, named query), and the
null's row sample is representative; on decoder directions and on activation patterns."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from ontochron.graph.ingest import ingest
from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.lineage.build import build_lineage, directions
from ontochron.lineage.files import read_lineage, write_lineage
from ontochron.lineage.match import unit_rows
from ontochron.lineage.null import content_sample
from ontochron.lineage.pipeline import activation_lineage
from ontochron.ontology import OntologyConfig
from ontochron.queries import run_query
from ontochron.viz import lineage as flow
from ontochron.viz import read_lineage_files
from tests.lineage_planted import _drift, _unit, csv_rows, planted

N_DEAD = 10


def _with_dead(decoders: list[np.ndarray], n_dead: int = N_DEAD) -> list[np.ndarray]:
    """Every checkpoint's decoder with ``n_dead`` all-zero rows appended (the same indices)."""
    return [np.vstack([W, np.zeros((n_dead, W.shape[1]))]).astype(np.float32)
            for W in decoders]


def _lin(decoders: list[np.ndarray]):
    return build_lineage((s * 100, unit_rows(W)) for s, W in enumerate(decoders))


def test_dead_latents_are_marked_once_not_born_and_killed():
    """10 dead rows per checkpoint over 8 checkpoints: the same births and deaths as without
    them (they gave +70 births and +70 deaths), 10 dead lineages, no event touching them."""
    p = planted(d=128, n0=120, steps=8, seed=5, n_split=2, n_merge=2, n_birth=3, n_death=3)
    base, dead = _lin(p.decoders), _lin(_with_dead(p.decoders))
    assert dead.counts() == base.counts()
    ids = dead.dead_lineages()
    assert ids.size == N_DEAD
    touched = {x for e in dead.events for x in (e.source, e.target) if x is not None}
    assert not touched & set(ids.tolist())
    s = dead.summary()
    assert s["dead"] == {"latents": [N_DEAD] * 8, "lineages": ids.tolist()}
    assert s["initial"] == 120 and s["counts"]["birth"] == base.summary()["counts"]["birth"]
    for t in range(8):
        tail = slice(p.decoders[t].shape[0], None)
        assert dead.dead_mask(t)[tail].all() and not dead.dead_mask(t)[:tail.start].any()
        assert np.isnan(dead.cos_first[t][tail]).all() and np.isnan(dead.cos_prev[t][tail]).all()
    # the matching of the live latents is the same: the same chains of indices
    live = np.setdiff1d(np.arange(dead.n_lineages), ids)
    assert {tuple(r) for r in dead.index_matrix()[live].tolist()} == \
        {tuple(r) for r in base.index_matrix().tolist()}


def test_a_latent_that_goes_dead_dies_once_and_revives_as_a_birth():
    rng = np.random.default_rng(2)
    W = _unit(rng.standard_normal((40, 128)))
    seq = [W.copy() for _ in range(5)]
    for t in (2, 3):  # latent 7 is dead at checkpoints 2 and 3, back (new direction) at 4
        seq[t][7] = 0.0
    seq[4][7] = _unit(rng.standard_normal(128))
    lin = _lin(seq)
    ev = [(e.kind, e.step, e.source, e.target) for e in lin.events]
    assert ev == [("death", 200, 7, None), ("birth", 400, None, int(lin.features[4][7]))]
    assert lin.features[2][7] == lin.features[3][7] == 40  # one dead lineage
    assert lin.dead_lineages().tolist() == [40] and lin.features[4][7] == 41


def test_negligible_weights_are_dead():
    """A decoder row (or an encoder column) at 1e-9 of the others' norm is dead, not a unit
    direction pointing anywhere."""
    rng = np.random.default_rng(0)
    W_dec = rng.standard_normal((6, 16)).astype(np.float32)
    W_enc = W_dec.T.copy()
    W_dec[2] *= 1e-9
    W_enc[:, 4] = 0.0
    U = directions(SimpleNamespace(W_dec=W_dec, W_enc=W_enc, path="x"), "decoder")
    assert np.flatnonzero(~U.any(axis=1)).tolist() == [2, 4]
    np.testing.assert_allclose(np.linalg.norm(U[[0, 1, 3, 5]], axis=1), 1.0, atol=1e-6)
    U = directions(SimpleNamespace(W_dec=W_dec, W_enc=W_enc, path="x"), "encoder")
    assert np.flatnonzero(~U.any(axis=1)).tolist() == [2, 4]


def test_no_births_at_the_first_checkpoint():
    p = planted(d=128, n0=100, steps=3, seed=1, n_split=2, n_merge=2, n_birth=3, n_death=3)
    lin = _lin(p.decoders)
    assert all(e.step > 0 for e in lin.events)
    assert lin.summary()["initial"] == 100
    assert lin.counts()["birth"] == 6  # 3 per later checkpoint


def _turning(n: int = 60, d: int = 256, steps: int = 8, seed: int = 0):
    """n latents that barely move, and latents 0 and 1 that drift at cosine 0.7 per step in a
    new random direction each time: still linked step to step, but their cosine to where they
    started falls to about 0.7 ** t (below the link threshold after a few steps)."""
    rng = np.random.default_rng(seed)
    cur = _unit(rng.standard_normal((n, d)))
    out = [cur.copy()]
    for _ in range(1, steps):
        cur = np.stack([_drift(v, 0.7 if i < 2 else 0.995, rng) for i, v in enumerate(cur)])
        out.append(cur.copy())
    return out


def test_turned_lineage_is_flagged(tmp_path):
    dec = _turning()
    lin = _lin(dec)
    assert (lin.features[-1] == np.arange(60)).all()  # every latent kept one identity
    turned = lin.turned_lineages()
    assert set(turned) == {0, 1}
    thr = lin.step_thresholds()
    for f, step in turned.items():
        t = int(np.searchsorted(lin.steps, step))
        assert lin.cos_first[t][f] < thr[t] and lin.cos_first[t - 1][f] >= thr[t - 1]
        assert lin.cos_prev[t][f] >= thr[t]  # the step itself is a strong enough link
    assert lin.summary()["turned"] == 2
    write_lineage(lin, tmp_path / "out")
    header, rows = csv_rows(tmp_path / "out" / "drift.csv")
    assert header == ["step", "feature", "index", "cos_prev", "cos_first", "turned"]
    flagged = {(int(r[0]), int(r[1])) for r in rows if r[5] == "1"}
    want = {(int(lin.steps[t]), f) for t in range(lin.n_steps) for f in (0, 1)
            if lin.cos_first[t][f] < thr[t]}
    assert flagged == want and flagged
    assert {r[5] for r in rows} == {"0", "1"}
    back = read_lineage(tmp_path / "out")
    assert back.turned_lineages() == turned
    # an older drift.csv without the column is still read
    text = (tmp_path / "out" / "drift.csv").read_text().splitlines()
    (tmp_path / "out" / "drift.csv").write_text(
        "\n".join(line.rsplit(",", 1)[0] for line in text) + "\n")
    assert read_lineage(tmp_path / "out").turned_lineages() == turned


def _stack_for(lin, n_concepts: int = 30, seed: int = 0) -> CodeStack:
    """Random codes in lineage space, never on where a lineage is absent."""
    rng = np.random.default_rng(seed)
    frames = []
    for t, step in enumerate(lin.steps.tolist()):
        alive = np.zeros(lin.n_lineages, bool)
        alive[lin.features[t]] = True
        codes = (rng.random((n_concepts, lin.n_lineages)) < 0.3) & alive
        frames.append(Snapshot.create(step, [f"c{i}" for i in range(n_concepts)], codes))
    return CodeStack.from_snapshots(frames)


def test_turned_and_dead_in_the_graph_and_the_named_query(graph_store):
    dec = _with_dead(_turning(n=30, steps=8), 3)
    lin = _lin(dec)
    turned = lin.turned_lineages()
    assert set(turned) == {0, 1}
    ingest(_stack_for(lin), run="turn", store=graph_store, progress=False, lineage=lin,
           config=OntologyConfig(connections=False, structure=False))
    feats = {r["i"]: r for r in graph_store.run(
        "MATCH (f:Feature) WHERE f.run_id = 'turn' RETURN f.index AS i, f.turned AS turned, "
        "f.turned_step AS ts, f.dead AS dead, f.origin AS origin, f.fate AS fate")}
    assert {i for i, r in feats.items() if r["turned"]} == {0, 1}
    assert all(feats[i]["ts"] == s for i, s in turned.items())
    assert {i for i, r in feats.items() if r["dead"]} == {30, 31, 32}
    assert all(feats[i]["origin"] == "dead" and feats[i]["fate"] is None for i in (30, 31, 32))
    assert all(feats[i]["origin"] == "initial" for i in range(30))
    res = run_query(graph_store, "turned_features", run_id="turn")
    rows = res.records()
    assert [r["feature"] for r in rows] == sorted(turned, key=lambda f: (turned[f], f))
    for r in rows:
        f = r["feature"]
        assert r["turned_step"] == turned[f] and r["first_step"] == 0
        cf = [lin.cos_first[t][f] for t in range(lin.n_steps)]
        assert r["min_cos_first"] == pytest.approx(min(cf), abs=1e-6)
        assert r["cos_first_last"] == pytest.approx(cf[-1], abs=1e-6)
    assert len(run_query(graph_store, "turned_features", run_id="turn", limit=1)) == 1
    run = json.loads(graph_store.run("MATCH (r:Run) WHERE r.run_id = 'turn' "
                                     "RETURN r.lineage AS l")[0]["l"])
    assert (run["initial"], run["dead"], run["turned"]) == (30, 3, 2)


def test_null_sample_is_representative_and_order_free():
    """The null's row sample has each part of a dictionary in proportion (the old sample, the
    rows with the smallest projection on one fixed direction, took one side of every tight
    pair of clusters), and the same rows whatever their order."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        w = _unit(rng.standard_normal(16))
        sign = np.where(rng.random(2000) < 0.5, 1.0, -1.0)
        U = unit_rows(sign[:, None] * w + 0.05 * rng.standard_normal((2000, 16)))
        pick = content_sample(U, 200)
        assert pick.size == 200 and np.unique(pick).size == 200
        share = float((sign[pick] > 0).mean())
        assert abs(share - (sign > 0).mean()) < 0.15
        perm = rng.permutation(2000)
        assert set(perm[content_sample(U[perm], 200)].tolist()) == set(pick.tolist())


def _codes_stack(codes: list[np.ndarray]) -> CodeStack:
    names = [f"c{i}" for i in range(codes[0].shape[0])]
    return CodeStack.from_snapshots([Snapshot.create(s * 1000, names, c.astype(bool))
                                     for s, c in enumerate(codes)])


def test_activation_path_dead_features_and_first_checkpoint():
    """--match-on activations: never-on columns are dead lineages (no birth or death at every
    checkpoint) and the first checkpoint has no births."""
    rng = np.random.default_rng(1)
    C, F, T = 300, 40, 5
    X = rng.random((C, F)) < 0.2
    X[:, 30:] = False  # 10 never-on columns at every checkpoint
    codes = []
    for _ in range(T):
        Y = X.copy()
        flip = rng.random((C, 30)) < 0.01
        Y[:, :30] ^= flip
        codes.append(Y)
    lin = activation_lineage(_codes_stack(codes))
    assert lin.events == [] and lin.counts()["continue"] == 30 * (T - 1)
    s = lin.summary()
    assert s["initial"] == 30 and s["dead"]["latents"] == [10] * T
    assert len(s["dead"]["lineages"]) == 10


def test_flow_picture_counts_initial_and_leaves_dead_out(tmp_path):
    p = planted(d=128, n0=60, steps=4, seed=3, n_split=2, n_merge=2, n_birth=3, n_death=3)
    lin = _lin(_with_dead(p.decoders, 4))
    write_lineage(lin, tmp_path / "lin")
    data = read_lineage_files(tmp_path / "lin")
    lay = flow.layout(data, top=1000)
    dead = lin.dead_lineages()
    assert not lay["present"][dead].any()
    assert not np.isin(dead, lay["lanes"]).any() or not lay["present"][dead].any()
    assert flow.initial_count(data) == 60
    t = flow.title(data, lay)
    assert "60 initial" in t and f"{lin.counts()['birth']:,} births" in t
    assert "4 lineages of dead latents not drawn" in t


def test_compare_leaves_dead_latents_out(tmp_path):
    """compare: dead latents are neither matches nor orphans, and counted apart."""
    from ontochron.lineage.compare import compare_dictionaries
    from tests.lineage_planted import write_saelens

    rng = np.random.default_rng(4)
    W = _unit(rng.standard_normal((50, 64)))
    Wb = np.stack([_drift(v, 0.97, rng) for v in W])
    W[[3, 9]] = 0.0
    rows, s = compare_dictionaries(write_saelens(tmp_path / "a", W),
                                   write_saelens(tmp_path / "b", Wb))
    assert (s["dead_a"], s["dead_b"], s["orphans_a"]) == (2, 0, 0)
    assert s["orphans_b"] == 2 and s["same"] == 48
    assert {(r["a"], r["b"]) for r in rows} == {(i, i) for i in range(50) if i not in (3, 9)}
