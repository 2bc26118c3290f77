"""Typed results of the overlay: emergence over training and the reconciliation at a step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ontochron.overlay.hypothesis import Hypothesis


@dataclass(frozen=True)
class PrimitiveEmergence:
    """When a primitive's feature first fires, settles, and has its dependency chain."""

    name: str
    feature: int
    layer: int
    first_active_step: int | None      # first step any concept has the feature
    first_stable_step: int | None      # the analysis' first_stable_step (None: never)
    chain: tuple[str, ...]             # every expected dependency, transitively
    chain_complete_step: int | None    # first step the feature and its whole chain are active
    chain_joint_step: int | None       # first step one concept has the feature and its chain
    active_concepts: int               # concepts with the feature at the reconciled step


@dataclass(frozen=True)
class LayerStabilisation:
    """One stated layer: when its primitives' features became stable."""

    layer: int
    primitives: tuple[str, ...]
    stable: int                        # how many of them ever became stable
    first_step: int | None             # earliest first_stable_step in the layer
    median_step: float | None
    complete_step: int | None          # all of them stable (None: some never)


@dataclass(frozen=True)
class LayerOrder:
    """Whether layers stabilise in the stated order, with the rank evidence."""

    layers: tuple[LayerStabilisation, ...]
    in_order: bool | None              # complete_step non-decreasing over stated layers;
    #                                    None (no verdict) with no concordant or discordant pair
    kendall_tau: float | None          # tau-b of (stated layer, first_stable_step)
    p_value: float | None              # one-sided (tau > 0) p of the Kendall test
    concordant: int                    # pairs in different layers settling in layer order
    discordant: int                    # ... settling strictly in the reverse order
    n_primitives: int


@dataclass(frozen=True)
class DualEmergence:
    """When an expected dual first became significantly anti-correlated."""

    a: str
    b: str
    feature_a: int
    feature_b: int
    first_step: int | None             # valid_from of its first DUAL interval
    phi: float | None                  # phi and q of that first interval
    q_value: float | None
    intervals: int
    holds: bool                        # holding at the reconciled step
    source: str                        # "analysis" or "overlay" (own native test)


@dataclass(frozen=True)
class RelationVerdict:
    """An expected relation at one step: found, missing or contradicted, with its evidence."""

    kind: str                          # "dependency" (a = child, b = parent) | "dual"
    a: str
    b: str
    feature_a: int
    feature_b: int
    verdict: str                       # "found" | "missing" | "contradicted"
    reason: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class DiscoveredRelation:
    """A relation detected at the step between two assigned features."""

    kind: str
    feature_a: int
    feature_b: int
    a: str
    b: str
    status: str                        # "expected" | "implied" | "unexpected"
    evidence: dict[str, Any]


@dataclass(frozen=True)
class FeatureFinding:
    """A dead-but-assigned or active-but-unassigned feature."""

    kind: str                          # "dead_but_assigned" | "active_but_unassigned"
    feature: int
    primitive: str
    active_concepts: int
    last_active_step: int | None


@dataclass(frozen=True)
class Swap:
    """Two primitives whose expected relations fit better with their features exchanged."""

    a: str
    b: str
    feature_a: int
    feature_b: int
    fit_before: int
    fit_after: int
    relations: int


@dataclass(frozen=True)
class Correction:
    """A suggested change of the theory or of the assignment, with its evidence."""

    target: str                        # "theory" | "assignment"
    action: str                        # add_dependency, remove_dependency, reverse_dependency,
    #                                    add_dual, remove_dual, fix_dual, move, swap, drop
    subject: str
    detail: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Agreement:
    """F1 of expected against discovered relations (see docs/overlay.md)."""

    expected: int
    discovered: int
    matched: int
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class StatusInterval:
    """An expected relation kept one verdict over ``[valid_from, valid_to)`` (-1: open)."""

    kind: str
    a: str
    b: str
    verdict: str
    valid_from: int
    valid_to: int
    evidence: dict[str, Any]


@dataclass
class OverlayResult:
    """Everything ``overlay`` computes (see docs/overlay.md for every definition)."""

    hypothesis: Hypothesis
    step: int
    steps: list[int]
    source: str
    emergence: list[PrimitiveEmergence]
    concept_first: list[tuple[str, str, int]]   # (primitive, concept, first active step)
    layers: LayerOrder
    duals: list[DualEmergence]
    expected: list[RelationVerdict]
    discovered: list[DiscoveredRelation]
    features: list[FeatureFinding]
    swaps: list[Swap]
    corrections: list[Correction]
    agreement: Agreement
    history: list[StatusInterval] = field(default_factory=list)
    thresholds: dict[str, Any] = field(default_factory=dict)
