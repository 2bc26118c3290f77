"""``analyze``: one streaming pass over a CodeStack computing lifecycle events, connections,
curves and phase transitions, plus the structure detectors, into one :class:`Ontology`."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from ontochron.errors import InputError
from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.ontology.config import OntologyConfig
from ontochron.ontology.connections import ConnectionTracker, StepConnections
from ontochron.ontology.curves import (
    CURVE_NAMES,
    curve_resolution,
    feature_weights,
    step_curves,
)
from ontochron.ontology.lifecycle import LifecycleTracker, repeated_checkpoints
from ontochron.ontology.parallel import (
    IN_FLIGHT_BYTES,
    default_workers,
    ordered_map,
    single_threaded_blas,
    workers_for,
)
from ontochron.ontology.phases import phase_events
from ontochron.ontology.power import FamilyPower, PowerReport
from ontochron.ontology.result import Events, Ontology, Relations

_log = logging.getLogger(__name__)

COMPAT_MODES = ("reptimeline",)
STRUCTURE_KINDS = ("dual", "dependency", "triad", "hierarchy")


def _check_device(device: str) -> None:
    if device == "cpu":
        return
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency
        raise InputError(f"device {device!r} needs torch, which is not installed") from exc
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} requested but torch sees no CUDA device")


def _structure_config(config: OntologyConfig, device: str) -> Any:
    """The structure settings, on ``device`` when the run is not on the CPU."""
    sconf = config.structure_config
    if device != "cpu" and getattr(sconf, "device", device) == "cpu":
        sconf = dataclasses.replace(sconf, device=device)
    return sconf


def _structure(stack: CodeStack, config: OntologyConfig, progress: bool, device: str,
               workers: int, power: dict[str, FamilyPower], found: list[Any] | None = None
               ) -> tuple[Relations, dict[str, np.ndarray], dict[str, int]]:
    """Structure over time; ``found``: its per-checkpoint results from cluster tasks."""
    try:
        from ontochron.ontology.structure import structure_over_time
    except ImportError as exc:
        raise NotImplementedError(
            "structure detection (ontochron.ontology.structure) is not available; "
            "pass OntologyConfig(structure=False)") from exc
    return structure_over_time(stack, _structure_config(config, device), progress=progress,
                               workers=workers if device == "cpu" else 1, power=power,
                               found=found)


def _as_stack(data: Any) -> CodeStack:
    """A CodeStack from a CodeStack or an iterable of Snapshots (what extraction yields)."""
    if isinstance(data, CodeStack):
        return data
    if isinstance(data, Snapshot):
        data = [data]
    if isinstance(data, (str, bytes)) or not hasattr(data, "__iter__"):
        raise InputError(f"analyze() takes a CodeStack or a list of Snapshots, got "
                         f"{type(data).__name__} (read files with load_stack)")
    items = list(data)
    bad = next((x for x in items if not isinstance(x, Snapshot)), None)
    if bad is not None:
        raise InputError(f"analyze() takes a CodeStack or a list of Snapshots, got a list "
                         f"holding {type(bad).__name__}")
    return CodeStack.from_snapshots(items)


def _discovery_at(config: OntologyConfig | None) -> str:
    """Compat mode's discovery scope from the native switches: ``structure=False`` -> none,
    ``StructureConfig(at="last")`` -> the last snapshot, else every checkpoint."""
    if config is None:
        return "all"
    if not config.structure:
        return "none"
    return str(getattr(config.structure_config, "at", "all") or "all")


def analyze(stack: CodeStack | Iterable[Snapshot], config: OntologyConfig | None = None, *,
            compat: str | None = None, progress: bool = True, device: str = "cpu",
            timings: dict[str, float] | None = None, workers: int | None = None,
            scheduler: Any = None) -> Ontology:
    """Detect everything over ``stack`` (a CodeStack, or a list of Snapshots that is aligned
    into one) and return an :class:`Ontology`.

    ``compat="reptimeline"`` delegates to the reptimeline-compatible detectors. ``device``
    other than "cpu" runs the pair-overlap products with torch on that device. ``workers``
    threads test checkpoints in parallel (default: the usable CPUs, up to 8; the result
    does not depend on it). ``scheduler`` runs the per-checkpoint tests on a Dask cluster
    instead (an address, ``"local"`` for a LocalCluster of ``workers`` processes, a Client
    or an open :class:`ontochron.distributed.Cluster`; the result is the same). When a dict
    is passed as ``timings`` it receives wall seconds per phase (the connection time is what
    the main thread waited for).
    """
    from ontochron.distributed import open_cluster

    stack = _as_stack(stack)
    local_workers = workers
    workers = default_workers() if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be an integer >= 1, got {workers!r}")
    if compat is not None:
        if compat not in COMPAT_MODES:
            raise InputError(f"compat must be one of {COMPAT_MODES}, got {compat!r}")
        from ontochron.ontology.compat_reptimeline import analyze_reptimeline
        return analyze_reptimeline(stack, progress=progress, discovery=_discovery_at(config),
                                   workers=workers)
    config = config or OntologyConfig()
    _check_device(device)
    times = timings if timings is not None else {}
    if stack.n_steps == 0:
        raise InputError("the code stack has no checkpoints")
    with contextlib.ExitStack() as scope:
        if device == "cpu":
            scope.enter_context(single_threaded_blas())
        cluster = scope.enter_context(open_cluster(scheduler, local_workers))
        return _analyze_native(stack, config, progress, device, workers, times, scope,
                               cluster)


def _connection_tracker(stack: CodeStack, config: OntologyConfig, device: str
                        ) -> ConnectionTracker | None:
    """A fresh connection tracker with the run's settings (None without connections)."""
    settings = _tracker_settings(stack, config, device)
    return None if settings is None else ConnectionTracker(*settings)


