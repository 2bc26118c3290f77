"""Dictionary readers on small files written here in each layout: weights, encoding as the
config says, auto-detection and every bad-input case."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from ontochron.errors import InputError
from ontochron.ingest.dictionaries import (
    detect_layout,
    dictionary_checkpoints,
    iter_dictionaries,
    load_dictionary,
)
from tests.lineage_planted import WRITERS, encoder_for

RNG = np.random.default_rng(0)
W_DEC = RNG.standard_normal((12, 6)).astype(np.float32)
X = RNG.standard_normal((5, 6)).astype(np.float32)


def _pre(x=X):
    W_enc, b_enc = encoder_for(W_DEC)
    return x @ W_enc + b_enc


@pytest.mark.parametrize("layout", list(WRITERS))
def test_each_layout_round_trip(tmp_path, layout):
    folder = WRITERS[layout](tmp_path / "step_10", W_DEC)
    assert detect_layout(folder) == layout
    dic = load_dictionary(folder)
    assert dic.layout == layout and dic.n_latents == 12 and dic.d_in == 6
    # dictionary_learning's AutoEncoder.from_pretrained moves decoder norms into the encoder
    norms = np.linalg.norm(W_DEC, axis=1) if layout == "dictionary_learning" else np.ones(12)
    np.testing.assert_allclose(dic.W_dec * norms[:, None], W_DEC, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dic.pre_activations(X) / norms, _pre(), rtol=1e-5, atol=1e-5)
    f = dic.encode(X) / norms
    pre = _pre()
    if dic.architecture == "topk":  # sparsify: k = 4 largest, then ReLU
        kth = np.sort(pre, axis=1)[:, -4][:, None]
        expect = np.where(pre >= kth, np.maximum(pre, 0), 0)
    elif dic.architecture == "jumprelu":  # gemma scope: kept above threshold 0.05
        expect = np.where(pre > 0.05, pre, 0)
    else:
        expect = np.maximum(pre, 0)
    np.testing.assert_allclose(f, expect, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch", ["standard", "topk", "jumprelu", "gated"])
def test_saelens_architectures_encode(tmp_path, arch):
    dic = load_dictionary(WRITERS["saelens"](tmp_path / "s", W_DEC, arch=arch, k=3))
    assert dic.architecture == arch
    f, pre = dic.encode(X), _pre()
    if arch == "topk":
        assert ((f > 0).sum(axis=1) <= 3).all()
        kth = np.sort(pre, axis=1)[:, -3][:, None]
        np.testing.assert_allclose(f, np.where(pre >= kth, np.maximum(pre, 0), 0), atol=1e-6)
    elif arch == "jumprelu":
        np.testing.assert_allclose(f, np.where(pre > 0.05, pre, 0), atol=1e-6)
    else:  # gated with r_mag = b_mag = 0: gate pre > 0, magnitude relu(x @ W_enc)
        mag = np.maximum(pre - encoder_for(W_DEC)[1], 0) if arch == "gated" else pre
        np.testing.assert_allclose(f, np.where(pre > 0, np.maximum(mag, 0), 0), atol=1e-5)


@pytest.mark.parametrize("kind", ["standard", "topk", "jumprelu"])
def test_dictionary_learning_classes(tmp_path, kind):
    dic = load_dictionary(WRITERS["dictionary_learning"](tmp_path / "d", W_DEC, kind=kind))
    assert dic.architecture == kind
    # AutoEncoder.from_pretrained normalizes the decoder (directions kept)
    want = W_DEC / np.linalg.norm(W_DEC, axis=1, keepdims=True) if kind == "standard" else W_DEC
    np.testing.assert_allclose(dic.W_dec, want, rtol=1e-5, atol=1e-6)
    if kind == "topk":
        assert dic.k == 4


def test_dictionary_learning_gated(tmp_path):
    n, d = W_DEC.shape
    W_enc, b = encoder_for(W_DEC)
    T = lambda a: torch.tensor(np.asarray(a, np.float32))  # noqa: E731
    (tmp_path / "g").mkdir()
    torch.save({"encoder.weight": T(W_enc.T), "decoder.weight": T(W_DEC.T),
                "decoder_bias": T(np.zeros(d)), "r_mag": T(np.zeros(n)),
                "gate_bias": T(b), "mag_bias": T(np.zeros(n))}, tmp_path / "g" / "ae.pt")
    dic = load_dictionary(tmp_path / "g")
    assert dic.architecture == "gated"
    pre = _pre()
    np.testing.assert_allclose(dic.encode(X), np.where(pre > 0, np.maximum(pre - b, 0), 0),
                               atol=1e-5)


def _bad(tmp_path, layout, **override):
    return WRITERS[layout](tmp_path / "step_1", W_DEC, **override)


@pytest.mark.parametrize("layout,key,file", [
    ("saelens", "W_enc", "sae_weights.safetensors"), ("sparsify", "encoder.bias", "sae.safetensors"),
    ("gemmascope", "threshold", "params.npz"), ("dictionary_learning", "bias", "ae.pt")])
def test_wrong_shape_names_file_and_key(tmp_path, layout, key, file):
    folder = _bad(tmp_path, layout, **{key: np.zeros(3)})
    with pytest.raises(InputError) as exc:
        load_dictionary(folder)
    assert exc.value.path.endswith(file) and repr(key) in exc.value.message


@pytest.mark.parametrize("layout,key", [("saelens", "b_dec"), ("sparsify", "encoder.weight"),
                                        ("gemmascope", "b_enc")])
def test_nan_and_inf_name_the_key(tmp_path, layout, key):
    bad = np.zeros(12 if key == "b_enc" else 6) if key != "encoder.weight" else W_DEC.copy()
    bad.flat[0] = np.nan if layout != "sparsify" else np.inf
    with pytest.raises(InputError, match=f"'{key}' holds NaN or inf"):
        load_dictionary(_bad(tmp_path, layout, **{key: bad}))


def test_missing_key_lists_found(tmp_path):
    folder = tmp_path / "step_1"
    folder.mkdir()
    save_file({"W_dec": W_DEC}, str(folder / "sae_weights.safetensors"))
    (folder / "cfg.json").write_text(json.dumps({"architecture": "standard"}))
    with pytest.raises(InputError, match=r"missing key 'W_enc' \(found: W_dec\)") as exc:
        load_dictionary(folder)
    assert exc.value.path.endswith("sae_weights.safetensors")


def test_config_disagreements(tmp_path):
    f = _bad(tmp_path, "sparsify")
    (f / "cfg.json").write_text(json.dumps({"k": 4, "num_latents": 99}))
    with pytest.raises(InputError, match="'num_latents' is 99"):
        load_dictionary(f)
    (f / "cfg.json").write_text(json.dumps({"num_latents": 12}))
    with pytest.raises(InputError, match="'k'"):
        load_dictionary(f)
    g = WRITERS["saelens"](tmp_path / "s", W_DEC, arch="topk")
    (g / "cfg.json").write_text(json.dumps({"architecture": "topk", "d_in": 6}))
    with pytest.raises(InputError, match="needs key 'k'"):
        load_dictionary(g)
    (g / "cfg.json").write_text(json.dumps({"architecture": "bilinear"}))
    with pytest.raises(InputError, match="'bilinear', which ontochron cannot encode"):
        load_dictionary(g)
    (g / "cfg.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_dictionary(g)


def test_corrupt_files(tmp_path):
    for layout, name in (("saelens", "sae_weights.safetensors"), ("dictionary_learning", "ae.pt"),
                         ("gemmascope", "params.npz")):
        f = WRITERS[layout](tmp_path / layout, W_DEC)
        (f / name).write_bytes(b"garbage")
        with pytest.raises(InputError) as exc:
            load_dictionary(f)
        assert exc.value.path.endswith(name)


def test_no_dictionary_and_d_in_change(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no SAE found"):
        load_dictionary(tmp_path / "empty")
    run = tmp_path / "run"
    WRITERS["saelens"](run / "step_0", W_DEC)
    WRITERS["gemmascope"](run / "step_5", W_DEC)  # layouts may differ between checkpoints
    WRITERS["saelens"](run / "step_9", RNG.standard_normal((12, 7)).astype(np.float32))
    (run / "notes").mkdir()
    ckpts = dictionary_checkpoints(run)
    assert [s for s, _ in ckpts] == [0, 5, 9]
    it = iter_dictionaries(ckpts)
    assert next(it)[1].layout == "saelens" and next(it)[1].layout == "gemmascope"
    with pytest.raises(InputError, match="d_in is 7, but 6") as exc:
        next(it)
    assert exc.value.path.endswith("step_9")
    with pytest.raises(InputError, match="no checkpoints with a step"):
        dictionary_checkpoints(tmp_path / "empty")
    (tmp_path / "empty" / "step_3").mkdir()
    with pytest.raises(InputError, match="no per-checkpoint SAE folders"):
        dictionary_checkpoints(tmp_path / "empty")
