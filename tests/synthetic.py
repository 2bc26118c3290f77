"""Synthetic code stacks for tests and benchmarks: planted structure with known answers,
null data with matched per-concept marginals, and large drifting sparse stacks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from ontochron.ingest.snapshot import CodeStack, Snapshot


def stack_from_dense(frames: Sequence[tuple[int, Sequence[str], np.ndarray]]) -> CodeStack:
    """Stack from (step, concept names, dense 0/1 array (n_concepts, n_features)) frames."""
    return CodeStack.from_snapshots(Snapshot.create(step, names, np.asarray(codes))
                                    for step, names, codes in frames)


def stack_from_csr(steps: Sequence[int], codes: Sequence[sp.csr_array],
                   present: np.ndarray | None = None,
                   names: Sequence[str] | None = None) -> CodeStack:
    """A CodeStack built directly from aligned CSR matrices (no copies through snapshots).

    ``present`` (n_steps, n_concepts) defaults to all True; rows of absent concepts are
    cleared so the stack honours the CodeStack contract.
    """
    n_steps = len(codes)
    n_concepts, n_features = codes[0].shape
    pres = (np.ones((n_steps, n_concepts), dtype=bool) if present is None
            else np.asarray(present, dtype=bool))
    out = []
    for t, m in enumerate(codes):
        m = sp.csr_array(m, dtype=bool)
        if not pres[t].all():
            m = sp.csr_array(sp.diags_array(pres[t].astype(np.int8), dtype=np.int8) @ m, dtype=bool)
        m.eliminate_zeros()
        m.sort_indices()
        out.append(m)
    names = list(names) if names is not None else [f"c{i}" for i in range(n_concepts)]
    return CodeStack(np.asarray(steps, dtype=np.int64), names, n_features, out, pres,
                     [None] * n_steps, [{} for _ in range(n_steps)],
                     [np.flatnonzero(pres[t]) for t in range(n_steps)], [None] * n_steps)


def random_codes(rng: np.random.Generator, sizes: np.ndarray, n_features: int) -> sp.csr_array:
    """One row per concept with ``sizes[i]`` distinct features drawn uniformly at random
    (the exact hypergeometric null for overlaps given the row sums)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    # Rank random keys per row: argsort of a (rows, n_features) random matrix is the simplest
    # exact uniform subset draw; fine for test sizes (rows x features <= a few million).
    keys = rng.random((sizes.size, n_features))
    order = np.argsort(keys, axis=1)
    mask = np.arange(n_features)[None, :] < sizes[:, None]
    dense = np.zeros((sizes.size, n_features), dtype=bool)
    np.put_along_axis(dense, order, mask, axis=1)
    return sp.csr_array(dense)


def null_stack(n_concepts: int, n_features: int, n_steps: int = 1, *, mean_size: float = 20,
               seed: int = 0) -> CodeStack:
    """Null data: heterogeneous per-concept code sizes (matched to a planted stack by
    ``mean_size``), features uniform at random, independently at every checkpoint."""
    rng = np.random.default_rng(seed)
    sizes = np.clip(rng.poisson(mean_size, n_concepts), 1, n_features)
    return stack_from_csr(list(range(n_steps)),
                          [random_codes(rng, sizes, n_features) for _ in range(n_steps)])


def planted_groups(n_groups: int, group_size: int, n_features: int, *, core: int = 12,
                   noise: int = 10, n_loners: int = 0, seed: int = 0
                   ) -> tuple[sp.csr_array, set[tuple[int, int]]]:
    """Concept groups sharing a private core of ``core`` features plus ``noise`` random
    features each; loners get only random features. Returns (codes, true connected pairs)."""
    rng = np.random.default_rng(seed)
    n = n_groups * group_size + n_loners
    base = random_codes(rng, np.full(n, noise), n_features).toarray()
    cores = rng.permutation(n_features)[: n_groups * core].reshape(n_groups, core)
    truth: set[tuple[int, int]] = set()
    for g in range(n_groups):  # planted groups: a handful, loop is fine
        members = np.arange(g * group_size, (g + 1) * group_size)
        base[np.ix_(members, cores[g])] = True
        truth |= {(int(a), int(b)) for a in members for b in members if a < b}
    return sp.csr_array(base), truth


def drifting_stack(n_steps: int, n_concepts: int, n_features: int, *, density: float = 0.02,
                   drift: float = 0.02, seed: int = 0) -> CodeStack:
    """Large sparse stack generated step by step: each checkpoint moves a ``drift`` fraction
    of every concept's active bits to random new features. Never builds a dense array."""
    rng = np.random.default_rng(seed)
    k = max(1, int(round(density * n_features)))
    rows = np.repeat(np.arange(n_concepts, dtype=np.int64), k)
    cols = rng.integers(0, n_features, rows.size)
    codes = []
    for _ in range(n_steps):
        m = sp.csr_array((np.ones(rows.size, dtype=bool), (rows, cols)),
                         shape=(n_concepts, n_features))
        m.sum_duplicates()
        codes.append(sp.csr_array(m, dtype=bool))
        move = rng.random(cols.size) < drift
        cols = cols.copy()
        cols[move] = rng.integers(0, n_features, int(move.sum()))
    return stack_from_csr(list(range(0, 100 * n_steps, 100)), codes)
