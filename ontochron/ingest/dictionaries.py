"""Read one sparse dictionary (SAE) per checkpoint folder in the layouts people have on disk:
SAELens, EleutherAI sparsify, dictionary_learning and Gemma Scope; layout auto-detected."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError

LAYOUTS = ("saelens", "sparsify", "dictionary_learning", "gemmascope")
ARCHITECTURES = ("standard", "topk", "jumprelu", "gated")


@dataclass(frozen=True)
class Dictionary:
    """An SAE's weights as float32 numpy, in one convention whatever the layout on disk:
    ``f = act((x - pre_bias) @ W_enc + b_enc)``, reconstruction ``f @ W_dec + b_dec``."""

    W_dec: np.ndarray                 # (n_latents, d_in)
    W_enc: np.ndarray | None          # (d_in, n_latents)
    b_enc: np.ndarray | None          # (n_latents,)
    b_dec: np.ndarray                 # (d_in,)
    architecture: str                 # standard | topk | jumprelu | gated
    pre_bias: np.ndarray | None = None   # subtracted from the input before encoding
    threshold: np.ndarray | None = None  # jumprelu
    k: int | None = None                 # topk
    r_mag: np.ndarray | None = None      # gated: magnitude scale (log)
    b_mag: np.ndarray | None = None      # gated: magnitude bias
    normalize: str = "none"              # SAELens normalize_activations, applied to inputs
    layout: str = "saelens"
    path: str | None = None
    cfg: dict[str, Any] = field(default_factory=dict)

    @property
    def d_in(self) -> int:
        return int(self.W_dec.shape[1])

    @property
    def n_latents(self) -> int:
        return int(self.W_dec.shape[0])

    def pre_activations(self, x: np.ndarray) -> np.ndarray:
        """``(x - pre_bias) @ W_enc + b_enc`` for a batch (n, d_in)."""
        if self.W_enc is None or self.b_enc is None:
            raise InputError("this dictionary has no encoder, it cannot encode", self.path)
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.d_in:
            raise InputError(f"inputs must have shape (n, {self.d_in}), got {x.shape}",
                             self.path)
        if self.normalize != "none":
            from ontochron.ingest.extractors import normalize_sae_input

            x = normalize_sae_input(x, self.normalize)
        if self.pre_bias is not None:
            x = x - self.pre_bias
        return x @ self.W_enc + self.b_enc

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Latent activations (n, n_latents) as the config says: ReLU, TopK k (largest k
        pre-activations, then ReLU), JumpReLU (kept above its threshold) or gated."""
        pre = self.pre_activations(x)
        if self.architecture == "jumprelu":
            return np.where(pre > self.threshold, pre, 0.0).astype(np.float32)
        if self.architecture == "topk":
            from ontochron.ingest.extractors import topk_mask

            return np.where(topk_mask(pre, int(self.k)), np.maximum(pre, 0.0), 0.0
                            ).astype(np.float32)
        if self.architecture == "gated":
            assert self.r_mag is not None and self.b_mag is not None
            gate = pre > 0  # b_enc is the gate bias
            mag = np.maximum((pre - self.b_enc) * np.exp(self.r_mag) + self.b_mag, 0.0)
            return np.where(gate, mag, 0.0).astype(np.float32)
        return np.maximum(pre, 0.0)


# ----------------------------------------------------------------------------- file helpers

def _json(path: Path) -> dict[str, Any]:
    from ontochron.jsoninput import load_json

    try:
        cfg = load_json(path)
    except FileNotFoundError:
        raise InputError("cannot read: No such file or directory", path) from None
    if not isinstance(cfg, dict):
        raise InputError("must hold a JSON object", path)
    return cfg


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    from ontochron.ingest.saelens import _read_tensors

    return _read_tensors(path)


