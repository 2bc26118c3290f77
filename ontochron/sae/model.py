"""The SAE model every reader produces and the one encoder every path uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ontochron.errors import InputError

ARCHITECTURES = ("standard", "topk", "jumprelu", "gated", "groupmax")
NORMALIZATIONS = ("none", "expected_average_only_in", "constant_norm_rescale", "layer_norm")


def topk_mask(values: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` largest entries of each row, counting only positive values.

    Ties at the k-th value go to the lowest feature indices, so the result is deterministic.
    O(n * F): a partition finds each row's k-th value; a cumulative count breaks ties, only
    in the rows where tied values straddle the cut.
    """
    n, f = values.shape
    if k <= 0:
        return np.zeros((n, f), dtype=bool)
    if k >= f:
        return values > 0
    kth = np.partition(values, f - k, axis=1)[:, f - k, None]
    above = values > kth
    tied = values == kth
    mask = above | tied
    n_above = above.sum(axis=1)
    rows = np.flatnonzero(n_above + tied.sum(axis=1) > k)
    if rows.size:
        t = tied[rows]
        keep = t & (np.cumsum(t, axis=1) <= (k - n_above[rows])[:, None])
        mask[rows] = above[rows] | keep
    return mask & (values > 0)


def normalize_input(x: np.ndarray, how: str) -> np.ndarray:
    """SAELens' run-time ``normalize_activations`` of an (n, d_in) batch; the fixed factor of
    ``expected_average_only_in`` is not applied by SAELens' encode either (it is folded into
    the weights when SAELens finishes training), so it is the identity here too."""
    if how == "constant_norm_rescale":
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return x * (np.sqrt(x.shape[1]) / np.where(norm == 0, 1.0, norm))
    if how == "layer_norm":
        x = x - x.mean(axis=1, keepdims=True)
        return x / (x.std(axis=1, ddof=1, keepdims=True) + 1e-5)
    return x


