"""Write a table of keyed graph rows by diff: read what the graph holds, compare with the
desired rows, then delete, update and create only the difference in batched UNWIND writes.

A *table* is one node label or relationship type of one run. Every row has a natural key
(the ``key`` fields) and a ``props`` map of the properties ingest owns (None = absent). This
is what makes ingest idempotent, incremental and crash-safe: whatever state a previous
(possibly interrupted) write left, one diff brings it to the desired state.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ontochron.graph.cypher import load_cypher
from ontochron.graph.store import GraphStore

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
#: Most list elements sent in one batch: ArcadeDB's Bolt reader failed ("Expected structure,
#: got: Long") on a 5,000-row batch of 500-value lists, so list-heavy rows go in smaller ones.
MAX_LIST_VALUES = 200_000
#: Test hook: after this many committed batches of one writer, sleep ONTOCHRON_TEST_PAUSE_S
#: seconds before each further batch, so a test can kill the process mid-write.
_PAUSE_AFTER_ENV = "ONTOCHRON_TEST_PAUSE_AFTER_BATCHES"
_PAUSE_S_ENV = "ONTOCHRON_TEST_PAUSE_S"

Row = dict[str, Any]


@dataclass(frozen=True)
class TableSpec:
    """How one table is read and written: its key fields and its Cypher files.

    ``exact`` compares every property read back (relationships: ingest owns them all);
    otherwise only the desired props' names are compared (node tables, where other steps
    such as labelling may add properties of their own).
    ``create_props`` are the props the create statement writes itself; rows with other
    non-null props get a follow-up update.
    """

    name: str
    key: tuple[str, ...]
    read: str
    create: str | dict[str, str]
    delete: str
    update: str | None = None
    exact: bool = True
    create_props: frozenset[str] | None = None
    split_by: str | None = None  # props field choosing the create statement (events)

    def cypher(self, name: str) -> str:
        return load_cypher(f"graph/cypher/{name}")


@dataclass
class Diff:
    """What one table needs: rows to delete (keys), update and create."""

    delete: list[Row] = field(default_factory=list)
    update: list[Row] = field(default_factory=list)
    create: list[Row] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.delete) + len(self.update) + len(self.create)


def clean(props: dict[str, Any]) -> dict[str, Any]:
    """Props without null values (what the graph stores); NaN floats count as null."""
    return {k: v for k, v in props.items()
            if v is not None and not (isinstance(v, float) and math.isnan(v))}


def key_of(row: Row, key: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(row[k] for k in key)


def diff_table(spec: TableSpec, desired: Iterable[Row], current: Iterable[Row]) -> Diff:
    """Compare desired rows with rows read from the graph (both ``{key..., props}``).

    Keys present more than once in the graph (a duplicate left by a concurrent writer) are
    deleted and created again. Cost: one dict over the rows, O(n).
    """
    cur: dict[tuple[Any, ...], dict[str, Any]] = {}
    counts: Counter[tuple[Any, ...]] = Counter()
    for row in current:
        k = key_of(row, spec.key)
        counts[k] += 1
        cur[k] = clean(row.get("props") or {})
    out = Diff()
    seen: set[tuple[Any, ...]] = set()
    for row in desired:
        k = key_of(row, spec.key)
        seen.add(k)
        want = row["props"]
        if k not in cur:
            out.create.append(row)
            continue
        if counts[k] > 1:
            out.delete.append({f: row[f] for f in spec.key})
            out.create.append(row)
            continue
        have = cur[k]
        if spec.exact:
            same = clean(want) == have
        else:
            same = all(have.get(n) == v for n, v in clean(want).items()) and all(
                n not in have for n, v in want.items()
                if v is None or (isinstance(v, float) and math.isnan(v)))
        if not same:
            out.update.append(row)
    for k in cur:
        if k not in seen:
            out.delete.append(dict(zip(spec.key, k, strict=True)))
    return out


def read_table(store: GraphStore, spec: TableSpec, run_id: str) -> list[Row]:
    """Every row of the table stored for ``run_id``, as ``{key..., props}``."""
    return store.run(spec.cypher(spec.read), run_id=run_id)


class BatchWriter:
    """Sends rows in UNWIND batches of ``batch_size`` (each its own transaction), counting
    batches for the test pause hook and rows for the report."""

    def __init__(self, store: GraphStore, run_id: str, batch_size: int = BATCH_SIZE,
                 progress: bool = True) -> None:
        self.store = store
        self.run_id = run_id
        self.batch_size = batch_size
        self.progress = progress
        self.batches = 0
        self.rows = 0
        self._pause_after = int(os.environ.get(_PAUSE_AFTER_ENV, "-1") or -1)
        self._pause_s = float(os.environ.get(_PAUSE_S_ENV, "0") or 0)

    def write(self, cypher: str, rows: list[Row], desc: str) -> int:
        """Write ``rows`` with the statement ``cypher`` (given ``$rows`` and ``$run_id``)."""
        if not rows:
            return 0
        size = self.batch_size
        width = _list_width(rows[0])
        if width:
            size = max(1, min(size, MAX_LIST_VALUES // width))
        bar = None
        if self.progress and len(rows) > size:
            from tqdm import tqdm
            bar = tqdm(total=len(rows), desc=desc, unit="row", leave=False, file=sys.stderr)
        try:
            for start in range(0, len(rows), size):
                if 0 <= self._pause_after <= self.batches and self._pause_s > 0:
                    time.sleep(self._pause_s)
                batch = rows[start:start + size]
                self.store.write_batches(cypher, batch, batch_size=len(batch),
                                         progress=False, run_id=self.run_id)
                self.batches += 1
                self.rows += len(batch)
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
        return len(rows)


def _list_width(row: Row) -> int:
    """Total length of the list values in a row's props (e.g. activation_rate)."""
    props = row.get("props") or {}
    return sum(len(v) for v in props.values() if isinstance(v, list))


