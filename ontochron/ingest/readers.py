"""Read and write snapshot files: reptimeline JSON, npz and safetensors, whole runs or one
file per checkpoint. Every problem with an input file becomes an :class:`InputError` naming it.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ontochron.errors import InputError
from ontochron.ingest.checkpoints import list_source, parse_step
from ontochron.ingest.extractor import as_numpy
from ontochron.ingest.snapshot import MAX_STEP, CodeStack, Snapshot, _as_step, check_run, plain
from ontochron.jsoninput import check_text, describe, parse_json
from ontochron.npzinput import check_fits, check_npz

FORMATS = ("reptimeline", "npz", "safetensors")
EXTENSIONS = {".json": "reptimeline", ".npz": "npz", ".safetensors": "safetensors"}
REPTIMELINE_SCHEMA_VERSION = "0.1"
# save_npz / save_safetensors switch to the CSR layout above this many code cells (T*C*F).
SPARSE_AUTO_CELLS = 10_000_000
# Memory the analysis keeps per feature of the dictionary whatever the data (lifecycle's
# first/last/changed/count arrays and a bincount, int64 each): a declared width is refused when
# this much does not fit.
BYTES_PER_FEATURE = 48

StepPattern = str | re.Pattern[str] | None


# --------------------------------------------------------------------------- source resolution

def resolve_source(source: str | os.PathLike[str], format: str = "auto") -> tuple[str, list[Path]]:
    """The format and the files a source (file, directory or glob) stands for."""
    if format != "auto" and format not in FORMATS:
        raise InputError(f"unknown format {format!r} (use auto, {', '.join(FORMATS)})",
                         os.fspath(source))
    text = os.fspath(source)
    single = Path(text).is_file()
    files = list_source(text, files_only=True)
    if single:
        if format != "auto":
            return format, files
        fmt = EXTENSIONS.get(files[0].suffix.lower())
        if fmt is None:
            raise InputError(_unknown_extension(files[0].suffix), files[0])
        return fmt, files
    by_fmt: dict[str, list[Path]] = {}
    for f in files:
        fmt = EXTENSIONS.get(f.suffix.lower())
        if fmt is not None:
            by_fmt.setdefault(fmt, []).append(f)
    if format != "auto":
        if format not in by_fmt:
            raise InputError(f"no {format} files found", text)
        return format, by_fmt[format]
    if not by_fmt:
        raise InputError("unknown format: no .json, .npz or .safetensors files found", text)
    if len(by_fmt) > 1:
        raise InputError(f"mixed formats ({', '.join(sorted(by_fmt))}); choose one with "
                         "--format (format= in Python)", text)
    fmt, chosen = next(iter(by_fmt.items()))
    return fmt, chosen


#: extensions of model checkpoints (not snapshot files: their codes must be extracted first)
CHECKPOINT_EXTENSIONS = (".pt", ".pth", ".ckpt", ".bin", ".pkl")


def _unknown_extension(suffix: str) -> str:
    if suffix.lower() in CHECKPOINT_EXTENSIONS:
        return (f"{suffix} is a model checkpoint, not a snapshot file; extract the codes first "
                "(an extractor + iter_extracted, then save_npz: docs/ingest.md, 'From "
                "checkpoints to snapshots')")
    return (f"unknown format for extension {suffix or '(none)'!r}: expected .json "
            f"(reptimeline), .npz or .safetensors, or choose one of {', '.join(FORMATS)} "
            "with --format (format= in Python)")


# --------------------------------------------------------------------------- validation helpers

def _check_binary(codes: np.ndarray, concepts: list[str], steps: list[int], path: Path) -> None:
    """Raise naming step, concept and feature of the first value that is not 0/1.

    ``codes`` is (C, F) for one step or (T, C, F) for a run; checked in one vectorized pass.
    """
    if codes.dtype == np.bool_:
        return
    if codes.dtype.kind not in "biuf":
        where = (0,) * codes.ndim
        t, c, f = where if codes.ndim == 3 else (0, *where)
        value = plain(codes[where]) if codes.size else None
        raise InputError(f"codes must be numeric 0/1: step {steps[t]}, concept "
                         f"{concepts[c]!r}, feature {f} has {value!r} (values of dtype "
                         f"{codes.dtype})", path)
    bad = (codes != 0) & (codes != 1)  # NaN is != both
    if not bad.any():
        return
    pos = tuple(int(i) for i in np.argwhere(bad)[0])
    t, c, f = pos if len(pos) == 3 else (0, *pos)
    raise InputError(f"codes must be binary (0/1): step {steps[t]}, concept {concepts[c]!r}, "
                     f"feature {f} has {plain(codes[pos])!r}", path)


def _first_bad_value(rows: list[list[Any]]) -> tuple[int, int, Any] | None:
    """(row, position, value) of the first JSON code value that is not 0/1, if any."""
    for r, row in enumerate(rows):
        if isinstance(row, np.ndarray):
            continue  # read as bits: 0/1 by construction (ingest/jsonbits.py)
        for f, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v not in (0, 1):
                return r, f, v
    return None


def _check_finite(act: np.ndarray, concepts: list[str], steps: list[int], path: Path) -> None:
    if act.dtype.kind not in "biuf":
        raise InputError(f"activations must be numeric, got dtype {act.dtype}", path)
    bad = ~np.isfinite(act)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        t, c, _ = pos if len(pos) == 3 else (0, *pos)
        raise InputError(f"activations contain NaN or inf: step {steps[t]}, concept "
                         f"{concepts[c]!r}", path)


# --------------------------------------------------------------------------- reptimeline JSON

def _json_load(path: Path) -> Any:
    """The file's JSON, refused (InputError) when malformed, nested too deep, not valid Unicode
    text or holding a key twice (jsoninput's guarantees); a duplicate inside a snapshot names
    its step. The codes' 0/1 lists come back as arrays, read on the bytes (ingest/jsonbits)."""
    from ontochron.ingest.jsonbits import parse_json_bytes

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    return parse_json_bytes(data, path, duplicate=_duplicate_in_snapshot)


def _duplicate_in_snapshot(data: Any, where: tuple[str | int, ...], key: str) -> str:
    """Word a duplicate key found at ``where`` by the snapshot it sits in (its step)."""
    loc: list[str | int] = list(where)
    entries = data
    if isinstance(data, dict) and loc[:1] == ["snapshots"]:
        entries, loc = data["snapshots"], loc[1:]
    elif isinstance(data, dict):
        entries, loc = [data], [0, *loc]
    lost = "(refused: the last value would silently replace the first)"
    if not loc or not isinstance(loc[0], int) or not isinstance(entries, list):
        return f"key {key!r} appears twice in {describe(where)} {lost}"
    entry = entries[loc[0]]
    step = entry.get("step") if isinstance(entry, dict) else None
    snap = (f"step {step}" if isinstance(step, int) and key != "step"
            else f"snapshot #{loc[0]}")
    if len(loc) == 1:
        return f"{snap}: key {key!r} appears twice in the snapshot {lost}"
    what = "concept" if loc[1:] in (["codes"], ["continuous"]) else "key"
    return f"{snap}: {what} {key!r} appears twice in {describe(tuple(loc[1:]))!r} {lost}"


def _reptimeline_snapshot(entry: Any, i: int, path: Path) -> Snapshot:
    if not isinstance(entry, dict):
        raise InputError(f"snapshot #{i} must be an object, got {type(entry).__name__}", path)
    for key in ("step", "codes"):
        if key not in entry:
            raise InputError(f"snapshot #{i} is missing required key {key!r}", path)
    try:
        step = _as_step(entry["step"], os.fspath(path))
    except InputError as exc:
        raise InputError(f"snapshot #{i}: {exc.message}", path) from None
    codes = entry["codes"]
    if not isinstance(codes, dict):
        raise InputError(f"step {step}: 'codes' must be an object concept -> list", path)
    if not codes:
        raise InputError(f"step {step}: no concepts", path)
    names = [str(c) for c in codes]
    rows = list(codes.values())
    lengths = np.fromiter((len(r) if isinstance(r, (list, np.ndarray)) else -1 for r in rows),
                          dtype=np.int64, count=len(rows))
    if (lengths < 0).any():
        c = names[int(np.argmax(lengths < 0))]
        raise InputError(f"step {step}: code of concept {c!r} must be a list", path)
    if (lengths != lengths[0]).any():
        j = int(np.argmax(lengths != lengths[0]))
        raise InputError(f"ragged code lengths at step {step}: concept {names[j]!r} has "
                         f"{lengths[j]} values, concept {names[0]!r} has {lengths[0]}", path)
    if lengths[0] == 0:
        raise InputError(f"step {step}: codes have no features (concept {names[0]!r} has "
                         "an empty code)", path)
    try:
        arr = np.array(rows)
    except (ValueError, TypeError):
        arr = np.zeros(0, dtype=object)
    if arr.ndim != 2 or arr.dtype.kind not in "biuf":
        bad = _first_bad_value(rows)
        if bad is not None:
            r, f, v = bad
            what = "binary (0/1)" if isinstance(v, (int, float)) and not isinstance(
                v, bool) else "numeric 0/1"
            raise InputError(f"codes must be {what}: step {step}, concept {names[r]!r}, "
                             f"feature {f} has {v!r}", path)
        raise InputError(f"step {step}: codes must be flat lists of 0/1", path)
    _check_binary(arr, names, [step], path)
    act = None
    cont = entry.get("continuous")
    if cont is not None:
        if not isinstance(cont, dict):
            raise InputError(f"step {step}: 'continuous' must be an object concept -> list",
                             path)
        missing = [c for c in codes if c not in cont]
        if missing:
            raise InputError(f"step {step}: 'continuous' has no values for concept "
                             f"{missing[0]!r}", path)
        try:
            act = np.array([cont[c] for c in codes], dtype=np.float64)
        except (ValueError, TypeError):
            raise InputError(f"step {step}: 'continuous' values must be equal-length lists "
                             "of numbers", path) from None
        if act.shape != arr.shape:
            raise InputError(f"step {step}: 'continuous' shape {act.shape} does not match "
                             f"codes shape {arr.shape}", path)
        _check_finite(act, names, [step], path)
    meta = entry.get("metadata") or {}
    if not isinstance(meta, dict):
        raise InputError(f"step {step}: 'metadata' must be an object", path)
    return Snapshot.create(step, names, arr.astype(bool), act, meta, os.fspath(path))


def read_reptimeline(path: Path) -> list[Snapshot]:
    """Snapshots from one reptimeline JSON file (a list, ``{"snapshots": [...]}`` or one
    snapshot object)."""
    data = _json_load(path)
    if isinstance(data, dict) and "snapshots" in data:
        entries = data["snapshots"]
    elif isinstance(data, dict) and "codes" in data:
        entries = [data]
    else:
        entries = data
    if not isinstance(entries, list):
        raise InputError("expected a list of snapshots or an object with key 'snapshots'", path)
    if not entries:
        raise InputError("no snapshots in file", path)
    return [_reptimeline_snapshot(e, i, path) for i, e in enumerate(entries)]


# --------------------------------------------------------------------------- npz / safetensors

def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as fh:  # our own handle: closed even when np.load fails
            check_npz(fh, path)  # declared shapes against the bytes and memory, first
            data = np.load(fh, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise InputError("expected an .npz archive of named arrays, got a single "
                                 "array", path)
            with data:
                return {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InputError(f"corrupt or truncated npz: {exc}", path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    except ValueError as exc:  # not a zip/npy at all, or object (pickled) arrays inside
        if "Object arrays" in str(exc):
            raise InputError("npz holds object arrays; store concept names as a string "
                             "array (dtype str), not dtype=object", path) from None
        raise InputError("not an npz archive", path) from None


def _load_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    from safetensors import SafetensorError, safe_open

    try:
        # numpy framework first (no torch import); bfloat16 tensors need torch to decode.
        with safe_open(os.fspath(path), framework="np") as fh:
            header = fh.metadata() or {}
            bf16 = [k for k in fh.keys() if fh.get_slice(k).get_dtype() == "BF16"]
            arrays = {k: fh.get_tensor(k) for k in fh.keys() if k not in bf16}
        if bf16:
            with safe_open(os.fspath(path), framework="pt") as fh:
                arrays.update({k: as_numpy(fh.get_tensor(k)) for k in bf16})
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        msg = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot read safetensors file: {msg}", path) from None
    meta: dict[str, Any] = {}
    for key in ("concepts", "steps", "step", "metadata"):
        if key in header:
            try:
                meta[key] = parse_json(header[key], path)
            except InputError as exc:
                raise InputError(f"header __metadata__[{key!r}]: {exc.message}",
                                 path) from None
    if "concepts" not in meta:
        raise InputError("missing required key 'concepts' in the safetensors header "
                         "__metadata__", path)
    return arrays, meta


def _concept_list(value: Any, path: Path) -> list[str]:
    arr = np.asarray(value)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "US"):
        raise InputError("'concepts' must be a 1-D list of strings", path)
    names = [str(c) for c in arr.tolist()]
    if not names:
        raise InputError("no concepts", path)
    check_text(names, path, "concept name")
    return names


def _codes_array(arrays: Mapping[str, np.ndarray], path: Path
                 ) -> tuple[np.ndarray | sp.csr_array, tuple[int, ...]]:
    """Dense ``codes`` or the CSR triple ``codes_indptr/indices/shape`` (rows = prod(shape[:-1]))."""
    if "codes" in arrays:
        codes = arrays["codes"]
        return codes, tuple(codes.shape)
    if "codes_indptr" not in arrays:
        raise InputError("missing required key 'codes' (or codes_indptr, codes_indices, "
                         "codes_shape)", path)
    for key in ("codes_indices", "codes_shape"):
        if key not in arrays:
            raise InputError(f"missing required key {key!r} for sparse codes", path)
    shape = tuple(int(s) for s in np.asarray(arrays["codes_shape"]).ravel())
    indptr = np.asarray(arrays["codes_indptr"])
    indices = np.asarray(arrays["codes_indices"])
    if len(shape) not in (2, 3) or min(shape) < 0:
        raise InputError(f"codes_shape must be (C, F) or (T, C, F), got {shape}", path)
    n_rows, width = math.prod(shape[:-1]), shape[-1]
    check_fits(width * BYTES_PER_FEATURE, f"codes_shape {shape} ({width} features)", path)
    if (indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu" or indptr.ndim != 1
            or indptr.size != n_rows + 1 or indptr[0] != 0 or indptr[-1] != indices.size
            or np.any(np.diff(indptr) < 0)
            or (indices.size and (indices.min() < 0 or indices.max() >= width))):
        raise InputError(f"sparse codes are inconsistent with codes_shape {shape}", path)
    m = sp.csr_array((np.ones(indices.size, dtype=bool), indices.astype(np.int64),
                      indptr.astype(np.int64)), shape=(n_rows, width))
    return m, shape


def _int_steps(value: Any, path: Path) -> list[int]:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise InputError(f"'steps' must be 1-D, got shape {arr.shape}", path)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise InputError("non-integer steps", path)
    elif arr.dtype.kind not in "iu":
        raise InputError(f"steps must be integers, got values of dtype {arr.dtype}", path)
    steps = [int(s) for s in arr.tolist()]
    if not steps:
        raise InputError("no snapshots (empty 'steps')", path)
    bad = [s for s in steps if not 0 <= s < MAX_STEP]
    if bad:
        raise InputError(f"step {bad[0]} is out of range: steps must be integers in "
                         "[0, 2**56)", path)
    return steps


def _step_metadata(value: Any, n: int, path: Path) -> list[dict[str, Any]]:
    if value is None:
        return [{} for _ in range(n)]
    if isinstance(value, np.ndarray):
        try:
            text = str(value.item())
        except ValueError:
            raise InputError("'metadata' must hold a JSON string", path) from None
        try:
            value = parse_json(text, path)
        except InputError as exc:
            raise InputError(f"'metadata': {exc.message}", path) from None
    if isinstance(value, dict) and n == 1:
        value = [value]
    if not isinstance(value, list) or len(value) != n or not all(isinstance(m, dict)
                                                                  for m in value):
        raise InputError(f"'metadata' must be a JSON list of {n} objects", path)
    return value


def _run_snapshots(arrays: Mapping[str, np.ndarray], names: list[str], steps: list[int],
                   meta: Any, path: Path) -> list[Snapshot]:
    """Layout (a): a whole run in one file, codes (T, C, F)."""
    n_t, n_c = len(steps), len(names)
    codes, shape = _codes_array(arrays, path)
    if len(shape) != 3 or shape[:2] != (n_t, n_c):
        raise InputError(f"codes must have shape (T={n_t}, C={n_c}, F), got {shape}", path)
    if isinstance(codes, np.ndarray):
        _check_binary(codes, names, steps, path)
        codes = codes.astype(bool, copy=False)
    present = arrays.get("present")
    if present is None:
        present = np.ones((n_t, n_c), dtype=bool)
    else:
        if present.shape != (n_t, n_c):
            raise InputError(f"present must have shape ({n_t}, {n_c}), got {present.shape}",
                             path)
        _check_binary(present[None], names, steps, path)
        present = present.astype(bool)
    act = arrays.get("activations")
    if act is not None:
        if act.shape != shape:
            raise InputError(f"activations shape {act.shape} does not match codes shape "
                             f"{shape}", path)
        _check_finite(act, names, steps, path)
    metas = _step_metadata(meta, n_t, path)
    out = []
    for t, step in enumerate(steps):  # one iteration per step; work inside is vectorized
        idx = np.flatnonzero(present[t])
        m = codes[t][idx] if isinstance(codes, np.ndarray) else codes[t * n_c + idx]
        out.append(Snapshot.create(step, [names[i] for i in idx], m,
                                   None if act is None else act[t][idx], metas[t],
                                   os.fspath(path)))
    return out


def _checkpoint_snapshot(arrays: Mapping[str, np.ndarray], names: list[str], step: Any,
                         meta: Any, path: Path, step_pattern: StepPattern) -> Snapshot:
    """Layout (b): one checkpoint per file, codes (C, F)."""
    if step is None:
        step = parse_step(path.name, step_pattern)
        if step is None:
            raise InputError("no 'step' in the file and no step in its name", path)
    else:
        step = _as_step(np.asarray(step).item() if isinstance(step, np.ndarray) else step,
                        os.fspath(path))
    codes, shape = _codes_array(arrays, path)
    if len(shape) != 2 or shape[0] != len(names):
        raise InputError(f"codes must have shape (C={len(names)}, F), got {shape}", path)
    if isinstance(codes, np.ndarray):
        _check_binary(codes, names, [step], path)
        codes = codes.astype(bool, copy=False)
    act = arrays.get("activations")
    if act is not None:
        if act.shape != shape:
            raise InputError(f"activations shape {act.shape} does not match codes shape "
                             f"{shape}", path)
        _check_finite(act, names, [step], path)
    return Snapshot.create(step, names, codes, act, _step_metadata(meta, 1, path)[0],
                           os.fspath(path))


def read_npz(path: Path, step_pattern: StepPattern = None) -> list[Snapshot]:
    """Snapshots from one npz file (whole run if it has ``steps``, else one checkpoint)."""
    arrays = _load_npz(path)
    if "concepts" not in arrays:
        raise InputError("missing required key 'concepts'", path)
    names = _concept_list(arrays["concepts"], path)
    meta = arrays.get("metadata")
    if "steps" in arrays:
        return _run_snapshots(arrays, names, _int_steps(arrays["steps"], path), meta, path)
    return [_checkpoint_snapshot(arrays, names, arrays.get("step"), meta, path, step_pattern)]


def read_safetensors(path: Path, step_pattern: StepPattern = None) -> list[Snapshot]:
    """Snapshots from one safetensors file; names and steps live in the header metadata."""
    arrays, header = _load_safetensors(path)
    names = _concept_list(header["concepts"], path)
    meta = header.get("metadata")
    if "steps" in header:
        return _run_snapshots(arrays, names, _int_steps(header["steps"], path), meta, path)
    return [_checkpoint_snapshot(arrays, names, header.get("step"), meta, path, step_pattern)]


# --------------------------------------------------------------------------- public entry points

def load_snapshots(source: str | os.PathLike[str], format: str = "auto",
                   step_pattern: StepPattern = None, progress: bool = False) -> list[Snapshot]:
    """Load every snapshot in a file, directory or glob, sorted by step.

    ``format`` is ``"auto"`` (by extension), ``"reptimeline"``, ``"npz"`` or
    ``"safetensors"``; ``step_pattern`` (regex, one group) reads steps from file names of
    per-checkpoint files that do not store their step.
    """
    fmt, files = resolve_source(source, format)
    snaps: list[Snapshot] = []
    if progress:  # tqdm only when shown: even a disabled bar costs start-up time
        from tqdm.auto import tqdm

        files = tqdm(files, desc=f"reading {fmt}", unit="file")
    for path in files:
        if fmt == "reptimeline":
            snaps.extend(read_reptimeline(path))
        elif fmt == "npz":
            snaps.extend(read_npz(path, step_pattern))
        else:
            snaps.extend(read_safetensors(path, step_pattern))
    return check_run(snaps)


def load_stack(source: str | os.PathLike[str], format: str = "auto",
               step_pattern: StepPattern = None, progress: bool = False) -> CodeStack:
    """:func:`load_snapshots` aligned into a :class:`CodeStack`."""
    return CodeStack.from_snapshots(load_snapshots(source, format, step_pattern, progress))


# --------------------------------------------------------------------------- writers

def _as_stack(data: CodeStack | Iterable[Snapshot]) -> CodeStack:
    return data if isinstance(data, CodeStack) else CodeStack.from_snapshots(data)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


def save_reptimeline_json(snapshots: CodeStack | Iterable[Snapshot],
                          path: str | os.PathLike[str]) -> None:
    """Write snapshots as reptimeline JSON (``{"schema_version", "snapshots": [...]}``), which
    reptimeline's own loader reads."""
    snaps = (snapshots.snapshot(t) for t in range(snapshots.n_steps)) \
        if isinstance(snapshots, CodeStack) else snapshots
    out = []
    for s in snaps:
        cont = None if s.activations is None else dict(zip(s.concepts, s.activations.tolist(), strict=True))
        out.append({"schema_version": REPTIMELINE_SCHEMA_VERSION, "step": s.step,
                    "codes": dict(zip(s.concepts, s.dense().astype(np.uint8).tolist(), strict=True)),
                    "continuous": cont, "metadata": dict(s.metadata)})
    # json.dumps uses the C encoder for the whole document; json.dump would not
    text = json.dumps({"schema_version": REPTIMELINE_SCHEMA_VERSION, "snapshots": out},
                      default=_json_default)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _run_arrays(stack: CodeStack, sparse: bool | None) -> dict[str, np.ndarray]:
    """Layout (a) arrays for a stack: dense codes (T, C, F) or the CSR triple."""
    n_t, n_c, n_f = stack.n_steps, stack.n_concepts, stack.n_features
    if sparse is None:
        sparse = n_t * n_c * n_f >= SPARSE_AUTO_CELLS
    arrays: dict[str, np.ndarray] = {"present": stack.present.copy()}
    if sparse:
        m = sp.csr_array(sp.vstack(stack.codes, format="csr"))
        m.sort_indices()
        arrays["codes_indptr"] = m.indptr.astype(np.int64)
        idx_type = np.int32 if n_f < 2**31 else np.int64  # halves the file for usual widths
        arrays["codes_indices"] = m.indices.astype(idx_type)
        arrays["codes_shape"] = np.array([n_t, n_c, n_f], dtype=np.int64)
    else:
        arrays["codes"] = np.stack([m.toarray() for m in stack.codes]).reshape(n_t, n_c, n_f)
    if stack.n_steps and all(a is not None for a in stack.activations):
        arrays["activations"] = np.stack(stack.activations).astype(np.float32)  # type: ignore[arg-type]
    return arrays


def save_npz(snapshots: CodeStack | Iterable[Snapshot], path: str | os.PathLike[str], *,
             sparse: bool | None = None) -> None:
    """Write a whole run as one compressed npz (layout (a)); ``sparse=None`` picks the CSR
    variant for runs of at least ``SPARSE_AUTO_CELLS`` code cells. Activations are written
    only when every step has them."""
    stack = _as_stack(snapshots)
    arrays = _run_arrays(stack, sparse)
    arrays["steps"] = stack.steps.astype(np.int64)
    arrays["concepts"] = np.array(stack.concepts, dtype=str)
    arrays["metadata"] = np.array(json.dumps(stack.metadata, default=_json_default))
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def save_safetensors(snapshots: CodeStack | Iterable[Snapshot],
                     path: str | os.PathLike[str], *, sparse: bool | None = None) -> None:
    """Write a whole run as one safetensors file: tensors as in :func:`save_npz`, concept
    names, steps and step metadata as JSON strings in the header ``__metadata__``."""
    from safetensors.numpy import save_file

    stack = _as_stack(snapshots)
    arrays = {k: np.ascontiguousarray(v) for k, v in _run_arrays(stack, sparse).items()}
    header = {"concepts": json.dumps(stack.concepts),
              "steps": json.dumps([int(s) for s in stack.steps]),
              "metadata": json.dumps(stack.metadata, default=_json_default)}
    save_file(arrays, os.fspath(path), metadata=header)
