"""docs/queries.md documents every shipped named query (issue 20, item 6: it lacked
``expected_dependencies_at_step``): a row in the table with each declared parameter, and its
columns described."""

from __future__ import annotations

import re
from pathlib import Path

from ontochron.queries.library import list_queries

DOC = Path(__file__).resolve().parents[1] / "docs" / "queries.md"


def test_every_named_query_has_a_row_and_its_columns():
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## The named queries")[1].split("\n\n")[1]
    rows = {m.group(1): line for line in table.splitlines()
            if (m := re.match(r"\| `(\w+)` \|", line))}
    for q in list_queries():
        assert q.name in rows, q.name
        params = rows[q.name].rsplit("|", 2)[-2]
        declared = [p.name for p in q.params if not getattr(p, "derived", None)]
        for name in declared:
            assert f"`{name}`" in params, (q.name, name)
        assert re.search(rf"^\* `{q.name}`", text, re.M), f"{q.name}: no column list"
