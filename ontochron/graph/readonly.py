"""Keep reads read-only: a lexical pre-check for statements that would change the graph or its
schema, and the check of a finished read's summary (query type and update counters).

The summary check, inside a transaction that is always rolled back, is the guarantee for data
changes on both servers. The lexical check exists because ArcadeDB applies schema commands
(CREATE INDEX / CONSTRAINT, DROP ...) outside the transaction, even under EXPLAIN, so they must
be refused before they reach the server."""

from __future__ import annotations

import re
from typing import Any

from ontochron.errors import StoreError

# Clauses that change data, schema or security. FOREACH / CALL { } only hold such clauses.
_WRITE_WORDS = frozenset({
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "ALTER", "GRANT", "DENY",
    "REVOKE", "RENAME", "TERMINATE",
})
# Procedure-name segments that mark a writing procedure (db.createIndex, apoc.create.node...).
_WRITE_PROC = re.compile(r"(?i)create|drop|delete|remove|merge|assert|set|write|import|refactor")

# String literals, comments and `quoted` names are masked before looking for keywords.
_MASK = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`]|``)*`|//[^\n]*|/\*.*?\*/""",
                   re.S)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROC = re.compile(r"(?i)\bCALL\s+([A-Za-z_][\w.]*)\s*\(?")


class ReadOnlyError(StoreError):
    """A statement run as a read would change the graph; nothing was committed."""


def _refuse(what: str) -> ReadOnlyError:
    return ReadOnlyError(f"refused: this statement would change the graph ({what}) and reads "
                         "are read-only; nothing was changed (pass --write to run it as a "
                         "write)")


def check_statement(cypher: str) -> None:
    """Raise ReadOnlyError when ``cypher`` holds a writing clause or calls a writing procedure.

    Words used as property keys (``n.set``), labels (``:Create``), map keys (``{set: 1}``) or
    parameters (``$merge``) do not count."""
    text = _MASK.sub(lambda m: " " * len(m.group()), cypher)
    for m in _WORD.finditer(text):
        word = m.group().upper()
        if word not in _WRITE_WORDS:
            continue
        before = text[:m.start()].rstrip()[-1:]
        after = text[m.end():].lstrip()[:1]
        if before in (".", ":", "$") or after == ":":
            continue
        raise _refuse(word)
    for m in _PROC.finditer(text):
        name = m.group(1)
        if "." in name and _WRITE_PROC.search(name):
            raise _refuse(f"CALL {name}")


def check_summary(summary: Any) -> None:
    """Raise ReadOnlyError when a read's result summary reports a write or any update counter."""
    qtype = getattr(summary, "query_type", None)
    counters = getattr(summary, "counters", None)
    changed = counters is not None and (counters.contains_updates
                                        or counters.contains_system_updates)
    if qtype in ("w", "rw", "s") or changed:
        what = {"w": "a write", "rw": "a read-write", "s": "a schema change"}.get(
            qtype or "", "an update")
        raise _refuse(f"the server reports {what}")
