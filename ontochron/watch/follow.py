"""Bring a run's graph to the state of the ready checkpoints of a directory, and say what each
new checkpoint changed: the one orchestration path of ``watch`` and :class:`Monitor`.

Each sync is a batch ``ingest`` of exactly the ready checkpoints (read through a private view
of the directory holding links to them, so the readers, the lineage matching and the
analysis are the ones ``analyze``/``ingest`` use). Statistics that depend on every checkpoint
(BH-adjusted tests, intervals, phase transitions, lineage thresholds) are re-derived, and the
diff writes only what changed; so after each sync the graph equals a batch ingest of the same
checkpoints. Re-analysing the whole run per sync makes following T checkpoints O(T^2) in
analysis work (bench/bench_watch.py measures it against one batch ingest); checkpoints that
become ready together are synced together.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError, StoreError
from ontochron.graph.cypher import load_cypher
from ontochron.graph.ingest import IngestReport, ingest
from ontochron.graph.store import GraphStore
from ontochron.stepcounts import at_step, step_counts
from ontochron.watch.alerts import Alert, AlertRule, check, run_hook

log = logging.getLogger(__name__)


class EntryError(InputError):
    """A checkpoint of the watched directory cannot be read (``entry``: its name, or None when
    the problem is not one checkpoint's)."""

    def __init__(self, message: str, path: str | None, entry: str | None) -> None:
        super().__init__(message, path)
        self.entry = entry


@dataclass
class CheckpointChange:
    """What one checkpoint new to the graph brought (counts as in ontochron.stepcounts)."""

    step: int
    counts: dict[str, Any]
    alerts: list[Alert] = field(default_factory=list)
    #: seconds from the newest file of the checkpoints of this sync being written to the
    #: graph holding them (None when unknown)
    latency: float | None = None

    def line(self) -> str:
        """The one line ``watch`` prints for it."""
        c = self.counts
        parts = [f"step {self.step}:", f"births={c['births']}", f"deaths={c['deaths']}"]
        if "lineage_splits" in c:
            parts += [f"splits={c['lineage_splits']}", f"merges={c['lineage_merges']}",
                      f"lineage_births={c['lineage_births']}",
                      f"lineage_deaths={c['lineage_deaths']}"]
        parts += [f"connections=+{c['connections_formed']}/-{c['connections_broken']}",
                  f"phase_transitions={c['phase_transitions']}",
                  f"active_features={c['active_features']}"]
        if c.get("mean_drift") is not None:
            parts.append(f"mean_drift={c['mean_drift']:.4f}")
        if self.latency is not None:
            parts.append(f"latency={self.latency:.1f}s")
        return " ".join(parts)


@dataclass
class SyncResult:
    """One sync: the ingest report and the checkpoints it added, in step order."""

    report: IngestReport
    changes: list[CheckpointChange]


class Follower:
    """Keeps run ``run`` in ``store`` equal to a batch ingest of a directory's ready
    checkpoints; optional TensorBoard writer and alert rules (see ontochron.watch.alerts)."""

    def __init__(self, directory: str | os.PathLike[str], store: GraphStore, *,
                 run: str | None = None, format: str = "auto", compat: str | None = None,
                 config: Any = None, batch_size: int | None = None,
                 lineage_options: dict[str, Any] | None = None, tensorboard: Any = None,
                 alerts: list[AlertRule] | None = None, hook: list[str] | None = None,
                 reopen: Callable[[], GraphStore] | None = None) -> None:
        self.directory = Path(directory)
        self.store = store
        self.run_id = run if run is not None else self.directory.absolute().name
        if not self.run_id.strip():
            raise InputError(f"run name must be a non-empty string, got {self.run_id!r}")
        self.options: dict[str, Any] = {"format": format, "compat": compat, "config": config,
                                        "lineage_options": lineage_options}
        if batch_size is not None:
            self.options["batch_size"] = batch_size
        self.tensorboard = tensorboard
        self.alerts = list(alerts or [])
        self.hook = hook
        self.reopen = reopen  # a fresh store after a lost connection (long watches)
        self.known = self.graph_steps()

    def graph_steps(self) -> set[int]:
        """Steps of the run the graph holds completely (none while an ingest was cut off:
        the next sync repairs it and reports every step)."""
        rows = self.store.run(load_cypher("graph/cypher/run_read"), run_id=self.run_id)
        if not rows or rows[0]["props"].get("status") != "complete":
            return set()
        steps = rows[0]["props"].get("steps") or []
        return {int(s) for s in steps}

    def _view(self, names: list[str]) -> Path:
        """A private folder of links to the ready checkpoints (what the readers see)."""
        view = Path(tempfile.mkdtemp(prefix="ontochron-watch-"))
        for name in names:
            os.symlink((self.directory / name).absolute(), view / name,
                       target_is_directory=(self.directory / name).is_dir())
        return view

    def _entry_error(self, exc: InputError, view: Path) -> EntryError:
        """The error with paths in the view mapped back into the watched directory."""
        path, entry = exc.path, None
        if path is not None:
            try:
                rel = Path(path).relative_to(view)
            except ValueError:
                rel = None
            if rel is not None:
                entry = rel.parts[0] if rel.parts else None
                path = os.fspath(self.directory / rel)
        message = exc.message.replace(os.fspath(view), os.fspath(self.directory))
        return EntryError(message, path, entry)

    def _ingest(self, view: Path) -> IngestReport:
        """One batch ingest of the view; after a store error (e.g. an embedded store that
        stopped while idle) once more on a reopened store, when the caller can reopen it."""
        def once() -> IngestReport:
            return ingest(view, run=self.run_id, store=self.store, progress=False,
                          source_name=str(self.directory.absolute()), **self.options)
        try:
            return once()
        except StoreError:
            if self.reopen is None:
                raise
            log.warning("graph store connection lost; reopening it")
            with contextlib.suppress(Exception):
                self.store.close()
            self.store = self.reopen()
            return once()  # the ingest is idempotent and crash-safe: a retry is safe

    def sync(self, names: list[str], written_at: float | None = None) -> SyncResult:
        """Ingest exactly the checkpoints ``names`` (entries of the directory); ``written_at``
        (epoch seconds) is when the newest of them was written, for the latency."""
        if not names:
            raise InputError("no complete checkpoints yet", self.directory)
        view = self._view(names)
        try:
            report = self._ingest(view)
        except InputError as exc:
            raise self._entry_error(exc, view) from None
        finally:
            shutil.rmtree(view, ignore_errors=True)
        done = time.time()
        ont, stack = report.ontology, report.stack
        assert ont is not None and stack is not None  # set by ingest()
        steps = np.asarray(ont.steps, dtype=np.int64)
        new = [int(s) for s in steps.tolist() if int(s) not in self.known]
        counts = step_counts(ont, stack, report.lineage)
        changes = []
        for step in new:
            t = int(np.searchsorted(steps, step))
            c = at_step(counts, steps, step)
            changes.append(CheckpointChange(
                step, c, check(self.alerts, step, c, stack, t),
                None if written_at is None else max(0.0, done - written_at)))
        if self.tensorboard is not None and new:
            self.tensorboard.write(counts, steps, only=new)
        self.known = {int(s) for s in steps.tolist()}
        return SyncResult(report, changes)

    def fire(self, alert: Alert) -> int | None:
        """Run the ``--on-alert`` hook for one alert (None without a hook)."""
        return None if self.hook is None else run_hook(self.hook, alert, self.run_id)


