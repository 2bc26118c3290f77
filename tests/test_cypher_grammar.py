"""Every shipped .cypher statement parses under Neo4j's own Cypher 5 grammar and semantic
analysis (tools/cypher-lint, @neo4j-cypher/language-support) and follows the file conventions.
The checker itself is proven: a broken statement is rejected, a valid one accepted."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ontochron.errors import InputError
from ontochron.graph.cypher import (
    check_conventions,
    header,
    iter_cypher_files,
    load_cypher,
    parameters,
)

ROOT = Path(__file__).resolve().parents[1]
LINT_DIR = ROOT / "tools" / "cypher-lint"
PACKAGE_DIR = ROOT / "ontochron"

VALID = """// Upsert concepts. $rows: list of {cid, props}; $run: run id.
UNWIND $rows AS r
MERGE (c:Concept {cid: r.cid, run: $run})
SET c += r.props
WITH c
MATCH (c)-[e:PARENT_OF]->(d:Concept)
WHERE e.valid_from <= 3 AND (e.valid_to = -1 OR e.valid_to > 3)
RETURN count(d) AS children
"""
# Line 3 misspells RETURN; line 4 uses an undefined variable (semantic error).
BROKEN = """// Broken on purpose.
MATCH (n:Concept)
RETRN n.cid
"""
UNDEFINED = """// Semantic error on purpose: m is never bound.
MATCH (n:Concept)
RETURN m
"""


def lint(*files: Path) -> subprocess.CompletedProcess[str]:
    """Run the Node linter; fail (never skip) when Node or its package is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js >= 20) is required for the Cypher grammar check; install it "
                    "(e.g. apt-get install nodejs npm) and run `make setup`", pytrace=False)
    if not (LINT_DIR / "node_modules" / "@neo4j-cypher" / "language-support").is_dir():
        pytest.fail(f"the Cypher linter is not installed: run `npm ci` in {LINT_DIR} "
                    "(or `make setup`)", pytrace=False)
    return subprocess.run([node, str(LINT_DIR / "lint.mjs"), *map(str, files)],
                          capture_output=True, text=True, timeout=120)


def test_linter_rejects_broken_and_accepts_valid(tmp_path):
    good, bad, undef = tmp_path / "good.cypher", tmp_path / "bad.cypher", tmp_path / "undef.cypher"
    good.write_text(VALID)
    bad.write_text(BROKEN)
    undef.write_text(UNDEFINED)
    res = lint(good, bad, undef)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"{bad}:3:1: error: Invalid input 'RETRN'" in res.stdout
    assert f"{undef}:3:8: error: Variable `m` not defined" in res.stdout
    assert str(good) not in res.stdout  # the valid statement drew no diagnostic at all
    assert len(res.stdout.splitlines()) >= 2


def test_every_shipped_statement_passes_neo4j_grammar():
    files = iter_cypher_files()
    if not files:
        pytest.fail("no .cypher files found under the ontochron package", pytrace=False)
    res = lint(*files)
    assert res.returncode == 0, "Cypher grammar errors:\n" + res.stdout + res.stderr


def test_every_shipped_statement_follows_conventions():
    problems = {str(p.relative_to(PACKAGE_DIR)): check_conventions(p) for p in iter_cypher_files()}
    assert {k: v for k, v in problems.items() if v} == {}


def test_statements_live_in_the_cypher_folders():
    allowed = {("graph", "cypher"), ("queries", "cypher"), ("viz", "cypher")}
    stray = [p for p in iter_cypher_files() if p.relative_to(PACKAGE_DIR).parts[:2] not in allowed]
    assert stray == []


def test_load_cypher_reads_package_files_and_names_missing_ones():
    for path in iter_cypher_files():
        rel = path.relative_to(PACKAGE_DIR).as_posix()
        assert load_cypher(rel) == path.read_text(encoding="utf-8")
        assert load_cypher(rel.removesuffix(".cypher")) == load_cypher(rel)
    with pytest.raises(InputError) as err:
        load_cypher("graph/cypher/no_such_statement")
    assert err.value.path == "ontochron/graph/cypher/no_such_statement.cypher"


def test_convention_checker_on_planted_files(tmp_path):
    f = tmp_path / "x.cypher"
    f.write_text(VALID)
    assert check_conventions(f) == []
    assert header(VALID).startswith("Upsert concepts.")
    assert parameters(VALID) == {"rows", "run"}
    # '$fake' inside a string or comment is not a parameter.
    assert parameters("// $a\nRETURN '$fake' AS s, $real AS r") == {"real"}
    f.write_text("MATCH (n) RETURN n")
    assert check_conventions(f) == ["must start with '//' comment lines saying what it does"]
    f.write_text("// Two.\nMATCH (n) RETURN n;\nMATCH (m) RETURN m;\n")
    assert check_conventions(f) == ["holds more than one statement (one per file)"]
    f.write_text("// Header without params.\nMATCH (n {id: $id}) RETURN n\n")
    assert check_conventions(f) == ["header does not mention parameter(s): $id"]
    f.write_text("// Only a comment.\n")
    assert check_conventions(f) == ["holds no statement"]
    f.write_text("// Ends with one semicolon.\nRETURN ';' AS s;\n")
    assert check_conventions(f) == []
