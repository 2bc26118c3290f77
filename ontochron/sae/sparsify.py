"""EleutherAI sparsify folders (``SparseCoder.save_to_disk``: cfg.json + sae.safetensors,
one per hookpoint, e.g. ``<save_dir>/<run>/layers.0/``), encoded as ``SparseCoder.encode``."""

from __future__ import annotations

import os
from pathlib import Path

from ontochron.errors import InputError
from ontochron.sae.files import Tensors, check_dim, flag, pos_int, read_json, read_safetensors
from ontochron.sae.model import SAE

CFG = "cfg.json"
WEIGHTS = "sae.safetensors"
ACTIVATIONS = ("topk", "groupmax")


def read_sparsify(root: Path) -> SAE:
    """The SparseCoder in a sparsify folder. A transcoder (``transcode: true``) is read as its
    encoder side: its input is not shifted by ``b_dec`` (as sparsify encodes it), and its
    decoder rows live in the output space."""
    cfg_path = root / CFG
    cfg = read_json(cfg_path)
    wpath = root / WEIGHTS
    t = Tensors(read_safetensors(wpath), wpath)
    enc = t.matrix("encoder.weight")  # nn.Linear(d_in, num_latents): (num_latents, d_in)
    n, d = enc.shape
    shape = f"encoder.weight in {WEIGHTS} has shape {enc.shape}"
    check_dim(cfg, "d_in", d, cfg_path, shape)
    want = pos_int(cfg, "num_latents", cfg_path) if cfg.get("num_latents") else None
    if want is None:  # num_latents 0 (the library default): expansion_factor * d_in
        ef = pos_int(cfg, "expansion_factor", cfg_path)
        if ef is None:
            raise InputError("key 'num_latents' is 0 or absent and there is no "
                             "'expansion_factor'", cfg_path)
        want = ef * d
        if want != n:
            raise InputError(f"key 'expansion_factor' x d_in = {want} latents but {shape}",
                             cfg_path)
    elif want != n:
        raise InputError(f"key 'num_latents' is {want} but {shape}", cfg_path)
    act = cfg.get("activation", "topk")
    if act not in ACTIVATIONS:
        raise InputError(f"key 'activation' is {act!r}, which ontochron cannot encode "
                         f"(supported: {', '.join(ACTIVATIONS)})", cfg_path)
    k = pos_int(cfg, "k", cfg_path)
    if k is None:
        raise InputError("missing key 'k'", cfg_path)
    transcode = flag(cfg, "transcode", False, cfg_path)
    b_dec = t.get("b_dec", (d,))
    W_dec = t.get("W_dec", (n, d))
    return SAE(W_dec, enc.T.copy(), t.get("encoder.bias", (n,)), b_dec, str(act),
               None if transcode else b_dec, k=k, layout="sparsify", path=os.fspath(root),
               cfg=cfg, kind=f"{act}{' transcoder' if transcode else ''}")
