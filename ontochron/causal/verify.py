"""Causal verification: do interventions on a feature hurt its own concepts more than others?

For each tested feature the intervention's per-input effects on the concepts whose code has
the feature on ("own") are compared with those on every other concept: mean difference,
bootstrap confidence interval, permutation p-value, Hedges' g, and Benjamini-Hochberg q-values
across all tested features together.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy import stats

from ontochron.errors import InputError
from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.ontology.intervals import holds_at
from ontochron.ontology.result import Ontology

Intervene = Callable[[int, str], "float | np.ndarray"]

ALTERNATIVES = ("greater", "two-sided", "less")
UNITS = ("input", "concept")
CI_METHODS = ("BCa", "percentile", "basic")

_RNG_KW = "rng" if "rng" in inspect.signature(stats.permutation_test).parameters else "random_state"


@dataclass(frozen=True)
class CausalResult:
    """One tested feature: effect = mean(own) - mean(other) of the intervention's effects."""

    feature: int
    step: int
    effect: float
    ci_low: float
    ci_high: float
    p: float
    q: float
    n: int
    n_own: int
    n_other: int
    mean_own: float
    mean_other: float
    selectivity: float
    hedges_g: float
    cohen_d: float
    method: str
    causal: bool
    #: the dictionary latent tested, where ``feature`` is the lineage holding it at ``step``
    dict_index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict with NaN/inf turned into None (JSON- and Cypher-friendly);
        ``dict_index`` only where the result was mapped onto a lineage."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in asdict(self).items() if k != "dict_index" or v is not None}


