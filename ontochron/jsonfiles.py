"""JSON for the files ontochron writes and reads back (summary.json and friends): numpy-aware
serialisation and a checked reader. Its own module so that every writer can use it without
importing the others."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.jsoninput import load_json


def json_default(obj: Any) -> Any:
    """``json.dumps`` default for numpy scalars and arrays and paths (written files use it)."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def read_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON object in a summary.json (empty when the file does not exist yet); a file that
    is not a JSON object is an :class:`InputError` naming it."""
    p = Path(path)
    if not p.exists():
        return {}
    data = load_json(p)
    if not isinstance(data, dict):
        raise InputError("summary.json must hold a JSON object", p)
    return data
