"""Simulated codes for the structure calibration and power suite (tests/test_structure_calibration.py,
bench/bench_structure_calibration.py): null regimes with no feature-feature mechanism, and
planted duals / dependencies / AND gates / noisy ORs on top of concept-activity heterogeneity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Regime:
    """Independent features whose on-probability is concept activity x feature frequency
    (clipped to 1): a null for every structure family."""

    name: str
    n: int                    # concepts
    f: int                    # features with a frequency
    sigma: float              # lognormal sd of concept activity (0: homogeneous)
    freq: tuple[float, float] = (0.05, 0.6)  # uniform range of feature frequencies
    skew: bool = False        # frequencies ~ Beta(0.4, 2) scaled into ``freq`` instead
    never_on: int = 0         # extra columns on in no concept
    empty: int = 0            # extra concepts with no feature on


NULL_REGIMES = (
    Regime("homogeneous", 300, 20, 0.0),
    Regime("heterogeneous", 300, 20, 1.0, (0.05, 0.9)),
    Regime("skewed-frequencies", 500, 40, 1.0, (0.02, 0.9), skew=True),
    Regime("never-on-columns", 200, 20, 1.0, (0.05, 0.9), never_on=20, empty=20),
    Regime("dense", 100, 16, 0.5, (0.3, 0.8)),
    Regime("sparse", 1000, 200, 1.0, (0.005, 0.06)),
    Regime("small", 40, 8, 1.0, (0.1, 0.8)),
    Regime("large-heterogeneous", 1000, 30, 1.0, (0.05, 0.9)),
)


def activity(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Concept activity factors, lognormal with mean 1 (all 1 when ``sigma`` is 0)."""
    if sigma <= 0:
        return np.ones(n)
    a = rng.lognormal(0.0, sigma, n)
    return a / a.mean()


def null_codes(reg: Regime, seed: int) -> np.ndarray:
    """One checkpoint of ``reg`` (concepts x features, bool)."""
    rng = np.random.default_rng(seed)
    lo, hi = reg.freq
    u = rng.beta(0.4, 2.0, reg.f) if reg.skew else rng.random(reg.f)
    freq = lo + (hi - lo) * u
    act = activity(rng, reg.n, reg.sigma)
    x = rng.random((reg.n, reg.f)) < np.clip(act[:, None] * freq[None, :], 0.0, 1.0)
    x = np.concatenate([x, np.zeros((reg.n, reg.never_on), dtype=bool)], axis=1)
    return np.concatenate([x, np.zeros((reg.empty, x.shape[1]), dtype=bool)], axis=0)


def planted_hetero(seed: int, n: int = 600, f: int = 30, sigma: float = 1.0) -> np.ndarray:
    """Heterogeneous background (activity x frequency) plus a dual (0, 1), a dependency
    chain 4 => 3 => 2 (noisy subsets) and an AND gate 7 = 5 & 6 (with 5 % flips)."""
    rng = np.random.default_rng(seed)
    act = activity(rng, n, sigma)
    freq = rng.uniform(0.05, 0.5, f)
    x = rng.random((n, f)) < np.clip(act[:, None] * freq[None, :], 0.0, 1.0)
    x[:, 0] = rng.random(n) < 0.4
    x[:, 1] = ~x[:, 0] & (rng.random(n) < 0.7)
    x[:, 2] = rng.random(n) < np.clip(0.5 * act, 0, 1)
    x[:, 3] = x[:, 2] & (rng.random(n) < 0.6)
    x[:, 4] = x[:, 3] & (rng.random(n) < 0.6)
    x[:, 5] = rng.random(n) < np.clip(0.35 * act, 0, 1)
    x[:, 6] = rng.random(n) < np.clip(0.35 * act, 0, 1)
    x[:, 7] = (x[:, 5] & x[:, 6]) ^ (rng.random(n) < 0.05)
    return x


PLANTED = {"dual": {(0, 1)}, "dependency": {(3, 2), (4, 3), (4, 2)}, "triad": {(5, 6, 7)}}


def noisy_or(seed: int, n: int = 300, f: int = 12, p: float = 0.55) -> np.ndarray:
    """Feature 2 is a noisy OR of 0 and 1 (each input turns it on with probability ``p``);
    the other features are independent noise."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, f)) < rng.uniform(0.1, 0.4, f)
    x[:, 0] = rng.random(n) < 0.3
    x[:, 1] = rng.random(n) < 0.3
    x[:, 2] = (x[:, 0] & (rng.random(n) < p)) | (x[:, 1] & (rng.random(n) < p))
    return x
