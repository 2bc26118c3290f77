"""Offline labelers from user-provided embeddings (no network): the vocabulary entry closest
to the centroid of the activating concepts (``embedding``), or to the difference between the
activating and the contrasting concepts' centroids (``contrastive``); scored by detection with
a similarity threshold fitted on the shown examples.

File format (concept embeddings and vocabulary alike), ``.npz`` or ``.safetensors``:
either two arrays ``names`` (strings, npz only) and ``vectors`` (n x d floats), or one 1-D
float array per entry whose key is the concept name / label phrase.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ontochron.errors import InputError
from ontochron.labels.evidence import Evidence
from ontochron.labels.result import LabelFailure, LabelResult
from ontochron.labels.scoring import threshold_score

PROMPT_VERSION = "emb-v1"


class Vectors:
    """Named unit vectors (rows of ``unit``), with a content hash for cache keys."""

    def __init__(self, names: Sequence[str], vectors: np.ndarray, source: str = "") -> None:
        vec = np.asarray(vectors, dtype=np.float64)
        if vec.ndim != 2 or vec.shape[0] != len(names) or vec.shape[0] == 0:
            raise InputError(f"expected a non-empty (n, d) vector array with one row per name, "
                             f"got shape {vec.shape} for {len(names)} names", source or None)
        if not np.isfinite(vec).all():
            raise InputError("vectors contain NaN or infinity", source or None)
        norms = np.linalg.norm(vec, axis=1)
        if (norms == 0).any():
            bad = names[int(np.flatnonzero(norms == 0)[0])]
            raise InputError(f"zero vector for {bad!r}", source or None)
        self.names = [str(n) for n in names]
        if len(set(self.names)) != len(self.names):
            raise InputError("duplicate names", source or None)
        self.unit = vec / norms[:, None]
        self.source = source
        self.index = {n: i for i, n in enumerate(self.names)}
        h = hashlib.sha256()
        h.update("\x00".join(self.names).encode("utf-8"))
        h.update(np.ascontiguousarray(vec, dtype="<f8").tobytes())
        self.hash = h.hexdigest()

    @property
    def dim(self) -> int:
        return int(self.unit.shape[1])

    def rows(self, names: Sequence[str]) -> np.ndarray:
        """Row indices of the ``names`` that have a vector (unknown names are dropped)."""
        return np.array([self.index[n] for n in names if n in self.index], dtype=np.int64)


def load_vectors(path: str | os.PathLike[str]) -> Vectors:
    """Read a named-vector file (see the module docstring); InputError naming the file."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such embeddings file", p)
    try:
        if p.suffix == ".npz":
            from ontochron.npzinput import check_npz_file

            check_npz_file(p)
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        elif p.suffix == ".safetensors":
            from safetensors.numpy import load_file
            arrays = load_file(str(p))
        else:
            raise InputError("embeddings must be a .npz or .safetensors file", p)
    except InputError:
        raise
    except Exception as exc:  # corrupt archive, pickled objects, bad header...
        raise InputError(f"cannot read embeddings: {exc}", p) from exc
    if "names" in arrays and "vectors" in arrays:
        names = arrays["names"]
        if names.dtype.kind not in "US":
            raise InputError("'names' must be an array of strings", p)
        from ontochron.jsoninput import check_text

        labels = [str(n) for n in names.tolist()]
        check_text(labels, p, "name")
        return Vectors(labels, arrays["vectors"], str(p))
    if not arrays:
        raise InputError("the file holds no vectors", p)
    bad = [k for k, v in arrays.items() if v.ndim != 1 or v.dtype.kind not in "fiu"]
    if bad:
        raise InputError(f"expected 'names' + 'vectors', or one 1-D numeric vector per key; "
                         f"{bad[0]!r} is not", p)
    dims = {v.shape[0] for v in arrays.values()}
    if len(dims) != 1:
        raise InputError(f"vectors have different lengths {sorted(dims)}", p)
    keys = list(arrays)
    return Vectors(keys, np.stack([arrays[k] for k in keys]), str(p))


