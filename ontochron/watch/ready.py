"""When is a checkpoint in a watched directory completely written?

An entry of the directory is a *candidate* when analyze/ingest would read it: a snapshot file
(``.json``, ``.npz``, ``.safetensors``) or a folder with a step in its name (per-checkpoint SAE
folders, the libraries' own trees). Hidden names (``.tmp-…``) and the temporary names trainers
write before an atomic rename (``tmp-checkpoint-500``, ``….tmp``, ``….part``, Orbax's
``….orbax-checkpoint-tmp-…``) are not candidates, so *write-then-rename* is complete the
moment it appears. A candidate is *ready* when

* with a marker (``--marker NAME``): a folder holds ``NAME`` (e.g. ``COMPLETE``, DCP's
  ``.metadata``), a file has a sibling ``<file>NAME`` (e.g. ``step_100.npz.done``); and
* its content is settled: the (path, size, mtime) of every file in it has not changed for
  ``settle`` seconds, by observation or by the newest mtime being that old (a restart sees
  old checkpoints as settled at once). ``settle=0`` trusts the rename / marker alone.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ontochron.ingest.checkpoints import parse_step

SNAPSHOT_SUFFIXES = (".json", ".npz", ".safetensors")
#: names trainers give a checkpoint while writing it, before renaming it into place
TEMP_NAME = re.compile(r"^(?:tmp|temp)[-_.]|\.(?:tmp|temp|part|partial|incomplete|lock)$|~$"
                       r"|\.orbax-checkpoint-tmp", re.IGNORECASE)

Signature = tuple[tuple[str, int, int], ...]


def signature(path: Path) -> Signature | None:
    """(relative path, size, mtime_ns) of a file, or of every file under a folder; None when
    it vanished while being looked at."""
    try:
        if not path.is_dir():
            st = path.stat()
            return (("", st.st_size, st.st_mtime_ns),)
        out = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                st = os.stat(full)
                out.append((os.path.relpath(full, path), st.st_size, st.st_mtime_ns))
        return tuple(out)
    except OSError:
        return None


def is_candidate(path: Path, step_pattern: str | None = None) -> bool:
    """Would analyze/ingest read this entry of the watched directory (and is it not a
    temporary name)?"""
    name = path.name
    if name.startswith(".") or TEMP_NAME.search(name):
        return False
    if path.is_dir():
        return parse_step(name, step_pattern) is not None
    return path.suffix.lower() in SNAPSHOT_SUFFIXES


@dataclass
class Scanner:
    """Tracks the candidates of one directory and says which are ready (see module doc)."""

    directory: Path
    settle: float = 2.0
    marker: str | None = None
    step_pattern: str | None = None
    #: name -> (signature, monotonic time it was first seen with that signature)
    _seen: dict[str, tuple[Signature, float]] = field(default_factory=dict)

    def _marked(self, path: Path) -> bool:
        if not self.marker:
            return True
        if path.is_dir():
            return (path / self.marker).exists()
        return path.with_name(path.name + self.marker).exists()

    def scan(self) -> tuple[dict[str, Signature], float | None, list[str]]:
        """(ready name -> signature, seconds until the next pending one may settle or None,
        names still being written or waiting for their marker)."""
        now, wall = time.monotonic(), time.time()
        ready: dict[str, Signature] = {}
        pending: list[str] = []
        wait: float | None = None
        try:
            entries = sorted(self.directory.iterdir())
        except OSError:
            entries = []
        names = set()
        for path in entries:
            if not is_candidate(path, self.step_pattern):
                continue
            sig = signature(path)
            if sig is None:
                continue
            names.add(path.name)
            old = self._seen.get(path.name)
            since = old[1] if old is not None and old[0] == sig else now
            self._seen[path.name] = (sig, since)
            if not self._marked(path):
                pending.append(path.name)
                continue
            newest = max((m for _, _, m in sig), default=0) / 1e9
            age = max(now - since, wall - newest)
            if age >= self.settle:
                ready[path.name] = sig
            else:
                pending.append(path.name)
                left = self.settle - age
                wait = left if wait is None else min(wait, left)
        for gone in set(self._seen) - names:
            del self._seen[gone]
        return ready, wait, pending
