"""The fixed degree sequence model (FDSM) of one checkpoint's concept x feature codes: every
random code keeps *exactly* each concept's size and each feature's popularity.

Samples come from the curveball Markov chain (Strona et al., Nat. Commun. 5, 4114, 2014;
uniform stationary law: Carstens, Phys. Rev. E 91, 042812, 2015): a trade picks two concepts
and re-deals the features that exactly one of them has, uniformly, keeping both sizes. One
*sweep* trades the pairs of a random perfect matching of the concepts at once (disjoint
trades commute), vectorized over many independent chains.

p-values are Monte Carlo with Besag and Clifford's (1989) parallel scheme: the chain is run
``sweeps`` sweeps from the observed codes to a hub, and each sample is ``sweeps`` sweeps from
the hub. The sweep kernel is symmetric, so under the FDSM the observed codes and the samples
are exchangeable and ``p = (1 + #{samples with S >= s}) / (N + 1)`` is a valid p-value for
any number of sweeps (mixing only affects power). Its floor is ``1 / (N + 1)``.
"""

from __future__ import annotations

import numpy as np

# Default Monte Carlo samples and sweeps per sample (see docs/definitions.md).
NULL_SAMPLES = 2000
SWEEPS = 16
# Bytes of sample codes and pair co-occurrences held at once.
_BATCH_BYTES = 64 << 20


def curveball_sweeps(x: np.ndarray, sweeps: int, rng: np.random.Generator) -> np.ndarray:
    """Run ``sweeps`` curveball sweeps on each chain of ``x`` (chains x concepts x features,
    bool, C-contiguous), in place; returns ``x``. Every row and column sum of every chain
    is kept exactly."""
    n_chains, n, f = x.shape
    half = n // 2
    if half == 0 or f == 0:
        return x
    if not x.flags.c_contiguous:
        raise ValueError("curveball_sweeps needs a C-contiguous array (it works in place)")
    flat = x.reshape(n_chains * n, f)  # a view: trades write through to x
    offset = (np.arange(n_chains, dtype=np.int64) * n)[:, None]
    base = np.tile(np.arange(n, dtype=np.int64), (n_chains, 1))
    col = np.arange(f, dtype=np.int64)
    never = np.int64(1) << 62
    for _ in range(sweeps):
        perm = rng.permuted(base, axis=1) + offset
        ia, ib = perm[:, :half].ravel(), perm[:, half:2 * half].ravel()
        a, b = flat[ia], flat[ib]
        both, xor = a & b, a ^ b
        n_a = np.count_nonzero(a & ~b, axis=-1)  # features only a has: a keeps that many
        # distinct random keys (the column breaks ties), traded features only: a gets the
        # n_a smallest, a uniform subset of that size
        keys = rng.integers(0, 1 << 40, size=xor.shape, dtype=np.int64) * f + col
        keys[~xor] = never
        cut = np.take_along_axis(np.sort(keys, axis=-1),
                                 np.maximum(n_a - 1, 0)[:, None], axis=-1)
        to_a = xor & (keys <= cut) & (n_a > 0)[:, None]
        flat[ia] = both | to_a
        flat[ib] = both | (xor & ~to_a)
    return x


def fdsm_exceedances(codes: np.ndarray, n_samples: int, rng: np.random.Generator,
                     sweeps: int = SWEEPS, at_least: int | None = None
                     ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """For every concept pair, how many of ``n_samples`` FDSM samples share at least as many
    features as the observed ``codes`` (concepts x features, bool): an n x n int array
    (Besag-Clifford samples, see the module docstring). With ``at_least``, also how many
    samples share at least that many (same shape): the pair's selection count.

    Features on in no or every concept, and concepts with no or every feature, are the same
    in every sample and are left out of the chain (their contribution to every overlap is
    the same constant in the samples as in the data). Memory: batches of chains of about
    64 MiB. Cost: n_samples x sweeps x concepts x features log features, plus the batched
    products (the number of pairs is quadratic by nature: every pair is tested).
    """
    x = np.asarray(codes, dtype=bool)
    n, f = x.shape
    pop, size = x.sum(axis=0), x.sum(axis=1)
    x = x[np.ix_((size > 0) & (size < f), (pop > 0) & (pop < n))]
    live_rows = np.flatnonzero((size > 0) & (size < f))
    out = np.zeros((n, n), dtype=np.int64)
    x0 = np.asarray(codes, dtype=bool)
    obs_all = x0.astype(np.int64) @ x0.T.astype(np.int64) if at_least is not None else None
    base = int(np.count_nonzero(pop == n))  # features every concept has: in every overlap
    if x.shape[0] < 2 or x.shape[1] < 2:
        out[:] = n_samples  # nothing can move: every sample equals the data
        if at_least is None:
            return out
        return out, np.where(obs_all >= at_least, n_samples, 0)
    nl, fl = x.shape
    obs = x.astype(np.float32) @ x.T.astype(np.float32)
    hub = curveball_sweeps(np.ascontiguousarray(x)[None].copy(), sweeps, rng)[0]
    batch = max(1, _BATCH_BYTES // (4 * nl * (nl + fl) + 8 * fl * nl))
    cnt = np.zeros((nl, nl), dtype=np.int64)
    hit = np.zeros((nl, nl), dtype=np.int64)
    done = 0
    while done < n_samples:
        b = min(batch, n_samples - done)
        xs = curveball_sweeps(np.repeat(hub[None], b, axis=0), sweeps, rng)  # contiguous
        xf = xs.astype(np.float32)
        s = np.matmul(xf, xf.transpose(0, 2, 1))  # exact: counts far below 2^24
        cnt += np.count_nonzero(s >= obs[None] - 0.5, axis=0)
        if at_least is not None:
            hit += np.count_nonzero(s >= at_least - base - 0.5, axis=0)
        done += b
    out[:] = n_samples  # pairs with a fixed concept: their overlap never changes
    out[np.ix_(live_rows, live_rows)] = cnt
    if at_least is None:
        return out
    reach = np.where(obs_all >= at_least, n_samples, 0)
    reach[np.ix_(live_rows, live_rows)] = hit
    return out, reach