def _tracker_settings(stack: CodeStack, config: OntologyConfig, device: str
                      ) -> tuple[Any, ...] | None:
    """ConnectionTracker's arguments for the run (None without connections)."""
    if not config.connections:
        return None
    return (stack.n_concepts, stack.n_features, config.alpha, config.min_shared, device,
            config.connection_null, config.null_samples, config.seed)


def _threaded_connections(stack: CodeStack, conn: ConnectionTracker, workers: int,
                          device: str, scope: contextlib.ExitStack
                          ) -> Iterator[StepConnections | None]:
    """Each checkpoint's connection tests in step order, the next ones computed ahead in
    worker threads (None where a checkpoint repeats the previous one)."""
    repeat = repeated_checkpoints(stack)
    n_max = max((int(np.count_nonzero(p)) for p in stack.present), default=0)
    # a dense overlap matrix per checkpoint in flight; the blockwise path streams
    step_bytes = n_max * n_max * 2 if conn.dense(n_max) else IN_FLIGHT_BYTES // 2

    def compute(t: int) -> StepConnections | None:
        return None if repeat[t] else conn.compute(stack.codes[t], stack.present[t], t)

    return scope.enter_context(contextlib.closing(ordered_map(
        compute, range(stack.n_steps),
        workers_for(workers, step_bytes) if device == "cpu" else 1)))


def _cluster_checkpoints(stack: CodeStack, config: OntologyConfig, device: str,
                         cluster: Any, progress: bool, scope: contextlib.ExitStack
                         ) -> tuple[Iterator[StepConnections | None], list[Any]]:
    """The per-checkpoint work on a cluster, one task per checkpoint (connection tests and
    structure of that checkpoint): (connection tests in step order, as the threaded path
    gives them; a list that fills with the structure results, in detect_plan order, as the
    first iterator is consumed)."""
    from ontochron.ontology.tasks import checkpoint_files, checkpoint_inputs, checkpoint_task

    # the settings travel, not a tracker: a fresh one holds an n_concepts^2 slot table
    # (95 MiB at 5,000 concepts), built once per worker process (tasks.tracker)
    tester = _tracker_settings(stack, config, device)
    conn_repeat = repeated_checkpoints(stack)
    struct_at = np.zeros(stack.n_steps, dtype=bool)
    sconf = _structure_config(config, device) if config.structure else None
    first_t = stack.n_steps  # the first checkpoint whose structure is detected
    if sconf is not None:
        from ontochron.ontology.structure import detect_plan

        ts, repeat = detect_plan(stack, sconf)
        struct_at[ts.start:] = ~repeat
        first_t = ts.start
    files = checkpoint_files(stack)
    if files is not None and not cluster.files_visible(f.path for f in files):
        files = None
    _log.info("checkpoint tasks %s", "read their own files" if files is not None
              else "receive their checkpoint's codes")
    args = ((data, t, tester, sconf, tester is not None and not conn_repeat[t],
             bool(struct_at[t]))
            for t, data in enumerate(checkpoint_inputs(stack, files)))
    results = scope.enter_context(contextlib.closing(cluster.imap(
        checkpoint_task, args, desc="checkpoint tasks", total=stack.n_steps,
        progress=progress)))
    found: list[Any] = []

    def connections() -> Iterator[StepConnections | None]:
        for t, (step, st) in enumerate(results):
            if t >= first_t:
                found.append(st)
            if step is not None:
                step = dataclasses.replace(step, codes=stack.codes[t])
            yield step

    return connections(), found


