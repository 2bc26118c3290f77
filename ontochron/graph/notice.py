"""One hook for "the embedded store is starting" notices: a JVM start takes seconds, so the
CLI shows a line (``ontochron.cli.main`` sets the hook); library code stays silent."""

from __future__ import annotations

from collections.abc import Callable

_callback: Callable[[str], None] | None = None


def set_start_notice(callback: Callable[[str], None] | None) -> None:
    """Call ``callback(message)`` whenever a store has to start or finish starting (None:
    silent)."""
    global _callback
    _callback = callback


def notice(message: str) -> None:
    """Pass ``message`` to the hook, if one is set."""
    if _callback is not None:
        _callback(message)
