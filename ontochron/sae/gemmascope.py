"""Gemma Scope ``params.npz`` (+ ``hparams.json`` where present): JumpReLU SAEs, encoded as
Gemma Scope's reference code, ``relu(pre) * (pre > threshold)`` with ``pre = x @ W_enc +
b_enc`` (no ``b_dec`` on the input)."""

from __future__ import annotations

import os
from pathlib import Path

from ontochron.errors import InputError
from ontochron.sae.files import Tensors, check_dim, read_json, read_npz
from ontochron.sae.model import SAE

WEIGHTS = "params.npz"
HPARAMS = "hparams.json"


def read_gemmascope(root: Path) -> SAE:
    """The JumpReLU SAE in a Gemma Scope folder."""
    wpath = root / WEIGHTS
    t = Tensors(read_npz(wpath), wpath)
    W_dec = t.matrix("W_dec")
    n, d = W_dec.shape
    hp = root / HPARAMS
    cfg = read_json(hp) if hp.is_file() else {}
    if cfg:
        shape = f"W_dec in {WEIGHTS} has shape {W_dec.shape}"
        for key in ("d_in", "d_model"):
            check_dim(cfg, key, d, hp, shape)
        for key in ("d_sae", "width"):
            check_dim(cfg, key, n, hp, shape)
        arch = cfg.get("architecture", "jumprelu")
        if arch != "jumprelu":
            raise InputError(f"key 'architecture' is {arch!r}; Gemma Scope params.npz are "
                             "read as jumprelu only", hp)
    return SAE(W_dec, t.get("W_enc", (d, n)), t.get("b_enc", (n,)), t.get("b_dec", (d,)),
               "jumprelu", None, t.get("threshold", (n,)), layout="gemmascope",
               path=os.fspath(root), cfg=cfg, kind="jumprelu")
