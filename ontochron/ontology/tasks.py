"""The per-checkpoint work of ``analyze`` as cluster tasks: the connection tests and the
structure detectors of one checkpoint, from that checkpoint's codes alone.

A task reads its checkpoint's file itself when the workers see the same path (the normal
case on a cluster with a shared file system), otherwise it receives only that checkpoint's
sparse codes. It returns what the in-process path computes, minus the arrays the client
already holds (the codes; the dense overlap matrix, whose counts the client recomputes from
the codes for the few pairs that broke), so results are identical and transfers small.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from ontochron.errors import InputError
from ontochron.ingest.snapshot import CodeStack

FILE_FORMATS = {".npz": "npz", ".safetensors": "safetensors"}


def _digest(names: Any) -> str:
    return hashlib.sha256("\n".join(names).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class CheckpointFile:
    """Where a worker reads one checkpoint, and how its rows align on the run's concepts."""

    path: str
    format: str
    step: int
    order: np.ndarray  # the snapshot's concepts as indices into the run's concept list
    n_total: int
    digest: str  # of the snapshot's concept names, to refuse a file changed since loaded
    nnz: int

    def load(self) -> tuple[sp.csr_array, np.ndarray]:
        """(codes aligned on the run's concepts, present mask), as CodeStack holds them."""
        from pathlib import Path

        from ontochron.ingest.readers import read_npz, read_safetensors

        reader = read_npz if self.format == "npz" else read_safetensors
        snaps = [s for s in reader(Path(self.path)) if s.step == self.step]
        if len(snaps) != 1:
            raise InputError(f"step {self.step} is not in the file any more", self.path)
        snap = snaps[0]
        coo = snap.codes.tocoo()
        if _digest(snap.concepts) != self.digest:
            raise InputError(f"step {self.step} changed since the run was loaded", self.path)
        codes = sp.csr_array((coo.data.astype(bool), (self.order[coo.row], coo.col)),
                             shape=(self.n_total, snap.n_features))
        codes.sum_duplicates()
        if codes.nnz != self.nnz:
            raise InputError(f"step {self.step} changed since the run was loaded", self.path)
        present = np.zeros(self.n_total, dtype=bool)
        present[self.order] = True
        return codes, present


def checkpoint_files(stack: CodeStack) -> list[CheckpointFile] | None:
    """One :class:`CheckpointFile` per checkpoint when each checkpoint comes from a file of
    its own that the readers read back as is (npz, safetensors); else None."""
    paths = stack.sources
    if any(p is None for p in paths) or len(set(paths)) != stack.n_steps:
        return None
    out = []
    for t, p in enumerate(paths):
        fmt = FILE_FORMATS.get(os.path.splitext(str(p))[1].lower())
        meta = stack.metadata[t] or {}
        if fmt is None or not os.path.isfile(str(p)) or "dictionary_latents" in meta:
            return None  # codes computed from dictionaries are not in the file as such
        order = np.asarray(stack.order[t], dtype=np.int64)
        out.append(CheckpointFile(os.path.abspath(str(p)), fmt, int(stack.steps[t]), order,
                                  stack.n_concepts,
                                  _digest(stack.concepts[i] for i in order.tolist()),
                                  int(stack.codes[t].nnz)))
    return out


def checkpoint_inputs(stack: CodeStack, files: list[CheckpointFile] | None
                      ) -> Iterator[Any]:
    """What each task gets: its CheckpointFile, else its own (codes, present)."""
    for t in range(stack.n_steps):
        yield files[t] if files is not None else (stack.codes[t], stack.present[t])


@functools.lru_cache(maxsize=2)
def tracker(settings: tuple[Any, ...]) -> Any:
    """A fresh ConnectionTracker of these settings, one per worker process and run: its
    ``compute`` is a pure function of a checkpoint (threads share one in-process too), and
    its slot table (n_concepts^2 int32) is then built once, not sent with every task."""
    from ontochron.ontology.connections import ConnectionTracker

    return ConnectionTracker(*settings)


def checkpoint_task(data: Any, t: int, tester: tuple[Any, ...] | None, sconf: Any, conn: bool,
                    struct: bool) -> tuple[Any, Any]:
    """(connection tests, (structure, hierarchy edges)) of checkpoint ``t``; either is None
    when not asked. ``tester``: the ConnectionTracker's settings (:func:`tracker`)."""
    codes, present = data.load() if isinstance(data, CheckpointFile) else data
    step = found = None
    if conn and tester is not None:
        step = replace(tracker(tester).compute(codes, present, t), codes=None, shared=None)
    if struct:
        from ontochron.ontology.structure import detect_checkpoint

        found = detect_checkpoint(codes, present, sconf)
    return step, found
