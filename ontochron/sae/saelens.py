"""SAELens folders: inference saves (``save_model``/``save_inference_model``: cfg.json +
sae_weights.safetensors) and training checkpoints (``SAETrainer.save_checkpoint``: the same
two files of the *training* SAE, plus trainer_state.pt), encoded as SAELens 6 does."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.sae.files import Tensors, check_dim, flag, pos_int, read_json, read_safetensors
from ontochron.sae.model import NORMALIZATIONS, SAE

CFG = "cfg.json"
WEIGHTS = "sae_weights.safetensors"
SPARSITY = "sparsity.safetensors"  # feature firing rates, not weights
TRAINER_STATE = "trainer_state.pt"
ARCHITECTURES = ("standard", "topk", "jumprelu", "gated", "batchtopk", "matryoshka_batchtopk")
BATCH_TOPK = ("batchtopk", "matryoshka_batchtopk")


def infer_architecture(cfg: dict[str, Any], tensor_names: Any) -> Any:
    """The SAELens ``architecture`` of a cfg; older configs have only ``activation_fn_str``:
    ``topk``, else ``jumprelu`` when the weights hold a ``threshold``, else ``standard``."""
    arch = cfg.get("architecture")
    if arch is None:
        act = cfg.get("activation_fn_str", cfg.get("activation_fn", "relu"))
        arch = "topk" if act == "topk" else "jumprelu" if "threshold" in tensor_names else "standard"
    return arch


def weights_file(folder: Path) -> Path:
    """sae_weights.safetensors, else the folder's single other ``*.safetensors``."""
    main = folder / WEIGHTS
    if main.is_file():
        return main
    cands = sorted(p for p in folder.glob("*.safetensors") if p.name != SPARSITY)
    if len(cands) != 1:
        what = "no" if not cands else f"{len(cands)}"
        raise InputError(f"expected {WEIGHTS} or a single *.safetensors file, found {what}",
                         folder)
    return cands[0]


def _k(cfg: dict[str, Any], path: Path) -> int:
    k = pos_int(cfg, "k", path)
    if k is None:
        k = pos_int(cfg.get("activation_fn_kwargs") or {}, "k", path, "activation_fn_kwargs.")
    if k is None:
        raise InputError("topk architecture needs key 'k' (or activation_fn_kwargs.k)", path)
    return k


def read_saelens(root: Path) -> SAE:
    """The SAE in a SAELens folder (inference save or training checkpoint)."""
    cfg_path = root / CFG
    cfg = read_json(cfg_path)
    wpath = weights_file(root)
    t = Tensors(read_safetensors(wpath), wpath)
    arch = infer_architecture(cfg, t.t)
    if arch not in ARCHITECTURES:
        raise InputError(f"key 'architecture' is {arch!r}, which ontochron cannot encode "
                         f"(supported: {', '.join(ARCHITECTURES)})", cfg_path)
    norm = cfg.get("normalize_activations") or "none"
    if norm not in NORMALIZATIONS:
        raise InputError(f"key 'normalize_activations' is {norm!r}, which ontochron cannot "
                         f"apply (supported: {', '.join(NORMALIZATIONS)})", cfg_path)
    training = (root / TRAINER_STATE).is_file() or arch in BATCH_TOPK \
        or "jumprelu_bandwidth" in cfg or "l1_coefficient" in cfg
    W_dec = t.matrix("W_dec")
    n, d = W_dec.shape
    check_dim(cfg, "d_in", d, cfg_path, f"W_dec in {wpath.name} has shape {W_dec.shape}")
    check_dim(cfg, "d_sae", n, cfg_path, f"W_dec in {wpath.name} has shape {W_dec.shape}")
    W_enc = t.get("W_enc", (d, n))
    b_dec = t.get("b_dec", (d,))
    pre = b_dec if flag(cfg, "apply_b_dec_to_input", True, cfg_path) else None
    common: dict[str, Any] = {"normalize": str(norm), "layout": "saelens",
                              "path": os.fspath(root), "cfg": cfg,
                              "kind": f"{arch}{' (training checkpoint)' if training else ''}"}
    if arch == "gated":
        return SAE(W_dec, W_enc, t.get("b_gate", (n,)), b_dec, "gated", pre,
                   r_mag=t.get("r_mag", (n,)), b_mag=t.get("b_mag", (n,)), **common)
    b_enc = t.get("b_enc", (n,))
    if arch == "standard":
        return SAE(W_dec, W_enc, b_enc, b_dec, "standard", pre, **common)
    if arch == "jumprelu":
        if t.has("threshold"):
            thr = t.get("threshold", (n,))
        elif t.has("log_threshold"):  # older training checkpoints, as SAELens loads them
            thr = np.exp(t.get("log_threshold", (n,))).astype(np.float32)
        else:
            thr = t.get("threshold", (n,))  # the error names the missing key
        # SAELens' training JumpReLU passes pre * (pre > threshold), its inference one adds
        # a ReLU: they differ only where a threshold went below zero
        return SAE(W_dec, W_enc, b_enc, b_dec, "jumprelu", pre, thr,
                   jump_relu="jumprelu_bandwidth" not in cfg, **common)
    rescale = flag(cfg, "rescale_acts_by_decoder_norm", training, cfg_path)
    scale = np.linalg.norm(W_dec, axis=1).astype(np.float32) if rescale else None
    if arch == "topk":
        return SAE(W_dec, W_enc, b_enc, b_dec, "topk", pre, k=_k(cfg, cfg_path), scale=scale,
                   **common)
    # batchtopk / matryoshka_batchtopk: SAELens saves these for inference as JumpReLU at the
    # learned scalar threshold (decoder norms folded into the encoder), never as batch top-k
    if not t.has("topk_threshold"):
        raise InputError(f"a {arch} training checkpoint needs key 'topk_threshold' (found: "
                         f"{', '.join(sorted(t.t))})", wpath)
    thr = np.full(n, t.scalar("topk_threshold"), dtype=np.float32)
    return SAE(W_dec, W_enc, b_enc, b_dec, "jumprelu", pre, thr, scale=scale, **common)
