"""Built-in extractors: sparse autoencoders, vector quantizers, FSQ and binary bottlenecks.

Each turns a batch of model activations (numpy array or torch tensor) into boolean codes;
:meth:`ontochron.ingest.extractor.Extractor.snapshot` then aggregates them per concept.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.ingest.extractor import Extractor, as_numpy
from ontochron.sae.model import NORMALIZATIONS as SAE_NORMALIZATIONS
from ontochron.sae.model import topk_mask

SAE_ACTIVATIONS = ("relu", "jumprelu", "topk", "gated")


def _float2d(x: Any, width: int, what: str, dtype: Any = np.float64) -> np.ndarray:
    arr = as_numpy(x)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != width:
        raise InputError(f"{what}: expected activations of shape (n_inputs, {width}), "
                         f"got {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{what}: activations must be numeric, got dtype {arr.dtype}")
    return arr.astype(dtype, copy=False)


def normalize_sae_input(x: np.ndarray, how: str) -> np.ndarray:
    """SAELens' ``normalize_activations`` of an (n, d_in) batch (see
    :func:`ontochron.sae.model.normalize_input`)."""
    from ontochron.sae.model import normalize_input

    return normalize_input(x, how)


class SAEExtractor(Extractor):
    """Sparse autoencoder features from the one SAE model (:class:`ontochron.sae.SAE`):
    ``f = act((x - b_dec) @ W_enc + b_enc)``.

    Code rule: with ``topk=k`` a feature is on when it is among the k largest positive ``f``
    of that input (ties -> lower index); otherwise when ``f > threshold``. ``continuous`` is
    ``f``. ``activation`` is ``"relu"``, ``"jumprelu"`` (``relu(pre) * (pre > jump_threshold)``),
    ``"topk"`` (keep the k largest pre-activations, then relu) or ``"gated"`` (``b_enc`` is the
    gate bias: ``(pre > 0) * relu((pre - b_enc) * exp(r_mag) + b_mag)``), as in SAELens.
    :meth:`from_folder` reads any layout ontochron reads and encodes it as its library does.
    """

    name = "sae"

    def __init__(self, W_enc: Any, b_enc: Any, b_dec: Any = None, *, W_dec: Any = None,
                 topk: int | None = None, threshold: float = 0.0, activation: str = "relu",
                 jump_threshold: Any = None, apply_b_dec_to_input: bool = True,
                 normalize_activations: str = "none", device: Any = None,
                 r_mag: Any = None, b_mag: Any = None) -> None:
        from ontochron.sae.model import SAE

        w = as_numpy(W_enc)
        # compute in float64 only when the weights are float64; SAEs are usually float32
        self.dtype = np.float64 if w.dtype == np.float64 else np.float32
        W = w.astype(self.dtype)
        if W.ndim != 2:
            raise InputError(f"W_enc must be 2-D (d_in, d_sae), got shape {W.shape}")
        d_in, d_sae = W.shape
        b_enc_v = self._vector(b_enc, d_sae, "b_enc")
        b_dec_v = None if b_dec is None else self._vector(b_dec, d_in, "b_dec")
        W_dec_m = None if W_dec is None else as_numpy(W_dec).astype(self.dtype)
        if W_dec_m is not None and W_dec_m.shape != (d_sae, d_in):
            raise InputError(f"W_dec must have shape ({d_sae}, {d_in}), got {W_dec_m.shape}")
        if activation not in SAE_ACTIVATIONS:
            raise InputError(f"activation must be one of {SAE_ACTIVATIONS}, got {activation!r}")
        if activation == "topk" and topk is None:
            raise InputError("activation='topk' needs topk=k")
        if topk is not None and (int(topk) != topk or topk < 1):
            raise InputError(f"topk must be a positive integer, got {topk!r}")
        thr = None
        if activation == "jumprelu":
            if jump_threshold is None:
                raise InputError("activation='jumprelu' needs jump_threshold")
            jt = as_numpy(jump_threshold).astype(self.dtype)
            thr = np.full(d_sae, float(jt), self.dtype) if jt.ndim == 0 \
                else self._vector(jt, d_sae, "jump_threshold")
        rm = bm = None
        if activation == "gated":
            if r_mag is None or b_mag is None:
                raise InputError("activation='gated' needs r_mag and b_mag")
            rm, bm = self._vector(r_mag, d_sae, "r_mag"), self._vector(b_mag, d_sae, "b_mag")
        if normalize_activations not in SAE_NORMALIZATIONS:
            raise InputError(f"normalize_activations must be one of {SAE_NORMALIZATIONS}, "
                             f"got {normalize_activations!r}")
        zeros = np.zeros(d_in, self.dtype)
        model = SAE(W_dec_m if W_dec_m is not None else W.T.copy(), W, b_enc_v,
                    zeros if b_dec_v is None else b_dec_v,
                    {"relu": "standard"}.get(activation, activation),
                    b_dec_v if apply_b_dec_to_input else None, thr,
                    int(topk) if activation == "topk" else None, rm, bm,
                    normalize=normalize_activations)
        self._init(model, topk, threshold, device, has_decoder=W_dec_m is not None)

    def _init(self, model: Any, topk: int | None, threshold: float, device: Any,
              has_decoder: bool = True) -> None:
        self.model = model
        self.d_in, self.d_sae = model.d_in, model.n_latents
        self.n_features = self.d_sae
        self.topk = None if topk is None else int(topk)
        self.threshold = float(threshold)
        self.device = device
        self._has_decoder = has_decoder

    def _vector(self, v: Any, n: int, what: str) -> np.ndarray:
        arr = as_numpy(v).astype(self.dtype)
        if arr.shape != (n,):
            raise InputError(f"{what} must have shape ({n},), got {arr.shape}")
        return arr

    @classmethod
    def from_sae(cls, model: Any, *, topk: int | None = None, threshold: float = 0.0,
                 device: Any = None) -> SAEExtractor:
        """Wrap an :class:`ontochron.sae.SAE`; a TopK SAE's codes are its k latents unless
        ``topk`` says otherwise."""
        if topk is not None and (int(topk) != topk or topk < 1):
            raise InputError(f"topk must be a positive integer, got {topk!r}")
        self = cls.__new__(cls)
        self.dtype = model.W_enc.dtype.type
        if topk is None and model.architecture == "topk":
            topk = model.k
        self._init(model, topk, threshold, device)
        return self

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str], *, layout: str = "auto",
                    sae: str | None = None, **overrides: Any) -> SAEExtractor:
        """Build from an SAE folder of any layout ontochron reads (or a checkpoint folder
        holding one, ``sae`` naming it among several); ``overrides``: topk, threshold, device."""
        from ontochron.sae.load import load_sae

        bad = set(overrides) - {"topk", "threshold", "device"}
        if bad:
            raise InputError(f"unknown SAEExtractor override(s): {', '.join(sorted(bad))}")
        return cls.from_sae(load_sae(folder, layout, sae), **overrides)

    @classmethod
    def from_saelens(cls, folder: str | os.PathLike[str], **overrides: Any) -> SAEExtractor:
        """Build from a SAELens folder (``cfg.json`` + ``sae_weights.safetensors``);
        keyword ``overrides`` (``topk=``, ``threshold=``, ``device=``) win over the cfg."""
        return cls.from_folder(folder, layout="saelens", **overrides)

    # the SAE's own settings, as attributes of the extractor
    W_enc = property(lambda self: self.model.W_enc)
    b_enc = property(lambda self: self.model.b_enc)
    b_dec = property(lambda self: self.model.b_dec)
    W_dec = property(lambda self: self.model.W_dec if self._has_decoder else None)
    r_mag = property(lambda self: self.model.r_mag)
    b_mag = property(lambda self: self.model.b_mag)
    jump_threshold = property(lambda self: self.model.threshold)
    apply_b_dec_to_input = property(lambda self: self.model.pre_bias is not None)
    normalize_activations = property(lambda self: self.model.normalize)
    activation = property(lambda self: {"standard": "relu"}.get(self.model.architecture,
                                                                 self.model.architecture))

    def pre_activations(self, x: Any) -> np.ndarray:
        """``(x - b_dec) @ W_enc + b_enc`` (n_inputs, d_sae); on ``device`` with torch if set."""
        return self.model.pre_activations(_float2d(x, self.d_in, "SAEExtractor", self.dtype),
                                          self.device)

    def features(self, x: Any) -> np.ndarray:
        """SAE feature activations ``f`` (n_inputs, d_sae), as the SAE's library encodes."""
        return self.model.encode(_float2d(x, self.d_in, "SAEExtractor", self.dtype),
                                 self.device)

    def encode(self, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        f = self.features(activations)
        codes = topk_mask(f, self.topk) if self.topk is not None else f > self.threshold
        return codes, f

    def decode(self, f: Any) -> np.ndarray:
        """Reconstruct inputs from features: ``f @ W_dec + b_dec`` (needs ``W_dec``)."""
        if not self._has_decoder:
            raise InputError("decode needs W_dec; pass W_dec= or use from_folder")
        out = _float2d(f, self.d_sae, "SAEExtractor.decode", self.dtype) @ self.model.W_dec
        return out + self.model.b_dec


class VQExtractor(Extractor):
    """Vector quantizer: each input (or each of its positions) picks its nearest codebook
    entry by squared L2 distance (ties -> lower index); the code is one-hot over the K entries
    (multi-hot over the entries used when an input has several positions)."""

    name = "vq"

    def __init__(self, codebook: Any = None, *, n_codes: int | None = None,
                 device: Any = None) -> None:
        self.device = device
        if codebook is None:
            if n_codes is None or n_codes < 1:
                raise InputError("VQExtractor needs a codebook (K, D) or n_codes=K")
            self.codebook = None
            self.n_features = int(n_codes)
        else:
            cb = as_numpy(codebook).astype(np.float64)
            if cb.ndim != 2 or cb.shape[0] < 1:
                raise InputError(f"codebook must be 2-D (K, D), got shape {cb.shape}")
            self.codebook = cb
            self.n_features = cb.shape[0]

    @classmethod
    def from_indices(cls, n_codes: int) -> VQExtractor:
        """An extractor for runs that already give integer code indices (no codebook)."""
        return cls(n_codes=n_codes)

    def nearest(self, x: Any) -> np.ndarray:
        """Index of the nearest codebook entry for each vector; ``x`` is (..., D)."""
        if self.codebook is None:
            raise InputError("this VQExtractor has no codebook; give integer indices")
        arr = as_numpy(x).astype(np.float64)
        d = self.codebook.shape[1]
        if arr.shape[-1] != d:
            raise InputError(f"VQExtractor: vectors must have last dimension {d}, "
                             f"got shape {arr.shape}")
        flat = arr.reshape(-1, d)
        # ||x||^2 is constant per row, so argmin(||c||^2 - 2 x.c) is the nearest entry.
        if self.device is None:
            dist = (self.codebook ** 2).sum(axis=1)[None, :] - 2.0 * flat @ self.codebook.T
            best = dist.argmin(axis=1)
        else:
            import torch

            cb = torch.as_tensor(self.codebook, device=self.device)
            xt = torch.as_tensor(flat, device=self.device)
            dist = (cb ** 2).sum(dim=1)[None, :] - 2.0 * xt @ cb.T
            best = dist.argmin(dim=1).cpu().numpy()  # first minimum, as numpy
        return best.reshape(arr.shape[:-1])

    def encode(self, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        arr = as_numpy(activations)
        if arr.dtype.kind in "biu":
            idx = arr.reshape(arr.shape[0], -1).astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= self.n_features):
                raise InputError(f"VQExtractor: code indices must be in [0, {self.n_features})")
        else:
            if self.codebook is None:
                raise InputError("VQExtractor.from_indices needs integer indices, "
                                 f"got dtype {arr.dtype}")
            if arr.ndim < 2:
                arr = arr[None]
            idx = self.nearest(arr).reshape(arr.shape[0], -1)
        codes = np.zeros((idx.shape[0], self.n_features), dtype=bool)
        codes[np.repeat(np.arange(idx.shape[0]), idx.shape[1]), idx.ravel()] = True
        return codes, None


def fsq_bound(z: np.ndarray, levels: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """FSQ bounding (Mentzer et al. 2023): ``tanh(z + shift) * half_l - offset`` per dimension,
    so that rounding gives ``levels[d]`` values (offset 0.5 and a shift for even counts)."""
    half_l = (levels - 1) * (1 - eps) / 2
    offset = np.where(levels % 2 == 0, 0.5, 0.0)
    shift = np.tan(offset / half_l)  # as in the paper's reference code
    return np.tanh(z + shift) * half_l - offset


class FSQExtractor(Extractor):
    """Finite scalar quantization of a d = len(levels) latent into per-dimension levels.

    Each dimension d is quantized to a centred integer level in ``[-(L//2), (L-1)//2]``
    (L = levels[d]); index = level + L//2 in ``[0, L)``. ``mode="nonzero"``: feature d is on
    when the level is not 0 (the centre). ``mode="onehot"``: feature ``offset[d] + index``
    is on, with ``offset[d] = sum(levels[:d])`` (sum(levels) features). ``input_kind`` says
    what the activations hold: raw ``"latent"`` z (bounded and rounded here), centred integer
    ``"levels"``, or ``"indices"`` in [0, L).
    """

    name = "fsq"

    def __init__(self, levels: Sequence[int], mode: str = "nonzero", *,
                 input_kind: str = "latent", eps: float = 1e-3) -> None:
        lv = np.asarray(levels)
        if lv.ndim != 1 or lv.size == 0 or lv.dtype.kind not in "iu" or np.any(lv < 2):
            raise InputError(f"levels must be a non-empty list of integers >= 2, got {levels!r}")
        if mode not in ("nonzero", "onehot"):
            raise InputError(f"mode must be 'nonzero' or 'onehot', got {mode!r}")
        if input_kind not in ("latent", "levels", "indices"):
            raise InputError(f"input_kind must be 'latent', 'levels' or 'indices', "
                             f"got {input_kind!r}")
        self.levels = lv.astype(np.int64)
        self.mode = mode
        self.input_kind = input_kind
        self.eps = float(eps)
        self.offsets = np.concatenate([[0], np.cumsum(self.levels)[:-1]])
        self.n_features = int(lv.size if mode == "nonzero" else lv.sum())

    def quantize(self, z: Any) -> np.ndarray:
        """Centred integer levels (n, ..., d) for raw latents z (n, ..., d)."""
        arr = as_numpy(z).astype(np.float64)
        return np.round(fsq_bound(arr, self.levels, self.eps)).astype(np.int64)

    def encode(self, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        arr = as_numpy(activations)
        d = self.levels.size
        if arr.ndim == 1:
            arr = arr[None]
        if arr.shape[-1] != d:
            raise InputError(f"FSQExtractor: last dimension must be {d} (len(levels)), "
                             f"got shape {arr.shape}")
        half = self.levels // 2
        if self.input_kind == "latent":
            level = self.quantize(arr)
        else:
            vals = arr.astype(np.float64)
            if not np.all(vals == np.round(vals)):
                raise InputError(f"FSQExtractor: {self.input_kind} must be integers")
            level = vals.astype(np.int64) - (half if self.input_kind == "indices" else 0)
        if np.any(level < -half) or np.any(level > (self.levels - 1) // 2):
            raise InputError(f"FSQExtractor: {self.input_kind} out of range for levels "
                             f"{self.levels.tolist()}")
        level = level.reshape(level.shape[0], -1, d)  # (n, positions, d)
        if self.mode == "nonzero":
            codes = np.any(level != 0, axis=1)
            cont = (level / np.maximum(half, 1)).mean(axis=1)
            return codes, cont
        n, p, _ = level.shape
        cols = (level + half + self.offsets).reshape(n, -1)
        codes = np.zeros((n, self.n_features), dtype=bool)
        codes[np.repeat(np.arange(n), p * d), cols.ravel()] = True
        return codes, None


class BinaryExtractor(Extractor):
    """A binary bottleneck: feature i is on when ``x[i] > threshold``; continuous is x.

    ``x`` are probabilities (e.g. sigmoid outputs) by default; pass ``logits=True`` for
    pre-sigmoid values, and the threshold stays a probability (0.5 -> logit 0). Values
    outside [0, 1] with ``logits=False`` and a threshold in (0, 1) draw one warning: they
    look like logits. Inputs with several axes after the batch axis are flattened.
    """

    name = "binary"

    def __init__(self, threshold: float = 0.5, n_features: int | None = None, *,
                 logits: bool = False) -> None:
        self.threshold = float(threshold)
        self.logits = bool(logits)
        if self.logits and not 0.0 < self.threshold < 1.0:
            raise InputError(f"BinaryExtractor: with logits=True the threshold is a "
                             f"probability in (0, 1), got {self.threshold}")
        self._warned = False
        if n_features is not None:
            self.n_features = int(n_features)

    def _cut(self) -> float:
        """The threshold on the input's scale (the logit of a probability threshold)."""
        t = self.threshold
        return float(np.log(t / (1.0 - t))) if self.logits else t

    def encode(self, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        arr = as_numpy(activations)
        if arr.ndim == 1:
            arr = arr[None]
        if arr.dtype.kind not in "biuf":
            raise InputError(f"BinaryExtractor: activations must be numeric, got {arr.dtype}")
        x = arr.reshape(arr.shape[0], -1).astype(np.float64)
        if getattr(self, "n_features", None) not in (None, x.shape[1]):
            raise InputError(f"BinaryExtractor: expected {self.n_features} features, "
                             f"got {x.shape[1]}")
        self.n_features = x.shape[1]
        if (not self.logits and not self._warned and 0.0 < self.threshold < 1.0 and x.size
                and (x.min() < 0.0 or x.max() > 1.0)):
            self._warned = True
            warnings.warn(f"BinaryExtractor: values outside [0, 1] (min {float(x.min()):.3g}, "
                          f"max {float(x.max()):.3g}) met the probability threshold "
                          f"{self.threshold}; if these are logits pass logits=True (or a "
                          "threshold on their scale)", UserWarning, stacklevel=2)
        return x > self._cut(), x
