"""Offline labelling: evidence sampling (hard negatives against a brute-force reference),
detection scoring by hand, embedding-centroid and contrastive labels on embeddings whose right
answer is known, the vector file formats, the content-addressed cache and the cost budget."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ontochron.errors import InputError
from ontochron.labels import (
    Budget,
    EmbeddingLabeler,
    Evidence,
    EvidenceConfig,
    LabelCache,
    LabelFailure,
    Vectors,
    balanced_accuracy,
    build_evidence,
    fit_threshold,
    load_vectors,
    run_labeler,
)
from ontochron.labels import cost as cost_mod
from ontochron.labels.scoring import threshold_score

# --------------------------------------------------------------------------- evidence

NAMES = ["a", "b", "c", "d", "e", "f"]
# feature 0: a b c d; feature 1: a b c d e (e shares it: a hard negative of feature 0);
# feature 2: f only
CODES = np.array([[1, 1, 0], [1, 1, 0], [1, 1, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]])


def test_evidence_split_and_hard_negatives_by_hand():
    (ev,) = build_evidence(NAMES, sp.csr_array(CODES), np.ones(6, bool), [0], step=7)
    assert ev.feature == 0 and ev.step == 7 and ev.n_active == 4
    # floor(4 * 0.3) = 1 held out; the other 3 shown
    assert len(ev.held_pos) == 1 and len(ev.positives) == 3
    assert set(ev.held_pos) | set(ev.positives) == {"a", "b", "c", "d"}
    # candidates ranked hardest first: e (shares feature 1 with all four), then f;
    # every other candidate from the second on is held out
    assert ev.negatives == ("e",) and ev.held_neg == ("f",)


def test_evidence_absent_concepts_and_features_without_activation():
    present = np.array([True, True, True, True, False, True])
    evs = build_evidence(NAMES, sp.csr_array(CODES), present, [0, 2], step=0)
    assert [e.feature for e in evs] == [0, 2]
    assert "e" not in evs[0].negatives + evs[0].held_neg  # absent: never a contrast
    f2 = build_evidence(NAMES, sp.csr_array(CODES), np.array([1, 1, 1, 1, 1, 0], bool), [2], 0)
    assert f2 == []  # its only concept is absent: no evidence


def test_evidence_hash_stable_across_steps_and_unrelated_columns():
    a = build_evidence(NAMES, sp.csr_array(CODES), np.ones(6, bool), [0], step=1)[0]
    wider = np.hstack([CODES, np.zeros((6, 4), int)])
    b = build_evidence(NAMES, sp.csr_array(wider), np.ones(6, bool), [0], step=2)[0]
    assert a.hash == b.hash and a.content() == b.content()
    other = build_evidence(NAMES, sp.csr_array(CODES), np.ones(6, bool), [0], step=1,
                           config=EvidenceConfig(seed=5))[0]
    assert set(other.held_pos) | set(other.positives) == {"a", "b", "c", "d"}


def test_hard_negatives_match_brute_force():
    rng = np.random.default_rng(3)
    n, m = 60, 12
    codes = (rng.random((n, m)) < 0.25).astype(int)
    names = [f"c{i}" for i in range(n)]
    cfg = EvidenceConfig(max_contrast=5, max_holdout=2)
    evs = build_evidence(names, sp.csr_array(codes), np.ones(n, bool), range(m), 0, cfg)
    for ev in evs:
        f = ev.feature
        act = [i for i in range(n) if codes[i, f]]
        hard = {}
        for c in range(n):  # brute force: shared features with the activating concepts
            if not codes[c, f]:
                hard[c] = sum(codes[c, g] * codes[a, g] for a in act for g in range(m))
        chosen = [int(x[1:]) for x in ev.negatives + ev.held_neg]
        k = len(chosen)
        assert k == min(len(hard), cfg.max_contrast + len(ev.held_neg))
        assert sorted((hard[c] for c in chosen), reverse=True) == sorted(
            hard.values(), reverse=True)[:k]


# --------------------------------------------------------------------------- scoring

def test_balanced_accuracy_by_hand():
    # TPR 1/1, TNR 2/3 -> 5/6
    assert balanced_accuracy(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])) == pytest.approx(
        5 / 6)
    assert balanced_accuracy(np.array([1, 0]), np.array([1, 1])) is None


def test_fit_threshold_by_hand():
    assert fit_threshold(np.array([0.9, 0.8, 0.3, 0.5]),
                         np.array([1, 1, 0, 0], bool)) == pytest.approx(0.65)
    # pos 0.9, 0.4; neg 0.5, 0.1: thresholds 0.25 and 0.7 both give 0.75; the smaller wins
    sims, truth = np.array([0.9, 0.4, 0.5, 0.1]), np.array([1, 1, 0, 0], bool)
    assert fit_threshold(sims, truth) == pytest.approx(0.25)
    ba, t = threshold_score(sims, truth, np.array([0.3, 0.2, 0.26]), np.array([1, 0, 0], bool))
    # 0.3 >= 0.25 (TP), 0.2 < 0.25 (TN), 0.26 >= 0.25 (FP): (1 + 1/2) / 2
    assert t == pytest.approx(0.25) and ba == pytest.approx(0.75)


# --------------------------------------------------------------------------- embeddings

E = np.eye(4)  # 0 common, 1 animal, 2 plant, 3 rock
VOCAB = Vectors(["common", "animal", "plant", "rock"], E)
CONCEPTS = {f"animal{i}": 3 * E[0] + E[1] for i in range(6)}
CONCEPTS |= {f"plant{i}": 3 * E[0] + E[2] for i in range(6)}
CONCEPTS["rocky animal"] = 3 * E[0] + E[3] + E[1]
CVEC = Vectors(list(CONCEPTS), np.stack(list(CONCEPTS.values())))


def _ev(feature: int = 1, step: int = 0) -> Evidence:
    return Evidence(feature, step, ("animal0", "animal1", "animal2", "animal3"),
                    ("plant0", "plant1", "plant2"), ("animal4", "animal5"),
                    ("plant3", "rocky animal"), 6)


def test_centroid_picks_shared_direction_and_scores_chance():
    res = EmbeddingLabeler(CVEC, VOCAB).label(_ev())
    # centroid 3e0 + e1: cos to 'common' 3/sqrt(10) beats 'animal' 1/sqrt(10)
    assert res.text == "common" and res.method == "embedding"
    assert res.confidence == pytest.approx(3 / np.sqrt(10))
    # every training similarity is 3/sqrt(10): threshold below all -> all held-out predicted
    # positive: TPR 1, TNR 0 -> 0.5
    assert res.score == pytest.approx(0.5)


def test_contrastive_picks_distinguishing_direction_and_scores_by_hand():
    res = EmbeddingLabeler(CVEC, VOCAB, contrastive=True).label(_ev())
    # direction e1 - e2: 'animal' at cos 1/sqrt(2)
    assert res.text == "animal" and res.method == "contrastive"
    assert res.confidence == pytest.approx(1 / np.sqrt(2))
    # sims to e1: animals 1/sqrt(10), plants 0 -> threshold 1/(2 sqrt(10)); held-out: both
    # animals right, plant right, 'rocky animal' (1/sqrt(11)) a false positive -> 0.75
    assert res.details["threshold"] == pytest.approx(1 / (2 * np.sqrt(10)))
    assert res.score == pytest.approx(0.75)


def test_embedding_missing_concepts_fail_cleanly():
    ev = Evidence(2, 0, ("unknown",), ("plant0",), (), (), 1)
    out = EmbeddingLabeler(CVEC, VOCAB).label_many([ev, _ev()])
    assert isinstance(out[0], LabelFailure) and "no embedding" in str(out[0])
    assert out[1].text == "common"
    with pytest.raises(InputError):
        EmbeddingLabeler(CVEC, Vectors(["x"], np.ones((1, 3))))


def test_vector_file_formats(tmp_path):
    names = np.array(["cat", "it's \"q\"", "ü"])
    vec = np.arange(9, dtype=np.float32).reshape(3, 3) + 1
    np.savez(tmp_path / "a.npz", names=names, vectors=vec)
    np.savez(tmp_path / "b.npz", **{n: v for n, v in zip(names, vec, strict=True)})
    from safetensors.numpy import save_file
    save_file({n: v for n, v in zip(names, vec, strict=True)}, str(tmp_path / "c.safetensors"))
    for f in ("a.npz", "b.npz", "c.safetensors"):
        v = load_vectors(tmp_path / f)
        got = {n: v.unit[i] for i, n in enumerate(v.names)}
        assert set(got) == set(names.tolist())
        for n, x in zip(names, vec, strict=True):
            assert np.allclose(got[n], x / np.linalg.norm(x))


@pytest.mark.parametrize(("name", "arrays", "message"), [
    ("x.npz", {"a": np.ones(3), "b": np.ones(4)}, "different lengths"),
    ("y.npz", {"names": np.arange(2), "vectors": np.ones((2, 3))}, "strings"),
    ("z.npz", {"names": np.array(["p", "q"]), "vectors": np.full((2, 2), np.nan)}, "NaN"),
    ("w.npz", {"names": np.array(["p", "p"]), "vectors": np.ones((2, 2))}, "duplicate"),
])
def test_vector_file_errors_name_the_file(tmp_path, name, arrays, message):
    np.savez(tmp_path / name, **arrays)
    with pytest.raises(InputError, match=message) as err:
        load_vectors(tmp_path / name)
    assert err.value.path == str(tmp_path / name)
    with pytest.raises(InputError) as err:
        load_vectors(tmp_path / "missing.npz")
    assert err.value.path == str(tmp_path / "missing.npz")
    (tmp_path / "v.txt").write_text("x")
    with pytest.raises(InputError, match="npz"):
        load_vectors(tmp_path / "v.txt")


# --------------------------------------------------------------------------- cache and cost

def test_cache_reuses_labels_and_identical_evidence(tmp_path):
    lab = EmbeddingLabeler(CVEC, VOCAB, contrastive=True)
    evs = [_ev(1, 0), _ev(1, 100), _ev(2, 0)]  # same content three times
    with LabelCache(tmp_path) as cache:
        rep = run_labeler(lab, evs, cache=cache)
        assert rep.labelled == 1 and rep.cached == 2 and len(cache) == 1
        assert sorted((r.feature, r.step) for r in rep.results) == [(1, 0), (1, 100), (2, 0)]
        again = run_labeler(lab, evs, cache=cache)
        assert again.labelled == 0 and again.cached == 3
        assert {r.text for r in again.results} == {"animal"}
        assert all(r.score == pytest.approx(0.75) for r in again.results)
    # another vocabulary is another key
    with LabelCache(tmp_path) as cache:
        other = EmbeddingLabeler(CVEC, Vectors(["animal", "plant"], E[1:3]), contrastive=True)
        assert run_labeler(other, evs, cache=cache).labelled == 1


def test_token_estimate_and_budget(monkeypatch):
    monkeypatch.setattr(cost_mod, "_ENC", [None])  # the documented chars/4 rule
    assert cost_mod.estimate_tokens("x" * 9) == 3
    assert cost_mod.estimate_messages([{"role": "user", "content": "x" * 8}]) == 2 + 4
    b = Budget(1.0)
    assert b.try_reserve(0.6) and not b.try_reserve(0.5)
    b.settle(0.6, 0.2)
    assert b.spent == pytest.approx(0.2) and b.try_reserve(0.8) and not b.try_reserve(0.01)
