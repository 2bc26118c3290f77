"""Read a CSV file as columns of strings and turn columns into numpy arrays, with errors that
name the file (shared by the analysis, lineage and overlay readers)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.ontology.intervals import OPEN

Columns = dict[str, list[str]]


def read_columns(path: Path) -> Columns:
    """Column name -> cell strings of a CSV file with a header row ({} when it is absent);
    a row whose field count differs from the header's is an error naming the row."""
    if not path.exists():
        return {}
    fast = _read_with_pyarrow(path)
    if fast is not None:
        return fast
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            rows = [r for r in reader if r]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read CSV: {exc}", path) from None
    bad = next((i for i, r in enumerate(rows) if len(r) != len(header)), None)
    if bad is not None:
        raise InputError(f"row {bad + 2} has {len(rows[bad])} fields, header has "
                         f"{len(header)}", path)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    return {name: list(col) for name, col in zip(header, columns, strict=True)}


def _read_with_pyarrow(path: Path) -> Columns | None:
    """The same columns through pyarrow's CSV reader (an optional extra, several times faster
    on million-row lineage files); None when pyarrow is absent or the file is anything but
    well formed, so the csv-module path reads it and words the error."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:
        return None
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), [])
        if not header or len(set(header)) != len(header):
            return None
        table = pa_csv.read_csv(
            str(path), convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header}))
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException):
        return None
    if table.column_names != header:
        return None
    return {name: table.column(name).to_pylist() for name in header}


def pick_column(cols: Columns, names: tuple[str, ...], path: Path,
                default: Any = None) -> list[str] | None:
    """The first of ``names`` present in ``cols``; ``default`` when none is (an error naming
    the file when no default is given and the file has columns)."""
    for n in names:
        if n in cols:
            return cols[n]
    if default is not None or not cols:
        return default
    raise InputError(f"missing column (one of {names}); have {sorted(cols)}", path)


def int_column(values: list[str] | None, n: int, path: Path, blank: int = OPEN) -> np.ndarray:
    """int64 array of a column (``blank`` for empty / null cells; all -1 when it is absent)."""
    if values is None:
        return np.full(n, -1, dtype=np.int64)
    arr = np.char.strip(np.asarray(values, dtype=str)) if values else np.zeros(0, dtype=str)
    empty = np.isin(arr, ("", "null", "None"))
    try:
        out = np.where(empty, "0", arr).astype(np.float64).astype(np.int64)
    except ValueError as exc:
        raise InputError(f"expected integers: {exc}", path) from None
    out[empty] = blank
    return out


def float_column(values: list[str], path: Path) -> np.ndarray:
    """float64 array of a column (NaN for empty / nan / null cells)."""
    arr = np.char.strip(np.asarray(values, dtype=str)) if values else np.zeros(0, dtype=str)
    empty = np.isin(arr, ("", "nan", "NaN", "null", "None"))
    try:
        return np.where(empty, np.nan, np.where(empty, "0", arr).astype(np.float64))
    except ValueError as exc:
        raise InputError(f"expected numbers: {exc}", path) from None
