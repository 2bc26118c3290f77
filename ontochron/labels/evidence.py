"""The evidence a feature is labelled from at one checkpoint: the concepts that activate it and
contrasting (hard-negative) concepts that do not, split by a seeded rule into the examples
shown to the labeler and a held-out set used to score the label."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# Features whose hard-negative scores are computed at once (bounds the dense block).
_CHUNK = 256


@dataclass(frozen=True)
class EvidenceConfig:
    """How many examples are shown and held out; ``seed`` fixes the split."""

    max_examples: int = 20  # activating concepts shown
    max_contrast: int = 20  # non-activating concepts shown
    holdout: float = 0.3  # fraction of activating concepts held out for scoring
    max_holdout: int = 10  # at most this many held-out activating (and non-activating) concepts
    seed: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return {"max_examples": self.max_examples, "max_contrast": self.max_contrast,
                "holdout": self.holdout, "max_holdout": self.max_holdout, "seed": self.seed}


@dataclass(frozen=True)
class Evidence:
    """One feature at one step: shown ``positives``/``negatives`` and held-out
    ``held_pos``/``held_neg`` concept names (the scoring split)."""

    feature: int
    step: int
    positives: tuple[str, ...]
    negatives: tuple[str, ...]
    held_pos: tuple[str, ...]
    held_neg: tuple[str, ...]
    n_active: int  # activating concepts at the step (before sampling)

    def content(self) -> dict[str, list[str]]:
        """What prompts are built from: concept names only (no index, step or run), so an
        unchanged feature at another checkpoint gives the same content and hash."""
        return {"positives": list(self.positives), "negatives": list(self.negatives),
                "held_pos": list(self.held_pos), "held_neg": list(self.held_neg)}

    @property
    def hash(self) -> str:
        """SHA-256 of :meth:`content` (canonical JSON)."""
        return content_hash(self.content())


def content_hash(obj: object) -> str:
    """SHA-256 hex digest of ``obj`` as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def name_ranks(names: Sequence[str], seed: int) -> np.ndarray:
    """A seeded pseudo-random order key per concept name (uint64 from BLAKE2b of seed+name).

    Depends only on the name, so adding or removing other concepts leaves the relative
    order of the rest unchanged; that keeps a feature's sample stable across checkpoints.
    """
    salt = str(seed).encode()
    return np.fromiter((int.from_bytes(hashlib.blake2b(n.encode("utf-8"), digest_size=8,
                                                       salt=salt[:16]).digest(), "little")
                        for n in names), dtype=np.uint64, count=len(names))


def build_evidence(names: Sequence[str], codes: sp.csr_array | sp.csr_matrix,
                   present: np.ndarray, features: Sequence[int], step: int,
                   config: EvidenceConfig | None = None) -> list[Evidence]:
    """Evidence for each of ``features`` from the codes at ``step``.

    ``codes``: (n_concepts, n_features) 0/1 matrix of the ACTIVATES relations holding at the
    step; ``present``: bool per concept (present at the step). Activating concepts are
    ordered by :func:`name_ranks`; the first ``h`` are held out and the next
    ``max_examples`` shown. Non-activating present concepts are ranked hardest first (most
    features shared with the activating ones, ties by name rank) and dealt alternately into
    the held-out and shown contrast sets. Features with no activating concept get no
    Evidence (they are absent from the result).
    """
    config = config or EvidenceConfig()
    m = sp.csc_array(codes, dtype=np.float64)
    n_concepts = m.shape[0]
    present = np.asarray(present, dtype=bool)
    if present.shape != (n_concepts,):
        raise ValueError("present must have one entry per concept")
    feats = np.asarray(features, dtype=np.int64)
    rank = name_ranks(names, config.seed)
    # order of concepts by rank; positions let us sort subsets by rank cheaply
    rank_pos = np.empty(n_concepts, dtype=np.int64)
    rank_pos[np.argsort(rank, kind="stable")] = np.arange(n_concepts)
    mr = sp.csr_array(m)
    need = min(n_concepts, config.max_contrast + 2 * config.max_holdout)
    out: list[Evidence] = []
    for lo in range(0, feats.size, _CHUNK):
        chunk = feats[lo:lo + _CHUNK]
        cols = sp.csc_array(m[:, chunk])  # (concepts, chunk)
        # hardness[c, j] = features concept c shares with feature j's activating concepts:
        # codes @ (codes.T @ cols). Dense (concepts x chunk): hard-negative mining must look
        # at every present concept for every feature; the chunk bounds the memory.
        hard = (mr @ (mr.T @ cols)).toarray().astype(np.int64)
        # one sortable key per (concept, feature): hardest first, then name rank; concepts
        # that activate the feature or are absent sort last
        key = (hard.max(initial=0) - hard) * max(n_concepts, 1) + rank_pos[:, None]
        key[~present] = np.iinfo(np.int64).max
        key[cols.indices, np.repeat(np.arange(chunk.size), np.diff(cols.indptr))] = \
            np.iinfo(np.int64).max
        if need:
            top = np.argpartition(key, need - 1, axis=0)[:need]
            top = np.take_along_axis(top, np.argsort(np.take_along_axis(key, top, axis=0),
                                                     axis=0, kind="stable"), axis=0)
        for j, f in enumerate(chunk):  # per feature: work bounded by its own concepts
            act = cols.indices[cols.indptr[j]:cols.indptr[j + 1]]
            act = act[present[act]]
            if act.size == 0:
                continue
            act = act[np.argsort(rank_pos[act], kind="stable")]
            h = min(config.max_holdout, int(np.floor(act.size * config.holdout)))
            if act.size >= 2:
                h = max(h, 1)
            cand = top[:, j] if need else np.zeros(0, dtype=np.int64)
            cand = cand[key[cand, j] != np.iinfo(np.int64).max]
            n_held_neg = min(h, cand.size // 2)
            taken = np.zeros(cand.size, dtype=bool)
            taken[1:2 * n_held_neg:2] = True  # every other hard negative is held out
            out.append(Evidence(int(f), int(step),
                                tuple(names[i] for i in act[h:h + config.max_examples]),
                                tuple(names[i] for i in cand[~taken][:config.max_contrast]),
                                tuple(names[i] for i in act[:h]),
                                tuple(names[i] for i in cand[taken]), int(act.size)))
    return out
