"""Power of each Benjamini-Hochberg test family: how many tests it has, the smallest p-value
any of them can attain given the margins, and how many discoveries BH could make at most,
per checkpoint; aggregated into notes when a family cannot find anything (or found nothing
on small data), with the remedy. All from margins: negligible next to the tests."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ontochron.ontology.stats import gammaln

FAMILIES = ("connection", "dual", "dependency", "triad")
# A family this small that found nothing gets a note even where one test could pass alone.
SMALL_FAMILY = 1000
_LABEL = {"connection": "connections", "dual": "duals", "dependency": "dependencies",
          "triad": "triads"}


@dataclass(frozen=True)
class StepPower:
    """One family at one checkpoint: ``tests`` (m, the whole BH family, skipped tests
    included), ``min_p`` (smallest attainable p-value of any test), ``max_discoveries``
    (the most BH can reject: largest k with k tests able to reach p <= k alpha / m; 0 =
    no power), ``min_discoveries`` (the fewest BH can reject when it rejects at all:
    ceil(min_p m / alpha)), ``discoveries`` (what was found), ``null`` (connections)."""

    tests: int
    min_p: float
    max_discoveries: int
    min_discoveries: int
    discoveries: int = 0
    null: str = ""


def bh_power(levels: np.ndarray, counts: np.ndarray, m: int, alpha: float
             ) -> tuple[float, int, int]:
    """(min_p, max_discoveries, min_discoveries) of a BH family of ``m`` tests whose
    smallest attainable p-values are ``levels`` shared by ``counts`` tests each (tests not
    listed cannot go below 1).

    BH rejects the k smallest p-values when p_(k) <= k alpha / m, so k rejections need k
    tests that can each reach k alpha / m: the largest such k bounds the discoveries
    (exact for the bound; tests whose bound is 1 can never count since alpha < 1).
    """
    levels = np.asarray(levels, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.int64)
    keep = (counts > 0) & (levels < 1.0)
    levels, counts = levels[keep], counts[keep]
    if m <= 0 or levels.size == 0:
        return 1.0, 0, 0
    order = np.argsort(levels, kind="stable")
    lv, cum = levels[order], np.cumsum(counts[order])
    # k feasible iff #{levels <= k alpha / m} >= k; within [lv_j, lv_{j+1}) that count is cum_j
    k_lo = np.maximum(np.ceil(lv * m / alpha - 1e-9), 1)
    nxt = np.append(lv[1:], np.inf)
    k_hi = np.minimum(np.ceil(nxt * m / alpha - 1e-9) - 1, m)
    best = np.minimum(cum, k_hi)
    ok = best >= k_lo
    max_k = int(best[ok].max()) if ok.any() else 0
    min_k = int(k_lo[0]) if max_k else 0
    return float(lv[0]), max_k, min_k


def pair_counts(counts: np.ndarray, ordered: bool = False) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
    """Index pairs (ia <= ib) of value groups with ``counts`` members and how many member
    pairs each has (unordered a < b; ``ordered``: a != b both ways)."""
    u = counts.size
    ia, ib = np.triu_indices(u)
    c = counts.astype(np.int64)
    same = c[ia] * (c[ia] - 1)
    mult = np.where(ia == ib, same if ordered else same // 2,
                    c[ia] * c[ib] * (2 if ordered else 1))
    return ia, ib, mult


def log_binom(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)


@dataclass
class FamilyPower:
    """One family over the checkpoints it was tested at (``steps``), column per field of
    :class:`StepPower`."""

    family: str
    alpha: float
    steps: np.ndarray
    tests: np.ndarray
    min_p: np.ndarray
    max_discoveries: np.ndarray
    min_discoveries: np.ndarray
    discoveries: np.ndarray
    null: list[str] = field(default_factory=list)

    @classmethod
    def from_steps(cls, family: str, alpha: float, steps: list[int],
                   rows: list[StepPower]) -> FamilyPower:
        col = {f: np.array([getattr(r, f) for r in rows],
                           dtype=np.float64 if f == "min_p" else np.int64)
               for f in ("tests", "min_p", "max_discoveries", "min_discoveries",
                         "discoveries")}
        return cls(family, alpha, np.asarray(steps, dtype=np.int64), **col,
                   null=[r.null for r in rows] if family == "connection" else [])

    @property
    def no_power(self) -> bool:
        """No checkpoint can yield a single discovery."""
        return bool(self.steps.size) and not np.any(self.max_discoveries > 0)

    @property
    def weak(self) -> bool:
        """Nothing found, and either wherever BH could reject it needs several tests at their
        most extreme at once (no single test can pass on its own: min_p > alpha / m), or the
        family is small (fewer than SMALL_FAMILY tests at every checkpoint)."""
        if self.no_power or int(self.discoveries.sum()):
            return False
        several = bool(np.all(self.min_discoveries[self.max_discoveries > 0] > 1))
        return several or int(self.tests.max(initial=0)) < SMALL_FAMILY

    def to_dict(self) -> dict[str, Any]:
        """summary.json entry: totals, flags and the per-checkpoint columns."""
        has = self.max_discoveries > 0
        out: dict[str, Any] = {
            "tests_max": int(self.tests.max(initial=0)),
            "min_p": float(self.min_p.min(initial=1.0)),
            "discoveries": int(self.discoveries.sum()),
            "checkpoints": int(self.steps.size),
            "checkpoints_without_power": int(np.count_nonzero(~has)),
            "no_power": self.no_power,
            "weak_power": self.weak,
        }
        if self.null:
            out["nulls"] = {n: self.null.count(n) for n in sorted(set(self.null))}
        if self.no_power or self.weak:
            out["remedy"] = remedy(self.family)
        out["per_checkpoint"] = {
            "step": self.steps.tolist(), "tests": self.tests.tolist(),
            "min_p": [float(f"{v:.4g}") for v in self.min_p.tolist()],
            "max_discoveries": self.max_discoveries.tolist(),
            "min_discoveries": self.min_discoveries.tolist(),
            "discoveries": self.discoveries.tolist()}
        if self.null:
            out["per_checkpoint"]["null"] = list(self.null)
        return out


_REMEDY = {
    "connection": "more probe concepts (the family is all concept pairs of a checkpoint), "
                  "another null (--connection-null hypergeometric, or fdsm with more "
                  "--null-samples), or --compat reptimeline for reptimeline's heuristic "
                  "thresholds",
    "structure": "more probe concepts (every feature test is over the concepts of one "
                 "checkpoint), a lower --min-support, or --compat reptimeline for "
                 "reptimeline's heuristic thresholds",
}


def remedy(family: str) -> str:
    """What to try when ``family`` cannot find anything."""
    return _REMEDY["connection" if family == "connection" else "structure"]


def _note(fp: FamilyPower) -> str | None:
    label = _LABEL[fp.family]
    fix = remedy(fp.family)
    t = int(fp.steps.size)
    where = f"at any of the {t} checkpoints" if t > 1 else "at the checkpoint tested"
    m, p = int(fp.tests.max(initial=0)), float(fp.min_p.min(initial=1.0))
    if fp.no_power:
        why = (f"{m:,} tests, smallest attainable p {p:.3g} > alpha/m = "
               f"{fp.alpha / max(m, 1):.3g}" if m else "no testable pairs")
        return (f"{label}: no test can pass Benjamini-Hochberg {where} ({why}; BH needs k "
                f"tests with p <= k*alpha/m). Remedy: {fix}.")
    if fp.weak:
        k = int(fp.min_discoveries[fp.max_discoveries > 0].min())
        if k > 1:
            why = (f"no single test can pass BH alone: a discovery needs at least {k} tests "
                   f"at their most extreme p at once (smallest attainable p {p:.3g}, "
                   f"{m:,} tests)")
        else:
            why = (f"small data: at most {m:,} tests, BH passes one only at p <= "
                   f"{fp.alpha / max(m, 1):.3g} (smallest attainable p {p:.3g})")
        return f"{label}: none found; {why}. Remedy: {fix}."
    if fp.family == "connection" and int(np.count_nonzero(fp.max_discoveries == 0)):
        n0 = int(np.count_nonzero(fp.max_discoveries == 0))
        return (f"{label}: no test can pass BH at {n0} of {t} checkpoints. Remedy: "
                f"{fix}.")
    return None


@dataclass
class PowerReport:
    """Power of every family tested in a run, and the notes the CLI prints once."""

    families: dict[str, FamilyPower]

    @property
    def notes(self) -> list[str]:
        return [n for fp in self.families.values() if (n := _note(fp)) is not None]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: fp.to_dict() for name, fp in self.families.items()}
        out["notes"] = self.notes
        return out


def log_min_binom_bound(ni: np.ndarray, nj: np.ndarray, lo: np.ndarray, hi: np.ndarray
                        ) -> np.ndarray:
    """max over integer x in [lo, hi] of log C(ni + nj - x, x) (-inf where lo > hi): the
    sequence is log-concave in x, so its maximum is at the real root of the ratio = 1
    equation, floored or ceiled, clipped into the range."""
    s = (np.asarray(ni) + np.asarray(nj)).astype(np.float64)
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    # C(s-x-1, x+1) / C(s-x, x) = (s-2x)(s-2x-1) / ((x+1)(s-x)) = 1  <=>
    # 5x^2 - (5s - 3)x + s^2 - 2s = 0, smaller root
    disc = np.maximum((5 * s - 3) ** 2 - 20 * (s * s - 2 * s), 0.0)
    root = (5 * s - 3 - np.sqrt(disc)) / 10.0
    best = np.full(s.shape, -math.inf)
    for x in (np.floor(root), np.ceil(root), lo, hi):
        x = np.clip(x, lo, hi)
        with np.errstate(invalid="ignore"):
            v = np.where(lo <= hi, log_binom(s - x, x), -math.inf)
        best = np.maximum(best, np.nan_to_num(v, nan=-math.inf))
    return best
