"""Extractors against hand-computed codes, brute-force references, SAELens folders, and the
base-class aggregation."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from ontochron.errors import InputError
from ontochron.ingest import (
    BinaryExtractor,
    FSQExtractor,
    SAEExtractor,
    VQExtractor,
    load_saelens,
)
from ontochron.ingest.extractors import topk_mask

# A 2 -> 3 SAE with hand-computable outputs for x = [1, 2]:
# x - b_dec = [0, 2]; @ W_enc = [1, 2, -2]; + b_enc = pre = [1, 1.5, -2].
W_ENC = np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0]])
B_ENC = np.array([0.0, -0.5, 0.0])
B_DEC = np.array([1.0, 0.0])
W_DEC = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
X = np.array([[1.0, 2.0]])


def test_sae_relu_threshold_and_topk():
    sae = SAEExtractor(W_ENC, B_ENC, B_DEC)
    codes, f = sae.encode(X)
    np.testing.assert_allclose(f, [[1.0, 1.5, 0.0]])
    assert codes.tolist() == [[True, True, False]]
    assert SAEExtractor(W_ENC, B_ENC, B_DEC, threshold=1.2).encode(X)[0].tolist() == [
        [False, True, False]]
    assert SAEExtractor(W_ENC, B_ENC, B_DEC, topk=1).encode(X)[0].tolist() == [
        [False, True, False]]
    # topk larger than the number of positive features keeps only the positive ones
    assert SAEExtractor(W_ENC, B_ENC, B_DEC, topk=3).encode(X)[0].tolist() == [
        [True, True, False]]
    # without b_dec: pre = [1, 2, -2] @ ... = [2, 1, -1.5] + b_enc = [2, 0.5, -1.5]
    np.testing.assert_allclose(SAEExtractor(W_ENC, B_ENC).features(X), [[2.0, 0.5, 0.0]])
    assert sae.n_features == 3


def test_sae_jumprelu_and_topk_activation():
    jr = SAEExtractor(W_ENC, B_ENC, B_DEC, activation="jumprelu",
                      jump_threshold=[1.2, 1.2, -5.0])
    np.testing.assert_allclose(jr.features(X), [[0.0, 1.5, 0.0]])  # -2 > -5 but relu -> 0
    tk = SAEExtractor(W_ENC, B_ENC, B_DEC, activation="topk", topk=1)
    np.testing.assert_allclose(tk.features(X), [[0.0, 1.5, 0.0]])
    assert tk.encode(X)[0].tolist() == [[False, True, False]]
    with pytest.raises(InputError, match="jump_threshold"):
        SAEExtractor(W_ENC, B_ENC, activation="jumprelu")
    with pytest.raises(InputError, match="topk"):
        SAEExtractor(W_ENC, B_ENC, activation="topk")
    with pytest.raises(InputError, match="shape"):
        SAEExtractor(W_ENC, np.zeros(4))
    with pytest.raises(InputError, match=r"\(n_inputs, 2\)"):
        SAEExtractor(W_ENC, B_ENC).encode(np.ones((2, 5)))


def test_topk_ties_go_to_lower_index():
    f = np.array([[2.0, 2.0, 2.0, 1.0], [0.0, 3.0, 0.0, 0.0], [-1.0, -2.0, 5.0, 5.0]])
    assert topk_mask(f, 2).tolist() == [[True, True, False, False],
                                        [False, True, False, False],
                                        [False, False, True, True]]


def test_topk_mask_matches_brute_force():
    rng = np.random.default_rng(3)
    vals = rng.integers(-2, 4, size=(40, 9)).astype(float)  # many ties and non-positives
    for k in (1, 2, 4, 9, 12):
        got = topk_mask(vals, k)
        for row, mask in zip(vals, got, strict=True):
            order = sorted(range(len(row)), key=lambda i: (-row[i], i))[:k]
            expect = {i for i in order if row[i] > 0}
            assert set(np.flatnonzero(mask).tolist()) == expect


def test_sae_torch_inputs_device_and_decode():
    sae = SAEExtractor(torch.tensor(W_ENC), torch.tensor(B_ENC), torch.tensor(B_DEC),
                       W_dec=W_DEC, device="cpu")
    x = torch.tensor(X, requires_grad=True)
    codes, f = sae.encode(x)
    np.testing.assert_allclose(f, [[1.0, 1.5, 0.0]])
    # decode: [1, 1.5, 0] @ W_dec = [1, 3] + b_dec = [2, 3]
    np.testing.assert_allclose(sae.decode(f), [[2.0, 3.0]])
    with pytest.raises(InputError, match="W_dec"):
        SAEExtractor(W_ENC, B_ENC).decode(f)
    snap = sae.snapshot(7, {"a": x, "b": torch.tensor([[0.0, 0.0], [1.0, 2.0]])})
    # b: [0,0] - b_dec = [-1,0] -> pre [-1, 1, -0.5] + b_enc -> f [0, 0.5, 0];
    #    [1,2] -> f [1, 1.5, 0]. Feature 0 on in 1 of 2 inputs (off), feature 1 in 2 of 2.
    assert snap.dense().tolist() == [[True, True, False], [False, True, False]]
    np.testing.assert_allclose(snap.activations[1], [0.5, 1.0, 0.0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_sae_on_cuda_matches_numpy():
    rng = np.random.default_rng(4)
    w, b, x = rng.normal(size=(16, 64)), rng.normal(size=64), rng.normal(size=(32, 16))
    cpu = SAEExtractor(w, b, topk=5).encode(x)
    gpu = SAEExtractor(w, b, topk=5, device="cuda").encode(torch.tensor(x, device="cuda"))
    assert (cpu[0] == gpu[0]).all()
    np.testing.assert_allclose(cpu[1], gpu[1], rtol=1e-9, atol=1e-9)


def test_sae_normalization():
    x = np.array([[3.0, 4.0]])
    sae = SAEExtractor(np.eye(2), np.zeros(2), normalize_activations="constant_norm_rescale")
    np.testing.assert_allclose(sae.features(x), [[3 * math.sqrt(2) / 5, 4 * math.sqrt(2) / 5]])
    ln = SAEExtractor(np.eye(2), np.zeros(2), normalize_activations="layer_norm")
    # mean 3.5, centred [-0.5, 0.5], unbiased std sqrt(0.5)
    np.testing.assert_allclose(ln.features(x), [[0.0, 0.5 / (math.sqrt(0.5) + 1e-5)]])


# ------------------------------------------------------------------------- SAELens folders

def _sae_folder(path: Path, cfg: dict, tensors: dict, name: str = "sae_weights.safetensors"
                ) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "cfg.json").write_text(json.dumps(cfg))
    save_file({k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()},
              os.fspath(path / name))
    return path


def _weights(extra: dict | None = None) -> dict:
    return {"W_enc": W_ENC, "b_enc": B_ENC, "W_dec": W_DEC, "b_dec": B_DEC, **(extra or {})}


def test_from_saelens_standard_jumprelu_topk(tmp_path):
    std = _sae_folder(tmp_path / "std", {"d_in": 2, "d_sae": 3, "architecture": "standard"},
                      _weights())
    sae = SAEExtractor.from_saelens(std)
    np.testing.assert_allclose(sae.features(X), [[1.0, 1.5, 0.0]])
    np.testing.assert_allclose(sae.decode([[1.0, 1.5, 0.0]]), [[2.0, 3.0]])
    jr = _sae_folder(tmp_path / "jr", {"d_in": 2, "d_sae": 3, "architecture": "jumprelu"},
                     _weights({"threshold": [1.2, 1.2, 1.2]}))
    np.testing.assert_allclose(SAEExtractor.from_saelens(jr).features(X), [[0.0, 1.5, 0.0]])
    tk = _sae_folder(tmp_path / "tk", {"d_in": 2, "d_sae": 3, "architecture": "topk", "k": 1},
                     _weights())
    w = load_saelens(tk)
    assert (w.architecture, w.k, w.d_in, w.d_sae) == ("topk", 1, 2, 3)
    assert SAEExtractor.from_saelens(tk).encode(X)[0].tolist() == [[False, True, False]]
    # older config: activation_fn_str + activation_fn_kwargs, no b_dec on input, other name
    old = _sae_folder(tmp_path / "old", {"d_in": 2, "d_sae": 3, "activation_fn_str": "topk",
                                         "activation_fn_kwargs": {"k": 2},
                                         "apply_b_dec_to_input": False},
                      _weights(), name="model.safetensors")
    save_file({"sparsity": np.zeros(3, dtype=np.float32)},
              os.fspath(old / "sparsity.safetensors"))
    sae = SAEExtractor.from_saelens(old, threshold=0.6)
    assert sae.topk == 2 and not sae.apply_b_dec_to_input
    # pre without b_dec = [2, 0.5, -1.5]; top-2 then relu -> [2, 0.5, 0]
    np.testing.assert_allclose(sae.features(X), [[2.0, 0.5, 0.0]])


def test_saelens_bfloat16_weights(tmp_path):
    from safetensors.torch import save_file as save_torch

    folder = tmp_path / "bf"
    folder.mkdir()
    (folder / "cfg.json").write_text(json.dumps({"d_in": 2, "d_sae": 3}))
    save_torch({k: torch.tensor(v).to(torch.bfloat16) for k, v in _weights().items()},
               os.fspath(folder / "sae_weights.safetensors"))
    np.testing.assert_allclose(SAEExtractor.from_saelens(folder).features(X),
                               [[1.0, 1.5, 0.0]])  # all values exact in bfloat16


def test_saelens_errors(tmp_path):
    cfg = {"d_in": 2, "d_sae": 3, "architecture": "standard"}
    missing = _sae_folder(tmp_path / "m", cfg, {k: v for k, v in _weights().items()
                                                 if k != "W_dec"})
    with pytest.raises(InputError, match="missing key 'W_dec'") as info:
        load_saelens(missing)
    assert info.value.path == os.fspath(missing / "sae_weights.safetensors")
    bad = _sae_folder(tmp_path / "s", {**cfg, "d_sae": 4}, _weights())
    with pytest.raises(InputError, match="key 'd_sae' is 4"):
        load_saelens(bad)
    jr = _sae_folder(tmp_path / "j", {**cfg, "architecture": "jumprelu"}, _weights())
    with pytest.raises(InputError, match="'threshold'"):
        load_saelens(jr)
    gated = _sae_folder(tmp_path / "g", {**cfg, "architecture": "gated"}, _weights())
    with pytest.raises(InputError, match="missing key 'b_gate'"):  # gated: b_gate, r_mag, b_mag
        load_saelens(gated)
    other = _sae_folder(tmp_path / "o", {**cfg, "architecture": "matryoshka"}, _weights())
    with pytest.raises(InputError, match="'matryoshka', which ontochron cannot encode"):
        load_saelens(other)
    nok = _sae_folder(tmp_path / "k", {**cfg, "architecture": "topk"}, _weights())
    with pytest.raises(InputError, match="needs key 'k'"):
        load_saelens(nok)
    two = _sae_folder(tmp_path / "two", cfg, _weights(), name="a.safetensors")
    save_file({"x": np.zeros(1, dtype=np.float32)}, os.fspath(two / "b.safetensors"))
    with pytest.raises(InputError, match="single"):
        load_saelens(two)
    nocfg = tmp_path / "nocfg"
    nocfg.mkdir()
    with pytest.raises(InputError, match="cfg.json"):
        load_saelens(nocfg)
    (nocfg / "cfg.json").write_text("{broken")
    with pytest.raises(InputError, match="JSON"):
        load_saelens(nocfg)
    with pytest.raises(InputError, match="not a directory"):
        load_saelens(tmp_path / "nope")


# ------------------------------------------------------------------------- VQ

CODEBOOK = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]])


def test_vq_nearest_entry_one_hot():
    vq = VQExtractor(CODEBOOK)
    x = np.array([[0.9, 0.8], [2.1, 0.1], [0.1, -0.2], [0.5, 0.5]])  # last: tie 0 vs 1
    codes, cont = vq.encode(x)
    assert codes.astype(int).tolist() == [[0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0]]
    assert cont is None and vq.n_features == 3


def test_vq_matches_brute_force_and_positions():
    rng = np.random.default_rng(5)
    cb = rng.normal(size=(7, 4))
    x = rng.normal(size=(30, 4))
    full = ((x[:, None, :] - cb[None, :, :]) ** 2).sum(-1)
    assert VQExtractor(cb).nearest(x).tolist() == full.argmin(axis=1).tolist()
    assert VQExtractor(cb, device="cpu").nearest(torch.tensor(x)).tolist() == \
        full.argmin(axis=1).tolist()
    # (n, P, D): multi-hot over the entries used by an input's positions
    codes, _ = VQExtractor(CODEBOOK).encode(np.array([[[0.0, 0.1], [2.9, 0.0], [3.1, 0.2]]]))
    assert codes.astype(int).tolist() == [[1, 0, 1]]


def test_vq_from_indices():
    vq = VQExtractor.from_indices(4)
    assert vq.encode(np.array([1, 3]))[0].astype(int).tolist() == [[0, 1, 0, 0], [0, 0, 0, 1]]
    assert vq.encode(np.array([[0, 2, 2]]))[0].astype(int).tolist() == [[1, 0, 1, 0]]
    with pytest.raises(InputError, match=r"\[0, 4\)"):
        vq.encode(np.array([4]))
    with pytest.raises(InputError, match="integer indices"):
        vq.encode(np.array([[0.5, 0.5]]))
    snap = VQExtractor(CODEBOOK).snapshot(3, {"a": np.array([[1, 1], [1, 0.9], [0, 0]])})
    assert snap.dense().astype(int).tolist() == [[0, 1, 0]]  # majority: 2 of 3 use entry 1


# ------------------------------------------------------------------------- FSQ

LEVELS = [3, 5, 4]
# z chosen far from rounding boundaries: levels computed by hand from the FSQ bound
Z = np.array([[0.0, 0.5, -0.6], [3.0, -3.0, 3.0], [-3.0, 3.0, -3.0], [0.0, 0.0, 0.0]])
Z_LEVELS = [[0, 1, -1], [1, -2, 1], [-1, 2, -2], [0, 0, 0]]


def _fsq_reference(z: float, n_levels: int, eps: float = 1e-3) -> int:
    """Scalar FSQ as written in the paper: round(tanh(z + shift) * half_l - offset)."""
    half_l = (n_levels - 1) * (1 - eps) / 2
    offset = 0.5 if n_levels % 2 == 0 else 0.0
    shift = math.tan(offset / half_l)
    return round(math.tanh(z + shift) * half_l - offset)


def test_fsq_quantize_matches_hand_and_reference():
    fsq = FSQExtractor(LEVELS)
    assert fsq.quantize(Z).tolist() == Z_LEVELS
    rng = np.random.default_rng(2)
    z = rng.normal(scale=2.0, size=(50, 3))
    ref = [[_fsq_reference(v, n) for v, n in zip(row, LEVELS, strict=True)] for row in z]
    assert fsq.quantize(z).tolist() == ref
    q = fsq.quantize(rng.normal(scale=5.0, size=(500, 3)))
    for j, n in enumerate(LEVELS):  # every level reachable, none outside the range
        assert set(q[:, j].tolist()) == set(range(-(n // 2), (n - 1) // 2 + 1))


def test_fsq_nonzero_layout():
    fsq = FSQExtractor(LEVELS, "nonzero")
    codes, cont = fsq.encode(Z)
    assert fsq.n_features == 3
    assert codes.astype(int).tolist() == [[0, 1, 1], [1, 1, 1], [1, 1, 1], [0, 0, 0]]
    np.testing.assert_allclose(cont[1], [1.0, -1.0, 0.5])  # level / (L // 2)


def test_fsq_onehot_layout():
    fsq = FSQExtractor(LEVELS, "onehot")
    assert fsq.n_features == 12
    codes, _ = fsq.encode(Z)
    # offsets [0, 3, 8]; index = level + L//2 with L//2 = [1, 2, 2]
    expect = [{1, 6, 9}, {2, 3, 11}, {0, 7, 8}, {1, 5, 10}]
    assert [set(np.flatnonzero(r).tolist()) for r in codes] == expect
    lv = FSQExtractor(LEVELS, "onehot", input_kind="levels").encode(np.array(Z_LEVELS))[0]
    idx = np.array(Z_LEVELS) + np.array([1, 2, 2])
    ix = FSQExtractor(LEVELS, "onehot", input_kind="indices").encode(idx)[0]
    assert lv.tolist() == codes.tolist() == ix.tolist()


def test_fsq_onehot_exhaustive_is_a_bijection():
    """Every level combination maps to a distinct code with one bit per dimension block."""
    combos = np.array(list(itertools.product(range(3), range(5), range(4))))
    codes, _ = FSQExtractor(LEVELS, "onehot", input_kind="indices").encode(combos)
    assert len({r.tobytes() for r in codes}) == 60
    blocks = [codes[:, 0:3], codes[:, 3:8], codes[:, 8:12]]
    assert all((b.sum(axis=1) == 1).all() for b in blocks)


def test_fsq_errors():
    with pytest.raises(InputError, match="out of range"):
        FSQExtractor(LEVELS, input_kind="levels").encode(np.array([[2, 0, 0]]))
    with pytest.raises(InputError, match="last dimension"):
        FSQExtractor(LEVELS).encode(np.zeros((2, 4)))
    with pytest.raises(InputError, match="levels"):
        FSQExtractor([3, 1])


# ------------------------------------------------------------------------- binary + aggregation

def test_binary_extractor_strict_threshold():
    codes, cont = BinaryExtractor(0.5).encode(np.array([[0.2, 0.7, 0.5]]))
    assert codes.tolist() == [[False, True, False]]
    np.testing.assert_allclose(cont, [[0.2, 0.7, 0.5]])


def test_aggregation_majority_vs_rate():
    # 4 inputs; feature on-counts [4, 2, 1, 3] -> rates [1, .5, .25, .75]
    a = np.array([[1, 1, 0, 1], [1, 0, 0, 1], [1, 1, 1, 0], [1, 0, 0, 1]], dtype=float)
    inputs = {"a": a, "b": np.array([0.0, 0.9, 0.9, 0.1])}  # single input without batch axis
    ext = BinaryExtractor(0.5)
    maj = ext.snapshot(1, inputs)
    assert maj.dense().astype(int).tolist() == [[1, 0, 0, 1], [0, 1, 1, 0]]
    half = ext.snapshot(1, inputs, aggregate="rate", rate_threshold=0.5)
    assert half.dense().astype(int).tolist()[0] == [1, 1, 0, 1]
    quarter = ext.snapshot(1, inputs, aggregate="rate", rate_threshold=0.25)
    assert quarter.dense().astype(int).tolist()[0] == [1, 1, 1, 1]
    np.testing.assert_allclose(maj.activations[0], [1.0, 0.5, 0.25, 0.75])
    assert maj.metadata == {"extractor": "binary", "aggregate": "majority"}
    with pytest.raises(InputError, match="aggregate"):
        ext.snapshot(1, inputs, aggregate="mean")
    with pytest.raises(InputError, match="NaN"):
        ext.snapshot(1, {"a": np.array([[np.nan, 1.0]])})


def test_docs_custom_extractor_example_runs(capsys):
    """The worked example in docs/ingest.md, executed as written."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "ingest.md").read_text()
    block = doc.split("<!-- example: custom-extractor -->", 1)[1]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    assert 15 <= len(code.strip().splitlines()) <= 30
    scope: dict = {}
    exec(compile(code, "docs/ingest.md", "exec"), scope)
    snap = scope["snap"]
    assert snap.concepts == ("cat", "dog") and snap.n_features == 16
    # independent check: majority of sign(x @ planes) over each concept's inputs
    rng = np.random.default_rng(1)
    cat, dog = rng.normal(size=(5, 8)), rng.normal(size=(3, 8))
    planes = np.random.default_rng(0).standard_normal((8, 16))
    expect = [((c @ planes) > 0).mean(axis=0) > 0.5 for c in (cat, dog)]
    assert snap.dense().tolist() == [e.tolist() for e in expect]
    assert "('cat', 'dog') 16" in capsys.readouterr().out
