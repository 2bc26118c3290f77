"""Write a table of keyed graph rows by diff: read what the graph holds, compare with the
desired rows, then delete, update and create only the difference in batched UNWIND writes.

A *table* is one node label or relationship type of one run. Every row has a natural key
(the ``key`` fields) and a ``props`` map of the properties ingest owns (None = absent). This
is what makes ingest idempotent, incremental and crash-safe: whatever state a previous
(possibly interrupted) write left, one diff brings it to the desired state.

Relationships are created by the element ids of their endpoints (returned by the node
creates or looked up once per node) and sent as parallel lists: direct record access and
a cheaper wire format instead of two index look-ups and one map per row.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ontochron.graph.cypher import load_cypher
from ontochron.graph.store import GraphStore

log = logging.getLogger(__name__)

BATCH_SIZE = 20_000  # fastest of 5k/10k/20k measured (bench/README.md, graph section)
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
    #: node tables: the create statement returns element ids (``<name>_ids_read`` reads them)
    ids: bool = False
    #: relationship tables: node tables of the start/end key, and the create-by-id statement
    endpoints: tuple[str, str] | None = None
    create_by_id: str | None = None

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
            if clean(want) != have:
                out.update.append(row)
            continue
        # SET += only what changed (null removes): a moved last_seen is one value on the wire
        changed = {n: v for n, v in want.items()
                   if (n in have if v is None or (isinstance(v, float) and math.isnan(v))
                       else have.get(n) != v)}
        if changed:
            out.update.append({**{f: row[f] for f in spec.key}, "props": changed})
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

    def batch_len(self, rows: list[Row]) -> int:
        """Rows per batch for these rows (fewer when they carry long lists)."""
        width = _list_width(rows[0]) if rows else 0
        return max(1, min(self.batch_size, MAX_LIST_VALUES // width)) if width else \
            self.batch_size

    def write(self, cypher: str, rows: list[Row], desc: str,
              results: list[Row] | None = None) -> int:
        """Write ``rows`` with the statement ``cypher`` (given ``$rows`` and ``$run_id``);
        the statement's result rows are appended to ``results`` when given."""
        if not rows:
            return 0

        def send(start: int, stop: int) -> None:
            batch = rows[start:stop]
            if results is None:
                self.store.write_batches(cypher, batch, batch_size=len(batch),
                                         progress=False, run_id=self.run_id)
            else:
                results.extend(self.store.write(cypher, rows=batch, run_id=self.run_id))

        self._batched(len(rows), self.batch_len(rows), desc, send)
        return len(rows)

    def write_columns(self, cypher: str, columns: dict[str, list[Any]], n: int, desc: str,
                      results: list[Row]) -> int:
        """Write ``n`` rows given as parallel lists: each ``columns`` list goes as a parameter
        of that name, sliced per batch. Packing lists costs the client about a third of
        packing one map per row, and the server parses less."""
        if not n:
            return 0

        def send(start: int, stop: int) -> None:
            params = {k: v[start:stop] for k, v in columns.items()}
            results.extend(self.store.write(cypher, run_id=self.run_id, **params))

        self._batched(n, self.batch_size, desc, send)
        return n

    def _batched(self, n: int, size: int, desc: str,
                 send: Callable[[int, int], None]) -> None:
        bar = None
        if self.progress and n > size:
            from tqdm import tqdm
            bar = tqdm(total=n, desc=desc, unit="row", leave=False, file=sys.stderr)
        try:
            for start in range(0, n, size):
                if 0 <= self._pause_after <= self.batches and self._pause_s > 0:
                    time.sleep(self._pause_s)
                stop = min(n, start + size)
                send(start, stop)
                self.batches += 1
                self.rows += stop - start
                if bar is not None:
                    bar.update(stop - start)
        finally:
            if bar is not None:
                bar.close()


def _list_width(row: Row) -> int:
    """Total length of the list values in a row and its props (e.g. activation_rate)."""
    props = row.get("props") or {}
    return sum(len(v) for v in (*props.values(), *row.values()) if isinstance(v, list))


IdMaps = dict[str, dict[Any, str]]


def resolve_ids(writer: BatchWriter, table: str, keys: Iterable[Any], ids: IdMaps) -> None:
    """Fill ``ids[table]`` (natural key -> elementId) for ``keys`` not known yet, with one
    batched look-up per ``batch_size`` keys (``<table>_ids_read``)."""
    known = ids.setdefault(table, {})
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    cypher = load_cypher(f"graph/cypher/{table.lower()}_ids_read")
    for start in range(0, len(missing), writer.batch_size):
        chunk = missing[start:start + writer.batch_size]
        for got in writer.store.run(cypher, run_id=writer.run_id, keys=chunk):
            known[got["key"]] = got["id"]


def _create_rels_by_id(writer: BatchWriter, spec: TableSpec, rows: list[Row],
                       ids: IdMaps) -> list[Row]:
    """Create relationship rows addressing endpoints by element id; returns the rows that
    must still be created by natural key (an endpoint id unknown, or a batch in which an id
    no longer resolved: its rows are deleted by key and handed back, so nothing doubles)."""
    assert spec.endpoints is not None and spec.create_by_id is not None
    ta, tb = spec.endpoints
    resolve_ids(writer, ta, (r["a"] for r in rows), ids)
    resolve_ids(writer, tb, (r["b"] for r in rows), ids)
    ia, ib = ids[ta], ids[tb]
    known = [r for r in rows if r["a"] in ia and r["b"] in ib]
    rest = [r for r in rows if not (r["a"] in ia and r["b"] in ib)]
    names = sorted((spec.create_props or frozenset()) - {"run_id"})
    columns = {"s": [ia[r["a"]] for r in known], "t": [ib[r["b"]] for r in known],
               **{p: [r["props"].get(p) for r in known] for p in names}}
    counts: list[Row] = []
    writer.write_columns(spec.cypher(spec.create_by_id), columns, len(known),
                         f"{spec.name}: create", counts)
    size = writer.batch_size
    for i, got in enumerate(counts):
        batch = known[i * size:(i + 1) * size]
        if got.get("n") != len(batch):  # stale ids (a concurrent writer): redo by key
            log.warning("%s: %d of %d element ids did not resolve; creating the batch by key",
                        spec.name, len(batch) - int(got.get("n") or 0), len(batch))
            writer.write(spec.cypher(spec.delete), [{f: r[f] for f in spec.key}
                                                    for r in batch], f"{spec.name}: delete")
            rest.extend(batch)
    return rest


def apply_diff(writer: BatchWriter, spec: TableSpec, diff: Diff,
               ids: IdMaps | None = None) -> dict[str, int]:
    """Delete, then update, then create (plus follow-up updates for props the create
    statement does not list). Returns row counts per operation. With ``ids``, node tables
    record the element ids their create returns and relationship tables are created by id."""
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
            if ids is not None and spec.create_by_id is not None:
                rows = _create_rels_by_id(writer, spec, rows, ids)
            if ids is not None and spec.ids:
                made: list[Row] = []
                writer.write(spec.cypher(spec.create), rows, f"{spec.name}: create", made)
                ids.setdefault(spec.name, {}).update((m["key"], m["id"]) for m in made)
            else:
                writer.write(spec.cypher(spec.create), rows, f"{spec.name}: create")
        done["created"] = len(diff.create)
        if spec.create_props is not None and spec.update is not None:
            extra = [r for r in diff.create
                     if any(k not in spec.create_props for k in clean(r["props"]))]
            if extra:
                writer.write(spec.cypher(spec.update), extra, f"{spec.name}: extra")
    return done
