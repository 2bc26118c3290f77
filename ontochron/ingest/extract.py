"""SAE codes of probe activations, one checkpoint at a time: the orchestration behind
``ontochron extract`` and its Python API. A checkpoint's work is a plain function of (its
folder, the probes), so it is handed to a Dask cluster as is (``scheduler=``,
:mod:`ontochron.distributed`): one task per checkpoint, the probes sent once, results
written in step order."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.ingest.extractor import Extractor


class DictionaryExtractor(Extractor):
    """A checkpoint's own SAE as an extractor: a latent is on for an input when its
    activation (as the SAE's library encodes) is > 0."""

    name = "dictionary"

    def __init__(self, dic: Any) -> None:
        self.dic = dic
        self.n_features = dic.n_latents

    def encode(self, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        f = self.dic.encode(np.asarray(activations, dtype=np.float32))
        return f > 0, f


@dataclass(frozen=True)
class Probes:
    """Probe activations: ``concepts`` (C,) and ``activations`` (C, d_in) or (C, n, d_in)."""

    concepts: list[str]
    activations: np.ndarray
    path: str | None = None

    @property
    def d_in(self) -> int:
        return int(self.activations.shape[-1])


def read_probes(path: str | os.PathLike[str]) -> Probes:
    """The probes of an npz holding ``concepts`` (C,) strings and ``activations`` (C, d_in)
    or (C, n, d_in) floats; InputError naming the file and the key otherwise."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            missing = [k for k in ("concepts", "activations") if k not in z.files]
            if missing:
                raise InputError(f"missing key {missing[0]!r} (found: "
                                 f"{', '.join(z.files) or 'nothing'})", p)
            concepts, acts = z["concepts"], z["activations"]
    except FileNotFoundError:
        raise InputError("no such file", p) from None
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"cannot read npz: {exc}", p) from None
    if concepts.ndim != 1 or concepts.dtype.kind not in "US" or concepts.size == 0:
        raise InputError("key 'concepts' must be a non-empty 1-D string array", p)
    names = [str(c) for c in concepts.tolist()]
    if len(set(names)) != len(names):
        raise InputError("key 'concepts' has duplicate names", p)
    if acts.dtype.kind not in "fiu" or acts.ndim not in (2, 3) or acts.shape[0] != len(names) \
            or 0 in acts.shape:
        raise InputError(f"key 'activations' must be numbers of shape ({len(names)}, d_in) or "
                         f"({len(names)}, n, d_in), got {acts.dtype} {acts.shape}", p)
    acts = acts.astype(np.float32, copy=False)
    if not np.all(np.isfinite(acts)):
        raise InputError("key 'activations' holds NaN or inf values", p)
    return Probes(names, acts, os.fspath(p))


def extract_checkpoints(source: str | os.PathLike[str], step_pattern: str | None = None,
                        sae: str | None = None) -> list[tuple[int, Path]]:
    """``(step, checkpoint folder)``: one SAE folder (or a folder holding its SAE one level
    down) gives one entry, its step read from its name (0 if none); a directory of
    per-checkpoint folders gives one per checkpoint, by step."""
    from ontochron.ingest.checkpoints import parse_step
    from ontochron.ingest.dictionaries import dictionary_checkpoints
    from ontochron.sae.load import detect_layout, holds_sae

    root = Path(os.fspath(source))
    if not root.is_dir():
        raise InputError("SAE source must be an SAE folder or a directory of per-checkpoint "
                         "SAE folders", root)
    single = [(parse_step(root.name, step_pattern) or 0, root)]
    if detect_layout(root) is not None:
        return single
    try:
        return dictionary_checkpoints(root, step_pattern, sae)
    except InputError:
        if holds_sae(root, sae):
            return single
        raise InputError("no SAE found: not an SAE folder, no SAE one folder down, and no "
                         "per-checkpoint SAE folders (step_1000/, ...)", root) from None


def encode_checkpoint(folder: str | os.PathLike[str], probes: Probes, *, step: int = 0,
                      layout: str = "auto", sae: str | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(codes (C, F) bool, activations (C, F) float32) of one checkpoint's SAE on the probes
    (:func:`encode_with` of the SAE read from ``folder``)."""
    from ontochron.sae.load import load_sae

    return encode_with(load_sae(folder, layout, sae), probes, step=step)


def encode_with(dic: Any, probes: Probes, *, step: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(codes (C, F) bool, activations (C, F) float32) of the SAE ``dic`` on the probes.

    (C, d_in) probes: activations are the SAE's ``encode`` of each probe vector, codes
    ``activations > 0``. (C, n, d_in): the aggregation ``analyze`` uses on probe activations
    (:meth:`ontochron.ingest.extractor.Extractor.snapshot`, majority): a latent is on when
    more than half of the concept's n inputs have it > 0, its activation is their mean."""
    if dic.d_in != probes.d_in:
        raise InputError(f"the probes have d_in={probes.d_in} but this SAE reads "
                         f"d_in={dic.d_in}", dic.path)
    acts = probes.activations
    if acts.ndim == 2:
        f = dic.encode(acts).astype(np.float32)
        return f > 0, f
    inputs = {c: acts[i] for i, c in enumerate(probes.concepts)}
    snap = DictionaryExtractor(dic).snapshot(step, inputs, source=probes.path)
    assert snap.activations is not None
    return snap.dense().astype(bool), np.asarray(snap.activations, dtype=np.float32)


def _encoded(ckpts: list[tuple[int, Path]], probes: Probes, layout: str, sae: str | None,
             cluster: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each checkpoint's (codes, activations), in step order: here, or on ``cluster`` (one
    task per checkpoint; a worker reads its checkpoint's SAE when it sees the files, else the
    client reads each SAE as its task is submitted and sends only that one)."""
    if cluster is None:
        return (encode_checkpoint(f, probes, step=s, layout=layout, sae=sae)
                for s, f in ckpts)
    from ontochron.sae.load import load_sae

    sent = cluster.scatter(probes)  # once, not once per task
    files = [p for _, f in ckpts for p in sorted(Path(f).rglob("*")) if p.is_file()]
    if cluster.files_visible(files):
        args: Iterator[tuple[Any, ...]] = (
            (os.fspath(Path(f).absolute()), sent, s, layout, sae) for s, f in ckpts)
        return cluster.imap(_encode_folder, args, desc="extract", total=len(ckpts))
    args = ((load_sae(f, layout, sae), sent, s) for s, f in ckpts)  # pulled as tasks go
    return cluster.imap(_encode_sae, args, desc="extract", total=len(ckpts))


def _encode_folder(folder: str, probes: Probes, step: int, layout: str, sae: str | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    return encode_checkpoint(folder, probes, step=step, layout=layout, sae=sae)


def _encode_sae(dic: Any, probes: Probes, step: int) -> tuple[np.ndarray, np.ndarray]:
    return encode_with(dic, probes, step=step)


def extract(source: str | os.PathLike[str], probes: str | os.PathLike[str] | Probes,
            out: str | os.PathLike[str] | None = None, *, layout: str = "auto",
            sae: str | None = None, step_pattern: str | None = None,
            progress: Callable[[int], None] | None = None, scheduler: Any = None,
            workers: int | None = None) -> dict[str, np.ndarray]:
    """The whole-run arrays ``steps`` (T,), ``concepts`` (C,), ``codes`` (T, C, F) uint8 0/1
    and ``activations`` (T, C, F) float32 of every checkpoint's SAE on the probes; written
    atomically to ``out`` (npz) when given. ``progress(step)`` after each checkpoint.
    ``scheduler`` (an address, ``"local"`` with ``workers`` processes, or an open Cluster)
    encodes the checkpoints as Dask tasks; the arrays are the same."""
    from ontochron.distributed import open_cluster

    pr = probes if isinstance(probes, Probes) else read_probes(probes)
    ckpts = extract_checkpoints(source, step_pattern, sae)
    with open_cluster(scheduler, workers) as cluster:
        return _assemble(ckpts, pr, _encoded(ckpts, pr, layout, sae, cluster), out, progress)


def _assemble(ckpts: list[tuple[int, Path]], pr: Probes,
              encoded: Iterator[tuple[np.ndarray, np.ndarray]],
              out: str | os.PathLike[str] | None, progress: Callable[[int], None] | None
              ) -> dict[str, np.ndarray]:
    """The whole-run arrays from each checkpoint's (codes, activations) in step order."""
    T, C = len(ckpts), len(pr.concepts)
    codes = acts = None
    width = first = None
    for t, ((step, folder), (c, a)) in enumerate(zip(ckpts, encoded, strict=True)):
        if codes is None:
            width, first = a.shape[1], folder
            codes = np.zeros((T, C, width), dtype=np.uint8)
            acts = np.zeros((T, C, width), dtype=np.float32)
        elif a.shape[1] != width:
            raise InputError(f"step {step}: {a.shape[1]} latents, but {width} at {first}; "
                             "one codes file needs the same width at every checkpoint", folder)
        codes[t], acts[t] = c, a
        if progress is not None:
            progress(step)
    arrays = {"steps": np.array([s for s, _ in ckpts], dtype=np.int64),
              "concepts": np.array(pr.concepts, dtype=str), "codes": codes,
              "activations": acts,
              "metadata": np.array(json.dumps([{"checkpoint": os.fspath(f),
                                                "extractor": "sae"} for _, f in ckpts]))}
    if out is not None:
        write_npz_atomic(out, arrays)
    return arrays


def write_npz_atomic(path: str | os.PathLike[str], arrays: dict[str, Any]) -> None:
    """A compressed npz written to a temporary sibling and renamed into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
