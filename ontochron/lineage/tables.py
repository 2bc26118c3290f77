"""The one parser of the lineage files (lineage.csv, lineage_events.csv, lineage_links.csv,
drift.csv): their rows as validated numpy columns, each error naming the file (and row)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.csvcols import float_column, int_column, read_columns
from ontochron.errors import InputError
from ontochron.lineage.result import EVENT_KINDS

Table = dict[str, np.ndarray]

REQUIRED_FILES = ("lineage.csv", "lineage_events.csv", "drift.csv")
LINKS_FILE = "lineage_links.csv"  # optional: only the cosines of split / merge links
COLUMNS = {"lineage.csv": ("step", "index", "feature"),
           "lineage_events.csv": ("kind", "step", "source", "target"),
           LINKS_FILE: ("kind", "step", "source", "target", "cosine"),
           "drift.csv": ("step", "feature", "index", "cos_prev", "cos_first", "turned")}
#: Earlier column sets still read (drift.csv before the ``turned`` flag).
OLDER_COLUMNS = {"drift.csv": (("step", "feature", "index", "cos_prev", "cos_first"),)}


@dataclass
class LineageTables:
    """Lineage files as columns. ``members``: step, index, feature (one row per latent per
    checkpoint). ``events``: kind, step, source, target (-1 where empty). ``links``: kind,
    step, source, target, cosine (split / merge rows). ``drift``: step, feature, index,
    cos_prev (NaN where the lineage starts), cos_first, turned (bool; absent in a drift.csv
    written before the flag). ``summary``: the lineage summary."""

    steps: np.ndarray
    members: Table
    events: Table
    drift: Table
    summary: dict[str, Any] = field(default_factory=dict)
    links: Table = field(default_factory=dict)

    @property
    def n_lineages(self) -> int:
        """Lineage ids are 0..n-1: one more than the largest id in lineage.csv."""
        f = self.members["feature"]
        return int(f.max()) + 1 if f.size else 0


def _columns(path: Path) -> dict[str, list[str]]:
    cols = read_columns(path)
    want = COLUMNS[path.name]
    if tuple(cols) != want and tuple(cols) not in OLDER_COLUMNS.get(path.name, ()):
        raise InputError(f"columns must be exactly {','.join(want)}; have "
                         f"{','.join(cols) or '(none)'}", path)
    return cols


def _kinds(values: list[str], allowed: tuple[str, ...], path: Path) -> np.ndarray:
    kinds = np.array([k.strip() for k in values], dtype=object)
    bad = ~np.isin(kinds.astype(str), allowed) if kinds.size else np.zeros(0, bool)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"row {i + 2}: kind {kinds[i]!r} is not one of {allowed}", path)
    return kinds


def read_lineage_tables(directory: str | os.PathLike[str],
                        summary: dict[str, Any] | None = None) -> LineageTables:
    """Read the lineage files of ``directory`` (lineage.csv, lineage_events.csv and drift.csv
    come as a set; lineage_links.csv is optional). ``summary`` is kept as given."""
    d = Path(directory)
    for name in REQUIRED_FILES:
        if not (d / name).exists():
            raise InputError(f"lineage files come as a set ({', '.join(REQUIRED_FILES)}); "
                             f"{name} is missing", d / name)
    lp, ep, dp, kp = (d / n for n in (*REQUIRED_FILES, LINKS_FILE))
    lc, ec, dc = _columns(lp), _columns(ep), _columns(dp)
    n = len(lc["step"])
    members = {k: int_column(lc[k], n, lp, blank=-1) for k in ("step", "index", "feature")}
    for k in ("step", "index", "feature"):
        if n and (members[k] < 0).any():
            raise InputError(f"row {int(np.argmax(members[k] < 0)) + 2}: {k} must be an "
                             "integer >= 0", lp)
    ne = len(ec["step"])
    events = {"kind": _kinds(ec["kind"], EVENT_KINDS, ep),
              **{k: int_column(ec[k], ne, ep, blank=-1) for k in ("step", "source", "target")}}
    nd = len(dc["step"])
    drift = {**{k: int_column(dc[k], nd, dp, blank=-1) for k in ("step", "feature", "index")},
             "cos_prev": float_column(dc["cos_prev"], dp),
             "cos_first": float_column(dc["cos_first"], dp)}
    if "turned" in dc:
        turned = int_column(dc["turned"], nd, dp, blank=0)
        if nd and ((turned < 0) | (turned > 1)).any():
            raise InputError(f"row {int(np.argmax((turned < 0) | (turned > 1))) + 2}: turned "
                             "must be 0 or 1", dp)
        drift["turned"] = turned.astype(bool)
    links: Table = {"kind": np.zeros(0, dtype=object),
                    **{k: np.zeros(0, np.int64) for k in ("step", "source", "target")},
                    "cosine": np.zeros(0)}
    if kp.exists():
        kc = _columns(kp)
        nk = len(kc["step"])
        links = {"kind": _kinds(kc["kind"], ("split", "merge"), kp),
                 **{k: int_column(kc[k], nk, kp, blank=-1) for k in ("step", "source", "target")},
                 "cosine": float_column(kc["cosine"], kp)}
    return LineageTables(np.unique(members["step"]), members, events, drift,
                         dict(summary or {}), links)
