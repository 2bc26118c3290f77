"""Lifecycle of (concept, feature) pairs streamed over checkpoints: ACTIVATES intervals,
births, deaths, and per-feature birth/death steps and stability."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ontochron.ontology.intervals import OPEN
from ontochron.ontology.result import Events, Relations

if TYPE_CHECKING:
    from ontochron.ingest.snapshot import CodeStack


def csr_keys(x: sp.csr_array, width: int) -> np.ndarray:
    """Sorted int64 keys ``row * width + col`` of the nonzeros of a CSR matrix."""
    x = sp.csr_array(x)
    if not x.has_sorted_indices:
        x.sort_indices()
    rows = np.repeat(np.arange(x.shape[0], dtype=np.int64), np.diff(x.indptr))
    return rows * width + x.indices.astype(np.int64)


class RunTracker:
    """Streams maximal runs of consecutive checkpoints at which keys hold.

    Call :meth:`update` once per checkpoint index with the sorted unique keys that hold
    there (and optional per-key payload columns); closed runs are kept with the payload of
    their last checkpoint. :meth:`finish` returns every run, open ones ending at OPEN.
    With ``key_space`` (all keys below it, at most MAX_SLOT_SPACE) old and new keys are
    matched through a dense slot table (4 bytes per possible key) instead of a search.
    """

    # Key spaces up to this size use a dense slot table (4 bytes per key) for the matching.
    MAX_SLOT_SPACE = 1 << 27

    def __init__(self, payload_names: tuple[str, ...] = (), key_space: int | None = None
                 ) -> None:
        self.names = payload_names
        self.keys = np.zeros(0, dtype=np.int64)
        self.start = np.zeros(0, dtype=np.int64)
        self.payload = {n: np.zeros(0) for n in payload_names}
        self._out: list[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
        # keys < key_space: match old keys to new ones by a slot table instead of a search
        self._slot = (np.full(key_space, -1, dtype=np.int32)
                      if key_space is not None and 0 < key_space <= self.MAX_SLOT_SPACE
                      else None)

    def _positions(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``keys`` of each held key, whether it is there at all)."""
        if self._slot is not None and keys.size < 1 << 31:
            self._slot[keys] = np.arange(keys.size, dtype=np.int32)
            pos = self._slot[self.keys].astype(np.int64)
            self._slot[keys] = -1
            return pos, pos >= 0
        pos = np.searchsorted(keys, self.keys)
        cont = pos < keys.size
        cont[cont] = keys[pos[cont]] == self.keys[cont]
        return pos, cont

    def update(self, t: int, keys: np.ndarray,
               payload: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Advance to checkpoint ``t``; return (keys that start a run, keys whose run ended)."""
        keys = np.asarray(keys, dtype=np.int64)
        payload = payload or {}
        pos, cont = self._positions(keys)
        ended = np.flatnonzero(~cont)  # few: gather by index rather than mask every array
        ended_keys = self.keys[ended]
        if ended.size:
            self._out.append((ended_keys, self.start[ended],
                              np.full(ended.size, t, dtype=np.int64),
                              {n: v[ended] for n, v in self.payload.items()}))
        start = np.full(keys.size, t, dtype=np.int64)
        start[pos[cont]] = self.start[cont]
        is_new = start == t
        self.keys, self.start = keys, start
        self.payload = {n: np.asarray(payload[n]) for n in self.names}
        return keys[is_new], ended_keys

    def finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """All runs as (key, start index, end index or OPEN, payload), sorted by key, start."""
        parts = self._out + [(self.keys, self.start,
                              np.full(self.keys.size, OPEN, dtype=np.int64), self.payload)]
        key = np.concatenate([p[0] for p in parts])
        start = np.concatenate([p[1] for p in parts])
        end = np.concatenate([p[2] for p in parts])
        pay = {n: np.concatenate([np.asarray(p[3][n], dtype=np.float64) for p in parts])
               for n in self.names}
        width = int(start.max()) + 1 if start.size else 1
        if key.size and int(key.max()) < (2 ** 62) // width:
            # one int64 sort key; (key, start) pairs are unique, so any sort kind is exact
            order = np.argsort(key * width + start)
        else:
            order = np.lexsort((start, key))
        return key[order], start[order], end[order], {n: v[order] for n, v in pay.items()}


def csr_equal(a: sp.csr_array | None, b: sp.csr_array) -> bool:
    """True when two CSR matrices hold the same pattern (used to reuse the results of a
    checkpoint whose codes equal the previous one's, common late in training)."""
    if a is None or a.shape != b.shape or a.nnz != b.nnz:
        return False
    a, b = (m if m.has_sorted_indices else m.sorted_indices()  # copies: inputs untouched
            for m in (sp.csr_array(a), sp.csr_array(b)))
    return bool(np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
                and np.array_equal(a.data != 0, b.data != 0))


def repeated_checkpoints(stack: CodeStack) -> np.ndarray:
    """Per checkpoint: same present concepts with the same codes as the previous one? Such
    a checkpoint gives the previous one's tests, so they are reused, not recomputed."""
    out = np.zeros(stack.n_steps, dtype=bool)
    for t in range(1, stack.n_steps):  # one comparison per checkpoint
        out[t] = (np.array_equal(stack.present[t], stack.present[t - 1])
                  and csr_equal(stack.codes[t - 1], stack.codes[t]))
    return out


def object_full(n: int, value: str) -> np.ndarray:
    """Object array of ``n`` references to ``value``; np.full is ~30x slower for objects."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def index_to_steps(idx: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Checkpoint indices -> step values, keeping OPEN."""
    return np.where(idx == OPEN, OPEN, steps[np.maximum(idx, 0)]).astype(np.int64)


class LifecycleTracker:
    """Feed one checkpoint at a time; :meth:`finish` gives activations, births, deaths and
    per-feature stats. Memory: the active (concept, feature) keys of one checkpoint."""

    def __init__(self, n_concepts: int, n_features: int) -> None:
        self.c, self.f = n_concepts, n_features
        self.runs = RunTracker(key_space=n_concepts * n_features)
        self.first = np.full(n_features, -1, dtype=np.int64)
        self.last = np.full(n_features, -1, dtype=np.int64)
        self.changed = np.zeros(n_features, dtype=np.int64)
        self.pairs = 0
        self.n_last = np.zeros(n_features, dtype=np.int64)
        self.t = -1

    def update(self, t: int, codes: sp.csr_array, changed_cols: np.ndarray | None,
               n_both: int) -> None:
        """Record checkpoint index ``t``: its codes (absent rows empty), and for t > 0 the
        per-feature count of bits that changed among concepts present at t-1 and t."""
        self.runs.update(t, csr_keys(codes, self.f))
        counts = np.bincount(codes.indices, minlength=self.f)
        on = counts > 0
        self.first[on & (self.first < 0)] = t
        self.last[on] = t
        self.n_last = counts
        if changed_cols is not None:
            self.changed += changed_cols.astype(np.int64)
            self.pairs += int(n_both)
        self.t = t

    def finish(self, steps: np.ndarray) -> tuple[Relations, Events, Events, dict[str, np.ndarray]]:
        """(activations, births, deaths, feature_stats) in step values."""
        steps = np.asarray(steps, dtype=np.int64)
        key, start, end, _ = self.runs.finish()
        concept, feature = key // self.f, key % self.f
        n = key.size
        acts = Relations(object_full(n, "activates"), concept, feature,
                         np.full(n, -1, dtype=np.int64), index_to_steps(start, steps),
                         index_to_steps(end, steps))
        first_run = np.ones(n, dtype=bool)
        first_run[1:] = key[1:] != key[:-1]
        last_run = np.ones(n, dtype=bool)
        last_run[:-1] = key[1:] != key[:-1]
        births = _events("birth", acts.valid_from[first_run], concept[first_run],
                         feature[first_run])
        dead = last_run & (end != OPEN)
        deaths = _events("death", acts.valid_to[dead], concept[dead], feature[dead])
        n_steps = steps.size
        death_idx = np.where((self.last >= 0) & (self.last < n_steps - 1), self.last + 1, -1)
        stability = (1.0 - self.changed / self.pairs if self.pairs
                     else np.full(self.f, np.nan))
        stats = {
            "birth_step": index_to_steps(np.where(self.first >= 0, self.first, OPEN), steps),
            "death_step": index_to_steps(np.where(death_idx >= 0, death_idx, OPEN), steps),
            "stability": stability.astype(np.float64),
            "active_concepts_last": self.n_last.astype(np.int64),
        }
        return acts, births, deaths, stats


def _events(kind: str, step: np.ndarray, concept: np.ndarray, feature: np.ndarray) -> Events:
    n = step.size
    order = np.lexsort((feature, concept, step))
    return Events(object_full(n, kind), step[order].astype(np.int64),
                  concept[order].astype(np.int64), feature[order].astype(np.int64),
                  object_full(n, ""))
