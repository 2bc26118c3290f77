"""Read SAELens-style SAE folders (``cfg.json`` + ``sae_weights.safetensors``) into numpy
weights, checking every tensor's shape against the config."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError

CFG_FILENAME = "cfg.json"
WEIGHTS_FILENAME = "sae_weights.safetensors"
SPARSITY_FILENAME = "sparsity.safetensors"  # feature firing rates, not weights
ARCHITECTURES = ("standard", "jumprelu", "topk", "gated")


@dataclass(frozen=True)
class SAEWeights:
    """An SAE's weights (float32 numpy) and the config fields that change its encoding."""

    W_enc: np.ndarray  # (d_in, d_sae)
    b_enc: np.ndarray  # (d_sae,); gated: the gate bias b_gate
    W_dec: np.ndarray  # (d_sae, d_in)
    b_dec: np.ndarray  # (d_in,)
    architecture: str  # "standard" | "jumprelu" | "topk" | "gated"
    threshold: np.ndarray | None = None  # (d_sae,), jumprelu only
    k: int | None = None  # topk only
    apply_b_dec_to_input: bool = True
    normalize_activations: str = "none"
    cfg: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    r_mag: np.ndarray | None = None  # (d_sae,), gated only: log magnitude scale
    b_mag: np.ndarray | None = None  # (d_sae,), gated only: magnitude bias

    @property
    def d_in(self) -> int:
        return int(self.W_enc.shape[0])

    @property
    def d_sae(self) -> int:
        return int(self.W_enc.shape[1])


def _read_cfg(path: Path) -> dict[str, Any]:
    from ontochron.jsoninput import load_json

    try:
        cfg = load_json(path)
    except FileNotFoundError:
        raise InputError(f"SAE folder has no {CFG_FILENAME}", path.parent) from None
    if not isinstance(cfg, dict):
        raise InputError("cfg.json must hold a JSON object", path)
    return cfg


def _weights_file(folder: Path) -> Path:
    main = folder / WEIGHTS_FILENAME
    if main.is_file():
        return main
    cands = sorted(p for p in folder.glob("*.safetensors") if p.name != SPARSITY_FILENAME)
    if len(cands) != 1:
        what = "no" if not cands else f"{len(cands)}"
        raise InputError(f"expected {WEIGHTS_FILENAME} or a single *.safetensors file, "
                         f"found {what}", folder)
    return cands[0]


def _read_tensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(os.fspath(path), framework="pt") as f:
            return {k: f.get_tensor(k).float().numpy() for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"cannot read safetensors weights: {exc}", path) from None


def infer_architecture(cfg: dict[str, Any], tensor_names: Any) -> Any:
    """The SAELens ``architecture`` of a cfg; older configs have only ``activation_fn_str``:
    ``topk``, else ``jumprelu`` when the weights hold a ``threshold``, else ``standard``.
    Shared by the extractor's and the lineage's SAELens readers so both encode alike."""
    arch = cfg.get("architecture")
    if arch is None:
        act = cfg.get("activation_fn_str", cfg.get("activation_fn", "relu"))
        arch = "topk" if act == "topk" else "jumprelu" if "threshold" in tensor_names else "standard"
    return arch


def _architecture(cfg: dict[str, Any], tensors: dict[str, np.ndarray], path: Path) -> str:
    arch = infer_architecture(cfg, tensors)
    if arch not in ARCHITECTURES:
        raise InputError(f"unsupported SAE architecture {arch!r} (supported: "
                         f"{', '.join(ARCHITECTURES)})", path)
    return str(arch)


def _cfg_int(cfg: dict[str, Any], key: str, path: Path) -> int:
    value = cfg.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{key} must be a positive integer, got {value!r}", path)
    return value


def load_saelens(folder: str | os.PathLike[str]) -> SAEWeights:
    """Load an SAE saved in the SAELens layout; raise :class:`InputError` naming the file on
    a missing file, a missing tensor or a shape that disagrees with ``d_in``/``d_sae``."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError("SAE folder does not exist or is not a directory", root)
    cfg_path = root / CFG_FILENAME
    cfg = _read_cfg(cfg_path)
    d_in, d_sae = _cfg_int(cfg, "d_in", cfg_path), _cfg_int(cfg, "d_sae", cfg_path)
    wpath = _weights_file(root)
    tensors = _read_tensors(wpath)
    arch = _architecture(cfg, tensors, cfg_path)
    bias = "b_gate" if arch == "gated" else "b_enc"
    expected = {"W_enc": (d_in, d_sae), bias: (d_sae,), "W_dec": (d_sae, d_in),
                "b_dec": (d_in,)}
    if arch == "jumprelu":
        expected["threshold"] = (d_sae,)
    if arch == "gated":
        expected.update(r_mag=(d_sae,), b_mag=(d_sae,))
    for name, shape in expected.items():
        if name not in tensors:
            raise InputError(f"missing tensor {name!r} (found: {sorted(tensors)})", wpath)
        if tensors[name].shape != shape:
            raise InputError(f"tensor {name!r} has shape {tensors[name].shape}, expected {shape} "
                             f"from d_in={d_in}, d_sae={d_sae} in {CFG_FILENAME}", wpath)
    k = None
    if arch == "topk":
        raw_k = cfg.get("k", (cfg.get("activation_fn_kwargs") or {}).get("k"))
        if isinstance(raw_k, float) and raw_k.is_integer():
            raw_k = int(raw_k)
        if isinstance(raw_k, bool) or not isinstance(raw_k, int) or not 1 <= raw_k <= d_sae:
            raise InputError(f"topk SAE needs an integer k in [1, {d_sae}] (cfg 'k' or "
                             f"activation_fn_kwargs.k), got {raw_k!r}", cfg_path)
        k = raw_k
    norm = cfg.get("normalize_activations") or "none"
    if norm not in ("none", "expected_average_only_in", "constant_norm_rescale", "layer_norm"):
        raise InputError(f"unsupported normalize_activations {norm!r}", cfg_path)
    gated = arch == "gated"
    return SAEWeights(tensors["W_enc"], tensors[bias], tensors["W_dec"], tensors["b_dec"],
                      arch, tensors.get("threshold") if arch == "jumprelu" else None, k,
                      bool(cfg.get("apply_b_dec_to_input", True)), str(norm), cfg,
                      os.fspath(root), tensors["r_mag"] if gated else None,
                      tensors["b_mag"] if gated else None)
