"""Open an ``.npz`` file from a user safely: every member's declared shape and dtype are read
from its header and checked against the bytes the member really holds and against the memory
this machine has, before numpy allocates anything (numpy allocates the declared shape first and
reads into it, so a 60-byte header declaring 10**12 values is otherwise a MemoryError)."""

from __future__ import annotations

import contextlib
import math
import os
import zipfile
import zlib
from typing import IO

import numpy as np

from ontochron.errors import InputError


def available_memory() -> int | None:
    """Bytes of memory available now (Linux MemAvailable, else physical memory); None when
    the platform does not say."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(AttributeError, ValueError, OSError):
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    return None


def gib(n: int) -> str:
    """Bytes as GiB for a message."""
    return f"{n / 2**30:.1f} GiB"


def check_fits(nbytes: int, what: str, path: str | os.PathLike[str] | None) -> None:
    """Raise InputError when ``nbytes`` (what ``what`` would need) exceed available memory."""
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise InputError(f"{what} would need {gib(nbytes)} of memory, more than the "
                         f"{gib(avail)} available", path)


def _header(member: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    fmt = np.lib.format
    version = fmt.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = fmt.read_array_header_2_0(member)
    else:
        shape, _, dtype = fmt._read_array_header(member, version)  # 3.0: utf-8 field names
    return tuple(int(s) for s in shape), dtype


def check_npz_file(path: str | os.PathLike[str]) -> None:
    """``check_npz`` on the file at ``path`` (OSError is left to the caller's reading)."""
    with open(path, "rb") as fh:
        check_npz(fh, path)


def check_npz(fh: IO[bytes], path: str | os.PathLike[str]) -> None:
    """Raise InputError unless every ``.npy`` member of the open npz ``fh`` holds exactly the
    bytes its header declares and all of them fit in memory. Reads headers only; rewinds."""
    total = 0
    try:
        with zipfile.ZipFile(fh) as zf:
            for info in zf.infolist():
                total += info.file_size
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as member:
                    shape, dtype = _header(member)
                    header_len = member.tell()
                name = info.filename[:-4]
                declared = math.prod(shape) * dtype.itemsize
                if not dtype.hasobject and declared != info.file_size - header_len:
                    raise InputError(
                        f"array {name!r} declares shape {shape} of {dtype} "
                        f"({declared} bytes) but holds {info.file_size - header_len} bytes",
                        path)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError):
        pass  # not a well-formed npz: np.load reports it in its own words
    finally:
        fh.seek(0)
    check_fits(total, "loading its arrays", path)
