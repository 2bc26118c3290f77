"""Calibration and power by simulation, shared by tests/test_calibration.py (few replicates,
CI) and bench/bench_calibration.py (the full table of docs/definitions.md).

Every null regime draws concepts independently (rows independent given their activity), so
any connection, dual or dependency found is false. Calibration is the rate of runs with at
least one discovery, which BH keeps at or below alpha (FDR = P(any discovery) when every
hypothesis is null); a run passes when that rate is within alpha plus a few binomial
standard errors. Power is the recall of planted structure. A family adds its rows by adding
a function that returns :class:`Row` objects to ``FAMILIES``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ontochron.ontology import OntologyConfig, analyze
from ontochron.ontology.connections import ConnectionTracker
from tests.synthetic import stack_from_dense

ALPHA = 0.05
#: replicates per null regime: CI default small; ONTOCHRON_CALIBRATION_REPS for the table
REPS = int(os.environ.get("ONTOCHRON_CALIBRATION_REPS", "8"))


@dataclass
class Row:
    """One line of the calibration/power table."""

    family: str
    regime: str
    concepts: int
    reps: int
    any_false: int  # runs with at least one (false) discovery (null regimes)
    recall: float | None = None  # planted structure found (power regimes)
    false_found: int = 0  # false discoveries in power regimes (all runs)
    found: int = 0  # all discoveries in power regimes

    @property
    def rate(self) -> float:
        return self.any_false / self.reps if self.reps else 0.0

    @property
    def bound(self) -> float:
        """alpha + 3 binomial standard errors at this many replicates."""
        return ALPHA + 3.0 * math.sqrt(ALPHA * (1 - ALPHA) / max(self.reps, 1))

    def markdown(self) -> str:
        if self.recall is None:
            res = f"{self.any_false}/{self.reps} = {self.rate:.3f} (bound {self.bound:.3f})"
            power = ""
        else:
            res = ""
            fdp = self.false_found / self.found if self.found else 0.0
            power = f"{self.recall:.3f} (false {fdp:.3f} of found)"
        return (f"| {self.family} | {self.regime} | {self.concepts} | {self.reps} | {res} "
                f"| {power} |")


HEADER = ("| family | regime | concepts | runs | runs with a false discovery | "
          "recall of planted |\n|---|---|---:|---:|---|---|")


# ---- connections ----------------------------------------------------------------------
def null_codes(rng: np.random.Generator, n: int, f: int, density: float, skew: bool,
               hetero: bool, never: int = 0) -> np.ndarray:
    """Independent concepts: feature rates uniform or Pareto-skewed, concept activity equal
    or lognormal (sigma 0.8), ``never`` extra columns that are never on."""
    rates = rng.pareto(1.5, f) + 0.2 if skew else np.ones(f)
    rates = rates / rates.mean() * density
    act = rng.lognormal(0.0, 0.8, n) if hetero else np.ones(n)
    p = np.minimum(np.outer(act / act.mean(), rates), 0.95)
    x = rng.random((n, f)) < p
    return np.hstack([x, np.zeros((n, never), dtype=bool)]) if never else x


def planted_groups(rng: np.random.Generator, n: int, f: int = 24, n_groups: int = 4,
                   bg: float = 0.1) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """Dense planted groups: ``n_groups`` groups of concepts, each with a private core of
    f / n_groups features, background bits at rate ``bg`` (tests/test_fdsm.py's code)."""
    x = rng.random((n, f)) < bg
    size, core = n // n_groups, f // n_groups
    truth: set[tuple[int, int]] = set()
    for g in range(n_groups):
        m = np.arange(g * size, (g + 1) * size)
        x[np.ix_(m, np.arange(g * core, (g + 1) * core))] = True
        truth |= {(int(a), int(b)) for i, a in enumerate(m) for b in m[i + 1:]}
    return x, truth


def connections_found(x: np.ndarray, null: str = "auto", samples: int = 500,
                      min_shared: int = 1) -> set[tuple[int, int]]:
    """Connected pairs of one checkpoint under ``null``."""
    n, f = x.shape
    tr = ConnectionTracker(n, f, ALPHA, min_shared, null=null, null_samples=samples)
    step = tr.compute(sp.csr_array(x), np.ones(n, dtype=bool), 0)
    return set(zip((step.keys // n).tolist(), (step.keys % n).tolist(), strict=True))


#: (name, features, density, skewed features, lognormal activity, never-on columns)
CONNECTION_REGIMES = (
    ("dense, homogeneous", 32, 0.3, False, False, 0),
    ("dense, lognormal activity, skewed features, never-on columns", 32, 0.3, True, True, 16),
    ("sparse, lognormal activity, skewed features", 256, 0.03, True, True, 0),
)


def connection_null_rows(sizes: tuple[int, ...], reps: int = REPS, null: str = "auto",
                         regimes: tuple = CONNECTION_REGIMES, seed: int = 0) -> list[Row]:
    """Runs with any connection on null codes, per regime and size."""
    out = []
    for name, f, dens, skew, het, never in regimes:
        for n in sizes:
            hits = sum(bool(connections_found(
                null_codes(np.random.default_rng([seed, n, r, f]), n, f, dens, skew, het,
                           never), null)) for r in range(reps))
            out.append(Row(f"connections ({null})", name, n, reps, hits))
    return out


def connection_power_rows(sizes: tuple[int, ...], reps: int = 2, null: str = "auto",
                          seed: int = 0) -> list[Row]:
    """Recall of dense planted groups (4 groups, 24 features, 10 % background)."""
    out = []
    for n in sizes:
        tp = tot = fp = found = 0
        for r in range(reps):
            x, truth = planted_groups(np.random.default_rng([seed, n, r]), n)
            got = connections_found(x, null)
            tp, tot = tp + len(got & truth), tot + len(truth)
            fp, found = fp + len(got - truth), found + len(got)
        out.append(Row(f"connections ({null})", "dense planted groups (24 features)", n,
                       reps, 0, tp / tot, fp, found))
    return out


# ---- overlay --------------------------------------------------------------------------
def _overlay(x: np.ndarray, duals: list[tuple[int, int]],
             deps: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """Expected relations the overlay's native test finds on one checkpoint ``x``."""
    ov, tests = overlay_tests(x, duals, deps)
    return [(kind, int(a[1:]), int(b[1:])) for (kind, a, b), st in tests.items()
            if ov.native_found(kind, st)]


def overlay_tests(x: np.ndarray, duals: list[tuple[int, int]],
                  deps: list[tuple[int, int]], activity_strata: int | None = None) -> tuple:
    """(Overlay, its tests at step 0) for a one-checkpoint code and a hypothesis of
    features ``f<i>`` with these duals and (child, parent) dependencies; ``activity_strata``
    overrides the analysis' setting (1: the plain Fisher tests of before strata)."""
    from ontochron.overlay.analysis import Overlay
    from ontochron.overlay.hypothesis import parse_hypothesis
    from ontochron.overlay.source import Intervals, OverlayData, _structure
    from ontochron.viz.data import from_ontology

    n, f = x.shape
    stack = stack_from_dense([(0, [f"c{i}" for i in range(n)], x)])
    ont = analyze(stack, OntologyConfig(structure=False, connections=False), progress=False)
    z = np.zeros(0, dtype=np.int64)
    empty = {k: Intervals(z, z, z, z, {}) for k in ("dual", "dependency")}
    cfg = _structure(ont.summary)
    if activity_strata is not None:
        cfg["activity_strata"] = activity_strata
    od = OverlayData(from_ontology(ont), empty, np.full(f, -1, dtype=np.int64), cfg,
                     "simulation")
    used = sorted({i for p in duals + deps for i in p})
    prims = []
    for i in used:
        p = {"name": f"f{i}", "feature": i, "layer": 1}
        dual = [b for a, b in duals if a == i]
        if dual:
            p["dual"] = f"f{dual[0]}"
        parents = [b for a, b in deps if a == i]
        if parents:
            p["depends_on"] = [f"f{b}" for b in parents]
        prims.append(p)
    ov = Overlay(parse_hypothesis({"primitives": prims}), od)
    return ov, ov.tests(0)


def overlay_null_rows(reps: int = REPS, n: int = 200, seed: int = 0) -> list[Row]:
    """Independent features on few-feature codes (so many codes are empty): any expected
    dual or dependency the overlay finds is false."""
    hits = 0
    for r in range(reps):
        rng = np.random.default_rng([seed, 7, r])
        x = rng.random((n, 3)) < 0.3
        hits += bool(_overlay(x, [(0, 1)], [(2, 0)]))
    return [Row("overlay (native test)", "3 independent features at rate 0.3 (34 % empty "
                "codes)", n, reps, hits)]


def overlay_power_rows(reps: int = 2, n: int = 200, seed: int = 0) -> list[Row]:
    """A planted dual (f1 = not f0) and dependency (f3 on only with f2), among 8 more
    independent features: the tests keep concept activity, and with the four planted
    features alone a concept's activity would fix its bits (no evidence in any stratum)."""
    tp = tot = 0
    for r in range(reps):
        rng = np.random.default_rng([seed, 8, r])
        x = rng.random((n, 12)) < 0.4
        x[:, 1] = ~x[:, 0]
        x[:, 3] &= x[:, 2]
        got = _overlay(x, [(0, 1)], [(3, 2)])
        tp, tot = tp + len(got), tot + 2
    return [Row("overlay (native test)", "planted dual and dependency (12 features)", n, reps, 0,
                tp / tot, 0, tp)]


FAMILIES: dict[str, Callable[..., list[Row]]] = {
    "connection_null": connection_null_rows,
    "connection_power": connection_power_rows,
    "overlay_null": overlay_null_rows,
    "overlay_power": overlay_power_rows,
}
