"""``--compat reptimeline``: reproduce reptimeline 0.2.2's results (TimelineTracker.analyze +
BitDiscovery.discover on the last snapshot) with vectorized numpy/scipy.sparse.

The definitions, thresholds, orderings and quirks follow reptimeline 0.2.2 (see
docs/compat.md); the implementation is independent. Discovery (duals, dependencies, triads)
is also applied at every checkpoint, so that those relations get validity intervals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from ontochron import __version__
from ontochron.ingest.snapshot import CodeStack
from ontochron.ontology.intervals import OPEN, intervals_from_occurrences
from ontochron.ontology.lifecycle import object_full
from ontochron.ontology.parallel import default_workers, ordered_map, workers_for
from ontochron.ontology.result import Events, Ontology, Relations

# reptimeline 0.2.2 defaults (TimelineTracker / BitDiscovery / its CLI)
DUAL_THRESHOLD = -0.3
DEP_CONFIDENCE = 0.9
TRIADIC_THRESHOLD = 0.7
TRIADIC_MIN_INTERACTION = 0.2
TRIADIC_MIN_SUPPORT = 3
N_PERMUTATIONS = 1000
PERM_SEED = 42
BH_ALPHA = 0.05
PHASE_SIGMA = 2.0
HIERARCHY_WINDOW = 3
CURVES = ("entropy", "churn_rate", "utilization")


# ----------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------

def _bar(items: Iterable[Any], desc: str, progress: bool) -> Iterable[Any]:
    """``items`` with a progress bar when asked (a disabled tqdm still costs start-up)."""
    return tqdm(items, desc=desc) if progress else items


def _snap_matrix(stack: CodeStack, t: int) -> sp.csr_array:
    """Codes at checkpoint ``t`` in that snapshot's own concept order (reptimeline's key order)."""
    return sp.csr_array(stack.codes[t][stack.order[t]])


def _name_rank(concepts: list[str]) -> np.ndarray:
    """Rank of each concept in Python's ``sorted`` order (reptimeline iterates sorted names)."""
    order = sorted(range(len(concepts)), key=concepts.__getitem__)
    rank = np.empty(len(concepts), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(concepts))
    return rank


def _events(kind: str, step: np.ndarray, concept: np.ndarray, feature: np.ndarray,
            detail: list[str] | np.ndarray | None = None) -> Events:
    n = int(np.asarray(step).size)
    det = object_full(n, "") if detail is None else np.array(detail, dtype=object)
    if det.shape != (n,):  # np.array of an empty list
        det = object_full(n, "")
    return Events(object_full(n, kind), np.asarray(step, dtype=np.int64),
                  np.asarray(concept, dtype=np.int64), np.asarray(feature, dtype=np.int64), det)


def _relations(kind: str, a: np.ndarray, b: np.ndarray, c: np.ndarray, vfrom: np.ndarray,
               vto: np.ndarray, stats: dict[str, np.ndarray] | None = None) -> Relations:
    n = int(np.asarray(a).size)
    return Relations(object_full(n, kind), np.asarray(a, dtype=np.int64),
                     np.asarray(b, dtype=np.int64), np.asarray(c, dtype=np.int64),
                     np.asarray(vfrom, dtype=np.int64), np.asarray(vto, dtype=np.int64),
                     {k: np.asarray(v, dtype=np.float64) for k, v in (stats or {}).items()})


