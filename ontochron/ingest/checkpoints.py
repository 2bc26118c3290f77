"""Checkpoint discovery: find the training step in checkpoint file names and run an extractor
over a checkpoint directory, one snapshot per checkpoint."""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ontochron.errors import InputError
from ontochron.ingest.extractor import Extractor, as_numpy
from ontochron.ingest.snapshot import Snapshot

log = logging.getLogger(__name__)

# Built-in step patterns, tried in this order on the file name (case-insensitive); the first
# that matches wins. A keyword must not follow a letter, so "timestep9" is not a step.
# "epoch" is a last resort: a name with both "epoch3" and "step1000" gets step 1000.
STEP_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("step", re.compile(r"(?<![a-z])step[_-]?(\d+)(?!\d)", re.IGNORECASE)),
    ("checkpoint", re.compile(r"(?<![a-z])(?:checkpoint|ckpt)[_-]?(\d+)(?!\d)", re.IGNORECASE)),
    ("number", re.compile(r"^(\d+)(?:\.[A-Za-z0-9]+)*$")),
    ("epoch", re.compile(r"(?<![a-z])epoch[_-]?(\d+)(?!\d)", re.IGNORECASE)),
)

GLOB_CHARS = frozenset("*?[")


def _compile(step_pattern: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    if step_pattern is None:
        return None
    try:
        pat = re.compile(step_pattern) if isinstance(step_pattern, str) else step_pattern
    except re.error as exc:
        raise InputError(f"step_pattern {step_pattern!r} is not a valid regex: {exc}") from None
    if pat.groups != 1:
        raise InputError(f"step_pattern {pat.pattern!r} must have exactly one capture group, "
                         f"it has {pat.groups}")
    return pat


def parse_step(name: str, step_pattern: str | re.Pattern[str] | None = None) -> int | None:
    """The training step encoded in a file name, or None when it has none.

    ``step_pattern`` (a regex with one capture group, searched in the name) replaces the
    built-in :data:`STEP_PATTERNS` when given.
    """
    base = os.path.basename(os.fspath(name).rstrip("/\\"))
    custom = _compile(step_pattern)
    patterns = [custom] if custom is not None else [p for _, p in STEP_PATTERNS]
    for pat in patterns:
        m = pat.search(base)
        if m is not None:
            try:
                return int(m.group(1))
            except (TypeError, ValueError):
                raise InputError(f"step_pattern {pat.pattern!r} captured {m.group(1)!r}, "
                                 "not an integer", name) from None
    return None


def list_source(source: str | os.PathLike[str], *, files_only: bool = False) -> list[Path]:
    """The entries a source names: a file itself, a directory's non-hidden entries, or the
    matches of a glob pattern (sorted by name). Raises :class:`InputError` if none exist."""
    text = os.fspath(source)
    path = Path(text)
    if path.is_dir():
        try:
            entries = [p for p in path.iterdir() if not p.name.startswith(".")]
        except OSError as exc:
            raise InputError(f"cannot list directory: {exc.strerror or exc}", text) from None
    elif path.exists():
        entries = [path]
    elif GLOB_CHARS & set(text):
        entries = [Path(p) for p in glob.glob(text) if not Path(p).name.startswith(".")]
        if not entries:
            raise InputError("glob pattern matches no files", text)
    else:
        raise InputError("no such file or directory", text)
    if files_only:
        entries = [p for p in entries if p.is_file()]
    return sorted(entries)


def discover_checkpoints(source: str | os.PathLike[str],
                         step_pattern: str | re.Pattern[str] | None = None
                         ) -> list[tuple[int, Path]]:
    """Find checkpoints (files or sub-directories) in a directory or glob, sorted by step.

    The step comes from each name (see :func:`parse_step`); names without one (for example
    ``model_best.pt``) are skipped. Two checkpoints with the same step raise
    :class:`InputError` naming both.
    """
    found: dict[int, Path] = {}
    for entry in list_source(source):
        step = parse_step(entry.name, step_pattern)
        if step is None:
            log.debug("skipping %s: no step in its name", entry)
            continue
        if step in found:
            raise InputError(f"duplicate step {step}: {found[step]} and {entry}", entry)
        found[step] = entry
    if not found:
        raise InputError("no checkpoints with a step in their name", os.fspath(source))
    return sorted(found.items())


def iter_extracted(checkpoints: Iterable[tuple[int, Path]],
                   activations_fn: Callable[[Path], Mapping[str, Any]],
                   extractor: Extractor, *, aggregate: str = "majority",
                   rate_threshold: float = 0.5, progress: bool = True) -> Iterator[Snapshot]:
    """For each ``(step, path)``, get concept activations from ``activations_fn(path)`` and
    yield ``extractor.snapshot(step, ...)``: the generic checkpoint directory -> snapshots path.

    ``activations_fn`` returns a mapping concept -> array or torch tensor (n_inputs, ...).
    """
    from tqdm.auto import tqdm  # here: tqdm.auto costs every CLI start-up ~20 ms

    items = list(checkpoints)
    for step, path in tqdm(items, desc="checkpoints", unit="ckpt", disable=not progress):
        acts = activations_fn(path)
        if not isinstance(acts, Mapping):
            raise InputError(f"activations_fn returned {type(acts).__name__}, expected a "
                             "mapping concept -> activations", path)
        inputs = {c: as_numpy(a) for c, a in acts.items()}
        yield extractor.snapshot(step, inputs, aggregate=aggregate,
                                 rate_threshold=rate_threshold,
                                 metadata={"checkpoint": os.fspath(path)},
                                 source=os.fspath(path))
