"""Split a Cypher statement into tokens the way the server's lexer does (comments, string
literals with backslash escapes, `quoted` names), so a check on its words sees exactly the code
the server will run: nothing hidden in what only looks like a comment or a string."""

from __future__ import annotations

from dataclasses import dataclass

#: Where a ``//`` comment ends for Neo4j's and ArcadeDB's lexers (measured on ArcadeDB 26.10:
#: ``\r`` ends one, U+2028 / U+2029 / U+0085 / ``\v`` / ``\f`` do not).
CYPHER_LINE_ENDS = "\n\r"
#: Every character some lexer takes as a line end; lexing with these too finds the code a
#: differently built lexer would run.
UNICODE_LINE_ENDS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"

_WORD_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_WORD_CHARS = _WORD_START | frozenset("0123456789")


@dataclass(frozen=True)
class Token:
    """One token: ``word`` (ASCII identifier or keyword), ``name`` (a `quoted` name, unquoted),
    ``string``, ``number`` or ``punct`` (any other single character)."""

    kind: str
    text: str
    start: int


class UnterminatedError(ValueError):
    """A string, `name` or block comment that never ends."""


def tokens(cypher: str, line_ends: str = CYPHER_LINE_ENDS) -> list[Token]:
    """The tokens of ``cypher`` (comments and whitespace dropped); UnterminatedError when a
    string, quoted name or block comment runs to the end of the text.

    Words are ASCII only: a letter outside ASCII is a token of its own, so a keyword written
    next to one is still seen as a keyword (a refusal too many, never one too few)."""
    out: list[Token] = []
    i, n = 0, len(cypher)
    while i < n:
        ch = cypher[i]
        if ch.isspace():
            i += 1
        elif cypher.startswith("//", i):
            i += 2
            while i < n and cypher[i] not in line_ends:
                i += 1
        elif cypher.startswith("/*", i):
            end = cypher.find("*/", i + 2)
            if end < 0:
                raise UnterminatedError(f"a /* comment opened at offset {i} never ends")
            i = end + 2
        elif ch in "'\"":
            j = _string_end(cypher, i)
            out.append(Token("string", cypher[i:j], i))
            i = j
        elif ch == "`":
            j, text = _quoted_name(cypher, i)
            out.append(Token("name", text, i))
            i = j
        elif ch in _WORD_START:
            j = i + 1
            while j < n and cypher[j] in _WORD_CHARS:
                j += 1
            out.append(Token("word", cypher[i:j], i))
            i = j
        elif "0" <= ch <= "9":
            j = i + 1
            while j < n and ("0" <= cypher[j] <= "9" or cypher[j] == "_"):
                j += 1
            out.append(Token("number", cypher[i:j], i))
            i = j
        else:
            out.append(Token("punct", ch, i))
            i += 1
    return out


def _string_end(text: str, start: int) -> int:
    """Offset just past the string literal opened at ``start`` (a backslash escapes the next
    character, as in Cypher)."""
    quote, i, n = text[start], start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
        elif ch == quote:
            return i + 1
        else:
            i += 1
    raise UnterminatedError(f"a string opened at offset {start} never ends")


def _quoted_name(text: str, start: int) -> tuple[int, str]:
    """(offset past, content) of the `quoted name` at ``start`` (```` `` ```` is one backtick)."""
    i, n, parts = start + 1, len(text), []
    while i < n:
        end = text.find("`", i)
        if end < 0:
            break
        parts.append(text[i:end])
        if text.startswith("``", end):
            parts.append("`")
            i = end + 2
            continue
        return end + 1, "".join(parts)
    raise UnterminatedError(f"a `quoted name` opened at offset {start} never ends")
