"""Checkpoint threads: results in order with bounded look-ahead, and analyze gives the same
ontology whatever the number of workers."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ontochron.errors import InputError
from ontochron.ontology import OntologyConfig, analyze
from ontochron.ontology.parallel import ordered_map, workers_for
from tests.synthetic import stack_from_dense


def test_ordered_map_keeps_order_and_bounds_look_ahead():
    started: list[int] = []
    lock = threading.Lock()

    def slow(i: int) -> int:
        with lock:
            started.append(i)
        time.sleep(0.002 * (7 - i % 7))  # later items finish first
        return i * i

    seen = []
    for i, value in enumerate(ordered_map(slow, range(30), 3)):
        seen.append(value)
        with lock:
            assert max(started) <= i + 3  # never more than workers items ahead
    assert seen == [i * i for i in range(30)]
    assert list(ordered_map(slow, range(5), 1)) == [0, 1, 4, 9, 16]


def test_workers_for_caps_memory_in_flight():
    assert workers_for(8, 1 << 20) == 8
    assert workers_for(8, 1 << 29) == 2
    assert workers_for(8, 1 << 40) == 1


def _drifting_run(seed: int) -> list[tuple[int, list[str], np.ndarray]]:
    """Groups of concepts sharing rare features, a few popular features, drift, one concept
    leaving and coming back, and a repeated checkpoint."""
    rng = np.random.default_rng(seed)
    n, f = 90, 160
    base = rng.random((n, f)) < 0.04
    base[:, :3] = rng.random((n, 3)) < 0.8
    for g in range(3):
        base[g * 6:(g + 1) * 6, 20 + g * 14:34 + g * 14] = True
    names = [f"c{i}" for i in range(n)]
    frames = []
    for t in range(7):
        base = base ^ (rng.random(base.shape) < 0.01)
        keep = np.ones(n, dtype=bool)
        keep[5] = t not in (2, 3)
        frames.append((10 * t, [c for c, k in zip(names, keep, strict=True) if k], base[keep]))
    frames.insert(4, (35, frames[3][1], frames[3][2]))  # same codes as the step before
    return frames


@pytest.mark.parametrize("null", ["bicm", "hypergeometric"])
def test_analyze_is_the_same_for_any_number_of_workers(null):
    stack = stack_from_dense(_drifting_run(3))
    cfg = OntologyConfig(connection_null=null)
    one = analyze(stack, cfg, progress=False, workers=1)
    many = analyze(stack, cfg, progress=False, workers=3)
    assert len(one.relations.of_kind("connection")) > 0
    assert one.summary == many.summary
    for f in ("kind", "a", "b", "c", "valid_from", "valid_to"):
        np.testing.assert_array_equal(getattr(one.relations, f), getattr(many.relations, f))
    for name, v in one.relations.stats.items():
        np.testing.assert_array_equal(many.relations.stats[name], v)
    for f in ("kind", "step", "concept", "feature", "detail"):
        np.testing.assert_array_equal(getattr(one.events, f), getattr(many.events, f))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_worker_counts_are_rejected(bad):
    stack = stack_from_dense(_drifting_run(0)[:2])
    with pytest.raises(InputError, match="workers"):
        analyze(stack, progress=False, workers=bad)