def _stream(stack: CodeStack, config: OntologyConfig, life: LifecycleTracker,
            conn: ConnectionTracker | None,
            conn_steps: Iterator[StepConnections | None], progress: bool,
            times: dict[str, float]) -> dict[str, np.ndarray]:
    """The streaming pass in step order: lifecycle and curves from consecutive codes, and
    the connection intervals advanced with each checkpoint's tests; returns the curves."""
    n_steps, n_feat = stack.n_steps, stack.n_features
    weights = feature_weights(n_feat, config.seed)
    curves = {n: np.full(n_steps, np.nan) for n in CURVE_NAMES}
    times.update({"lifecycle+curves": 0.0, "connections": 0.0})
    prev_x: sp.csr_array | None = None
    prev_p: np.ndarray | None = None
    for t in tqdm(range(n_steps), desc="ontology", unit="ckpt", file=sys.stderr,
                  disable=not progress):
        t0 = time.perf_counter()
        x = sp.csr_array(stack.codes[t])
        pres = np.asarray(stack.present[t], dtype=bool)
        changed_rows = changed_cols = None
        n_both = 0
        if prev_x is not None and prev_p is not None:
            both = pres & prev_p
            n_both = int(np.count_nonzero(both))
            diff = sp.csr_array(x != prev_x)
            changed_rows = (np.diff(diff.indptr) > 0) & both
            diff_both = diff[np.flatnonzero(both)]
            changed_cols = np.bincount(diff_both.indices, minlength=n_feat)
        life.update(t, x, changed_cols, n_both)
        for name, value in step_curves(x, pres, weights, changed_rows, n_both).items():
            curves[name][t] = value
        t1 = time.perf_counter()
        times["lifecycle+curves"] += t1 - t0
        if conn is not None:
            step = next(conn_steps)  # computed ahead in worker threads or on the cluster
            if step is None:
                conn.repeat(t)
            else:
                conn.advance(t, step)
            times["connections"] += time.perf_counter() - t1
        prev_x, prev_p = x, pres
    return curves


