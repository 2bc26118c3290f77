"""Docs that run: every ```bash, ```python and ```cypher block in README.md and docs/*.md is
executed against the demo graph, and every ```text block right after one is checked against
its real output. A new docs/*.md is picked up by itself.

Conventions (also summarised in README.md, "Docs that run"):

* **Where blocks run.** Once per session, ``ontochron demo --no-causal --no-plots`` ingests
  runs ``demo`` and ``demo-sae`` (its lineage stage) into a dedicated embedded Bolt server; ``NEO4J_URI``/``NEO4J_USERNAME``/
  ``NEO4J_PASSWORD``/``NEO4J_DATABASE`` point every command at it (so ``--data-dir`` options
  in the docs are ignored). Each doc runs its blocks in order in its own empty working
  directory holding ``demo-out/`` (the demo's output directory) and the ``.venv/bin`` tools
  on ``PATH``; runs a doc adds are deleted after it, so every doc sees the store ``ontochron
  demo`` leaves (both runs, as a reader's store holds them: a command that needs a run names
  it with ``--run``, since "the only run in the store" does not exist there).
* ```bash: run by ``bash -e -o pipefail``; ```python: run by the venv's python;
  ```cypher: run as a read with ``ontochron query --cypher``'s parameter rules (``$run_id`` =
  run ``demo`` unless ``-p run_id=NAME`` says otherwise, ``$forks`` derived from
  ``$step``/``$t``), other parameters from
  :data:`CYPHER_DEFAULTS` or a ``// docs: -p NAME=VALUE ...`` first line. ```console blocks
  are refused: write the commands as ```bash and the output as ```text.
* **Not runnable here** (Docker, Neo4j Desktop, ``make test`` itself, a signature sketch):
  start the block with ``# docs: skip (reason)`` (``// docs: skip (reason)`` in Cypher); the
  reason stays visible to readers and must not be empty.
* **Sample output.** A ```text block separated from a runnable block only by blank lines is
  its output: every non-blank line of it except ``...`` must appear in the real output, in
  order, with runs of spaces compared as one (so ``...`` elides, and widths may differ).
  ``scripts/regen-doc-outputs [DOC.md ...]`` rewrites those blocks from real runs.
* **Per-doc setup.** ``tests/docs/<doc stem>.sh``, when present, runs in the doc's working
  directory before its first block (e.g. to create the input files its examples name).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP_DIR = ROOT / "tests" / "docs"
RUNNABLE = ("bash", "python", "cypher")
REGEN = os.environ.get("ONTOCHRON_DOCS_REGEN") == "1"
ONLY = [s for s in os.environ.get("ONTOCHRON_DOCS_ONLY", "").split(",") if s]
BLOCK_TIMEOUT_S = 600
#: The run a Cypher block's ``$run_id`` means unless its ``// docs: -p run_id=NAME`` line says.
DOCS_RUN = "demo"
#: Parameters a doc's Cypher block may use without declaring them (values of the demo run).
CYPHER_DEFAULTS = {"step": 176, "t": 176, "from": 0, "to": 352, "feature": 3,
                   "concept": "digit 0", "name": "digit 0", "limit": 5, "kinds": None,
                   "types": None}
_FENCE = re.compile(r"^([ \t]*)```(\S*)\s*$")
_SKIP = re.compile(r"^\s*(?:#|//)\s*docs:\s*skip\b\s*(.*)$")
_PARAMS = re.compile(r"^\s*//\s*docs:\s*(-p\s.*)$")


def doc_files() -> list[Path]:
    """README.md and every docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Block:
    """One fenced block: language, body (indent removed), where it is, and its sample output."""

    doc: Path
    line: int  # 1-based line of the opening fence
    end: int  # 0-based index of the closing fence line
    indent: str
    lang: str
    text: str
    output: Block | None = None

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def skip(self) -> str | None:
        first = next((ln for ln in self.text.splitlines() if ln.strip()), "")
        m = _SKIP.match(first)
        return None if m is None else m.group(1).strip(" ()-—:") or ""


