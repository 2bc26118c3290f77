"""Split a Cypher statement into tokens the way the server's lexer does (comments, string
literals with backslash escapes, `quoted` names), so a check on its words sees exactly the code
the server will run: nothing hidden in what only looks like a comment or a string."""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

#: Where a ``//`` comment ends for Neo4j's and ArcadeDB's lexers (measured on ArcadeDB 26.10:
#: ``\r`` ends one, U+2028 / U+2029 / U+0085 / ``\v`` / ``\f`` do not).
CYPHER_LINE_ENDS = "\n\r"
#: Every character some lexer takes as a line end; lexing with these too finds the code a
#: differently built lexer would run.
UNICODE_LINE_ENDS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"

# One alternative per token kind, in the order the lexer tries them; a comment, string or
# `name` is one match. {line_end} is filled in per reading (see _pattern).
_TOKEN = r"""
    (?P<ws>\s+)
  | (?P<comment>//[^{line_end}]*|/\*.*?\*/)
  | (?P<string>'[^'\\]*(?:\\.[^'\\]*)*'|"[^"\\]*(?:\\.[^"\\]*)*")
  | (?P<name>`[^`]*(?:``[^`]*)*`)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9][0-9_]*)
  | (?P<open>['"`]|/\*)
  | (?P<punct>.)
"""


class Token(NamedTuple):
    """One token: ``word`` (ASCII identifier or keyword), ``name`` (a `quoted` name, unquoted),
    ``string``, ``number`` or ``punct`` (any other single character)."""

    kind: str
    text: str
    start: int


class UnterminatedError(ValueError):
    """A string, `name` or block comment that never ends."""


@functools.cache
def _pattern(line_ends: str) -> re.Pattern[str]:
    return re.compile(_TOKEN.replace("{line_end}", re.escape(line_ends)), re.S | re.X)


def tokens(cypher: str, line_ends: str = CYPHER_LINE_ENDS) -> list[Token]:
    """The tokens of ``cypher`` (comments and whitespace dropped); UnterminatedError when a
    string, quoted name or block comment runs to the end of the text.

    Words are ASCII only: a letter outside ASCII is a token of its own, so a keyword written
    next to one is still seen as a keyword (a refusal too many, never one too few)."""
    out: list[Token] = []
    for m in _pattern(line_ends).finditer(cypher):
        kind = m.lastgroup
        if kind == "ws" or kind == "comment":
            continue
        if kind == "open":
            what = {"`": "`quoted name`", "/*": "/* comment"}.get(m.group(), "string")
            raise UnterminatedError(f"a {what} opened at offset {m.start()} never ends")
        if kind == "name":
            out.append(Token("name", m.group()[1:-1].replace("``", "`"), m.start()))
        else:
            out.append(Token(str(kind), m.group(), m.start()))
    return out
