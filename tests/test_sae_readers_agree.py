"""The extractor API (``SAEExtractor.from_saelens``) and the lineage path (``load_dictionary``)
read a SAELens folder into the one SAE model and its one encoder: architecture inferred alike
from older configs, ``normalize_activations`` applied."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ontochron.errors import InputError
from ontochron.ingest.dictionaries import load_dictionary
from ontochron.ingest.extractors import SAEExtractor
from tests.lineage_planted import write_saelens

D, N = 16, 40


def _folder(tmp_path, arch, cfg_update=None, drop=()):
    rng = np.random.default_rng(3)
    W = rng.standard_normal((N, D)).astype(np.float32)
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    extra = {"threshold": np.full(N, 0.3, np.float32)} if arch == "jumprelu" else {}
    if arch == "gated":  # non-trivial magnitude path: scale and bias differ per latent
        extra = {"r_mag": rng.normal(0, 0.5, N).astype(np.float32),
                 "b_mag": rng.normal(0, 0.3, N).astype(np.float32)}
    folder = write_saelens(tmp_path / "sae", W, arch=arch, k=5, **extra)
    cfg = json.loads((folder / "cfg.json").read_text())
    cfg.update(cfg_update or {})
    for key in drop:
        cfg.pop(key, None)
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder


CASES = {
    "standard": ("standard", {}, ()),
    "topk": ("topk", {}, ()),
    "jumprelu": ("jumprelu", {}, ()),
    "gated": ("gated", {}, ()),
    # older SAELens configs: no "architecture", a threshold tensor means JumpReLU
    "jumprelu, older cfg": ("jumprelu", {"activation_fn_str": "relu"}, ("architecture",)),
    "constant_norm_rescale": ("standard", {"normalize_activations": "constant_norm_rescale"},
                              ()),
    "layer_norm": ("standard", {"normalize_activations": "layer_norm"}, ()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_both_readers_encode_alike(tmp_path, case):
    arch, update, drop = CASES[case]
    folder = _folder(tmp_path, arch, update, drop)
    x = np.random.default_rng(0).standard_normal((50, D)).astype(np.float32) * 3 + 0.5
    dic = load_dictionary(folder)
    ext = SAEExtractor.from_saelens(folder)
    assert dic.architecture == arch
    f_dic = dic.encode(x)
    f_ext = ext.features(x)
    on = f_ext > 0
    assert 0 < on.mean() < 1                      # the case encodes something non-trivial
    np.testing.assert_array_equal(f_dic > 0, on)
    np.testing.assert_allclose(f_dic[on], f_ext[on], rtol=1e-4, atol=1e-4)


def test_normalization_changes_the_encoding(tmp_path):
    """The normalization cases above are not vacuous: without it the codes differ."""
    x = np.random.default_rng(0).standard_normal((50, D)).astype(np.float32) * 3 + 0.5
    plain = load_dictionary(_folder(tmp_path / "a", "standard")).encode(x)
    normed = load_dictionary(_folder(tmp_path / "b", "standard",
                                     {"normalize_activations": "layer_norm"})).encode(x)
    assert not np.array_equal(plain > 0, normed > 0)


def test_unknown_normalization_refused(tmp_path):
    folder = _folder(tmp_path, "standard", {"normalize_activations": "whiten"})
    with pytest.raises(InputError, match="normalize_activations") as err:
        load_dictionary(folder)
    assert "cfg.json" in str(err.value)


def test_gated_follows_saelens_formula(tmp_path):
    """Gated SAE as SAELens encodes it, from the tensors on disk: gate on hidden_pre + b_gate,
    magnitude relu(hidden_pre * exp(r_mag) + b_mag), hidden_pre = (x - b_dec) @ W_enc."""
    from safetensors.numpy import load_file

    folder = _folder(tmp_path, "gated")
    t = load_file(str(folder / "sae_weights.safetensors"))
    x = np.random.default_rng(1).standard_normal((30, D)).astype(np.float32) * 3
    hidden = (x - t["b_dec"]) @ t["W_enc"]
    want = np.where(hidden + t["b_gate"] > 0,
                    np.maximum(hidden * np.exp(t["r_mag"]) + t["b_mag"], 0), 0)
    assert 0 < (want > 0).mean() < 1
    got = SAEExtractor.from_saelens(folder).features(x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
