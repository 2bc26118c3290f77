"""README's CLI reference renders as one table (issue 20, item 6): every subcommand has a row,
and no paragraph or blank line sits between the header and the last row (in Markdown that
ends the table and turns the remaining rows into a paragraph)."""

from __future__ import annotations

import re
from pathlib import Path

from ontochron.cli import COMMANDS

README = Path(__file__).resolve().parents[1] / "README.md"


def _table_after(heading: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    lines = section.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| command |"))
    rows = []
    for ln in lines[start:]:
        if not ln.startswith("|"):
            break
        rows.append(ln)
    return rows


def test_cli_table_is_one_table_with_every_command():
    rows = _table_after("## CLI reference")
    assert rows[1].startswith("|---")
    commands = {m.group(1) for ln in rows[2:] if (m := re.match(r"\| `(\w+)", ln))}
    assert set(COMMANDS) <= commands, set(COMMANDS) - commands
    text = README.read_text(encoding="utf-8")
    # the thresholds paragraph follows the table, it does not split it
    assert text.index("Thresholds of `analyze` and `ingest`") > text.index(rows[-1])