def parse_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``; a ```text block after a runnable one (blank lines
    between only) becomes its ``output``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2)
        j = i + 1
        while j < len(lines) and not re.match(rf"^{re.escape(indent)}```\s*$", lines[j]):
            j += 1
        body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip()
                for ln in lines[i + 1:j]]
        blk = Block(path, i + 1, j, indent, lang, "\n".join(body) + "\n")
        prev = blocks[-1] if blocks else None
        if (lang == "text" and prev is not None and prev.lang in RUNNABLE
                and all(not ln.strip() for ln in lines[prev.end + 1:i])):
            prev.output = blk
        blocks.append(blk)
        i = j + 1
    return blocks


def stable_lines_missing(expected: str, actual: str) -> list[str]:
    """Lines of ``expected`` (blank and ``...`` ones left out) not found in ``actual`` in
    order, spaces collapsed; empty when the sample matches."""
    norm = [" ".join(ln.split()) for ln in actual.splitlines()]
    pos, missing = 0, []
    for ln in expected.splitlines():
        want = " ".join(ln.split())
        if not want or want == "...":
            continue
        try:
            pos = norm.index(want, pos) + 1
        except ValueError:
            missing.append(ln)
    return missing


# ------------------------------------------------------------------------------ the demo graph

@dataclass
class DocsEnv:
    env: dict[str, str]
    demo_out: Path
    store: object
    root: Path
    runs: frozenset[str]  # the runs `ontochron demo` left in the store (kept between docs)


@pytest.fixture(scope="module")
def docs_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsEnv]:
    """A dedicated embedded Bolt server holding the demo run, and the environment that points
    every ``ontochron`` command (and ``open_store()``) at it."""
    from ontochron.graph.embedded import EmbeddedServer
    from ontochron.graph.store import connect

    base = tmp_path_factory.mktemp("docs")
    server = EmbeddedServer(base / "store", heap="1g")
    try:
        server.start(timeout=240)
    except Exception as exc:
        server.stop()
        pytest.fail(f"the docs' Bolt server could not start: {exc}", pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "OPENAI_"))}
    env.update(NEO4J_URI=server.bolt_uri, NEO4J_USERNAME=server.username,
               NEO4J_PASSWORD=server.password, NEO4J_DATABASE=server.database,
               PYTHONPATH=str(ROOT), PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
               ONTOCHRON_LABEL_CACHE=str(base / "label-cache"), MPLBACKEND="Agg")
    demo_out = base / "demo-out"
    try:
        proc = subprocess.run([sys.executable, "-m", "ontochron", "demo", "--out",
                               str(demo_out), "--no-causal", "--no-plots", "--quiet",
                               "--store", server.bolt_uri], env=env, capture_output=True,
                              text=True, timeout=900)
        assert proc.returncode == 0, f"ontochron demo failed:\n{proc.stdout}\n{proc.stderr}"
        store = connect(server.bolt_uri, server.username, server.password, server.database)
        try:
            from ontochron.queries.library import list_runs

            runs = frozenset(list_runs(store))
            assert DOCS_RUN in runs, f"ontochron demo left runs {sorted(runs)}, not {DOCS_RUN!r}"
            yield DocsEnv(env, demo_out, store, base, runs)
        finally:
            store.close()
    finally:
        server.stop()


def _run_block(blk: Block, denv: DocsEnv, cwd: Path) -> str:
    """Run one block; its stdout (stderr appended), or an AssertionError naming the block."""
    if blk.lang == "cypher":
        return _run_cypher(blk, denv)
    argv = (["bash", "-e", "-o", "pipefail", "-c", blk.text] if blk.lang == "bash"
            else [sys.executable, "-c", blk.text])
    proc = subprocess.run(argv, cwd=cwd, env=denv.env, capture_output=True, text=True,
                          timeout=BLOCK_TIMEOUT_S)
    if proc.returncode != 0:
        raise AssertionError(f"{blk.where}: ```{blk.lang} block exited {proc.returncode}\n"
                             f"--- block ---\n{blk.text}--- stdout ---\n{proc.stdout}"
                             f"--- stderr ---\n{proc.stderr}")
    return proc.stdout


