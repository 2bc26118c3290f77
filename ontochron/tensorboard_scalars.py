"""``--tensorboard DIR``: the per-checkpoint counts of a run as TensorBoard scalars (tag
``ontochron/<name>``, x axis = training step), next to the loss curves.

Written with TensorBoard's own event-file writer (no torch, no TensorFlow import), so
TensorBoard, its ``EventAccumulator`` and W&B's TensorBoard sync read them as they are.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError

TAG_PREFIX = "ontochron/"


class ScalarWriter:
    """One TensorBoard event file in ``logdir`` (created if needed); close it when done."""

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        try:
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError as exc:  # a dependency; only a broken install gets here
            raise InputError(f"--tensorboard needs the tensorboard package: {exc}") from None
        path = Path(logdir)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the TensorBoard directory: {exc.strerror or exc}",
                             path) from None
        self.logdir = path
        self._writer = EventFileWriter(os.fspath(path), flush_secs=5)

    def write(self, counts: dict[str, np.ndarray], steps: Any,
              only: Iterable[int] | None = None) -> int:
        """One scalar per count and step (NaN values left out); ``only``: just these steps.
        Returns the number of values written. Flushed before returning."""
        from tensorboard.compat.proto import event_pb2, summary_pb2

        steps = np.asarray(steps, dtype=np.int64)
        keep = None if only is None else {int(s) for s in only}
        n = 0
        now = time.time()
        for i, step in enumerate(steps.tolist()):
            if keep is not None and step not in keep:
                continue
            values = [summary_pb2.Summary.Value(tag=TAG_PREFIX + name,
                                                simple_value=float(arr[i]))
                      for name, arr in sorted(counts.items()) if np.isfinite(arr[i])]
            if values:
                self._writer.add_event(event_pb2.Event(
                    wall_time=now, step=int(step), summary=summary_pb2.Summary(value=values)))
                n += len(values)
        self._writer.flush()
        return n

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()


def write_tensorboard(logdir: str | os.PathLike[str], counts: dict[str, np.ndarray],
                      steps: Any) -> int:
    """Write every step's counts into a new event file in ``logdir``; returns values written."""
    writer = ScalarWriter(logdir)
    try:
        return writer.write(counts, steps)
    finally:
        writer.close()


def write_run_scalars(logdir: str | os.PathLike[str], ont: Any, stack: Any,
                      lineage: Any = None) -> int:
    """The :func:`ontochron.stepcounts.step_counts` of an analysed run, every step."""
    from ontochron.stepcounts import step_counts

    return write_tensorboard(logdir, step_counts(ont, stack, lineage), ont.steps)
