"""Keep reads read-only: a check, before anything is sent, for statements that would change the
graph or its schema or read files, and the check of a finished read's summary (query type and
update counters).

The summary check, inside a transaction that is always rolled back, is the guarantee for data
changes made inside that transaction. The check before sending exists because some things take
effect at once: ArcadeDB applies schema commands (CREATE INDEX / CONSTRAINT, DROP ...) outside
the transaction, even under EXPLAIN; ``CALL { ... } IN TRANSACTIONS`` commits its own
transactions; ``LOAD CSV`` reads a file or URL as it runs. So the statement is split into
tokens as the server's lexer does (cypherlex), and also as a lexer that ends ``//`` comments at
every Unicode line end would: a writing word found under either reading is refused."""

from __future__ import annotations

from typing import Any

from ontochron.errors import StoreError
from ontochron.graph.cypherlex import (
    CYPHER_LINE_ENDS,
    UNICODE_LINE_ENDS,
    Token,
    UnterminatedError,
    tokens,
)

# Clauses that change data, schema or security (FOREACH / CALL { } only hold such clauses;
# INSERT is Cypher 25's CREATE).
_WRITE_WORDS = frozenset({
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "ALTER", "GRANT", "DENY",
    "REVOKE", "RENAME", "TERMINATE", "INSERT",
})
# Words that write only before one of these next words (elsewhere they are ordinary names).
_WRITE_BEFORE = {
    "START": {"DATABASE"}, "STOP": {"DATABASE"}, "ENABLE": {"SERVER"},
    "DEALLOCATE": {"DATABASE", "DATABASES"}, "REALLOCATE": {"DATABASES"},
    "PERIODIC": {"COMMIT"},
}
# Procedures a read may call: what they do is known to be read-only on ArcadeDB and Neo4j.
# Names compare in lower case with a leading "apoc." dropped (ArcadeDB resolves apoc.x as x).
_READ_PROCEDURES = frozenset({
    "db.labels", "db.relationshiptypes", "db.propertykeys", "db.schema.visualization",
    "db.schema.nodetypeproperties", "db.schema.reltypeproperties", "db.indexes",
    "db.constraints", "db.info", "db.ping", "db.index.fulltext.querynodes",
    "db.index.fulltext.queryrelationships", "db.index.vector.querynodes",
    "db.index.vector.queryrelationships", "dbms.components", "dbms.procedures",
    "dbms.functions", "help",
})
_READ_PROCEDURE_PREFIXES = ("algo.", "meta.", "path.")
_OTHER_LINE_ENDS = "".join(c for c in UNICODE_LINE_ENDS if c not in CYPHER_LINE_ENDS)


class ReadOnlyError(StoreError):
    """A statement run as a read would change the graph or read files, and was refused."""


def _refuse(what: str) -> ReadOnlyError:
    return ReadOnlyError(f"refused: this statement would change the graph ({what}) and reads "
                         "are read-only; it was not sent to the server (pass --write to run "
                         "it as a write)")


def check_statement(cypher: str) -> None:
    """Raise ReadOnlyError, before anything is sent, when ``cypher`` holds a writing clause,
    ``LOAD CSV``, ``CALL { ... } IN TRANSACTIONS`` or a call to a procedure not known to be
    read-only, under either reading of its comments (see the module docstring).

    Words used as property keys (``n.set``), labels (``:Create``), map keys (``{set: 1}``),
    parameters (``$merge``), `quoted` names, strings and comments do not count."""
    readings = [CYPHER_LINE_ENDS]
    if any(c in cypher for c in _OTHER_LINE_ENDS):  # else both readings are the same
        readings.append(UNICODE_LINE_ENDS)
    for line_ends in readings:
        try:
            toks = tokens(cypher, line_ends)
        except UnterminatedError as exc:
            why = ("" if line_ends == CYPHER_LINE_ENDS else
                   " once a // comment is ended at a Unicode line end (U+2028, U+0085, ...)")
            raise ReadOnlyError(f"refused: {exc}{why}, so what would run cannot be checked; "
                                "it was not sent to the server") from None
        problem = _writing_part(toks)
        if problem is not None:
            raise problem


def _writing_part(toks: list[Token]) -> ReadOnlyError | None:
    """The refusal for the first writing part of the statement, or None."""
    for i, tok in enumerate(toks):
        if tok.kind != "word" or _is_name(toks, i):
            continue
        word = tok.text.upper()
        nxt = _word(toks, i + 1)
        if word in _WRITE_WORDS:
            return _refuse(word)
        if nxt in _WRITE_BEFORE.get(word, ()):
            return _refuse(f"{word} {nxt}")
        if word == "LOAD" and nxt == "CSV":
            return ReadOnlyError(
                "refused: LOAD CSV reads a file or URL on the server's side and a read may "
                "not; it was not sent to the server (the embedded store refuses file and "
                "remote URLs even with --write)")
        if word == "TRANSACTIONS" and _word(toks, i - 1) in ("IN", "CONCURRENT"):
            return _refuse("CALL { ... } IN TRANSACTIONS commits on its own")
        if word == "CALL":
            name = _procedure(toks, i + 1)
            if name is not None and not _read_procedure(name):
                return _refuse(f"CALL {name}: not a procedure known to be read-only")
    return None


def _word(toks: list[Token], i: int) -> str | None:
    if 0 <= i < len(toks) and toks[i].kind == "word":
        return toks[i].text.upper()
    return None


def _punct(toks: list[Token], i: int) -> str | None:
    if 0 <= i < len(toks) and toks[i].kind == "punct":
        return toks[i].text
    return None


def _is_name(toks: list[Token], i: int) -> bool:
    """True when word ``i`` is a property key, label, parameter or map key, not a keyword."""
    return _punct(toks, i - 1) in (".", ":", "$") or _punct(toks, i + 1) == ":"


def _procedure(toks: list[Token], i: int) -> str | None:
    """The dotted procedure name called at token ``i`` (after CALL); None for a subquery
    (``CALL {`` / ``CALL (``). Anything else after CALL comes back as itself, to be refused."""
    if _punct(toks, i) in ("{", "("):
        return None
    parts = []
    while i < len(toks) and toks[i].kind in ("word", "name"):
        parts.append(toks[i].text)
        if _punct(toks, i + 1) != ".":
            break
        i += 2
    return ".".join(parts) if parts else (toks[i].text if i < len(toks) else "")


def _read_procedure(name: str) -> bool:
    key = name.lower()
    key = key[len("apoc."):] if key.startswith("apoc.") else key
    return key in _READ_PROCEDURES or key.startswith(_READ_PROCEDURE_PREFIXES)


def check_summary(summary: Any) -> None:
    """Raise ReadOnlyError when a read's result summary reports a write or any update counter."""
    qtype = getattr(summary, "query_type", None)
    counters = getattr(summary, "counters", None)
    changed = counters is not None and (counters.contains_updates
                                        or counters.contains_system_updates)
    if qtype in ("w", "rw", "s") or changed:
        what = {"w": "a write", "rw": "a read-write", "s": "a schema change"}.get(
            qtype or "", "an update")
        raise ReadOnlyError(
            f"refused: the server reports {what} for this statement and reads are read-only; "
            "its transaction was rolled back, which undoes data changes but not a schema "
            "change the server applied at once (check SHOW INDEXES and SHOW CONSTRAINTS); "
            "pass --write to run it as a write")