def _torch_state(path: Path) -> dict[str, np.ndarray]:
    import torch

    try:
        state = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad pickle
        raise InputError(f"cannot read torch state_dict: {exc}", path) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"],
                                                                         dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"expected a state_dict (mapping name -> tensor), got "
                         f"{type(state).__name__}", path)
    out = {}
    for k, v in state.items():
        if hasattr(v, "detach"):
            out[str(k)] = v.detach().float().cpu().numpy()
    return out


def _npz(path: Path) -> dict[str, np.ndarray]:
    from ontochron.npzinput import check_npz_file

    try:
        check_npz_file(path)
        with np.load(path, allow_pickle=False) as z:
            return {k: np.asarray(z[k], dtype=np.float32) for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read npz: {exc}", path) from None


class _Tensors:
    """Named tensors of one file with checks that name the file and the key."""

    def __init__(self, tensors: dict[str, np.ndarray], path: Path) -> None:
        self.t, self.path = tensors, path

    def has(self, key: str) -> bool:
        return key in self.t

    def get(self, key: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        if key not in self.t:
            raise InputError(f"missing key {key!r} (found: {', '.join(sorted(self.t))})",
                             self.path)
        arr = np.asarray(self.t[key], dtype=np.float32)
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


def _pos_int(cfg: dict[str, Any], keys: tuple[str, ...], path: Path) -> int | None:
    for key in keys:
        if key in cfg and cfg[key] is not None:
            v = cfg[key]
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{key} must be a positive integer, got {v!r}", path)
            return v
    return None


# ----------------------------------------------------------------------------- the layouts

def _saelens(root: Path) -> Dictionary:
    from ontochron.ingest.extractors import SAE_NORMALIZATIONS
    from ontochron.ingest.saelens import infer_architecture

    cfg_path = root / "cfg.json"
    cfg = _json(cfg_path)
    wpath = root / "sae_weights.safetensors"
    t = _Tensors(_safetensors(wpath), wpath)
    arch = infer_architecture(cfg, t.t)
    if arch not in ARCHITECTURES:
        raise InputError(f"unsupported architecture {arch!r} (supported: "
                         f"{', '.join(ARCHITECTURES)})", cfg_path)
    norm = cfg.get("normalize_activations") or "none"
    if norm not in SAE_NORMALIZATIONS:
        raise InputError(f"unsupported normalize_activations {norm!r} (supported: "
                         f"{', '.join(SAE_NORMALIZATIONS)})", cfg_path)
    W_dec = t.matrix("W_dec")
    n, d = W_dec.shape
    for key, want in (("d_in", d), ("d_sae", n)):
        got = _pos_int(cfg, (key,), cfg_path)
        if got is not None and got != want:
            raise InputError(f"{key}={got} disagrees with W_dec of shape {W_dec.shape} in "
                             f"{wpath.name}", cfg_path)
    W_enc = t.get("W_enc", (d, n))
    b_dec = t.get("b_dec", (d,))
    pre = b_dec if cfg.get("apply_b_dec_to_input", True) else None
    if arch == "gated":
        return Dictionary(W_dec, W_enc, t.get("b_gate", (n,)), b_dec, "gated", pre,
                          r_mag=t.get("r_mag", (n,)), b_mag=t.get("b_mag", (n,)),
                          normalize=str(norm), layout="saelens", path=os.fspath(root),
                          cfg=cfg)
    b_enc = t.get("b_enc", (n,))
    thr = t.get("threshold", (n,)) if arch == "jumprelu" else None
    k = None
    if arch == "topk":
        k = _pos_int(cfg, ("k",), cfg_path) or _pos_int(cfg.get("activation_fn_kwargs") or {},
                                                        ("k",), cfg_path)
        if k is None:
            raise InputError("topk architecture needs k (cfg 'k' or activation_fn_kwargs.k)",
                             cfg_path)
    return Dictionary(W_dec, W_enc, b_enc, b_dec, str(arch), pre, thr, k, normalize=str(norm),
                      layout="saelens", path=os.fspath(root), cfg=cfg)


def _sparsify(root: Path) -> Dictionary:
    cfg_path = root / "cfg.json"
    cfg = _json(cfg_path)
    wpath = root / "sae.safetensors"
    t = _Tensors(_safetensors(wpath), wpath)
    enc = t.matrix("encoder.weight")  # (num_latents, d_in)
    n, d = enc.shape
    want_n = _pos_int(cfg, ("num_latents",), cfg_path)
    if want_n is not None and want_n != n:
        raise InputError(f"num_latents={want_n} disagrees with encoder.weight of shape "
                         f"{enc.shape} in {wpath.name}", cfg_path)
    d_cfg = _pos_int(cfg, ("d_in",), cfg_path)
    if d_cfg is not None and d_cfg != d:
        raise InputError(f"d_in={d_cfg} disagrees with encoder.weight of shape {enc.shape}",
                         cfg_path)
    k = _pos_int(cfg, ("k",), cfg_path)
    if k is None:
        raise InputError("missing key 'k' (sparsify SAEs are TopK)", cfg_path)
    if k > n:
        raise InputError(f"k={k} exceeds num_latents={n}", cfg_path)
    b_dec = t.get("b_dec", (d,))
    return Dictionary(t.get("W_dec", (n, d)), enc.T.copy(), t.get("encoder.bias", (n,)),
                      b_dec, "topk", b_dec, k=k, layout="sparsify", path=os.fspath(root),
                      cfg=cfg)


def _dictionary_learning(root: Path) -> Dictionary:
    wpath = root / "ae.pt"
    cfg_path = root / "config.json"
    cfg = _json(cfg_path) if cfg_path.is_file() else {}
    trainer = cfg.get("trainer") if isinstance(cfg.get("trainer"), dict) else {}
    t = _Tensors(_torch_state(wpath), wpath)
    if t.has("W_dec"):  # JumpReluAutoEncoder: W_enc (d, n), W_dec (n, d), b_enc, b_dec, threshold
        W_dec = t.matrix("W_dec")
        n, d = W_dec.shape
        b_dec = t.get("b_dec", (d,))
        return Dictionary(W_dec, t.get("W_enc", (d, n)), t.get("b_enc", (n,)), b_dec,
                          "jumprelu", b_dec, t.get("threshold", (n,)),
                          layout="dictionary_learning", path=os.fspath(root), cfg=cfg)
    enc = t.matrix("encoder.weight")  # nn.Linear(d, n): (n, d)
    n, d = enc.shape
    W_dec = t.get("decoder.weight", (d, n)).T.copy()  # nn.Linear(n, d): (d, n)
    for key, want in (("activation_dim", d), ("dict_size", n)):
        got = _pos_int(trainer, (key,), cfg_path)
        if got is not None and got != want:
            raise InputError(f"trainer.{key}={got} disagrees with encoder.weight of shape "
                             f"{enc.shape} in {wpath.name}", cfg_path)
    common = {"layout": "dictionary_learning", "path": os.fspath(root), "cfg": cfg}
    if t.has("r_mag"):  # GatedAutoEncoder
        b_dec = t.get("decoder_bias", (d,))
        return Dictionary(W_dec, enc.T.copy(), t.get("gate_bias", (n,)), b_dec, "gated", b_dec,
                          r_mag=t.get("r_mag", (n,)), b_mag=t.get("mag_bias", (n,)), **common)
    if t.has("b_dec"):  # AutoEncoderTopK
        k = None
        if t.has("k"):
            k = int(np.asarray(t.t["k"]).reshape(-1)[0])
        k = _pos_int(trainer, ("k",), cfg_path) or k
        if k is None or not 1 <= k <= n:
            raise InputError(f"TopK dictionary needs k in [1, {n}] (buffer 'k' or "
                             f"trainer.k in config.json), got {k!r}", wpath)
        b_dec = t.get("b_dec", (d,))
        return Dictionary(W_dec, enc.T.copy(), t.get("encoder.bias", (n,)), b_dec, "topk",
                          b_dec, k=k, **common)
    bias = t.get("bias", (d,))  # AutoEncoder: encode relu(encoder(x - bias))
    return Dictionary(W_dec, enc.T.copy(), t.get("encoder.bias", (n,)), bias, "standard", bias,
                      **common)


def _gemmascope(root: Path) -> Dictionary:
    wpath = root / "params.npz"
    t = _Tensors(_npz(wpath), wpath)
    W_dec = t.matrix("W_dec")
    n, d = W_dec.shape
    return Dictionary(W_dec, t.get("W_enc", (d, n)), t.get("b_enc", (n,)), t.get("b_dec", (d,)),
                      "jumprelu", None, t.get("threshold", (n,)), layout="gemmascope",
                      path=os.fspath(root))


_READERS = {"saelens": _saelens, "sparsify": _sparsify,
            "dictionary_learning": _dictionary_learning, "gemmascope": _gemmascope}


def detect_layout(folder: str | os.PathLike[str]) -> str | None:
    """The dictionary layout of a folder from the files it holds, or None."""
    root = Path(folder)
    if not root.is_dir():
        return None
    if (root / "sae_weights.safetensors").is_file():
        return "saelens"
    if (root / "sae.safetensors").is_file():
        return "sparsify"
    if (root / "ae.pt").is_file():
        return "dictionary_learning"
    if (root / "params.npz").is_file():
        return "gemmascope"
    return None


def load_dictionary(folder: str | os.PathLike[str], layout: str = "auto") -> Dictionary:
    """Read the dictionary in ``folder`` (layout auto-detected unless given); missing keys,
    wrong shapes and NaN/inf raise :class:`InputError` naming the file and the key."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError("dictionary folder does not exist or is not a directory", root)
    found = detect_layout(root) if layout == "auto" else layout
    if found not in _READERS:
        if layout != "auto":
            raise InputError(f"unknown dictionary layout {layout!r} (one of "
                             f"{', '.join(LAYOUTS)})")
        raise InputError("no dictionary found: expected sae_weights.safetensors (SAELens), "
                         "sae.safetensors (sparsify), ae.pt (dictionary_learning) or "
                         "params.npz (Gemma Scope)", root)
    return _READERS[found](root)


def dictionary_checkpoints(source: str | os.PathLike[str],
                           step_pattern: str | re.Pattern[str] | None = None
                           ) -> list[tuple[int, Path]]:
    """``(step, folder)`` of the per-checkpoint dictionary folders in ``source``, by step;
    InputError when there are none."""
    from ontochron.ingest.checkpoints import discover_checkpoints

    root = Path(os.fspath(source))
    if not root.is_dir():
        raise InputError("expected a directory of per-checkpoint dictionary folders", root)
    found = [(s, p) for s, p in discover_checkpoints(root, step_pattern) if p.is_dir()
             and detect_layout(p) is not None]
    if not found:
        raise InputError("no per-checkpoint dictionary folders (step_1000/, checkpoint-1000/, "
                         "... holding an SAE)", root)
    return found


def is_dictionary_run(source: Any) -> bool:
    """True when ``source`` is a directory whose checkpoint folders hold dictionaries."""
    try:
        dictionary_checkpoints(source)
    except (InputError, TypeError):
        return False
    return True


def iter_dictionaries(checkpoints: list[tuple[int, Path]], layout: str = "auto"
                      ) -> Iterator[tuple[int, Dictionary]]:
    """Load each checkpoint's dictionary in step order, one at a time (bounded memory);
    a ``d_in`` that changes between checkpoints is an InputError naming the folder."""
    d_in = None
    first = None
    for step, folder in checkpoints:
        dic = load_dictionary(folder, layout)
        if d_in is None:
            d_in, first = dic.d_in, folder
        elif dic.d_in != d_in:
            raise InputError(f"step {step}: d_in is {dic.d_in}, but {d_in} at {first}; all "
                             "checkpoints must read the same layer width", folder)
        yield step, dic
