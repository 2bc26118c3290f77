"""Exception types shared by every part of ontochron."""

from __future__ import annotations

import os


class OntochronError(Exception):
    """Base class: the CLI turns these into one clear message and a non-zero exit code."""


class InputError(OntochronError):
    """Bad user input (a file or value that cannot be used), naming the file when known."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class StoreError(OntochronError):
    """The graph store could not be reached, started, or written."""


class ClusterError(OntochronError):
    """The Dask scheduler could not be reached, or went away during a run."""