def apply_diff(writer: BatchWriter, spec: TableSpec, diff: Diff) -> dict[str, int]:
    """Delete, then update, then create (plus follow-up updates for props the create
    statement does not list). Returns row counts per operation."""
    done = {"deleted": 0, "updated": 0, "created": 0}
    if diff.delete:
        done["deleted"] = writer.write(spec.cypher(spec.delete), diff.delete,
                                       f"{spec.name}: delete")
    if diff.update:
        if spec.update is None:  # no properties to update: replace the rows
            writer.write(spec.cypher(spec.delete), [{f: r[f] for f in spec.key}
                                                    for r in diff.update],
                         f"{spec.name}: delete")
            diff.create.extend(diff.update)
        else:
            done["updated"] = writer.write(spec.cypher(spec.update), diff.update,
                                           f"{spec.name}: update")
    if diff.create:
        if isinstance(spec.create, dict):
            groups: dict[str, list[Row]] = {}
            for row in diff.create:
                groups.setdefault(row["props"][spec.split_by or "kind"], []).append(row)
            for part, rows in groups.items():
                writer.write(spec.cypher(spec.create[part]), rows, f"{spec.name}: create")
        else:
            rows = diff.create
            if spec.create_props is not None:  # send only what the statement reads
                names = spec.create_props - {"run_id"}
                rows = [{**r, "props": {k: v for k, v in r["props"].items() if k in names}}
                        for r in rows]
            writer.write(spec.cypher(spec.create), rows, f"{spec.name}: create")
        done["created"] = len(diff.create)
        if spec.create_props is not None and spec.update is not None:
            extra = [r for r in diff.create
                     if any(k not in spec.create_props for k in clean(r["props"]))]
            if extra:
                writer.write(spec.cypher(spec.update), extra, f"{spec.name}: extra")
    return done
