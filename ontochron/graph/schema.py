"""The temporal graph's schema (docs/schema.md): labels, relationship types, constraints and
indexes, and the ``fork`` time-slice key that lets "as of step t" queries use equality indexes.

Range predicates on relationship properties are not served by an index on ArcadeDB, so every
interval also stores ``fork``: the node of a binary interval tree over step values at which
the interval splits. Any interval containing step ``t`` has its fork among ``stab_keys(t)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ontochron.errors import InputError
from ontochron.graph.cypher import iter_cypher_files, load_cypher
from ontochron.ontology.intervals import OPEN

if TYPE_CHECKING:
    from ontochron.graph.store import GraphStore

#: fork of an interval that is still open (valid_to null).
OPEN_FORK = -1
#: levels of the step tree; steps must lie in [0, 2**MAX_LEVEL).
MAX_LEVEL = 56
_LEVEL_BITS = 64  # fork = prefix * 64 + level

#: Interval relationship types and the Relations.kind each one is written from.
INTERVAL_RELS: dict[str, str] = {
    "ACTIVATES": "activates",
    "CONNECTED": "connection",
    "DUAL": "dual",
    "DEPENDS_ON": "dependency",
    "PARENT_OF": "hierarchy",
}
#: Event labels (each node also carries the ``Event`` label) by Events.kind.
EVENT_LABELS: dict[str, str] = {
    "birth": "Birth",
    "death": "Death",
    "connection_form": "ConnectionForm",
    "connection_break": "ConnectionBreak",
    "phase_transition": "PhaseTransition",
    "split": "Split",   # lineage events (graph.lineage_write), not in Ontology.events
    "merge": "Merge",
}
NODE_LABELS = ("Run", "Checkpoint", "Concept", "Feature", "Triad", "Event",
               *EVENT_LABELS.values())
#: Properties that the labelling step owns on Feature nodes: ingest never touches them.
FOREIGN_FEATURE_PREFIX = "label"


def bit_lengths(x: np.ndarray) -> np.ndarray:
    """``int.bit_length`` of each non-negative int64, in integer arithmetic (a float64
    route such as frexp is wrong from 2**53 on, where x rounds up to the next power of two)."""
    v = np.asarray(x, dtype=np.int64).copy()
    n = np.zeros(v.shape, dtype=np.int64)
    for s in (32, 16, 8, 4, 2, 1):
        big = v >= (1 << s)
        n += np.where(big, s, 0)
        v = np.where(big, v >> s, v)
    return n + (v > 0)


def fork_keys(valid_from: np.ndarray, valid_to: np.ndarray) -> np.ndarray:
    """Fork key per half-open interval ``[valid_from, valid_to)`` (``OPEN_FORK`` when open).

    ``L = bit_length(lo ^ hi)`` with ``lo = valid_from``, ``hi = valid_to - 1``; the key is
    ``(lo >> L) * 64 + L``: the smallest aligned power-of-two block of steps holding the whole
    interval. Vectorized; raises InputError for steps outside ``[0, 2**56)``.
    """
    lo = np.asarray(valid_from, dtype=np.int64)
    to = np.asarray(valid_to, dtype=np.int64)
    is_open = to == OPEN
    hi = np.where(is_open, lo, to - 1)
    if lo.size and (lo.min() < 0 or hi.max() >= 1 << MAX_LEVEL or np.any(hi < lo)):
        raise InputError(f"interval steps must satisfy 0 <= valid_from < valid_to < 2**"
                         f"{MAX_LEVEL} for the time-slice index")
    level = bit_lengths(lo ^ hi)
    fork = (lo >> level) * _LEVEL_BITS + level
    return np.where(is_open, OPEN_FORK, fork).astype(np.int64)


def fork_key(valid_from: int, valid_to: int | None) -> int:
    """Scalar :func:`fork_keys`; ``valid_to`` None (or OPEN) means open."""
    to = OPEN if valid_to is None else valid_to
    return int(fork_keys(np.array([valid_from]), np.array([to]))[0])


def stab_keys(step: int, last_step: int | None = None) -> list[int]:
    """The fork keys of every interval that can contain ``step``: pass as ``$forks``.

    ``last_step`` (the run's ``Run.last_step``) only shortens the list: intervals of the run
    never reach a higher tree level than the largest step needs.
    """
    t = int(step)
    if t < 0:
        return [OPEN_FORK]
    top = max(t, int(last_step) if last_step is not None else (1 << MAX_LEVEL) - 1)
    levels = min(max(top.bit_length(), 1), MAX_LEVEL)
    return [OPEN_FORK] + [((t >> lv) * _LEVEL_BITS) + lv for lv in range(levels + 1)]


def schema_statements() -> list[str]:
    """Every schema statement shipped (``graph/cypher/schema_*.cypher``), constraints first."""
    files = [p for p in iter_cypher_files()
             if p.parent.name == "cypher" and p.parent.parent.name == "graph"
             and p.name.startswith("schema_")]
    files.sort(key=lambda p: (not p.name.startswith("schema_unique_"), p.name))
    return [load_cypher(f"graph/cypher/{p.name}") for p in files]


def ensure_schema(store: GraphStore) -> int:
    """Create every constraint and index if missing (idempotent); returns how many ran."""
    stmts = schema_statements()
    for text in stmts:
        store.write(text)
    return len(stmts)
