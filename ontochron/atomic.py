"""All-or-nothing output directories: files are written into a temporary sibling that
replaces the target at the end, so a failure never leaves a half-written result."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Collection
from pathlib import Path

from ontochron.errors import InputError


def atomic_dir(out_dir: str | os.PathLike[str], names: Collection[str],
               fill: Callable[[Path], None]) -> Path:
    """Run ``fill(tmp)`` in a temporary sibling of ``out_dir`` renamed into place at the end;
    an existing ``out_dir`` is replaced only if it holds nothing but ``names``. Returns the
    final directory."""
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise InputError("output path exists and is not a directory", out)
        foreign = sorted(p.name for p in out.iterdir() if p.name not in names)
        if foreign:
            raise InputError(f"refusing to replace a directory holding files ontochron did "
                             f"not write ({foreign[0]!r}); choose an empty or new --out", out)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as exc:
        raise InputError(f"cannot create the output directory: {exc.strerror}", out) from exc
    try:
        fill(tmp)
        swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def swap_into_place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is moved aside first and restored if
    the rename fails."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