class EmbeddingLabeler:
    """Centroid (``contrastive=False``) or contrastive labels from concept embeddings and a
    vocabulary of candidate labels embedded in the same space."""

    prompt_version = PROMPT_VERSION

    def __init__(self, concepts: Vectors, vocab: Vectors, *, contrastive: bool = False) -> None:
        if concepts.dim != vocab.dim:
            raise InputError(f"concept embeddings have {concepts.dim} dimensions but the "
                             f"vocabulary has {vocab.dim}", vocab.source or None)
        self.concepts, self.vocab = concepts, vocab
        self.contrastive = contrastive
        self.method = "contrastive" if contrastive else "embedding"
        self.model = f"vocab:{Path(vocab.source).name or 'memory'}@{vocab.hash[:12]}"

    def settings(self) -> dict[str, Any]:
        """Cache-key settings: the contents of both files."""
        return {"concepts": self.concepts.hash, "vocab": self.vocab.hash}

    def estimate(self, ev: Evidence) -> tuple[int, int, float]:
        """Offline: free."""
        return 0, 0, 0.0

    def label(self, ev: Evidence) -> LabelResult:
        """Label one Evidence (see :meth:`label_many`); raises LabelFailure."""
        out = self.label_many([ev])[0]
        if isinstance(out, LabelFailure):
            raise out
        return out

    def label_many(self, evs: Sequence[Evidence]) -> list[LabelResult | LabelFailure]:
        """Label a batch at once: one sparse product gives every feature's direction, one
        matrix product its similarity to every vocabulary entry."""
        U, V = self.concepts.unit, self.vocab.unit
        n = len(evs)
        rows = [{k: self.concepts.rows(getattr(e, k))
                 for k in ("positives", "negatives", "held_pos", "held_neg")} for e in evs]
        pos = _mean_operator([r["positives"] for r in rows], U.shape[0])
        direction = pos @ U
        if self.contrastive:
            has_neg = np.array([r["negatives"].size > 0 for r in rows])
            neg = _mean_operator([r["negatives"] for r in rows], U.shape[0])
            direction = direction - (neg @ U) * has_neg[:, None]
        norm = np.linalg.norm(direction, axis=1)
        safe = np.where(norm > 0, norm, 1.0)
        sims = (direction / safe[:, None]) @ V.T  # (features, vocabulary)
        k = min(2, V.shape[0])
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        out: list[LabelResult | LabelFailure] = []
        for i in range(n):  # per feature: dot products over its own few dozen concepts
            ev, r = evs[i], rows[i]
            if r["positives"].size == 0 or norm[i] == 0:
                out.append(LabelFailure(f"feature {ev.feature}: no embedding for any shown "
                                        "activating concept" if r["positives"].size == 0 else
                                        f"feature {ev.feature}: the contrastive direction is 0"))
                continue
            best = int(top[i, 0])
            v = V[best]
            train = np.concatenate([r["positives"], r["negatives"]])
            test = np.concatenate([r["held_pos"], r["held_neg"]])
            score, thr = threshold_score(
                U[train] @ v, np.arange(train.size) < r["positives"].size,
                U[test] @ v, np.arange(test.size) < r["held_pos"].size)
            cos = float(sims[i, best])
            runner = (f"; next: {self.vocab.names[int(top[i, 1])]!r} "
                      f"{float(sims[i, top[i, 1]]):.2f}") if k > 1 else ""
            what = ("the difference between the centroids of {p} activating and {q} "
                    "contrasting concepts" if self.contrastive and r["negatives"].size else
                    "the centroid of {p} activating concepts")
            expl = (f"closest of {V.shape[0]} vocabulary entries to "
                    + what.format(p=r["positives"].size, q=r["negatives"].size)
                    + f" (cosine {cos:.2f}{runner})")
            out.append(LabelResult(ev.feature, ev.step, self.method, self.model,
                                   self.prompt_version, ev.hash, self.vocab.names[best], expl,
                                   float(np.clip(cos, 0.0, 1.0)), score,
                                   details={"threshold": thr, "held_out": int(test.size),
                                            "missing_embeddings": int(
                                                sum(len(getattr(ev, a)) for a in
                                                    ("positives", "negatives", "held_pos",
                                                     "held_neg")) - train.size - test.size)}))
        return out


def _mean_operator(groups: Sequence[np.ndarray], n_cols: int) -> sp.csr_array:
    """Sparse (groups x n_cols) matrix whose product with a row matrix averages each group."""
    sizes = np.array([g.size for g in groups], dtype=np.int64)
    cols = np.concatenate(groups) if len(groups) else np.zeros(0, dtype=np.int64)
    weights = np.repeat(1.0 / np.maximum(sizes, 1), sizes)
    indptr = np.concatenate([[0], np.cumsum(sizes)])
    return sp.csr_array((weights, cols, indptr), shape=(len(groups), n_cols))
