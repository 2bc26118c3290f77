"""Feature hierarchy: when each feature's meaning settles (layers), and the PARENT_OF tree
left after collapsing mutual dependencies and removing implied (transitive) edges."""

from __future__ import annotations

import numpy as np

from ontochron.ingest.snapshot import CodeStack


def column_changes(stack: CodeStack) -> np.ndarray:
    """Bool (n_steps - 1, n_features): did the feature's column change between checkpoints
    t and t+1, over the concepts present at both? (No shared concept counts as unchanged.)"""
    f = stack.n_features
    out = np.zeros((max(stack.n_steps - 1, 0), f), dtype=bool)
    for t in range(stack.n_steps - 1):
        both = np.flatnonzero(stack.present[t] & stack.present[t + 1])
        if both.size == 0:
            continue
        a = stack.codes[t][both].astype(np.int8)
        b = stack.codes[t + 1][both].astype(np.int8)
        diff = (a - b).tocsr()
        diff.eliminate_zeros()
        out[t] = np.bincount(diff.indices, minlength=f) > 0
    return out


def first_stable_steps(stack: CodeStack, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per feature ``(first_stable_step, layer)``.

    ``first_stable_step`` is the step of the first checkpoint at which the feature's column
    has been unchanged for ``window`` consecutive transitions (-1 if never); ``layer`` ranks
    the distinct first-stable steps, 1 = earliest, 0 = never stable. A feature that no concept
    ever has is not a learned feature: it is never stable (-1, layer 0), not "stable from the
    start".
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    unchanged = ~column_changes(stack)
    f = stack.n_features
    first = np.full(f, -1, dtype=np.int64)
    if unchanged.shape[0] >= window:
        csum = np.vstack([np.zeros((1, f), dtype=np.int64), np.cumsum(unchanged, axis=0)])
        # full[k] is True when transitions k .. k+window-1 are all unchanged.
        full = (csum[window:] - csum[:-window]) == window
        hit = full.any(axis=0)
        k = np.argmax(full, axis=0)
        # The window ending with transition k+window-1 completes at checkpoint k+window.
        first[hit] = stack.steps[k[hit] + window]
    ever_on = np.zeros(f, dtype=bool)
    for codes in stack.codes:  # one pass over the CSR column indices, O(nnz)
        ever_on[codes.indices] = True
    first[~ever_on] = -1
    layer = np.zeros(f, dtype=np.int64)
    stable = first >= 0
    if stable.any():
        layer[stable] = np.searchsorted(np.unique(first[stable]), first[stable]) + 1
    return first, layer


def hierarchy_edges(child: np.ndarray, parent: np.ndarray, weight: np.ndarray | None = None
                    ) -> dict[str, np.ndarray]:
    """PARENT_OF edges from dependency edges child -> parent.

    Mutual dependencies are collapsed into strongly connected components (each represented by
    its lowest feature index), then the transitive reduction of the resulting DAG is taken.
    Returns columns ``parent``, ``child`` (representatives), ``weight`` (the largest weight of
    a dependency between the two components, NaN without weights), ``parent_size`` and
    ``child_size`` (component sizes), sorted by (parent, child).
    """
    child = np.asarray(child, dtype=np.int64)
    parent = np.asarray(parent, dtype=np.int64)
    w = np.full(child.size, np.nan) if weight is None else np.asarray(weight, dtype=np.float64)
    empty = {k: np.zeros(0, dtype=np.int64) for k in ("parent", "child", "parent_size",
                                                      "child_size")}
    empty["weight"] = np.zeros(0)
    if child.size == 0:
        return empty
    import networkx as nx  # on first use: it costs ~0.1 s of every CLI start-up

    g = nx.DiGraph()
    g.add_edges_from(zip(child.tolist(), parent.tolist(), strict=True))
    dag = nx.condensation(g)
    mapping = dag.graph["mapping"]
    n_comp = dag.number_of_nodes()
    rep = np.zeros(n_comp, dtype=np.int64)
    size = np.zeros(n_comp, dtype=np.int64)
    for cid, data in dag.nodes(data=True):
        rep[cid] = min(data["members"])
        size[cid] = len(data["members"])
    # O(V E) on the dependency graph; it holds discoveries only, so it stays small.
    red = nx.transitive_reduction(dag)
    if red.number_of_edges() == 0:
        return empty
    e = np.array(list(red.edges()), dtype=np.int64)  # (child component, parent component)
    cc = np.array([mapping[v] for v in child.tolist()], dtype=np.int64)
    cp = np.array([mapping[v] for v in parent.tolist()], dtype=np.int64)
    key_dep = cc * n_comp + cp
    key_red = e[:, 0] * n_comp + e[:, 1]
    best = np.full(key_red.size, np.nan)
    if weight is not None:
        order = np.argsort(key_red)
        pos = np.searchsorted(key_red[order], key_dep)
        pos = np.minimum(pos, key_red.size - 1)
        hit = key_red[order][pos] == key_dep
        np.fmax.at(best, order[pos[hit]], w[hit])
    out = {"parent": rep[e[:, 1]], "child": rep[e[:, 0]], "weight": best,
           "parent_size": size[e[:, 1]], "child_size": size[e[:, 0]]}
    srt = np.lexsort((out["child"], out["parent"]))
    return {k: v[srt] for k, v in out.items()}
