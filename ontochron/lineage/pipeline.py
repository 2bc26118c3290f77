"""One path from a directory of per-checkpoint dictionaries (or, matched on activation
patterns, a codes run) to a lineage and, with probe activations, to codes in lineage space:
serves ``lineage``, ``analyze`` and ``ingest``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ontochron.errors import InputError
from ontochron.ingest.dictionaries import (
    dictionary_checkpoints,
    is_dictionary_run,
    iter_dictionaries,
)
from ontochron.ingest.extract import DictionaryExtractor
from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.lineage.result import Lineage

PROBE_FILENAME = "probe_activations.npz"


def activation_lineage(stack: CodeStack, *, null: str = "both", alpha: float = 0.001,
                       null_rows: int = 4096, topk: int = 8, device: str = "cpu",
                       values: str = "auto",
                       progress: Callable[[int], None] | None = None) -> Lineage:
    """Match the features of consecutive checkpoints of a code stack by their activation
    patterns over the shared probe concepts (docs/lineage.md, "Codes only")."""
    from ontochron.lineage.activations import ActivationSpace, concepts_needed, stack_values
    from ontochron.lineage.build import build_lineage

    if null == "random":
        raise InputError("--match-on activations uses the concept-permutation null; "
                         "--null random (random directions) does not apply to codes")
    mats, used = stack_values(stack, values)
    space = ActivationSpace(alpha=alpha, null_rows=null_rows)
    lin = build_lineage(zip(stack.steps.tolist(), mats, strict=True), null=null, alpha=alpha,
                        null_rows=null_rows, topk=topk, device=device, progress=progress,
                        space=space)
    pairs = lin.null.get("pairs", [])
    shared = min((p["concepts"] for p in pairs), default=int(stack.present[0].sum()))
    lin.extra.update(match_on="activations", values=used,
                     power=space.power(shared, concepts_needed(stack.n_features, alpha)))
    return lin


def lineage_of(source: str | os.PathLike[str] | CodeStack, *, match_on: str = "decoder",
               null: str = "both", alpha: float = 0.001, null_rows: int = 4096,
               topk: int = 8, device: str = "cpu", layout: str = "auto",
               step_pattern: str | None = None, format: str = "auto", values: str = "auto",
               progress: Callable[[int], None] | None = None, sae: str | None = None,
               scheduler: Any = None, workers: int | None = None) -> Lineage:
    """Match the dictionaries in ``source`` (one folder per checkpoint) into a Lineage; with
    ``match_on="activations"`` ``source`` is a codes file/dir (any input ``analyze`` reads, or
    a CodeStack) and features are matched by their activation patterns over the concepts.
    ``scheduler`` (an address, ``"local"`` with ``workers`` processes, or an open Cluster)
    matches the consecutive pairs of dictionaries on a Dask cluster; same result."""
    if match_on == "activations":
        stack = codes_stack(source, format, step_pattern)
        return activation_lineage(stack, null=null, alpha=alpha, null_rows=null_rows,
                                  topk=topk, device=device, values=values, progress=progress)
    from ontochron.distributed import open_cluster
    from ontochron.lineage.build import build_lineage, directions

    ckpts = dictionary_checkpoints(source, step_pattern, sae)
    items: Iterator[tuple[int, np.ndarray]] = (
        (s, directions(d, match_on)) for s, d in iter_dictionaries(ckpts, layout, sae))
    opts = {"null": null, "alpha": alpha, "null_rows": null_rows, "topk": topk,
            "device": device}
    with open_cluster(scheduler, workers) as cluster:
        links = None
        if cluster is not None:
            from ontochron.lineage.cluster import cluster_links

            items, links = cluster_links(cluster, items, ckpts, opts, layout=layout,
                                         match_on=match_on, sae=sae)
        lin = build_lineage(items, progress=progress, links=links, **opts)
    lin.extra["match_on"] = match_on
    return lin


def read_probes(path: Path, d_in: int) -> dict[str, np.ndarray]:
    """concept -> activations (n, d_in) from a probe_activations.npz."""
    from ontochron.jsoninput import check_text
    from ontochron.npzinput import check_npz_file

    try:
        check_npz_file(path)
        with np.load(path, allow_pickle=False) as z:
            if "concepts" not in z.files or "activations" not in z.files:
                raise InputError(f"needs arrays 'concepts' and 'activations' (found: "
                                 f"{', '.join(z.files)})", path)
            concepts, acts = z["concepts"], z["activations"]
    except FileNotFoundError:
        raise InputError(f"checkpoint folder has no {PROBE_FILENAME}", path.parent) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read npz: {exc}", path) from None
    if concepts.ndim != 1 or concepts.dtype.kind not in "US":
        raise InputError("key 'concepts' must be a 1-D string array", path)
    names = [str(c) for c in concepts.tolist()]
    if len(set(names)) != len(names):
        raise InputError("key 'concepts' has duplicate names", path)
    check_text(names, path, "concept name")
    if acts.dtype.kind != "f" or acts.ndim not in (2, 3) or acts.shape[0] != len(names) \
            or acts.shape[-1] != d_in:
        raise InputError(f"key 'activations' must be floats ({len(names)}, {d_in}) or "
                         f"({len(names)}, n, {d_in}), got {acts.dtype} {acts.shape}", path)
    if not np.all(np.isfinite(acts)):
        raise InputError("key 'activations' holds NaN or inf values", path)
    return {c: acts[i] for i, c in enumerate(names)}


def has_probes(source: Any, sae: str | None = None) -> bool:
    """True when ``source`` is a dictionary run whose every checkpoint folder holds probes."""
    if not is_dictionary_run(source, sae):
        return False
    return all((p / PROBE_FILENAME).is_file() for _, p in dictionary_checkpoints(source,
                                                                                  sae=sae))


def _reindex(snap: Snapshot, feats: np.ndarray, n_lineages: int) -> Snapshot:
    """A snapshot's columns moved from dictionary indices to lineage ids."""
    coo = snap.codes.tocoo()
    codes = sp.csr_array((coo.data, (coo.row, feats[coo.col])),
                         shape=(snap.codes.shape[0], n_lineages))
    act = None
    if snap.activations is not None:
        act = np.zeros((snap.activations.shape[0], n_lineages), dtype=np.float32)
        act[:, feats] = snap.activations
    return Snapshot.create(snap.step, list(snap.concepts), codes, act,
                           {**snap.metadata, "dictionary_latents": int(feats.size)},
                           snap.source)


