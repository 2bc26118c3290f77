"""Reading the files SAE libraries write (JSON configs, safetensors, torch state_dicts, npz),
with errors that name the file and the key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.jsoninput import load_json
from ontochron.npzinput import check_npz_file


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; InputError naming it when missing or malformed."""
    try:
        cfg = load_json(path)  # depth, duplicate keys and lone surrogates checked
    except FileNotFoundError:
        raise InputError(f"missing {path.name}", path.parent) from None
    if not isinstance(cfg, dict):
        raise InputError("must hold a JSON object", path)
    return cfg


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as float32 numpy (bfloat16 included)."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise InputError(f"missing {path.name}", path.parent)
    try:
        with safe_open(os.fspath(path), framework="pt") as f:
            return {k: f.get_tensor(k).float().numpy() for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"cannot read safetensors weights: {exc}", path) from None


def read_torch_state(path: Path) -> dict[str, np.ndarray]:
    """A torch state_dict (``weights_only=True``: no code runs) as float32 numpy."""
    import torch

    if not path.is_file():
        raise InputError(f"missing {path.name}", path.parent)
    try:
        state = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad pickle
        raise InputError(f"cannot read torch state_dict: {exc}", path) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"expected a state_dict (mapping name -> tensor), got "
                         f"{type(state).__name__}", path)
    return {str(k): v.detach().float().cpu().numpy() for k, v in state.items()
            if hasattr(v, "detach")}


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an npz (no pickles) as float32."""
    try:
        check_npz_file(path)  # declared shapes against the bytes held and memory
        with np.load(path, allow_pickle=False) as z:
            return {k: np.asarray(z[k], dtype=np.float32) for k in z.files}
    except FileNotFoundError:
        raise InputError(f"missing {path.name}", path.parent) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read npz: {exc}", path) from None


class Tensors:
    """Named tensors of one file with checks that name the file and the key."""

    def __init__(self, tensors: dict[str, np.ndarray], path: Path) -> None:
        self.t, self.path = tensors, path

    def has(self, key: str) -> bool:
        return key in self.t

    def get(self, key: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        if key not in self.t:
            raise InputError(f"missing key {key!r} (found: {', '.join(sorted(self.t))})",
                             self.path)
        arr = np.ascontiguousarray(self.t[key], dtype=np.float32)
        if shape is not None and arr.shape != shape:
            raise InputError(f"key {key!r} has shape {arr.shape}, expected {shape}", self.path)
        if not np.all(np.isfinite(arr)):
            raise InputError(f"key {key!r} holds NaN or inf values", self.path)
        return arr

    def matrix(self, key: str) -> np.ndarray:
        arr = self.get(key)
        if arr.ndim != 2:
            raise InputError(f"key {key!r} must be 2-D, got shape {arr.shape}", self.path)
        return arr

    def scalar(self, key: str) -> float:
        arr = self.get(key)
        if arr.size != 1:
            raise InputError(f"key {key!r} must be a scalar, got shape {arr.shape}", self.path)
        return float(arr.reshape(-1)[0])


def pos_int(cfg: dict[str, Any], key: str, path: Path, where: str = "") -> int | None:
    """``cfg[key]`` as a positive integer (integral floats accepted), None when absent."""
    if cfg.get(key) is None:
        return None
    v = cfg[key]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise InputError(f"key '{where}{key}' must be a positive integer, got {v!r}", path)
    return v


def check_dim(cfg: dict[str, Any], key: str, want: int, path: Path, what: str,
              where: str = "") -> None:
    """InputError when ``cfg[key]`` is present and differs from the weights' ``want``."""
    got = pos_int(cfg, key, path, where)
    if got is not None and got != want:
        raise InputError(f"key '{where}{key}' is {got} but {what}", path)


def flag(cfg: dict[str, Any], key: str, default: bool, path: Path) -> bool:
    """A boolean config key; anything but true/false is an InputError naming it."""
    v = cfg.get(key, default)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise InputError(f"key {key!r} must be true or false, got {v!r}", path)
    return v
