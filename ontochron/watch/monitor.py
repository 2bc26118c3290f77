"""``Monitor``: call ontochron from the training loop. Each ``log(step, model_or_activations)``
extracts the probe concepts' codes, writes them as one snapshot file into the run's checkpoint
directory (write-then-rename, so ``watch`` never sees half of it) and, unless ``graph=False``,
syncs the run's graph through the same path as ``watch`` (ontochron.watch.follow)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ontochron.errors import InputError
from ontochron.ingest.extractor import Extractor
from ontochron.watch.alerts import Alert, AlertRule
from ontochron.watch.follow import CheckpointChange, Follower

log = logging.getLogger(__name__)


def _default_activations(model: Any, inputs: Any) -> Any:
    """``model(inputs)``."""
    return model(inputs)


def _no_grad(fn: Callable[[Any, Any], Any], model: Any, inputs: Any) -> Any:
    """``fn(model, inputs)`` without autograd bookkeeping when torch is around."""
    import sys

    torch = sys.modules.get("torch")  # a model that is a torch module has imported it
    if torch is None:
        return fn(model, inputs)
    with torch.no_grad():
        return fn(model, inputs)


class Monitor:
    """Follow a training run from inside its loop.

    ``extractor`` turns activations into codes (``BinaryExtractor``, ``SAEExtractor``, …);
    ``probes`` maps concept -> the inputs standing for it (given a model, its activations
    come from ``activations_fn(model, inputs)``, default ``model(inputs)``, run under
    ``torch.no_grad()``); ``directory`` receives one ``step_<N>.npz`` snapshot per ``log``.
    ``store``: an open GraphStore, a URI / StoreConfig, or None for the configured default;
    ``graph=False`` only writes the files (for a ``watch`` in another process).
    ``alerts`` are ``watch --alert`` rules (``"deaths=5"``), handed to ``on_alert``.
    """

    def __init__(self, run: str, directory: str | os.PathLike[str], *, extractor: Extractor,
                 probes: Mapping[str, Any] | None = None,
                 activations_fn: Callable[[Any, Any], Any] | None = None,
                 store: Any = None, data_dir: str | os.PathLike[str] | None = None,
                 graph: bool = True, config: Any = None, every: int = 1,
                 tensorboard: str | os.PathLike[str] | None = None,
                 alerts: list[str] | None = None,
                 on_alert: Callable[[Alert], None] | None = None) -> None:
        if every < 1:
            raise InputError(f"Monitor: every must be >= 1, got {every}")
        self.run = run
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.extractor = extractor
        self.probes = dict(probes) if probes is not None else None
        self.activations_fn = activations_fn or _default_activations
        self.every = every
        self.on_alert = on_alert
        self._pending = 0
        self._store: Any = None
        self._owned = False
        self._tb: Any = None
        self.follower: Follower | None = None
        if not graph:
            return
        from ontochron.graph.store import GraphStore, StoreConfig, open_store

        if isinstance(store, GraphStore):
            self._store = store
        else:
            self._store = (open_store(config=store) if isinstance(store, StoreConfig)
                           else open_store(store, data_dir=data_dir))
            self._owned = True
        if tensorboard is not None:
            from ontochron.tensorboard_scalars import ScalarWriter

            self._tb = ScalarWriter(tensorboard)
        self.follower = Follower(self.directory, self._store, run=run, config=config,
                                 tensorboard=self._tb,
                                 alerts=[AlertRule.parse(a) for a in alerts or []])

    def activations(self, model_or_activations: Any) -> dict[str, Any]:
        """concept -> activations: a mapping is used as it is, a model is run on the probes."""
        if isinstance(model_or_activations, Mapping):
            return dict(model_or_activations)
        if self.probes is None:
            raise InputError("Monitor.log got a model but the Monitor has no probes "
                             "(concept -> inputs)")
        return {c: _no_grad(self.activations_fn, model_or_activations, x)
                for c, x in self.probes.items()}

    def write(self, step: int, model_or_activations: Any) -> Path:
        """Write the snapshot of ``step`` into the directory (atomically); its path."""
        from ontochron.ingest.readers import save_npz

        snap = self.extractor.snapshot(int(step), self.activations(model_or_activations),
                                       metadata={"extractor": self.extractor.name})
        final = self.directory / f"step_{int(step)}.npz"
        tmp = self.directory / f".{final.name}.{os.getpid()}.tmp"
        try:
            save_npz([snap], tmp)
            os.replace(tmp, final)  # atomic: a reader sees the whole file or none
        finally:
            tmp.unlink(missing_ok=True)
        return final

    def log(self, step: int, model_or_activations: Any) -> list[CheckpointChange]:
        """Record ``step``: write its snapshot and (every ``every`` calls) bring the graph up
        to date; returns what the checkpoints new to the graph changed."""
        self.write(step, model_or_activations)
        self._pending += 1
        if self._pending >= self.every:
            return self.sync()
        return []

    def sync(self) -> list[CheckpointChange]:
        """Ingest every snapshot in the directory now (nothing without a graph)."""
        self._pending = 0
        if self.follower is None:
            return []
        from ontochron.watch.ready import Scanner

        ready, _, _ = Scanner(self.directory, settle=0.0).scan()
        changes = self.follower.sync(sorted(ready)).changes
        for change in changes:
            for alert in change.alerts:
                log.warning("alert: %s", alert.message)
                if self.on_alert is not None:
                    self.on_alert(alert)
        return changes

    def close(self) -> None:
        """Sync what is left and release the store and the TensorBoard file."""
        try:
            if self._pending and self.follower is not None:
                self.sync()
        finally:
            if self._tb is not None:
                self._tb.close()
            if self._owned and self._store is not None:
                self._store.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