def _dense_runs(masks: Iterable[np.ndarray], steps: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validity intervals from one flat boolean mask per checkpoint: (key, from, to|OPEN).

    Memory is O(keys) instead of O(keys x checkpoints) (used for concept pairs and the
    concept x feature ACTIVATES table, both too dense for occurrence lists).
    """
    out_k: list[np.ndarray] = []
    out_f: list[np.ndarray] = []
    out_t: list[np.ndarray] = []
    prev: np.ndarray | None = None
    start = np.zeros(0, dtype=np.int32)
    for t, cur in enumerate(masks):
        if prev is None:
            prev = np.zeros(cur.size, dtype=bool)
            start = np.zeros(cur.size, dtype=np.int32)
        ended = np.flatnonzero(prev & ~cur)
        out_k.append(ended)
        out_f.append(steps[start[ended]])
        out_t.append(np.full(ended.size, steps[t], dtype=np.int64))
        start[np.flatnonzero(cur & ~prev)] = t
        prev = cur
    if prev is not None:
        still = np.flatnonzero(prev)
        out_k.append(still)
        out_f.append(steps[start[still]])
        out_t.append(np.full(still.size, OPEN, dtype=np.int64))
    if not out_k:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy()
    return (np.concatenate(out_k).astype(np.int64), np.concatenate(out_f).astype(np.int64),
            np.concatenate(out_t).astype(np.int64))


# ----------------------------------------------------------------------------------------
# TimelineTracker.analyze
# ----------------------------------------------------------------------------------------

def _births(stack: CodeStack, rank: np.ndarray) -> Events:
    """First checkpoint at which each (concept, feature) is on; ordered by step, sorted
    concept name, feature (reptimeline's loop order)."""
    seen = np.zeros((stack.n_concepts, stack.n_features), dtype=bool)
    parts = []
    for t in range(stack.n_steps):
        coo = stack.codes[t].tocoo()
        r, c = coo.row.astype(np.int64), coo.col.astype(np.int64)
        new = ~seen[r, c]
        r, c = r[new], c[new]
        seen[r, c] = True
        o = np.lexsort((c, rank[r]))
        parts.append(_events("birth", np.full(r.size, stack.steps[t]), r[o], c[o]))
    return Events.concat(parts)


def _deaths(stack: CodeStack, rank: np.ndarray) -> Events:
    """A feature dies at L+1 where L is its last 'on' checkpoint, but only if the concept is
    present at L+1 (a concept that vanishes never records a death)."""
    last = np.full((stack.n_concepts, stack.n_features), -1, dtype=np.int32)
    for t in range(stack.n_steps):
        coo = stack.codes[t].tocoo()
        last[coo.row, coo.col] = t
    r, c = np.nonzero((last >= 0) & (last + 1 < stack.n_steps))
    at = last[r, c].astype(np.int64) + 1
    keep = stack.present[at, r]
    r, c, at = r[keep], c[keep], at[keep]
    o = np.lexsort((c, rank[r]))
    return _events("death", stack.steps[at[o]], r[o], c[o])


def _connections(stack: CodeStack, progress: bool, workers: int = 1
                 ) -> tuple[Events, Relations]:
    """'form' events (first checkpoint two of the last snapshot's concepts share a feature,
    pairs in that snapshot's order) and the per-checkpoint connection intervals."""
    last = stack.order[-1]
    n = last.size
    first = np.full((n, n), -1, dtype=np.int32)
    shared_first = np.zeros((n, n), dtype=np.int32)
    upper = np.triu(np.ones((n, n), dtype=bool), 1)

    def shared_counts(t: int) -> np.ndarray:
        a = sp.csr_array(stack.codes[t][last], dtype=np.int32)
        # n^2 output is inherent: every pair of the last snapshot is a candidate
        return (a @ a.T).toarray()

    def masks() -> Iterator[np.ndarray]:
        # the products run in threads (scipy releases the GIL), consumed in step order
        ts = range(stack.n_steps)
        counts = ordered_map(shared_counts, ts, workers_for(workers, 3 * 4 * n * n))
        for t, shared in zip(_bar(ts, "connections", progress), counts, strict=True):
            share = (shared > 0) & upper
            new = share & (first < 0)
            first[new] = t
            shared_first[new] = shared[new]
            yield share.ravel()

    key, vfrom, vto = _dense_runs(masks(), stack.steps)
    p, q = np.nonzero(first >= 0)  # row-major == reptimeline's pair order
    ev = _events("connection_form", stack.steps[first[p, q].astype(np.int64)], last[p],
                 np.full(p.size, -1), _form_details(stack.concepts, last[q], shared_first[p, q]))
    rel = _relations("connection", last[key // max(n, 1)], last[key % max(n, 1)],
                     np.full(key.size, -1), vfrom, vto)
    return ev, rel


def _form_details(concepts: list[str], b: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """``{"b": name, "shared": k}`` per form event, one string per distinct (b, k) (rows
    share them: far fewer distinct pairs than events)."""
    if b.size == 0:
        return object_full(0, "")
    w = int(shared.max()) + 1
    uniq, inv = np.unique(b.astype(np.int64) * w + shared, return_inverse=True)
    text = np.array([f'{{"b": {json.dumps(concepts[u // w])}, "shared": {u % w}}}'
                     for u in uniq.tolist()], dtype=object)
    return text[inv.ravel()]


def _curves(stack: CodeStack) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """entropy / churn_rate / utilization per checkpoint, and the per-checkpoint
    changed-bit matrix rows (common concepts only) reused by stability and hierarchy."""
    T, F = stack.n_steps, stack.n_features
    entropy = np.zeros(T)
    churn = np.zeros(T)
    util = np.zeros(T)
    col_changes = np.zeros((T, F), dtype=np.int64)  # per checkpoint: # common concepts flipped
    n_common = np.zeros(T, dtype=np.int64)
    for t in range(T):
        idx = stack.order[t]
        n = idx.size
        if n:
            x = _snap_matrix(stack, t)
            p = np.asarray(x.sum(axis=0)).ravel() / n
            with np.errstate(divide="ignore", invalid="ignore"):
                h = -p * np.log2(p) - (1 - p) * np.log2(1 - p)
            h = np.where((p > 0) & (p < 1), h, 0.0)
            with np.errstate(invalid="ignore"):
                entropy[t] = float(np.mean(h)) if F else float("nan")
            packed = np.packbits(x.toarray(), axis=1)
            util[t] = np.unique(packed, axis=0).shape[0] / n
        if t == 0:
            continue
        common = stack.present[t] & stack.present[t - 1]
        n_common[t] = int(common.sum())
        if not n_common[t]:
            continue
        diff = sp.csr_array(stack.codes[t] != stack.codes[t - 1])
        diff = diff[np.flatnonzero(common)]
        churn[t] = int(np.count_nonzero(np.diff(diff.indptr))) / n_common[t]
        col_changes[t] = np.bincount(diff.indices, minlength=F)[:F]
    return ({"entropy": entropy, "churn_rate": churn, "utilization": util},
            np.column_stack([n_common, col_changes]) if F else n_common[:, None])


def _stability(stack: CodeStack, changes: np.ndarray) -> np.ndarray:
    """Per-feature fraction of (concept, consecutive checkpoint) pairs with the bit unchanged;
    NaN everywhere where reptimeline returns {} (< 2 checkpoints or an empty last snapshot)."""
    F = stack.n_features
    if stack.n_steps < 2 or F == 0 or stack.order[-1].size == 0:
        return np.full(F, np.nan)
    total = int(changes[:, 0].sum())
    unstable = changes[:, 1:].sum(axis=0)
    return (total - unstable) / max(total, 1)


def _phase_transitions(steps: np.ndarray, curves: dict[str, np.ndarray]) -> Events:
    """|delta| > mean(|delta|) + 2 std(|delta|), per curve in reptimeline's curve order."""
    parts = []
    for name in CURVES:
        curve = curves[name]
        if curve.size < 3:
            continue
        d = curve[1:] - curve[:-1]
        ad = np.abs(d)
        std = np.std(ad)
        if std < 1e-8:
            continue
        hit = np.flatnonzero(ad > np.mean(ad) + PHASE_SIGMA * std)
        det = [json.dumps({"metric": name, "delta": float(ad[i]),
                           "direction": "increase" if d[i] > 0 else "decrease"}) for i in hit]
        parts.append(_events("phase_transition", steps[hit + 1], np.full(hit.size, -1),
                             np.full(hit.size, -1), det))
    return Events.concat(parts)


def _hierarchy(stack: CodeStack, changes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First step at which a feature has been unchanged (among concepts present at both
    checkpoints) for 3 consecutive transitions, and its layer (rank of that step; 0 if
    never stable or, reptimeline's ``if step`` quirk, if that step is 0)."""
    F = stack.n_features
    first = np.full(F, -1, dtype=np.int64)
    found = np.zeros(F, dtype=bool)
    run = np.zeros(F, dtype=np.int64)
    for t in range(1, stack.n_steps):
        unchanged = changes[t, 1:] == 0
        run = np.where(unchanged, run + 1, 0)
        new = (run >= HIERARCHY_WINDOW) & ~found
        first[new] = stack.steps[t]
        found |= new
    layer = np.zeros(F, dtype=np.int64)
    if found.any():
        uniq = np.unique(first[found])
        layer[found] = np.searchsorted(uniq, first[found]) + 1
    layer[found & (first == 0)] = 0
    return first, layer


# ----------------------------------------------------------------------------------------
# BitDiscovery on one snapshot
# ----------------------------------------------------------------------------------------

def _cooccurrence(x: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Feature counts and the dense feature x feature co-occurrence count matrix."""
    xi = sp.csr_array(x, dtype=np.int32)
    counts = np.asarray(xi.sum(axis=0)).ravel().astype(np.int64)
    co = (xi.T @ xi).toarray()  # F x F: the pair tests are inherently quadratic in features
    return counts, co


def _duals(n: int, counts: np.ndarray, co: np.ndarray) -> dict[str, np.ndarray]:
    """Feature pairs with Pearson correlation < -0.3 (the 'Bonferroni' factor is
    min(1, 1 + 0.1 log10 m) = 1, so the threshold never changes). Sorted by correlation."""
    F = counts.size
    z = np.zeros(0, dtype=np.int64)
    empty = {"a": z, "b": z, "corr": np.zeros(0), "both": z, "exclusive": z}
    if n < 2 or F < 2:
        return empty
    var = (counts * (n - counts)).astype(np.float64)
    # corr >= -sqrt(q_i q_j) with q = p/(1-p): only features with large q can pass
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(var > 0, counts / np.maximum(n - counts, 1), 0.0)
    qmax = q.max() if q.size else 0.0
    cand = np.flatnonzero((var > 0) & (q * qmax > 0.09 * 0.999))
    if cand.size < 2:
        return empty
    c = cand
    num = n * co[np.ix_(c, c)].astype(np.float64) - np.outer(counts[c], counts[c]).astype(
        np.float64)
    corr = num / np.sqrt(np.outer(var[c], var[c]))
    ii, jj = np.nonzero(np.triu(corr < DUAL_THRESHOLD, 1))
    a, b = c[ii], c[jj]
    o = np.lexsort((b, a))
    a, b = a[o], b[o]
    r = corr[ii[o], jj[o]]
    s = np.argsort(r, kind="stable")
    a, b, r = a[s], b[s], r[s]
    both = co[a, b].astype(np.int64)
    return {"a": a, "b": b, "corr": r, "both": both,
            "exclusive": counts[a] + counts[b] - 2 * both}


def _dep_threshold(n_features: int) -> float:
    n_tests = n_features * (n_features - 1)
    if n_tests > 1:
        return float(min(0.99, DEP_CONFIDENCE + 0.01 * np.log10(n_tests)))
    return DEP_CONFIDENCE


def _dependencies(n: int, counts: np.ndarray, co: np.ndarray) -> dict[str, np.ndarray]:
    """child -> parent edges with P(parent | child) >= 0.9 + 0.01 log10(F(F-1)) (capped at
    0.99), children with >= max(3, int(sqrt(N))) samples; sorted by confidence desc."""
    F = counts.size
    min_samples = max(3, int(np.sqrt(n)))
    thr = _dep_threshold(F)
    children = np.flatnonzero(counts >= min_samples)
    sub = co[children].astype(np.float64) / counts[children, None]
    ci, parent = np.nonzero(sub >= thr)
    child = children[ci]
    keep = parent != child
    child, parent, conf = child[keep], parent[keep], sub[ci[keep], parent[keep]]
    s = np.argsort(-conf, kind="stable")
    return {"child": child[s], "parent": parent[s], "conf": conf[s],
            "support": counts[child[s]]}


def _triad_candidates(x: sp.csr_array, counts: np.ndarray, co: np.ndarray,
                      batch: int = 20000) -> dict[str, np.ndarray]:
    """AND gates i & j -> r passing reptimeline's thresholds, before the permutation test,
    in its order (interaction desc, ties in (i, j, r) order)."""
    xt = sp.csr_array(sp.csr_array(x, dtype=np.int32).T)
    xi = sp.csr_array(x, dtype=np.int32)
    iu, ju = np.nonzero(np.triu(co >= TRIADIC_MIN_SUPPORT, 1))
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("i", "j", "r", "pij", "pi", "pj",
                                                        "inter", "support")}
    need = int(np.ceil(TRIADIC_THRESHOLD * TRIADIC_MIN_SUPPORT)) - 1  # n_ijr must exceed this
    for s in range(0, iu.size, batch):
        i, j = iu[s:s + batch], ju[s:s + batch]
        nij_b = co[i, j]
        prod = sp.csr_array(sp.csr_array(xt[i].multiply(xt[j])) @ xi)
        row = np.repeat(np.arange(i.size), np.diff(prod.indptr))
        keep = prod.data > need  # cheap integer pre-filter: P(r|i,j) >= 0.7 needs n_ijr >= 3
        row, r, v = row[keep], prod.indices[keep].astype(np.int64), prod.data[keep]
        nij = nij_b[row]
        pij = v / nij
        ii, jj = i[row], j[row]
        keep = (pij >= TRIADIC_THRESHOLD) & (r != ii) & (r != jj)
        row, r, pij, nij, ii, jj = row[keep], r[keep], pij[keep], nij[keep], ii[keep], jj[keep]
        pi = co[ii, r] / counts[ii]
        pj = co[jj, r] / counts[jj]
        keep = (pi < TRIADIC_THRESHOLD) & (pj < TRIADIC_THRESHOLD)
        inter = pij - np.maximum(pi, pj)
        keep &= inter >= TRIADIC_MIN_INTERACTION
        for k, val in (("i", ii), ("j", jj), ("r", r), ("pij", pij), ("pi", pi), ("pj", pj),
                       ("inter", inter), ("support", nij)):
            out[k].append(val[keep])
    res = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in out.items()}
    for k in ("i", "j", "r", "support"):
        res[k] = res[k].astype(np.int64)
    o = np.lexsort((res["r"], res["j"], res["i"]))
    o = o[np.argsort(-res["inter"][o], kind="stable")]
    return {k: v[o] for k, v in res.items()}


def benjamini_hochberg(p: np.ndarray, alpha: float = BH_ALPHA) -> np.ndarray:
    """Step-up BH: reject every p-value <= the largest p_(k) with p_(k) <= alpha k / m."""
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if m == 0:
        return np.zeros(0, dtype=bool)
    ps = np.sort(p)
    ok = np.flatnonzero(ps <= alpha * np.arange(1, m + 1) / m)
    if ok.size == 0:
        return np.zeros(m, dtype=bool)
    return p <= ps[ok[-1]]


# ----------------------------------------------------------------------------------------
# The triad permutation test, bit-exact with RandomState(42).permutation
# ----------------------------------------------------------------------------------------

class PermutationStream:
    """The sequence of ``RandomState(seed).permutation(n)`` results, produced in blocks.

    ``permutation(column)`` of an n-long array consumes the MT19937 stream exactly like
    ``permutation(n)``, so a block of index permutations reproduces reptimeline's shuffles.
    Generating it is the floor of the triad test: every draw's rejection step depends on the
    previous draws, so the stream cannot be skipped or split, and numpy's legacy shuffle is
    already C code (bench/README.md, "The triad permutation stream").
    """

    def __init__(self, n: int, seed: int = PERM_SEED) -> None:
        self.n = n
        self.rs = np.random.RandomState(seed)
        # int16 halves the memory traffic of the gathers that read the block
        self.dtype = np.int16 if n <= np.iinfo(np.int16).max + 1 else np.int32

    def block(self, m: int) -> np.ndarray:
        """The next ``m`` permutations as an (m, n) integer array."""
        out = np.empty((m, self.n), dtype=self.dtype)
        for k in range(m):
            out[k] = self.rs.permutation(self.n)
        return out


def count_ge(perms: np.ndarray, s_ij: np.ndarray, s_i: np.ndarray, s_j: np.ndarray,
             is_r: np.ndarray, observed: float) -> int:
    """How many permutations give an interaction >= ``observed`` when column r is permuted.

    ``perms`` (m, N) index permutations; ``s_*`` concept rows with i&j / i / j on; ``is_r``
    0/1 column r. Only rows whose permuted P(r|i,j) reaches ``observed`` can count (the
    interaction is P(r|i,j) minus a non-negative number), so only those are fully evaluated.
    """
    p_ij = is_r[perms[:, s_ij]].sum(axis=1) / s_ij.size
    cand = np.flatnonzero(p_ij >= observed)
    if cand.size == 0:
        return 0
    sub = perms[cand]
    p_i = is_r[sub[:, s_i]].sum(axis=1) / s_i.size
    p_j = is_r[sub[:, s_j]].sum(axis=1) / s_j.size
    return int(np.count_nonzero(p_ij[cand] - np.maximum(p_i, p_j) >= observed))


def _triad_sets(xt: sp.csr_array, i: int, j: int, r: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Concept rows with i&j, i, j and r on (``xt`` is the snapshot transposed, CSR)."""
    s_i = xt.indices[xt.indptr[i]:xt.indptr[i + 1]].astype(np.int64)
    s_j = xt.indices[xt.indptr[j]:xt.indptr[j + 1]].astype(np.int64)
    s_r = xt.indices[xt.indptr[r]:xt.indptr[r + 1]].astype(np.int64)
    return np.intersect1d(s_i, s_j, assume_unique=True), s_i, s_j, s_r


def triad_pvalues(jobs: list[tuple[sp.csr_array, dict[str, np.ndarray]]],
                  progress: bool = False) -> list[np.ndarray]:
    """Permutation p-values (count_ge + 1) / 1001 for the candidate triads of each snapshot.

    ``jobs`` holds (snapshot codes in key order, candidates). Every snapshot restarts
    RandomState(42); triad k uses permutations 1000k .. 1000k+999 of that stream, which only
    depends on the snapshot's concept count, so one stream serves all snapshots of a size.
    Generating the stream is ~99% of the time (evaluating a triad against its block is
    ~0.03 ms, a block ~15 ms: bench/README.md, "The triad permutation stream").
    """
    out = [np.zeros(c["i"].size) for _, c in jobs]
    by_n: dict[int, list[int]] = {}
    for q, (x, cand) in enumerate(jobs):
        if cand["i"].size:
            by_n.setdefault(int(x.shape[0]), []).append(q)
    total = sum(jobs[q][1]["i"].size for qs in by_n.values() for q in qs)
    with tqdm(total=total, desc="triad permutations", disable=not progress) as bar:
        for n, qs in by_n.items():
            xts = {q: sp.csr_array(jobs[q][0].T) for q in qs}
            stream = PermutationStream(n)
            is_r = np.zeros(n, dtype=np.int64)
            for k in range(max(jobs[q][1]["i"].size for q in qs)):
                perms = stream.block(N_PERMUTATIONS)
                for q in qs:
                    cand = jobs[q][1]
                    if k >= cand["i"].size:
                        continue
                    s_ij, s_i, s_j, s_r = _triad_sets(
                        xts[q], int(cand["i"][k]), int(cand["j"][k]), int(cand["r"][k]))
                    is_r[s_r] = 1
                    c = count_ge(perms, s_ij, s_i, s_j, is_r, float(cand["inter"][k]))
                    is_r[s_r] = 0
                    out[q][k] = (c + 1) / (N_PERMUTATIONS + 1)
                    bar.update(1)
    return out


# ----------------------------------------------------------------------------------------
# analyze
# ----------------------------------------------------------------------------------------

def _discovery_relations(stack: CodeStack, progress: bool, at: str = "all"
                         ) -> tuple[Relations, dict[str, Any]]:
    """Duals, dependencies and significant triads at every checkpoint (``at="all"``) or at
    the last one only (``at="last"``, reptimeline's scope) -> intervals; also the last
    checkpoint's lists (what BitDiscovery.discover(last snapshot) reports)."""
    T, F = stack.n_steps, stack.n_features
    occ: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]]] = {
        "dual": [], "dependency": [], "triad": []}
    jobs: list[tuple[sp.csr_array, dict[str, np.ndarray]]] = []
    job_t: list[int] = []
    last: dict[str, Any] = {}
    for t in _bar(range(T - 1 if at == "last" else 0, T), "discovery", progress):
        n = int(stack.order[t].size)
        if n == 0:  # reptimeline raises DiscoveryError on an empty snapshot
            continue
        x = _snap_matrix(stack, t)
        counts, co = _cooccurrence(x)
        d = _duals(n, counts, co)
        occ["dual"].append((np.full(d["a"].size, t), d["a"], d["b"], np.full(d["a"].size, -1),
                            {"anti_correlation": d["corr"], "concepts_both": d["both"],
                             "concepts_exclusive": d["exclusive"]}))
        e = _dependencies(n, counts, co)
        occ["dependency"].append((np.full(e["child"].size, t), e["child"], e["parent"],
                                  np.full(e["child"].size, -1),
                                  {"confidence": e["conf"], "support": e["support"]}))
        jobs.append((x, _triad_candidates(x, counts, co)))
        job_t.append(t)
        if t == T - 1:
            last = {"duals": d, "deps": e}
    pvals = triad_pvalues(jobs, progress=progress)
    for (_, cand), p, t in zip(jobs, pvals, job_t, strict=True):
        sig = benjamini_hochberg(p) if p.size else np.zeros(0, dtype=bool)
        occ["triad"].append((np.full(int(sig.sum()), t), cand["i"][sig], cand["j"][sig],
                             cand["r"][sig],
                             {"p_r_given_ij": cand["pij"][sig], "p_r_given_i": cand["pi"][sig],
                              "p_r_given_j": cand["pj"][sig],
                              "interaction": cand["inter"][sig],
                              "support": cand["support"][sig], "p_value": p[sig]}))
        if t == T - 1:
            last["triads"] = {k: v[sig] for k, v in cand.items()}
            last["triads"]["p_value"] = p[sig]
    parts = []
    width = max(F, 1)
    for kind, rows in occ.items():
        if not rows:
            continue
        t_all = np.concatenate([r[0] for r in rows]).astype(np.int64)
        a = np.concatenate([r[1] for r in rows]).astype(np.int64)
        b = np.concatenate([r[2] for r in rows]).astype(np.int64)
        c = np.concatenate([r[3] for r in rows]).astype(np.int64)
        names = list(rows[0][4])
        stats = {s: np.concatenate([r[4][s] for r in rows]).astype(np.float64) for s in names}
        keys = (a * width + b) * (width + 1) + (c + 1)
        k, vfrom, vto = intervals_from_occurrences(t_all, keys, stack.steps)
        # statistics of each interval's last checkpoint
        end_idx = np.where(vto == OPEN, T - 1, np.searchsorted(stack.steps, vto) - 1)
        lookup = np.lexsort((t_all, keys))
        pos = np.searchsorted(keys[lookup] * (T + 1) + t_all[lookup], k * (T + 1) + end_idx)
        src = lookup[pos]
        parts.append(_relations(kind, a[src], b[src], c[src], vfrom, vto,
                                {s: v[src] for s, v in stats.items()}))
    return Relations.concat(parts), last


def _activations(stack: CodeStack) -> Relations:
    """ACTIVATES intervals (concept, feature) over the checkpoints."""
    F = stack.n_features
    masks = (stack.codes[t].toarray().ravel() for t in range(stack.n_steps))
    key, vfrom, vto = _dense_runs(masks, stack.steps)
    w = max(F, 1)
    return _relations("activates", key // w, key % w, np.full(key.size, -1), vfrom, vto)


#: where discovery (duals, dependencies, triads) runs: every checkpoint, the last one only
#: (reptimeline's ``--discover``), or nowhere (reptimeline without ``--discover``)
DISCOVERY_AT = ("all", "last", "none")


def analyze_reptimeline(stack: CodeStack, *, progress: bool = False,
                        discovery: str = "all", workers: int | None = None) -> Ontology:
    """Detect everything reptimeline 0.2.2 reports (tracker + discovery on the last snapshot),
    plus per-checkpoint relation intervals under the same definitions.

    ``discovery`` is "all" (discovery at every checkpoint, so duals, dependencies and triads
    get intervals), "last" (the last snapshot only, as reptimeline's CLI) or "none".
    ``workers`` threads compute the per-checkpoint products (default: the usable CPUs, up to
    8; the result does not depend on it).
    """
    if discovery not in DISCOVERY_AT:
        raise ValueError(f"discovery must be one of {DISCOVERY_AT}, got {discovery!r}")
    rank = _name_rank(stack.concepts)
    births = _births(stack, rank)
    deaths = _deaths(stack, rank)
    workers = default_workers() if workers is None else workers
    conn_ev, conn_rel = _connections(stack, progress, workers)
    curves, changes = _curves(stack)
    phases = _phase_transitions(stack.steps, curves)
    if discovery == "none":
        disc_rel, last = Relations.concat([]), {}
    else:
        disc_rel, last = _discovery_relations(stack, progress, discovery)
    F = stack.n_features
    n_dep = np.zeros(F, dtype=np.int64)
    if last:
        np.add.at(n_dep, last["deps"]["parent"], 1)
    first_stable, layer = _hierarchy(stack, changes)
    stability = _stability(stack, changes)
    n_duals = int(last["duals"]["a"].size) if last else 0
    n_deps = int(last["deps"]["child"].size) if last else 0
    n_triads = int(last["triads"]["i"].size) if last else 0
    config = {"mode": "reptimeline", "dual_threshold": DUAL_THRESHOLD,
              "dep_confidence": DEP_CONFIDENCE, "dep_threshold_effective": _dep_threshold(F),
              "triadic_threshold": TRIADIC_THRESHOLD,
              "triadic_min_interaction": TRIADIC_MIN_INTERACTION,
              "triadic_min_support": TRIADIC_MIN_SUPPORT, "n_permutations": N_PERMUTATIONS,
              "permutation_seed": PERM_SEED, "bh_alpha": BH_ALPHA, "phase_sigma": PHASE_SIGMA,
              "hierarchy_window": HIERARCHY_WINDOW, "discovery": discovery}
    relations = Relations.concat([conn_rel, disc_rel])

    def rows(kind: str, open_only: bool = False) -> int:
        # conn_rel holds only connections: no string comparison over its many rows
        rel = conn_rel if kind == "connection" else disc_rel
        m = np.ones(len(rel), dtype=bool) if rel is conn_rel else rel.kind == kind
        return int(np.count_nonzero(m & rel.open_mask() if open_only else m))

    summary = {"births": len(births), "deaths": len(deaths), "connections": len(conn_ev),
               "connection_intervals": rows("connection"),
               "connections_last": rows("connection", True),
               "phase_transitions": len(phases), "duals": n_duals, "dependencies": n_deps,
               "triads": n_triads, "duals_intervals": rows("dual"),
               "dependencies_intervals": rows("dependency"), "triads_intervals": rows("triad"),
               "hierarchy_edges": 0, "n_steps": stack.n_steps,
               "n_concepts": stack.n_concepts, "n_features": F,
               "first_step": int(stack.steps[0]), "last_step": int(stack.steps[-1]),
               "mode": "reptimeline", "ontochron_version": __version__, "structure": False,
               "discovery": discovery,
               "thresholds": dict(config)}
    return Ontology(
        steps=stack.steps.copy(), concepts=list(stack.concepts), n_features=F,
        events=Events.concat([births, deaths, conn_ev, phases]),
        relations=relations,
        activations=_activations(stack),
        curves=curves,
        feature_stats={"stability": stability, "first_stable_step": first_stable,
                       "layer": layer, "n_dependents": n_dep},
        summary=summary, config=config)