@dataclass(frozen=True)
class SAE:
    """An SAE's weights as numpy (float32 from every reader) in one convention whatever the
    layout on disk, plus what changes its encoding:

    ``pre = ((norm(x) - pre_bias) @ W_enc + b_enc) * scale``, then the activation of
    ``architecture``; reconstruction ``f @ W_dec + b_dec``."""

    W_dec: np.ndarray                    # (n_latents, d_in)
    W_enc: np.ndarray                    # (d_in, n_latents)
    b_enc: np.ndarray                    # (n_latents,); gated: the gate bias
    b_dec: np.ndarray                    # (d_in,)
    architecture: str                    # standard | topk | jumprelu | gated | groupmax
    pre_bias: np.ndarray | None = None   # subtracted from the input before encoding
    threshold: np.ndarray | None = None  # jumprelu: (n_latents,)
    k: int | None = None                 # topk: latents kept; groupmax: number of groups
    r_mag: np.ndarray | None = None      # gated: log magnitude scale
    b_mag: np.ndarray | None = None      # gated: magnitude bias
    normalize: str = "none"              # SAELens normalize_activations
    scale: np.ndarray | None = None      # per-latent factor on pre (rescale_acts_by_decoder_norm)
    jump_relu: bool = True               # jumprelu: ReLU after the jump (False: SAELens training)
    layout: str = "custom"
    path: str | None = None
    cfg: dict[str, Any] = field(default_factory=dict)
    kind: str = ""                       # the library's name for it, e.g. "BatchTopKSAE"

    def __post_init__(self) -> None:
        n, d = self.W_dec.shape
        if self.architecture not in ARCHITECTURES:
            raise InputError(f"unknown SAE architecture {self.architecture!r} (one of "
                             f"{', '.join(ARCHITECTURES)})", self.path)
        if self.normalize not in NORMALIZATIONS:
            raise InputError(f"unsupported normalize_activations {self.normalize!r} (one of "
                             f"{', '.join(NORMALIZATIONS)})", self.path)
        shapes = {"W_enc": (self.W_enc, (d, n)), "b_enc": (self.b_enc, (n,)),
                  "b_dec": (self.b_dec, (d,)), "pre_bias": (self.pre_bias, (d,)),
                  "threshold": (self.threshold, (n,)), "r_mag": (self.r_mag, (n,)),
                  "b_mag": (self.b_mag, (n,)), "scale": (self.scale, (n,))}
        for key, (arr, want) in shapes.items():
            if arr is not None and arr.shape != want:
                raise InputError(f"{key} has shape {arr.shape}, expected {want}", self.path)
        need = {"jumprelu": ("threshold",), "gated": ("r_mag", "b_mag"), "topk": ("k",),
                "groupmax": ("k",)}.get(self.architecture, ())
        for key in need:
            if getattr(self, key) is None:
                raise InputError(f"a {self.architecture} SAE needs {key}", self.path)
        if self.architecture in ("topk", "groupmax") and not 1 <= int(self.k or 0) <= n:
            raise InputError(f"k={self.k} must be in [1, {n}]", self.path)
        if self.architecture == "groupmax" and n % int(self.k or 1):
            raise InputError(f"groupmax needs num_latents ({n}) divisible by k ({self.k})",
                             self.path)

    @property
    def d_in(self) -> int:
        return int(self.W_dec.shape[1])

    @property
    def n_latents(self) -> int:
        return int(self.W_dec.shape[0])

    d_sae = n_latents

    def _input(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=self.W_enc.dtype)
        if x.ndim != 2 or x.shape[1] != self.d_in:
            raise InputError(f"inputs must have shape (n, {self.d_in}), got {x.shape}",
                             self.path)
        x = normalize_input(x, self.normalize)
        return x if self.pre_bias is None else x - self.pre_bias

    def _project(self, x: np.ndarray, device: Any = None) -> np.ndarray:
        if device is None:
            return x @ self.W_enc
        import torch

        return (torch.as_tensor(x, device=device)
                @ torch.as_tensor(self.W_enc, device=device)).cpu().numpy()

    def pre_activations(self, x: Any, device: Any = None) -> np.ndarray:
        """The pre-activations (n, n_latents) the activation is applied to (gated: the gate)."""
        pre = self._project(self._input(x), device) + self.b_enc
        return pre if self.scale is None else pre * self.scale

    def encode(self, x: Any, device: Any = None) -> np.ndarray:
        """Latent activations (n, n_latents), as the SAE's own library encodes them."""
        xin = self._input(x)
        proj = self._project(xin, device)
        pre = proj + self.b_enc
        if self.scale is not None:
            pre = pre * self.scale
        zero = np.zeros((), pre.dtype)
        arch = self.architecture
        if arch == "standard":
            return np.maximum(pre, zero)
        if arch == "jumprelu":
            out = np.where(pre > self.threshold, pre, zero)
            return np.maximum(out, zero) if self.jump_relu else out
        if arch == "topk":
            return np.where(topk_mask(pre, int(self.k)), pre, zero)
        if arch == "groupmax":
            act = np.maximum(pre, zero)
            n, f = act.shape
            groups = act.reshape(n, int(self.k), f // int(self.k))
            arg = groups.argmax(axis=2)  # first maximum, as torch.max on CPU
            out = np.zeros_like(groups)
            np.put_along_axis(out, arg[..., None], np.take_along_axis(groups, arg[..., None], 2),
                              axis=2)
            return out.reshape(n, f)
        # gated: gate on proj + b_gate; magnitude relu(proj * exp(r_mag) + b_mag)
        assert self.r_mag is not None and self.b_mag is not None
        mag = np.maximum(proj * np.exp(self.r_mag) + self.b_mag, zero)
        return np.where(pre > 0, mag, zero)

    def decode(self, f: Any) -> np.ndarray:
        """Reconstruction ``f @ W_dec + b_dec`` (before any output normalization)."""
        return np.asarray(f, dtype=self.W_dec.dtype) @ self.W_dec + self.b_dec

    def describe(self) -> str:
        """One line: layout, library name and encoding, for messages and metadata."""
        return f"{self.layout} {self.kind or self.architecture}"
