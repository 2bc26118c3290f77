"""Run a named ``UNION ALL`` query one branch at a time (``// @split COLUMN IN $PARAM``), with
the rows of each branch packed into one collected list, in one read transaction.

The result equals that of the statement as written: the same branches in the same order, each
with the same rows, minus the branches whose literal COLUMN value is not in $PARAM (which the
statement's own guards make empty). Why: the pure-Python Bolt driver spends about 20 us of CPU
per record (two socket reads and a message unpack each), more than ArcadeDB needs to find the
row; one record holding a list of 10,000 rows costs a quarter of 10,000 records (bench/README.md,
"graph_at_step"). Each branch's list is built in the server's heap, so this suits results
bounded by what holds at one step (a time slice), not unbounded scans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ontochron.errors import InputError
from ontochron.queries.results import QueryResult, plain

if TYPE_CHECKING:
    from ontochron.graph.store import GraphStore

# Strings, comments and `quoted` names are masked (same length) before looking for keywords.
_MASK = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`]|``)*`|//[^\n]*|/\*.*?\*/""",
                   re.S)
_UNION = re.compile(r"(?i)\bUNION\b(\s+ALL\b)?")
_RETURN = re.compile(r"(?i)\bRETURN\b")
_AFTER_RETURN = re.compile(r"(?i)\b(DISTINCT|ORDER|SKIP|LIMIT|WITH|MATCH|UNWIND|CALL)\b")
_AGGREGATE = re.compile(r"(?i)\b(count|collect|sum|avg|min|max|percentileCont|percentileDisc|"
                        r"stDev|stDevP)\s*\(")
_ITEM = re.compile(r"(?is)^(.*\S)\s+AS\s+(\w+)$")
_STRING = re.compile(r"^'([^'\\]*)'$")
_INT = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Branch:
    """One UNION ALL branch: its split-column literal, the packed statement it runs as, and
    the value of each column that is a constant (filled in here, not sent)."""

    literal: str
    packed: str
    columns: tuple[str, ...]
    constants: tuple[tuple[int, Any], ...]  # (column position, value)


def _mask(text: str) -> str:
    return _MASK.sub(lambda m: " " * len(m.group()), text)


def _split_top(text: str, masked: str) -> list[str]:
    """``text`` cut at the commas of ``masked`` outside brackets."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(masked):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [s.strip() for s in out]


def _constant(expr: str) -> tuple[bool, Any]:
    m = _STRING.match(expr)
    if m:
        return True, m.group(1)
    if expr.lower() == "null":
        return True, None
    if _INT.match(expr):
        return True, int(expr)
    return False, None


@lru_cache(maxsize=64)
def split_branches(text: str, column: str, path: str = "") -> tuple[Branch, ...]:
    """The branches of ``text``; InputError unless it is a UNION ALL of plain
    ``... RETURN expr AS name, ...`` branches (no DISTINCT, ORDER BY, SKIP, LIMIT or aggregate
    in the RETURN) with the same columns, each with a distinct string literal as ``column``."""
    masked = _mask(text)
    cuts = list(_UNION.finditer(masked))
    if any(m.group(1) is None for m in cuts):
        raise InputError("@split needs UNION ALL (UNION removes duplicates across branches)",
                         path)
    bounds = [0, *[x for m in cuts for x in (m.start(), m.end())], len(text)]
    out: list[Branch] = []
    for lo, hi in zip(bounds[::2], bounds[1::2], strict=True):
        part, pmask = text[lo:hi], masked[lo:hi]
        rets = list(_RETURN.finditer(pmask))
        if not rets:
            raise InputError("@split: a UNION ALL branch has no RETURN", path)
        r = rets[-1]
        items_text, items_mask = part[r.end():], pmask[r.end():]
        if _AFTER_RETURN.search(items_mask) or _AGGREGATE.search(items_mask):
            raise InputError("@split: a branch's RETURN must be plain 'expr AS name, ...' (no "
                             "DISTINCT, ORDER BY, SKIP, LIMIT or aggregate)", path)
        names, exprs, consts = [], [], []
        for pos, item in enumerate(_split_top(items_text, items_mask)):
            m = _ITEM.match(item)
            if not m:
                raise InputError(f"@split: RETURN item {item!r} needs 'AS name'", path)
            expr, name = m.group(1).strip(), m.group(2)
            names.append(name)
            is_const, value = _constant(expr)
            if is_const:
                consts.append((pos, value))
            else:
                exprs.append(expr)
        if column not in names:
            raise InputError(f"@split: a branch does not return {column!r}", path)
        lit = dict(consts).get(names.index(column))
        if not isinstance(lit, str) or any(b.literal == lit for b in out):
            raise InputError(f"@split: each branch needs its own string literal AS {column}",
                             path)
        if out and tuple(names) != out[0].columns:
            raise InputError("@split: the branches return different columns", path)
        head = part[:r.start()].strip()
        packed = (f"{head}\nRETURN collect([{', '.join(exprs)}]) AS rows" if exprs
                  else f"{head}\nRETURN count(*) AS rows")
        out.append(Branch(lit, packed, tuple(names), tuple(consts)))
    return tuple(out)


def _unpack(branch: Branch, packed: Any) -> list[tuple[Any, ...]]:
    """The rows of one branch from its collected list (or count when all columns are
    constants)."""
    width = len(branch.columns)
    if isinstance(packed, int):
        return [tuple(dict(branch.constants).get(i) for i in range(width))] * packed
    consts = dict(branch.constants)
    sent = [i for i in range(width) if i not in consts]
    rows = []
    for values in packed or ():
        row: list[Any] = [None] * width
        for i, v in consts.items():
            row[i] = v
        for i, v in zip(sent, values, strict=True):
            row[i] = plain(v)
        rows.append(tuple(row))
    return rows


def run_split(store: GraphStore, text: str, split: tuple[str, str],
              params: dict[str, Any]) -> QueryResult:
    """Run ``text`` (a ``@split COLUMN IN $PARAM`` query) branch by branch in one read
    transaction, only the branches $PARAM selects (all when it is null)."""
    column, param = split
    branches = split_branches(text, column)
    wanted = params.get(param)
    chosen = [b for b in branches if wanted is None or b.literal in wanted]
    results = store.read_many([(b.packed, params) for b in chosen],
                              convert=lambda rec: rec[0]) if chosen else []
    rows: list[tuple[Any, ...]] = []
    for b, (_, records) in zip(chosen, results, strict=True):
        for packed in records:
            rows.extend(_unpack(b, packed))
    return QueryResult.from_rows(list(branches[0].columns), rows, params=params)
