"""dictionary_learning folders (``trainSAE(save_dir=...)`` writes ``trainer_<i>/ae.pt`` +
``config.json``), encoded as each dictionary class's ``encode`` after its ``from_pretrained``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.sae.files import Tensors, check_dim, pos_int, read_json, read_torch_state
from ontochron.sae.model import SAE

WEIGHTS = "ae.pt"
CONFIG = "config.json"
CLASSES = ("AutoEncoder", "AutoEncoderTopK", "BatchTopKSAE", "MatryoshkaBatchTopKSAE",
           "JumpReluAutoEncoder", "GatedAutoEncoder")


def _class_from_keys(t: Tensors, wpath: Path) -> str:
    """The dictionary class a state_dict can only come from; ambiguous ones are refused."""
    keys = set(t.t)
    if "r_mag" in keys:
        return "GatedAutoEncoder"
    if "group_sizes" in keys:
        return "MatryoshkaBatchTopKSAE"
    if "W_enc" in keys and "k" not in keys:
        return "JumpReluAutoEncoder"
    if "bias" in keys and "encoder.weight" in keys:
        return "AutoEncoder"
    if "k" in keys:
        raise InputError(f"AutoEncoderTopK and BatchTopKSAE save the same keys and encode "
                         f"differently: {CONFIG} with trainer.dict_class is needed", wpath)
    raise InputError(f"not a dictionary_learning state_dict ontochron knows (keys: "
                     f"{', '.join(sorted(keys))})", wpath)


def _k(t: Tensors, trainer: dict[str, Any], n: int, wpath: Path, cfg_path: Path) -> int:
    k = int(round(t.scalar("k")))
    k_cfg = pos_int(trainer, "k", cfg_path, "trainer.")
    if k_cfg is not None and k_cfg != k:
        raise InputError(f"key 'trainer.k' is {k_cfg} but buffer 'k' in {WEIGHTS} is {k}",
                         cfg_path)
    if not 1 <= k <= n:
        raise InputError(f"key 'k' is {k}, expected 1..{n}", wpath)
    return k


def read_dictionary_learning(root: Path) -> SAE:
    """The dictionary in a dictionary_learning trainer folder."""
    wpath, cfg_path = root / WEIGHTS, root / CONFIG
    cfg = read_json(cfg_path) if cfg_path.is_file() else {}
    trainer = cfg.get("trainer") if isinstance(cfg.get("trainer"), dict) else {}
    t = Tensors(read_torch_state(wpath), wpath)
    name = trainer.get("dict_class") or _class_from_keys(t, wpath)
    if name not in CLASSES:
        raise InputError(f"key 'trainer.dict_class' is {name!r}, which ontochron cannot "
                         f"encode (supported: {', '.join(CLASSES)})", cfg_path)
    common: dict[str, Any] = {"layout": "dictionary_learning", "path": os.fspath(root),
                              "cfg": cfg, "kind": name}
    if name in ("JumpReluAutoEncoder", "MatryoshkaBatchTopKSAE"):  # W_enc (d, n), W_dec (n, d)
        W_dec = t.matrix("W_dec")
        n, d = W_dec.shape
        W_enc, b_enc, b_dec = t.get("W_enc", (d, n)), t.get("b_enc", (n,)), t.get("b_dec", (d,))
    else:  # nn.Linear encoder (n, d) and decoder (d, n)
        enc = t.matrix("encoder.weight")
        n, d = enc.shape
        W_enc = enc.T.copy()
        W_dec = t.get("decoder.weight", (d, n)).T.copy()
    shape = f"the weights in {WEIGHTS} are {d} x {n}"
    check_dim(trainer, "activation_dim", d, cfg_path, shape, "trainer.")
    check_dim(trainer, "dict_size", n, cfg_path, shape, "trainer.")
    if name == "JumpReluAutoEncoder":
        # apply_b_dec_to_input = False is a class attribute, saved nowhere: no b_dec on input
        return SAE(W_dec, W_enc, b_enc, b_dec, "jumprelu", None, t.get("threshold", (n,)),
                   **common)
    if name == "MatryoshkaBatchTopKSAE":
        _k(t, trainer, n, wpath, cfg_path)
        thr = np.full(n, t.scalar("threshold"), dtype=np.float32)
        return SAE(W_dec, W_enc, b_enc, b_dec, "jumprelu", b_dec, thr, **common)
    if name == "GatedAutoEncoder":
        b_dec = t.get("decoder_bias", (d,))
        return SAE(W_dec, W_enc, t.get("gate_bias", (n,)), b_dec, "gated", b_dec,
                   r_mag=t.get("r_mag", (n,)), b_mag=t.get("mag_bias", (n,)), **common)
    b_enc = t.get("encoder.bias", (n,))
    if name == "AutoEncoder":
        bias = t.get("bias", (d,))
        # AutoEncoder.from_pretrained normalizes the decoder (normalize_decoder=True): unit
        # decoder columns, their norms moved into the encoder, unless already allclose to 1
        norms = np.linalg.norm(W_dec, axis=1).astype(np.float32)
        if not np.all(np.abs(norms - 1.0) <= 1e-8 + 1e-5):
            W_dec = W_dec / norms[:, None]
            W_enc = W_enc * norms[None, :]
            b_enc = b_enc * norms
        return SAE(W_dec, W_enc, b_enc, bias, "standard", bias, **common)
    b_dec = t.get("b_dec", (d,))
    k = _k(t, trainer, n, wpath, cfg_path)
    if name == "AutoEncoderTopK":  # encode(use_threshold=False): top k of relu(pre)
        return SAE(W_dec, W_enc, b_enc, b_dec, "topk", b_dec, k=k, **common)
    # BatchTopKSAE.encode (use_threshold=True): relu(pre) kept above its stored threshold
    thr = np.full(n, t.scalar("threshold"), dtype=np.float32)
    return SAE(W_dec, W_enc, b_enc, b_dec, "jumprelu", b_dec, thr, **common)
