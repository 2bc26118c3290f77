"""Hierarchy: transitive reduction, SCC collapse, and first-stable layers on a hand-made stack."""

from __future__ import annotations

import numpy as np

from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.ontology.hierarchy import column_changes, first_stable_steps, hierarchy_edges


def edges(h: dict[str, np.ndarray]) -> set[tuple[int, int]]:
    return set(zip(h["parent"].tolist(), h["child"].tolist(), strict=True))


def test_transitive_reduction_of_chain():
    # dependencies child -> parent: c(2) -> b(1), b(1) -> a(0), and the implied c(2) -> a(0)
    h = hierarchy_edges(np.array([2, 1, 2]), np.array([1, 0, 0]), np.array([0.9, 0.95, 1.0]))
    assert edges(h) == {(0, 1), (1, 2)}
    w = dict(zip(zip(h["parent"].tolist(), h["child"].tolist(), strict=True),
                 h["weight"].tolist(), strict=True))
    assert w[(0, 1)] == 0.95 and w[(1, 2)] == 0.9


def test_scc_collapse():
    # 5 <-> 3 are equivalent (mutual), both depend on 1; 7 depends on 5.
    child = np.array([5, 3, 5, 3, 7])
    parent = np.array([3, 5, 1, 1, 5])
    h = hierarchy_edges(child, parent, np.array([1.0, 1.0, 0.9, 0.92, 0.97]))
    assert edges(h) == {(1, 3), (3, 7)}   # component {3, 5} represented by 3
    row = np.flatnonzero(h["parent"] == 1)[0]
    assert h["child_size"][row] == 2 and h["parent_size"][row] == 1
    assert h["weight"][row] == 0.92     # best edge between the two components


def test_empty_and_cycle_only():
    assert edges(hierarchy_edges(np.zeros(0), np.zeros(0))) == set()
    assert edges(hierarchy_edges(np.array([1, 2]), np.array([2, 1]))) == set()


def _stack(mats: list[np.ndarray], names: list[list[str]] | None = None) -> CodeStack:
    names = names or [[f"c{k}" for k in range(m.shape[0])] for m in mats]
    return CodeStack.from_snapshots(
        [Snapshot.create(10 * t, nm, m) for t, (nm, m) in enumerate(zip(names, mats,
                                                                        strict=True))])


def test_first_stable_layers():
    # 3 concepts x 3 features over 6 checkpoints (steps 0..50), window 2.
    # f0 never changes -> stable after transitions 0,1 -> step 20.
    # f1 changes at transition 1 (10 -> 20) only -> unchanged at 2,3 -> step 40.
    # f2 changes at every other transition -> never two in a row -> never stable.
    seq = []
    for t in range(6):
        m = np.zeros((3, 3), dtype=bool)
        m[0, 0] = True
        m[1, 1] = t >= 2
        m[2, 2] = t % 2 == 1
        seq.append(m)
    first, layer = first_stable_steps(_stack(seq), 2)
    assert first.tolist() == [20, 40, -1]
    assert layer.tolist() == [1, 2, 0]
    # window 1: f0 -> step 10, f1 -> step 10 (transition 0 unchanged), f2 never.
    first1, layer1 = first_stable_steps(_stack(seq), 1)
    assert first1.tolist() == [10, 10, -1] and layer1.tolist() == [1, 1, 0]


def test_never_active_features_are_never_stable():
    # f0 is on throughout (stable), f1 is never on for any concept: no layer, not "stable".
    seq = [np.array([[1, 0], [0, 0]], dtype=bool) for _ in range(5)]
    first, layer = first_stable_steps(_stack(seq), 2)
    assert first.tolist() == [20, -1]
    assert layer.tolist() == [1, 0]


def test_changes_ignore_concepts_absent_at_either_checkpoint():
    a = np.array([[1, 0], [0, 1]], dtype=bool)
    b = np.array([[1, 0], [1, 1]], dtype=bool)   # concept "y" flips feature 0
    c = np.array([[0, 0]], dtype=bool)            # only concept "z" (new) present
    st = _stack([a, b, c], [["x", "y"], ["x", "y"], ["z"]])
    ch = column_changes(st)
    assert ch.tolist() == [[True, False], [False, False]]