@dataclass
class CausalReport:
    """Typed result rows of :func:`verify_features` plus the settings that produced them."""

    results: list[CausalResult]
    step: int
    alpha: float
    alternative: str
    n_resamples: int
    seed: int
    method: str
    config: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def space(self) -> str:
        """``"dictionary"`` (feature = the latent tested) or ``"lineage"`` (feature = the
        lineage that holds the latent at ``step``; see :mod:`ontochron.causal.lineage_space`)."""
        return str(self.config.get("space", "dictionary"))

    def causal_features(self) -> list[int]:
        """Features declared causal (q <= alpha and effect in the tested direction)."""
        return [r.feature for r in self.results if r.causal]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per tested feature (NaN/inf as None)."""
        return [r.as_dict() for r in self.results]

    def summary(self) -> dict[str, Any]:
        """The ``causal`` section of summary.json."""
        return {"step": self.step, "method": self.method, "alpha": self.alpha,
                "alternative": self.alternative, "n_resamples": self.n_resamples,
                "seed": self.seed, "n_tested": len(self.results),
                "n_causal": len(self.causal_features()),
                "causal_features": self.causal_features(), "tests": self.rows(),
                **({"config": self.config} if self.config else {})}


def _check_params(n_resamples: int, alpha: float, confidence: float, alternative: str,
                  unit: str, ci_method: str) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) \
            or n_resamples < 10:
        raise InputError(f"n_resamples must be an integer >= 10, got {n_resamples!r}")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be in (0, 1), got {alpha!r}")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")
    if alternative not in ALTERNATIVES:
        raise InputError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    if unit not in UNITS:
        raise InputError(f"unit must be one of {UNITS}, got {unit!r}")
    if ci_method not in CI_METHODS:
        raise InputError(f"ci_method must be one of {CI_METHODS}, got {ci_method!r}")


def codes_at(source: Any, step: int | None = None, concepts: Sequence[str] | None = None
             ) -> tuple[list[str], sp.csr_array, int]:
    """Concept names, boolean concept x feature codes and the step, from any code source.

    ``source`` is a :class:`Snapshot`, a :class:`CodeStack` or an :class:`Ontology` (the
    ACTIVATES intervals holding at ``step``; default: last step), or a 0/1 matrix with
    ``concepts`` naming its rows.
    """
    if isinstance(source, Snapshot):
        return list(source.concepts), source.codes, source.step
    if isinstance(source, CodeStack):
        t = source.n_steps - 1 if step is None else _step_index(source.steps, step)
        rows = np.flatnonzero(source.present[t])
        return ([source.concepts[i] for i in rows], sp.csr_array(source.codes[t][rows]),
                int(source.steps[t]))
    if isinstance(source, Ontology):
        s = int(source.steps[-1]) if step is None else int(step)
        _step_index(source.steps, s)
        act = source.activations
        m = holds_at(act.valid_from, act.valid_to, s)
        shape = (len(source.concepts), int(source.n_features))
        codes = sp.csr_array((np.ones(int(m.sum()), dtype=bool), (act.a[m], act.b[m])),
                             shape=shape)
        return list(source.concepts), codes, s
    if concepts is None:
        raise InputError("a code matrix needs the concept names (concepts=...)")
    snap = Snapshot.create(0 if step is None else step, concepts, source)
    return list(snap.concepts), snap.codes, snap.step


def _step_index(steps: np.ndarray, step: int) -> int:
    hit = np.flatnonzero(np.asarray(steps) == int(step))
    if hit.size == 0:
        raise InputError(f"step {step} is not a checkpoint step (have {list(map(int, steps))})")
    return int(hit[0])


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Vectorized statistic for scipy resampling: mean(x) - mean(y) along ``axis``."""
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def hedges_g(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Cohen's d (pooled SD) and Hedges' g (small-sample corrected) of x versus y."""
    nx, ny = x.size, y.size
    if nx < 2 or ny < 2:
        return math.nan, math.nan
    pooled = ((nx - 1) * np.var(x, ddof=1) + (ny - 1) * np.var(y, ddof=1)) / (nx + ny - 2)
    diff = float(np.mean(x) - np.mean(y))
    if pooled <= 0:
        d = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    else:
        d = diff / math.sqrt(pooled)
    j = 1.0 - 3.0 / (4.0 * (nx + ny) - 9.0)
    return d, d * j


def selectivity(mean_own: float, mean_other: float) -> float:
    """(own - other) / (|own| + |other|): 1 when only own concepts are affected, 0 if equal."""
    den = abs(mean_own) + abs(mean_other)
    return 0.0 if den == 0 else (mean_own - mean_other) / den


def _collect(intervene: Intervene, feature: int, concepts: Sequence[str], unit: str
             ) -> list[np.ndarray]:
    out = []
    for c in concepts:
        e = np.asarray(intervene(int(feature), c), dtype=float).ravel()
        if e.size == 0:
            raise InputError(f"intervention returned no effects for feature {feature}, "
                             f"concept {c!r}")
        if not np.all(np.isfinite(e)):
            raise InputError(f"intervention returned NaN/inf for feature {feature}, "
                             f"concept {c!r}")
        out.append(np.array([e.mean()]) if unit == "concept" else e)
    return out


def _test_one(x: np.ndarray, y: np.ndarray, feature: int, step: int, *, n_resamples: int,
              seed: int, alternative: str, confidence: float, ci_method: str, method: str
              ) -> CausalResult:
    mo, mt = float(x.mean()) if x.size else math.nan, float(y.mean()) if y.size else math.nan
    nan = math.nan
    if x.size < 2 or y.size < 2:
        return CausalResult(feature, step, mo - mt, nan, nan, nan, nan, x.size + y.size, x.size,
                            y.size, mo, mt, nan if math.isnan(mo - mt) else selectivity(mo, mt),
                            nan, nan, method, False)
    d, g = hedges_g(x, y)
    if np.ptp(np.concatenate([x, y])) == 0:  # all effects identical: no evidence either way
        p, lo, hi = 1.0, mo - mt, mo - mt
    else:
        perm = stats.permutation_test(
            (x, y), _mean_diff, permutation_type="independent", vectorized=True,
            n_resamples=n_resamples, alternative=alternative,
            **{_RNG_KW: np.random.default_rng([seed, feature, 0])})
        p = float(perm.pvalue)
        lo, hi = _bootstrap_ci(x, y, n_resamples=n_resamples, confidence=confidence,
                               ci_method=ci_method, rng=np.random.default_rng([seed, feature, 1]))
    return CausalResult(feature, step, mo - mt, lo, hi, p, nan, x.size + y.size, x.size, y.size,
                        mo, mt, selectivity(mo, mt), g, d, method, False)


def _bootstrap_ci(x: np.ndarray, y: np.ndarray, *, n_resamples: int, confidence: float,
                  ci_method: str, rng: np.random.Generator) -> tuple[float, float]:
    """Two-sided bootstrap CI of mean(x) - mean(y); BCa falls back to percentile if degenerate."""
    # BCa's jackknife holds an n x (n-1) array per batch; batch keeps memory bounded.
    with warnings.catch_warnings():  # a degenerate BCa gives NaN; handled just below
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap((x, y), _mean_diff, n_resamples=n_resamples, vectorized=True,
                              confidence_level=confidence, method=ci_method, batch=256,
                              **{_RNG_KW: rng})
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if ci_method == "BCa" and not (math.isfinite(lo) and math.isfinite(hi)):
        return _bootstrap_ci(x, y, n_resamples=n_resamples, confidence=confidence,
                             ci_method="percentile", rng=rng)
    return lo, hi


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH q-values over the finite entries of ``p`` (NaN stays NaN)."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok], method="bh")
    return q


def verify_features(intervene: Intervene, codes: Any, features: Iterable[int] | None = None, *,
                    step: int | None = None, concepts: Sequence[str] | None = None,
                    n_resamples: int = 999, seed: int = 0, alpha: float = 0.05,
                    confidence: float = 0.95, alternative: str = "greater",
                    unit: str = "input", ci_method: str = "BCa", method: str = "intervention",
                    progress: bool = False) -> CausalReport:
    """Test which features are causal for their own concepts at one checkpoint.

    ``intervene(feature, concept)`` ablates/patches ``feature`` on the inputs of ``concept``
    and returns one effect per input (e.g. loss increase). ``codes`` is anything
    :func:`codes_at` accepts. Each feature's effects on concepts with the feature on are
    compared to all other concepts (``unit="concept"`` first averages per concept). p-values are
    permutation tests (seeded per feature), CIs are bootstrap intervals, and q-values are
    Benjamini-Hochberg over all tested features; ``causal`` means q <= alpha with the effect in
    the direction of ``alternative``. Calls ``intervene`` once per feature x concept.
    """
    _check_params(n_resamples, alpha, confidence, alternative, unit, ci_method)
    names, m, s = codes_at(codes, step, concepts)
    n_feat = int(m.shape[1])
    feats = np.arange(n_feat) if features is None else np.asarray(list(features), dtype=np.int64)
    if feats.size == 0:
        raise InputError("no features to test")
    if feats.min() < 0 or feats.max() >= n_feat:
        raise InputError(f"feature index out of range [0, {n_feat}): "
                         f"{int(feats[(feats < 0) | (feats >= n_feat)][0])}")
    if len(set(feats.tolist())) != feats.size:
        raise InputError("duplicate feature indices in features")
    dense_cols = sp.csc_array(m)[:, feats].toarray().astype(bool)  # n_concepts x n_tested
    results: list[CausalResult] = []
    it: Iterable[int] = range(feats.size)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="verify", unit="feature")
    for j in it:
        f = int(feats[j])
        per_concept = _collect(intervene, f, names, unit)
        own = dense_cols[:, j]
        x = np.concatenate([e for e, o in zip(per_concept, own, strict=True) if o] or [np.zeros(0)])
        y = np.concatenate([e for e, o in zip(per_concept, own, strict=True) if not o] or [np.zeros(0)])
        results.append(_test_one(x, y, f, s, n_resamples=n_resamples, seed=seed,
                                 alternative=alternative, confidence=confidence,
                                 ci_method=ci_method, method=method))
    q = benjamini_hochberg(np.array([r.p for r in results]))
    final = []
    for r, qi in zip(results, q, strict=True):
        sign_ok = (r.effect > 0 if alternative == "greater" else
                   r.effect < 0 if alternative == "less" else r.effect != 0)
        causal = bool(np.isfinite(qi) and qi <= alpha and sign_ok)
        final.append(CausalResult(**{**asdict(r), "q": float(qi), "causal": causal}))
    return CausalReport(final, s, alpha, alternative, int(n_resamples), int(seed), method,
                        {"confidence": confidence, "unit": unit, "ci_method": ci_method})
