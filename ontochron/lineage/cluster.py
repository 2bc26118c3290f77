"""Lineage matching on a Dask cluster: one task per consecutive pair of checkpoints (the link
threshold's null and the matching, the heavy part), chained on the client in step order by
:func:`ontochron.lineage.build.build_lineage` exactly as in-process.

A pair task loads its two dictionaries itself when the workers see the checkpoint folders
(a shared file system); otherwise each checkpoint's directions are sent to the cluster once
and the client keeps only the few checkpoints whose pairs are in flight.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.lineage.build import pair_link


def _pair_from_folders(folder_a: str, folder_b: str, step: int, layout: str, match_on: str,
                       opts: dict[str, Any], sae: str | None = None) -> Any:
    """pair_link of two dictionary folders, read on the worker."""
    from ontochron.ingest.dictionaries import load_dictionary
    from ontochron.lineage.build import directions

    A = directions(load_dictionary(folder_a, layout, sae), match_on)
    B = directions(load_dictionary(folder_b, layout, sae), match_on)
    return pair_link(A, B, step, **opts)


def _pair_from_arrays(A: np.ndarray, B: np.ndarray, step: int, opts: dict[str, Any]) -> Any:
    return pair_link(A, B, step, **opts)


class _Tee:
    """One pass over ``items`` read by two consumers (each item handed out twice, then
    dropped), so a lookahead holds only the items between the two."""

    def __init__(self, items: Iterable[Any]) -> None:
        self._it = enumerate(items)
        self._buf: dict[int, list[Any]] = {}

    def get(self, i: int) -> Any:
        while i not in self._buf:
            j, v = next(self._it)  # StopIteration ends the consumer
            self._buf[j] = [v, 2]
        entry = self._buf[i]
        entry[1] -= 1
        if entry[1] == 0:
            del self._buf[i]
        return entry[0]

    def consumer(self) -> Iterator[Any]:
        i = 0
        while True:
            try:
                v = self.get(i)
            except StopIteration:
                return
            yield v
            i += 1


def cluster_links(cluster: Any, items: Iterable[tuple[int, np.ndarray]],
                  folders: list[tuple[int, Path]] | None, opts: dict[str, Any], *,
                  layout: str = "auto", match_on: str = "decoder", progress: bool = False,
                  sae: str | None = None) -> tuple[Iterator[tuple[int, np.ndarray]], Iterator[Any]]:
    """(items for build_lineage, its ``links``): the pairs computed on ``cluster``.

    ``folders``: (step, folder) of each checkpoint when the items are those folders'
    dictionaries (workers then read them when they can), else None. ``opts``: pair_link's
    keyword arguments. ``sae``: the SAE picked inside each library tree.
    """
    n_pairs = max(0, len(folders) - 1) if folders is not None else None
    if folders is not None and cluster.files_visible(
            p for _, f in folders for p in sorted(Path(f).rglob("*")) if p.is_file()):
        args = ((os.fspath(Path(folders[i - 1][1]).absolute()),
                 os.fspath(Path(folders[i][1]).absolute()), int(folders[i][0]), layout,
                 match_on, opts, sae) for i in range(1, len(folders)))
        return iter(items), cluster.imap(_pair_from_folders, args, desc="pair tasks",
                                         total=n_pairs, progress=progress)
    tee = _Tee(items)

    def pair_args() -> Iterator[tuple[Any, ...]]:
        prev = None
        for step, U in tee.consumer():
            fut = cluster.scatter(U)
            if prev is not None:
                yield prev, fut, int(step), opts
            prev = fut

    return tee.consumer(), cluster.imap(_pair_from_arrays, pair_args(), desc="pair tasks",
                                        total=n_pairs, progress=progress)
