"""Numbers people read (issue 20, item 6): cosines of float32 unit vectors never exceed 1
(they printed as 1.000000238), and CLI tables round floats to 6 significant digits
(0.17500000000000002 -> 0.175) while csv / json keep every digit."""

from __future__ import annotations

import json

import numpy as np

from ontochron.lineage.build import build_lineage
from ontochron.lineage.match import link, unit_rows
from ontochron.queries.library import QueryResult


def _over_one_rows() -> np.ndarray:
    """float32 unit rows, some of whose self-dot products round to just above 1."""
    rng = np.random.default_rng(0)
    U = unit_rows(rng.normal(size=(400, 64)))
    assert (np.einsum("ij,ij->i", U, U) > 1.0).any()   # the float32 effect is there
    return U


def test_cosines_are_clipped_to_one():
    U = _over_one_rows()
    lk = link(U, U.copy(), 0.5)
    cos = np.array([c for _, _, c in lk.continues])
    assert cos.size == len(U) and cos.max() <= 1.0 and cos.min() > 0.99
    lin = build_lineage([(0, U), (10, U.copy()), (20, U.copy())], null="random")
    for t in (1, 2):
        assert np.nanmax(lin.cos_prev[t]) <= 1.0 and np.nanmax(lin.cos_first[t]) <= 1.0
    assert all(e.cosine is None or -1.0 <= e.cosine <= 1.0 for e in lin.events)


def test_tables_round_floats_and_machine_formats_keep_them():
    res = QueryResult.from_rows(["x", "n", "y"], [(0.17500000000000002, 3, 1.0), (2 / 3, 4, 1e-10)])
    table = res.format("table")
    assert "0.175 " in table + " " and "0.17500000000000002" not in table
    assert "0.666667" in table and "1.0" in table and "1e-10" in table
    assert "0.17500000000000002" in res.format("csv")
    assert json.loads(res.format("json"))[0]["x"] == 0.17500000000000002
