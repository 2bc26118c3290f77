"""Calibration and power by simulation (tests/calibration.py): the default connection null
and the overlay's native test keep P(any false discovery) within alpha plus three standard
errors on null codes across regimes, and find planted structure on dense codes at every
size. Few replicates here; ONTOCHRON_CALIBRATION_REPS=200 (or bench/bench_calibration.py)
for the table of docs/definitions.md."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ontochron.ontology import OntologyConfig, analyze
from tests import calibration as cal
from tests.synthetic import stack_from_dense


def _within(row: cal.Row) -> bool:
    return row.any_false <= math.floor(row.bound * row.reps)


@pytest.mark.parametrize("regime", cal.CONNECTION_REGIMES, ids=lambda r: r[0])
def test_default_connection_null_is_calibrated(regime):
    """40 concepts (FDSM under auto), 128 and 300 (size-conditioned BiCM or BiCM)."""
    for row in cal.connection_null_rows((40, 128, 300), regimes=(regime,)):
        assert _within(row), row


def test_size_conditioned_null_is_calibrated_with_heterogeneous_activity():
    regime = cal.CONNECTION_REGIMES[1]
    for row in cal.connection_null_rows((200,), null="cbicm", regimes=(regime,)):
        assert _within(row), row


@pytest.mark.parametrize("n", [65, 128, 256])
def test_default_connection_null_finds_dense_planted_groups_at_every_size(n):
    """Four planted groups over 24 features: the BiCM alone found none of them past 64
    concepts (the old auto); the default recovers >= 70 % with few false."""
    (row,) = cal.connection_power_rows((n,), reps=1)
    assert row.recall >= 0.7, row
    assert row.false_found <= 0.05 * row.found + 1, row


def test_hypergeometric_population_leaves_out_never_on_columns():
    """200 concepts x 32 independent features (same rate) + 32 never-on columns x 10
    checkpoints: the whole stack width as population gave tens of thousands of false
    connection intervals; the live features as population give about none."""
    rng = np.random.default_rng(3)
    frames = []
    for t in range(10):
        x = np.hstack([rng.random((200, 32)) < 0.3, np.zeros((200, 32), dtype=bool)])
        frames.append((100 * t, [f"c{i}" for i in range(200)], x))
    ont = analyze(stack_from_dense(frames), OntologyConfig(
        structure=False, connection_null="hypergeometric"), progress=False)
    assert ont.summary["connection_intervals"] <= 10


def test_overlay_native_test_is_calibrated_with_empty_codes():
    """N counts present concepts with empty codes: counting only non-empty codes made two
    independent features look like a dual (negative association by selection)."""
    (row,) = cal.overlay_null_rows(max(cal.REPS, 20))
    assert _within(row), row


def test_overlay_native_test_finds_planted_relations():
    (row,) = cal.overlay_power_rows(2)
    assert row.recall == 1.0, row


def test_overlay_selects_by_the_effect_filter_before_bh():
    """Only relations that pass the effect filter are tested; BH runs over them alone with
    p-values given the selection: one selected dual is a family of one."""
    rng = np.random.default_rng(5)
    x = rng.random((120, 6)) < 0.4
    x[:, 1] = ~x[:, 0]  # a perfect dual: phi = -1
    ov, tests = cal.overlay_tests(x, [(0, 1), (2, 3)], [(4, 5)])
    dual = tests[("dual", "f0", "f1")]
    assert dual["q_native"] == pytest.approx(dual["p_native"])  # m = 1
    assert dual["p_native"] < 1e-10 and ov.native_found("dual", dual)
    for key in (("dual", "f2", "f3"), ("dependency", "f4", "f5")):
        assert tests[key]["q_native"] is None and not ov.native_found(key[0], tests[key])
    # N counts every present concept, empty codes included
    assert dual["n"] == 120


@pytest.mark.parametrize("null", ["cbicm", "fdsm", "hypergeometric"])
def test_min_shared_selects_the_family_before_bh(null):
    """Pairs sharing fewer than min_shared features are not in the family: BH over the
    selected pairs (p-values given the selection) finds more than BH over every pair; a
    filter after BH could only find fewer."""
    rng = np.random.default_rng(0)
    x = rng.random((60, 40)) < 0.1
    x[:12, :8] = True  # a group of 12 with 8 shared features
    one = cal.connections_found(x, null, samples=300)
    three = cal.connections_found(x, null, samples=300, min_shared=3)
    truth = {(a, b) for a in range(12) for b in range(a + 1, 12)}
    assert len(three & truth) > len(one & truth)
    assert len(three - truth) <= 0.1 * len(three) + 1