def _run_cypher(blk: Block, denv: DocsEnv) -> str:
    from ontochron.cli.query import parse_params
    from ontochron.graph.cypher import parameters
    from ontochron.queries.library import bind_cypher, resolve_run, run_cypher

    first = blk.text.splitlines()[0]
    m = _PARAMS.match(first)
    given = parse_params(re.findall(r"-p\s+(\S+)", m.group(1))) if m else {}
    used = parameters(blk.text) - {"run_id", "forks"}
    params = {k: given.get(k, CYPHER_DEFAULTS.get(k)) for k in used}
    unknown = sorted(used - set(given) - set(CYPHER_DEFAULTS))
    assert not unknown, (f"{blk.where}: Cypher parameter(s) {unknown} have no default: add "
                         "a first line '// docs: -p NAME=VALUE'")
    run = given.pop("run_id", DOCS_RUN)  # named, not "the only run": the store holds several
    bound = bind_cypher(blk.text, params, run_id=resolve_run(denv.store, run))
    res = run_cypher(denv.store, blk.text, **bound)
    return res.format("table") + "\n"


def _rewrite(path: Path, outputs: list[tuple[Block, str]]) -> None:
    """Replace each sample-output block's body with the real output (regen mode)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for out_blk, text in sorted(outputs, key=lambda p: -p[0].line):
        body = [(out_blk.indent + ln).rstrip() for ln in text.rstrip("\n").splitlines()]
        lines[out_blk.line:out_blk.end] = body
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cleanup_runs(denv: DocsEnv) -> None:
    from ontochron.graph.ingest import delete_run
    from ontochron.queries.library import list_runs

    for run in list_runs(denv.store):
        if run not in denv.runs:
            delete_run(denv.store, run)


DOCS = [p for p in doc_files() if not ONLY or p.name in ONLY]


def test_blocks_are_well_formed() -> None:
    """No ```console blocks; every skip names its reason. (Cheap: no server needed.)"""
    problems = []
    for path in doc_files():
        for blk in parse_blocks(path):
            if blk.lang == "console":
                problems.append(f"{blk.where}: ```console: write the commands as ```bash and "
                                "the output as a ```text block right after")
            if blk.lang in RUNNABLE and blk.skip == "":
                problems.append(f"{blk.where}: '# docs: skip' needs a reason in brackets")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_doc_examples_run(doc: Path, docs_env: DocsEnv) -> None:
    blocks = [b for b in parse_blocks(doc) if b.lang in RUNNABLE and b.skip is None]
    cwd = docs_env.root / "work" / doc.stem
    shutil.rmtree(cwd, ignore_errors=True)
    cwd.mkdir(parents=True)
    (cwd / "demo-out").symlink_to(docs_env.demo_out)
    setup = SETUP_DIR / f"{doc.stem}.sh"
    try:
        if setup.exists():
            proc = subprocess.run(["bash", "-e", str(setup)], cwd=cwd, env=docs_env.env,
                                  capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
            assert proc.returncode == 0, f"{setup}: {proc.stdout}{proc.stderr}"
        regen, failures = [], []
        for blk in blocks:
            out = _run_block(blk, docs_env, cwd)
            if blk.output is None:
                continue
            if REGEN:
                regen.append((blk.output, out))
                continue
            missing = stable_lines_missing(blk.output.text, out)
            if missing:
                failures.append(f"{blk.output.where}: sample output lines not in the real "
                                "output of the block above (scripts/regen-doc-outputs "
                                f"rewrites it):\n  " + "\n  ".join(missing)
                                + f"\n--- real output ---\n{out}")
        if regen:
            _rewrite(doc, regen)
        assert not failures, "\n".join(failures)
    finally:
        _cleanup_runs(docs_env)


def test_harness_conventions_hold(tmp_path: Path) -> None:
    """The parser and the output check do what the conventions say (they can fail)."""
    md = tmp_path / "x.md"
    md.write_text("a\n\n```bash\n# docs: skip (needs Docker)\ndocker compose up\n```\n\n"
                  "```python\nprint(1)\n```\n\n```text\n1\n```\n\nprose\n\n```text\nx\n```\n"
                  "  ```bash\n  echo hi\n  ```\n", encoding="utf-8")
    b = parse_blocks(md)
    assert [x.lang for x in b] == ["bash", "python", "text", "text", "bash"]
    assert b[0].skip == "needs Docker" and b[1].skip is None
    assert b[1].output is b[2] and b[3] is not None and b[4].text == "echo hi\n"
    assert all(x.output is None for x in (b[0], b[4]))
    assert stable_lines_missing("a  b\n...\nd\n", "a b\nc\nd\n") == []
    assert stable_lines_missing("d\na b\n", "a b\nc\nd\n") == ["a b"]
    assert stable_lines_missing("zz\n", "a\n") == ["zz"]
