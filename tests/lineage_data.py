"""A hand-built lineage with every kind of event (births, a split, a merge, deaths) over four
checkpoints, and codes in lineage space to go with it: the known answers of the lineage graph
and query tests (tests/test_graph_lineage.py, tests/test_lineage_queries.py)."""

from __future__ import annotations

import numpy as np

from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.lineage.result import Lineage, LineageEvent

STEPS = [0, 10, 20, 30]
NAN = float("nan")
# Lineage id of each dictionary index at each checkpoint (index order is not lineage order,
# as with independently trained dictionaries).
FEATURES = [[0, 1, 2], [3, 4, 0, 2], [3, 5, 6], [5, 3, 7]]
# Cosine to the predecessor on the lineage (NaN where the lineage starts) and to its first
# direction (1 where it starts), aligned with FEATURES.
COS_PREV = [[NAN, NAN, NAN], [NAN, NAN, 0.9, 0.8], [0.95, NAN, NAN], [0.95, 0.97, NAN]]
COS_FIRST = [[1.0, 1.0, 1.0], [1.0, 1.0, 0.9, 0.8], [0.95, 1.0, 1.0], [0.95, 0.93, 1.0]]
# Link threshold of the pair ending at each later checkpoint: at step 30 lineage 3's cosine to
# its first direction (0.93) is below it (0.94), so lineage 3 has turned there.
THRESHOLDS = {10: 0.42, 20: 0.42, 30: 0.94}
# step 10: lineage 1 splits into 3 and 4; step 20: 0 and 2 merge into 5, 4 dies, 6 is born;
# step 30: 6 dies, 7 is born. Lineage 1 (split), 0 and 2 (merged) end; 3 and 5 live on.
# Lineages 0, 1, 2 are the initial ones (the first checkpoint has no births).
EVENTS = [
    ("split", 10, 1, 3, 0.61), ("split", 10, 1, 4, 0.55),
    ("merge", 20, 0, 5, 0.7), ("merge", 20, 2, 5, 0.65),
    ("death", 20, 4, None, None), ("birth", 20, None, 6, None),
    ("death", 30, 6, None, None), ("birth", 30, None, 7, None),
]
N_LINEAGES = 8
N_CONCEPTS = 24


def hand_lineage(k: int = 4) -> Lineage:
    """The lineage of the first ``k`` checkpoints (lineages 0..6 for k=3, 0..7 for k=4)."""
    steps = np.array(STEPS[:k], dtype=np.int64)
    feats = [np.array(f, dtype=np.int64) for f in FEATURES[:k]]
    n = int(max(int(f.max()) for f in feats)) + 1
    events = [LineageEvent(kind, step, src, tgt, cos) for kind, step, src, tgt, cos in EVENTS
              if step <= steps[-1]]
    return Lineage(steps, feats, [np.array(c) for c in COS_PREV[:k]],
                   [np.array(c) for c in COS_FIRST[:k]], events,
                   max(THRESHOLDS[s] for s in STEPS[1:k]),
                   {"kind": "random", "alpha": 0.001,
                    "pairs": [{"step": s, "threshold": THRESHOLDS[s]} for s in STEPS[1:k]]}, n)


#: Concepts (of N_CONCEPTS) that have lineage 3 on at steps 10, 20, 30: it forms gradually
#: (jumps of 5, 4, 3 concepts: the largest is 5/12 of the rise).
RAMP = {10: 5, 20: 9, 30: 12}


def hand_lineage_stack(k: int = 4) -> CodeStack:
    """Codes in lineage space, never on where a lineage is absent: lineage 3 ramps up (RAMP:
    5, 9, 12 concepts: gradual), lineage 5 is on for 12 concepts from its first checkpoint
    (abrupt), every other lineage on for the concepts c with (c + lineage) % 3 == 0."""
    lin = hand_lineage(k)
    c = np.arange(N_CONCEPTS)[:, None]
    frames = []
    for t, step in enumerate(lin.steps.tolist()):
        alive = np.zeros(lin.n_lineages, dtype=bool)
        alive[lin.features[t]] = True
        codes = (c + np.arange(lin.n_lineages)[None, :]) % 3 == 0
        if lin.n_lineages > 3:
            codes[:, 3] = c[:, 0] < RAMP.get(step, 0)
        if lin.n_lineages > 5:
            codes[:, 5] = c[:, 0] < 12
        frames.append(Snapshot.create(step, [f"c{i}" for i in range(N_CONCEPTS)],
                                      codes & alive))
    return CodeStack.from_snapshots(frames)
