"""The exchange format between ingest and ontology: snapshots and their step-aligned stack.

A :class:`Snapshot` holds the binary codes of every concept at one training step as a sparse
concepts x features matrix (a few percent of features active is normal), optional continuous
activations, and step metadata. A :class:`CodeStack` aligns many snapshots on one concept
index so detectors can work with matrix operations over the step axis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import scipy.sparse as sp

from ontochron.errors import InputError

#: Steps must lie in [0, MAX_STEP): the graph's time-slice keys pack a step prefix and a
#: tree level into one signed 64-bit integer (ontochron/graph/schema.py), and -1 marks an
#: open interval (docs/ingest.md, "Steps").
MAX_STEP = 2 ** 56


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (for messages: ``nan``, not
    ``np.float64(nan)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _as_step(value: Any, source: str | None) -> int:
    """An integer step in [0, 2**56); integral floats (``1000.0``) pass, strings do not."""
    value = plain(value)
    if isinstance(value, str):
        raise InputError(f"step must be an integer, got the string {value!r} (write it as "
                         "a number, not in quotes)", source)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"step must be an integer, got {value!r}", source)
    if not 0 <= value < MAX_STEP:
        raise InputError(f"step {value} is out of range: steps must be integers in "
                         "[0, 2**56)", source)
    return value


def _as_binary_csr(codes: Any, source: str | None, step: int) -> sp.csr_array:
    """Validate that ``codes`` holds only 0/1 and return it as a boolean CSR array."""
    if sp.issparse(codes):
        m = sp.csr_array(codes)
        data = m.data
        if data.size and data.dtype != np.bool_:
            if not np.all(np.isfinite(data)) or not np.all((data == 0) | (data == 1)):
                raise InputError(f"step {step}: codes must be binary (0/1)", source)
        m = sp.csr_array(m.astype(bool))
        m.eliminate_zeros()
        return m
    arr = np.asarray(codes)
    if arr.ndim != 2:
        raise InputError(f"step {step}: codes must be a 2-D concepts x features matrix, "
                         f"got shape {arr.shape}", source)
    if arr.dtype != np.bool_:
        if arr.dtype.kind not in "biuf":
            raise InputError(f"step {step}: codes must be numeric 0/1, got values of dtype "
                             f"{arr.dtype}", source)
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise InputError(f"step {step}: codes contain NaN or inf", source)
        if not np.all((arr == 0) | (arr == 1)):
            bad = np.argwhere((arr != 0) & (arr != 1))[0]
            raise InputError(f"step {step}: codes must be binary (0/1); found {plain(arr[tuple(bad)])!r} "
                             f"at concept row {bad[0]}, feature {bad[1]}", source)
    return sp.csr_array(arr.astype(bool, copy=False))


@dataclass(frozen=True)
class Snapshot:
    """Codes of every concept at one training step.

    ``codes`` is a boolean ``scipy.sparse.csr_array`` of shape (n_concepts, n_features), rows in
    the order of ``concepts``. ``activations`` (optional) is a float32 array of the same shape.
    Build one with :meth:`Snapshot.create`, which validates its input.
    """

    step: int
    concepts: tuple[str, ...]
    codes: sp.csr_array
    activations: np.ndarray | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None

    @classmethod
    def create(cls, step: Any, concepts: Sequence[str], codes: Any,
               activations: Any = None, metadata: Mapping[str, Any] | None = None,
               source: str | None = None) -> Snapshot:
        """Validate and build a snapshot; raise :class:`InputError` naming ``source`` if bad."""
        step_i = _as_step(step, source)
        names = tuple(str(c) for c in concepts)
        if len(set(names)) != len(names):
            seen: set[str] = set()
            dup = next(c for c in names if c in seen or seen.add(c))  # type: ignore[func-returns-value]
            raise InputError(f"step {step_i}: duplicate concept name {dup!r}", source)
        m = _as_binary_csr(codes, source, step_i)
        if m.shape[1] == 0:
            raise InputError(f"step {step_i}: codes have no features (concept "
                             f"{names[0] if names else '?'!r} has an empty code)", source)
        if m.shape[0] != len(names):
            raise InputError(f"step {step_i}: {len(names)} concepts but codes have "
                             f"{m.shape[0]} rows", source)
        act = None
        if activations is not None:
            act = np.asarray(activations, dtype=np.float32)
            if act.shape != m.shape:
                raise InputError(f"step {step_i}: activations shape {act.shape} does not match "
                                 f"codes shape {m.shape}", source)
            if not np.all(np.isfinite(act)):
                raise InputError(f"step {step_i}: activations contain NaN or inf", source)
        return cls(step_i, names, m, act, dict(metadata or {}), source)

    @property
    def n_concepts(self) -> int:
        return int(self.codes.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.codes.shape[1])

    def dense(self) -> np.ndarray:
        """Codes as a dense boolean array (n_concepts, n_features)."""
        return self.codes.toarray()


def check_run(snapshots: list[Snapshot]) -> list[Snapshot]:
    """Sort by step; raise on duplicate steps (naming both files) or a changing feature count."""
    if not snapshots:
        raise InputError("no snapshots found in the input")
    snaps = sorted(snapshots, key=lambda s: s.step)
    for prev, cur in pairwise(snaps):
        if prev.step == cur.step:
            where = (f"in {cur.source}" if prev.source == cur.source
                     else f"in {prev.source} and {cur.source}")
            raise InputError(f"duplicate step {cur.step} ({where})", cur.source)
    width = snaps[0].n_features
    for s in snaps:
        if s.n_features != width:
            raise InputError(f"feature count changed within the run: step {s.step} has "
                             f"{s.n_features} features, step {snaps[0].step} has {width}",
                             s.source)
    return snaps


@dataclass
class CodeStack:
    """Snapshots aligned on one concept index, in increasing step order.

    ``codes[t]`` is a boolean CSR array (n_concepts_total, n_features) whose rows follow
    ``concepts`` (the union over all steps, in order of first appearance); rows of concepts
    absent at step t are empty and ``present[t]`` is False for them. ``order[t]`` keeps each
    snapshot's own concept order (indices into ``concepts``).
    """

    steps: np.ndarray
    concepts: list[str]
    n_features: int
    codes: list[sp.csr_array]
    present: np.ndarray
    activations: list[np.ndarray | None]
    metadata: list[dict[str, Any]]
    order: list[np.ndarray]
    sources: list[str | None]

    @property
    def n_steps(self) -> int:
        return int(self.steps.shape[0])

    @property
    def n_concepts(self) -> int:
        return len(self.concepts)

    def dense(self, t: int) -> np.ndarray:
        """Codes at step index ``t`` as a dense bool array (n_concepts_total, n_features)."""
        return self.codes[t].toarray()

    def snapshot(self, t: int) -> Snapshot:
        """The snapshot at step index ``t`` in its own concept order."""
        idx = self.order[t]
        act = self.activations[t]
        return Snapshot(int(self.steps[t]), tuple(self.concepts[i] for i in idx),
                        sp.csr_array(self.codes[t][idx]),
                        None if act is None else act[idx], self.metadata[t], self.sources[t])

    @classmethod
    def from_snapshots(cls, snapshots: Iterable[Snapshot]) -> CodeStack:
        """Align snapshots (any order) on a union concept index; validate steps and widths.

        Raises :class:`InputError` on empty input, duplicate steps or a feature count that
        changes within the run.
        """
        snaps = check_run(list(snapshots))
        n_features = snaps[0].n_features
        index: dict[str, int] = {}
        orders: list[np.ndarray] = []
        for s in snaps:
            orders.append(np.fromiter((index.setdefault(c, len(index)) for c in s.concepts),
                                      dtype=np.int64, count=len(s.concepts)))
        n_total = len(index)
        codes: list[sp.csr_array] = []
        present = np.zeros((len(snaps), n_total), dtype=bool)
        activations: list[np.ndarray | None] = []
        for t, (s, order) in enumerate(zip(snaps, orders, strict=True)):
            present[t, order] = True
            coo = s.codes.tocoo()
            m = sp.csr_array((coo.data.astype(bool), (order[coo.row], coo.col)),
                             shape=(n_total, n_features))
            m.sum_duplicates()
            codes.append(m)
            if s.activations is None:
                activations.append(None)
            else:
                full = np.zeros((n_total, n_features), dtype=np.float32)
                full[order] = s.activations
                activations.append(full)
        return cls(np.array([s.step for s in snaps], dtype=np.int64), list(index), n_features,
                   codes, present, activations, [dict(s.metadata) for s in snaps], orders,
                   [s.source for s in snaps])