def _analyze_native(stack: CodeStack, config: OntologyConfig, progress: bool, device: str,
                    workers: int, times: dict[str, float], scope: contextlib.ExitStack,
                    cluster: Any = None) -> Ontology:
    """Native mode: the streaming pass (lifecycle and curves here, connection tests of the
    next checkpoints in worker threads or cluster tasks), then structure, then assembly."""
    steps = np.asarray(stack.steps, dtype=np.int64)
    life = LifecycleTracker(stack.n_concepts, stack.n_features)
    conn = _connection_tracker(stack, config, device)
    conn_steps: Iterator[StepConnections | None] = iter(())
    found: list[Any] | None = None
    if cluster is not None and (conn is not None or config.structure):
        conn_steps, found = _cluster_checkpoints(stack, config, device, cluster, progress,
                                                 scope)
    elif conn is not None:
        conn_steps = _threaded_connections(stack, conn, workers, device, scope)
    curves = _stream(stack, config, life, conn, conn_steps if conn is not None else iter(()),
                     progress, times)
    if conn is None and found is not None:
        for _ in conn_steps:  # structure-only runs: the tasks still come through here
            pass

    t0 = time.perf_counter()
    acts, births, deaths, fstats = life.finish(steps)
    if conn is not None:
        conn_rel, conn_ev = conn.finish(steps, stack.concepts)
    else:
        conn_rel, conn_ev = Relations.empty(), Events.empty()
    # churn at the first checkpoint is 0 by convention, not a measurement: no jump from it.
    detect = {n: (np.r_[np.nan, c[1:]] if n == "churn" else c) for n, c in curves.items()}
    n_present = [int(np.count_nonzero(p)) for p in stack.present]
    phases = phase_events(steps, detect, rule=config.phase_rule, z=config.phase_z,
                          sigma=config.phase_sigma, min_delta=config.phase_min_delta,
                          resolution=curve_resolution(np.asarray(n_present), stack.n_features))
    times["finish"] = time.perf_counter() - t0

    power: dict[str, FamilyPower] = {}
    if conn is not None:
        power["connection"] = FamilyPower.from_steps(
            "connection", config.alpha, [int(steps[t]) for t, _ in conn.power],
            [p for _, p in conn.power])
    struct_rel = Relations.empty()
    struct_counts: dict[str, int] = {}
    if config.structure:
        t0 = time.perf_counter()
        struct_rel, struct_stats, struct_counts = _structure(stack, config, progress, device,
                                                             workers, power, found)
        fstats.update(struct_stats)
        times["structure"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ontology = _assemble(stack, config, steps, [births, deaths, conn_ev, phases],
                         conn_rel, struct_rel, struct_counts, power, acts, curves, fstats)
    times["assemble"] = time.perf_counter() - t0
    return ontology


def _assemble(stack: CodeStack, config: OntologyConfig, steps: np.ndarray,
              event_parts: list[Events], conn_rel: Relations, struct_rel: Relations,
              struct_counts: dict[str, int], power: dict[str, FamilyPower],
              acts: Any, curves: dict[str, np.ndarray], fstats: dict[str, np.ndarray]
              ) -> Ontology:
    """The Ontology: events merged by step, relations concatenated, summary counts."""
    births, deaths, conn_ev, phases = event_parts
    events = _merge_by_step(event_parts)
    relations = Relations.concat([conn_rel, struct_rel])
    counts = {"birth": len(births), "death": len(deaths), "phase_transition": len(phases),
              "connection_form": conn_ev.count("connection_form")}
    # conn_rel holds connections only; comparing millions of object strings is slow.
    rel_counts = {"connection": (len(conn_rel), int(np.count_nonzero(conn_rel.open_mask())))}
    for kind in STRUCTURE_KINDS:
        mask = struct_rel.kind == kind
        rel_counts[kind] = (int(np.count_nonzero(mask)),
                            int(np.count_nonzero(mask & struct_rel.open_mask())))
    report = PowerReport(power)
    summary = _summary(stack, config, counts, rel_counts, struct_counts)
    summary["power"] = report.to_dict()
    return Ontology(steps=steps, concepts=list(stack.concepts), n_features=stack.n_features,
                    events=events, relations=relations, activations=acts, curves=curves,
                    feature_stats=fstats, summary=summary, config=config.to_dict(),
                    power=report)


def _summary(stack: CodeStack, config: OntologyConfig, event_counts: dict[str, int],
             rel_counts: dict[str, tuple[int, int]], struct_counts: dict[str, int]
             ) -> dict[str, Any]:
    """summary.json content: integer counts, run shape and thresholds; ``event_counts`` per
    event kind and ``rel_counts`` (rows, open rows) per relation kind."""
    from ontochron import __version__

    def open_count(kind: str) -> int:
        return rel_counts[kind][1]

    def rows(kind: str) -> int:
        return rel_counts[kind][0]

    summary: dict[str, Any] = {
        "births": event_counts["birth"],
        "deaths": event_counts["death"],
        "connections": event_counts["connection_form"],
        "connection_intervals": rows("connection"),
        "connections_last": open_count("connection"),
        "phase_transitions": event_counts["phase_transition"],
        "duals": open_count("dual"),
        "dependencies": open_count("dependency"),
        "triads": open_count("triad"),
        "duals_intervals": rows("dual"),
        "dependencies_intervals": rows("dependency"),
        "triads_intervals": rows("triad"),
        "hierarchy_edges": open_count("hierarchy"),
        "n_steps": stack.n_steps,
        "n_concepts": stack.n_concepts,
        "n_features": stack.n_features,
        "first_step": int(stack.steps[0]),
        "last_step": int(stack.steps[-1]),
        "mode": "native",
        "ontochron_version": __version__,
        "structure": bool(config.structure),
        "thresholds": config.to_dict(),
    }
    for k, v in struct_counts.items():
        summary.setdefault(f"structure_{k}", int(v))
    return summary



_EVENT_FIELDS = ("kind", "step", "concept", "feature", "detail")


def _merge_by_step(parts: list[Events]) -> Events:
    """Events of all parts ordered by step, ties in part order then row order (= a stable
    sort of their concatenation by step). Parts already sorted by step are merged by
    slicing per checkpoint (one copy of each column, no sort of millions of rows)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Events.empty()
    if not all(np.all(np.diff(p.step) >= 0) for p in parts):
        events = Events.concat(parts)
        order = np.argsort(events.step, kind="stable")
        return Events(*(getattr(events, f)[order] for f in _EVENT_FIELDS))
    values = np.unique(np.concatenate([np.unique(p.step) for p in parts]))  # <= n_steps
    bounds = [np.searchsorted(p.step, values, "left").tolist()
              + [len(p)] for p in parts]
    pieces = [(p, b[v], b[v + 1]) for v in range(values.size)
              for p, b in zip(parts, bounds, strict=True) if b[v + 1] > b[v]]
    return Events(*(np.concatenate([getattr(p, f)[lo:hi] for p, lo, hi in pieces])
                    for f in _EVENT_FIELDS))
