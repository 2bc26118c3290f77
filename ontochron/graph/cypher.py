"""Load the Cypher statements ontochron ships: one statement per ``.cypher`` file under the
package (graph writes in ``graph/cypher/``, named queries in ``queries/cypher/``, plot reads in
``viz/cypher/``), each opening
with ``//`` comment lines that say what it does and which parameters it takes."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from ontochron.errors import InputError

PACKAGE = "ontochron"
SUFFIX = ".cypher"
_PARAM = re.compile(r"\$`?([A-Za-z_][A-Za-z0-9_]*)`?")
_STRING_OR_COMMENT = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|//[^\r\n]*"
                                r"|/\*.*?\*/", re.S)


def _package_root() -> Path:
    return Path(str(resources.files(PACKAGE)))


@cache
def load_cypher(relative_name: str) -> str:
    """The text of ``ontochron/<relative_name>`` (``.cypher`` added if missing), cached.

    Example: ``load_cypher("graph/cypher/upsert_concepts")``.
    """
    name = relative_name if relative_name.endswith(SUFFIX) else relative_name + SUFFIX
    resource = resources.files(PACKAGE).joinpath(*name.split("/"))
    try:
        return resource.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise InputError("no such Cypher statement in the ontochron package",
                         f"{PACKAGE}/{name}") from exc


def iter_cypher_files() -> list[Path]:
    """Every ``.cypher`` file shipped in the package, sorted by path."""
    return sorted(_package_root().rglob(f"*{SUFFIX}"))


def strip_comments_and_strings(text: str) -> str:
    """The statement with comments removed and string/identifier literals blanked."""
    return _STRING_OR_COMMENT.sub(
        lambda m: "" if m.group(0).startswith(("//", "/*")) else "''", text)


def header(text: str) -> str:
    """The leading ``//`` comment block (without the slashes): the statement's documentation."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("//"):
            break
        lines.append(stripped[2:].strip())
    return "\n".join(lines).strip()


def parameters(text: str) -> set[str]:
    """Names of the ``$parameters`` the statement uses (outside comments and strings)."""
    return set(_PARAM.findall(strip_comments_and_strings(text)))


def check_conventions(path: str | Path) -> list[str]:
    """Problems with a shipped ``.cypher`` file's layout (empty list when it is fine):
    it must open with a ``//`` header, hold exactly one statement, and name its parameters."""
    text = Path(path).read_text(encoding="utf-8")
    problems = []
    if not text.lstrip().startswith("//") or not header(text):
        problems.append("must start with '//' comment lines saying what it does")
    body = strip_comments_and_strings(text).strip()
    if not body:
        problems.append("holds no statement")
    elif ";" in body.rstrip(";").rstrip():
        problems.append("holds more than one statement (one per file)")
    doc = header(text)
    missing = sorted(p for p in parameters(text) if not re.search(rf"\${p}\b|\b{p}\b", doc))
    if missing:
        problems.append("header does not mention parameter(s): "
                        + ", ".join("$" + p for p in missing))
    return problems
