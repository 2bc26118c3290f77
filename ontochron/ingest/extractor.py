"""The extractor interface: model activations for probe inputs -> binary codes per concept.

A user writes their own extractor by subclassing :class:`Extractor` and implementing
:meth:`Extractor.encode` (about 20 lines); :meth:`Extractor.snapshot` then aggregates the
codes of the many inputs that stand for one concept.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.ingest.snapshot import Snapshot

AGGREGATIONS = ("majority", "rate")


def as_numpy(x: Any) -> np.ndarray:
    """A numpy view of ``x``; torch tensors are detached and moved to the CPU first."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(getattr(x, "dtype", "")) == "torch.bfloat16":
            x = x.float()
        return x.numpy()
    return np.asarray(x)


class Extractor(ABC):
    """Base class for extractors. Subclasses set ``name`` and ``n_features`` and implement
    :meth:`encode`."""

    name: str = "custom"
    n_features: int

    @abstractmethod
    def encode(self, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Encode a batch (n_inputs, ...) into ``(codes, continuous)``.

        ``codes`` is boolean (n_inputs, n_features); ``continuous`` is float (n_inputs,
        n_features) feature activations or None when the extractor has none.
        """

    def snapshot(self, step: int, inputs: Mapping[str, Any], *, aggregate: str = "majority",
                 rate_threshold: float = 0.5, metadata: Mapping[str, Any] | None = None,
                 source: str | None = None) -> Snapshot:
        """Encode each concept's inputs and aggregate them into one code per concept.

        ``inputs`` maps concept name -> array (n_inputs, ...) of the model activations for the
        inputs that stand for that concept (a single input may be given without the batch
        axis). ``aggregate="majority"`` sets a feature when more than half of the inputs have
        it; ``"rate"`` sets it when the fraction is at least ``rate_threshold``. Continuous
        values are averaged over the inputs.
        """
        if aggregate not in AGGREGATIONS:
            raise InputError(f"aggregate must be one of {AGGREGATIONS}, got {aggregate!r}")
        if not 0.0 < rate_threshold <= 1.0:
            raise InputError(f"rate_threshold must be in (0, 1], got {rate_threshold}")
        names = list(inputs)
        if not names:
            raise InputError("no concepts given to the extractor", source)
        batches = [as_numpy(inputs[c]) for c in names]
        sizes = []
        for c, b in zip(names, batches, strict=True):
            if b.size == 0:
                raise InputError(f"concept {c!r} has no inputs", source)
            sizes.append(1 if b.ndim == 1 else b.shape[0])
        flat = np.concatenate([b[None] if b.ndim == 1 else b for b in batches], axis=0)
        if np.issubdtype(flat.dtype, np.floating) and not np.all(np.isfinite(flat)):
            raise InputError("activations contain NaN or inf", source)
        codes, cont = self.encode(flat)
        codes = np.asarray(codes, dtype=bool)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        counts = np.add.reduceat(codes.astype(np.int32), bounds[:-1], axis=0)
        rates = counts / np.asarray(sizes, dtype=np.float64)[:, None]
        agg = rates > 0.5 if aggregate == "majority" else rates >= rate_threshold
        agg_cont = None
        if cont is not None:
            cont = np.asarray(cont, dtype=np.float64)
            agg_cont = (np.add.reduceat(cont, bounds[:-1], axis=0)
                        / np.asarray(sizes, dtype=np.float64)[:, None]).astype(np.float32)
        meta = {"extractor": self.name, "aggregate": aggregate, **dict(metadata or {})}
        return Snapshot.create(step, names, agg, agg_cont, meta, source)
