"""Per-checkpoint SAEs of a run: which checkpoint folders hold one (itself or one level
down, see :mod:`ontochron.sae.load`) and reading them in step order. The SAE model and its
readers live in :mod:`ontochron.sae`; ``Dictionary``/``load_dictionary`` are its names here."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ontochron.errors import InputError
from ontochron.sae.load import LAYOUTS, detect_layout, holds_sae, load_sae
from ontochron.sae.model import ARCHITECTURES, SAE

Dictionary = SAE
load_dictionary = load_sae

__all__ = ["ARCHITECTURES", "LAYOUTS", "Dictionary", "detect_layout", "dictionary_checkpoints",
           "is_dictionary_run", "iter_dictionaries", "load_dictionary"]


def dictionary_checkpoints(source: str | os.PathLike[str],
                           step_pattern: str | re.Pattern[str] | None = None,
                           sae: str | None = None) -> list[tuple[int, Path]]:
    """``(step, checkpoint folder)`` of the checkpoint folders in ``source`` that hold an SAE
    (in the folder or one level down; ``sae`` names it inside each), by step; InputError
    when there are none."""
    from ontochron.ingest.checkpoints import discover_checkpoints

    root = Path(os.fspath(source))
    if not root.is_dir():
        raise InputError("expected a directory of per-checkpoint SAE folders", root)
    found = [(s, p) for s, p in discover_checkpoints(root, step_pattern)
             if p.is_dir() and holds_sae(p, sae)]
    if not found:
        raise InputError("no per-checkpoint SAE folders (step_1000/, checkpoint-1000/, ... "
                         "holding an SAE, or an SAE one folder down)", root)
    return found


def is_dictionary_run(source: Any, sae: str | None = None) -> bool:
    """True when ``source`` is a directory whose checkpoint folders hold SAEs."""
    try:
        dictionary_checkpoints(source, sae=sae)
    except (InputError, TypeError):
        return False
    return True


def iter_dictionaries(checkpoints: list[tuple[int, Path]], layout: str = "auto",
                      sae: str | None = None) -> Iterator[tuple[int, SAE]]:
    """Load each checkpoint's SAE in step order, one at a time (bounded memory); a ``d_in``
    that changes between checkpoints is an InputError naming the folder."""
    d_in = None
    first = None
    for step, folder in checkpoints:
        dic = load_sae(folder, layout, sae)
        if d_in is None:
            d_in, first = dic.d_in, folder
        elif dic.d_in != d_in:
            raise InputError(f"step {step}: d_in is {dic.d_in}, but {d_in} at {first}; all "
                             "checkpoints must read the same layer width", folder)
        yield step, dic