def load_aligned(source: Any, *, format: str = "auto", step_pattern: str | None = None,
                 progress: bool = False, scheduler: Any = None, **lineage_options: Any
                 ) -> tuple[CodeStack, Lineage | None, str]:
    """(codes in lineage space, lineage, source path) for a directory of per-checkpoint
    dictionaries with probe activations; for any other source the usual readers and None.
    ``scheduler``: an open Cluster (or address) matching the dictionary pairs on Dask."""
    sae = lineage_options.pop("sae", None)
    if lineage_options.get("match_on") == "activations":
        return _aligned_by_activations(source, format, step_pattern, progress, lineage_options)
    if isinstance(source, CodeStack):
        return source, None, "<memory>"
    path = Path(os.fspath(source))
    if not has_probes(path, sae):
        if is_dictionary_run(path, sae):
            raise InputError(f"a directory of per-checkpoint dictionaries needs "
                             f"{PROBE_FILENAME} in every checkpoint folder to be analysed "
                             "(`ontochron lineage` matches dictionaries alone)", path)
        from ontochron.ingest.readers import load_stack

        return (load_stack(path, format=format, step_pattern=step_pattern, progress=progress),
                None, str(path.absolute()))
    # the matching code (scipy.stats, scipy.optimize: ~1 s of start-up) only when needed
    from ontochron.lineage.build import build_lineage, directions

    ckpts = dictionary_checkpoints(path, step_pattern, sae)
    snaps: list[Snapshot] = []
    match_on = lineage_options.pop("match_on", "decoder")

    def items() -> Iterator[tuple[int, np.ndarray]]:
        loaded = iter_dictionaries(ckpts, sae=sae)
        for (step, dic), (_, folder) in zip(loaded, ckpts, strict=True):
            probes = read_probes(folder / PROBE_FILENAME, dic.d_in)
            snaps.append(DictionaryExtractor(dic).snapshot(
                step, probes, metadata={"checkpoint": os.fspath(folder)},
                source=os.fspath(folder / PROBE_FILENAME)))
            yield step, directions(dic, match_on)

    from ontochron.distributed import open_cluster

    with open_cluster(scheduler) as cluster:
        found: Iterator[tuple[int, np.ndarray]] = items()
        links = None
        if cluster is not None:
            from ontochron.lineage.cluster import cluster_links

            found, links = cluster_links(cluster, found, ckpts, lineage_options,
                                         match_on=match_on, sae=sae)
        lin = build_lineage(found, links=links, **lineage_options)
    lin.extra["match_on"] = match_on
    aligned = [_reindex(s, f, lin.n_lineages) for s, f in zip(snaps, lin.features, strict=True)]
    return CodeStack.from_snapshots(aligned), lin, str(path.absolute())


def codes_stack(source: Any, format: str, step_pattern: str | None,
                 progress: bool = False) -> CodeStack:
    """The code stack of a codes source for activation matching (not SAE folders)."""
    if isinstance(source, CodeStack):
        return source
    path = Path(os.fspath(source))
    if is_dictionary_run(path):
        raise InputError("--match-on activations matches codes (a codes file or directory "
                         "`analyze` reads); a directory of per-checkpoint dictionaries "
                         "matches on decoder or encoder", path)
    from ontochron.ingest.readers import load_stack

    return load_stack(path, format=format, step_pattern=step_pattern, progress=progress)


def _aligned_by_activations(source: Any, format: str, step_pattern: str | None,
                            progress: bool, options: dict[str, Any]
                            ) -> tuple[CodeStack, Lineage, str]:
    """A codes stack whose columns are re-indexed into activation-matched lineage ids."""
    opts = {k: v for k, v in options.items() if k != "match_on"}
    stack = codes_stack(source, format, step_pattern, progress)
    lin = activation_lineage(stack, **opts)
    aligned = [_reindex(stack.snapshot(t), f, lin.n_lineages)
               for t, f in enumerate(lin.features)]
    src = "<memory>" if isinstance(source, CodeStack) else str(Path(os.fspath(source)).absolute())
    return CodeStack.from_snapshots(aligned), lin, src
