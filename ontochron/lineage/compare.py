"""Compare two separately trained dictionaries (two seeds, widths or layers): which latents
they share 1:1 (``same``), which split or merge, which are orphans."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.ingest.dictionaries import load_dictionary
from ontochron.lineage.build import directions
from ontochron.lineage.files import atomic_dir, write_json
from ontochron.lineage.match import link
from ontochron.lineage.null import link_threshold

MATCH_COLUMNS = ("a", "b", "cosine", "kind")


def compare_dictionaries(sae_a: str | os.PathLike[str], sae_b: str | os.PathLike[str], *,
                         match_on: str = "decoder", null: str = "both", alpha: float = 0.001,
                         null_rows: int = 4096, topk: int = 8, device: str = "cpu",
                         layout: str = "auto", sae: str | None = None,
                         scheduler: Any = None, workers: int | None = None
                         ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows a, b, cosine, kind; summary) for two dictionary folders of the same d_in.
    ``same``: a 1:1 match; ``split``: one A latent <-> several B latents (one row per B);
    ``merge``: several A latents <-> one B latent (one row per A). ``scheduler`` (an address,
    ``"local"`` with ``workers`` processes, or an open Cluster) runs the match as a Dask
    task, which reads the two folders itself when it sees them; same result."""
    from ontochron.distributed import open_cluster

    opts = {"match_on": match_on, "null": null, "alpha": alpha, "null_rows": null_rows,
            "topk": topk, "device": device, "sae": sae}
    with open_cluster(scheduler, workers) as cluster:
        if cluster is None:
            return _compare(sae_a, sae_b, layout, opts)
        files = [p for f in (sae_a, sae_b) for p in sorted(Path(f).rglob("*")) if p.is_file()]
        if cluster.files_visible(files):
            args = (os.fspath(Path(sae_a).absolute()), os.fspath(Path(sae_b).absolute()),
                    layout, opts)
            rows, summary = next(cluster.imap(_compare, [args], desc="compare"))
            summary.update(a=os.fspath(sae_a), b=os.fspath(sae_b))
            return rows, summary
        A, B = _directions(sae_a, sae_b, layout, match_on, sae)
        return next(cluster.imap(_compare_directions, [(A, B, sae_a, sae_b, opts)],
                                 desc="compare"))


def _directions(sae_a: str | os.PathLike[str], sae_b: str | os.PathLike[str], layout: str,
                match_on: str, sae: str | None = None) -> tuple[Any, Any]:
    """The two dictionaries' unit directions; a d_in that differs is an InputError."""
    from ontochron.errors import InputError

    da, db = load_dictionary(sae_a, layout, sae), load_dictionary(sae_b, layout, sae)
    if da.d_in != db.d_in:
        raise InputError(f"d_in is {db.d_in}, but {da.d_in} in {sae_a}; compare needs "
                         "dictionaries of the same layer width", sae_b)
    return directions(da, match_on), directions(db, match_on)


def _compare(sae_a: str | os.PathLike[str], sae_b: str | os.PathLike[str], layout: str,
             opts: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    A, B = _directions(sae_a, sae_b, layout, opts["match_on"], opts.get("sae"))
    return _compare_directions(A, B, sae_a, sae_b, opts)


def _compare_directions(A: Any, B: Any, sae_a: str | os.PathLike[str],
                        sae_b: str | os.PathLike[str], opts: dict[str, Any]
                        ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The match of two direction matrices (a pure function of them)."""
    from ontochron.errors import InputError

    null, alpha, topk = opts["null"], opts["alpha"], opts["topk"]
    # dead latents (all-zero directions) are neither matched nor orphans, nor in the null
    la, lb = np.flatnonzero(A.any(axis=1)), np.flatnonzero(B.any(axis=1))
    if la.size == 0 or lb.size == 0:
        raise InputError("no live latent (every decoder row or encoder column is negligible)",
                         sae_a if la.size == 0 else sae_b)
    thr, info = link_threshold(A[la], B[lb], null=null, alpha=alpha,
                               null_rows=opts["null_rows"])
    lk = link(A[la], B[lb], thr, topk=topk, device=opts["device"], alpha=alpha)
    ia, ib = la.tolist(), lb.tolist()
    rows = [{"a": ia[i], "b": ib[j], "cosine": c, "kind": "same"} for i, j, c in lk.continues]
    rows += [{"a": ia[i], "b": ib[j], "cosine": c, "kind": "split"}
             for i, kids in lk.splits for j, c in kids]
    rows += [{"a": ia[i], "b": ib[j], "cosine": c, "kind": "merge"}
             for parents, j in lk.merges for i, c in parents]
    rows.sort(key=lambda r: (r["a"], r["b"]))
    n_a, n_b = A.shape[0], B.shape[0]
    same = len(lk.continues)
    summary = {"a": os.fspath(sae_a), "b": os.fspath(sae_b), "latents_a": n_a,
               "latents_b": n_b, "same": same,
               "shared_fraction_a": same / n_a if n_a else 0.0,
               "shared_fraction_b": same / n_b if n_b else 0.0,
               "orphans_a": int(lk.deaths.size), "orphans_b": int(lk.births.size),
               "dead_a": int(n_a - la.size), "dead_b": int(n_b - lb.size),
               "splits": len(lk.splits), "merges": len(lk.merges),
               "threshold": thr, "null": info, "match_on": opts["match_on"]}
    return rows, summary


def write_compare(rows: list[dict[str, Any]], summary: dict[str, Any],
                  out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """matches.csv (a,b,cosine,kind) and summary.json into ``out_dir``, all or nothing."""
    import csv

    def fill(tmp: Path) -> None:
        with open(tmp / "matches.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(MATCH_COLUMNS)
            w.writerows((r["a"], r["b"], f"{r['cosine']:.6g}", r["kind"]) for r in rows)
        write_json(tmp / "summary.json", summary)

    return atomic_dir(out_dir, {"matches.csv", "summary.json"}, fill)
