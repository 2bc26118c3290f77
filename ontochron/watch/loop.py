"""The ``watch`` loop: wake on file-system events (``watchdog``: inotify, FSEvents, …) or by
polling, sync the run whenever its set of ready checkpoints changes, and stop on request
(SIGINT/SIGTERM: after the sync in progress, so the graph never holds a half-written
checkpoint), on ``--once``, ``--until-step``, ``--until-file`` or ``--idle-exit``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ontochron.watch.alerts import Alert
from ontochron.watch.follow import CheckpointChange, EntryError, Follower
from ontochron.watch.ready import Scanner, Signature

log = logging.getLogger(__name__)

#: exit code when an alert fired and --exit-on-alert was given
ALERT_EXIT = 3
#: with file-system events, still rescan this often (events can be lost, e.g. on overflow)
EVENT_RESCAN_S = 10.0


@dataclass
class WatchOptions:
    """When to stop, and how to notice changes."""

    once: bool = False
    until_step: int | None = None
    until_file: str | None = None
    idle_exit: float | None = None
    poll: float = 1.0
    force_polling: bool = False
    exit_on_alert: bool = False


class Notifier:
    """Sets ``wake`` on any file-system event under a directory (watchdog's native observer);
    ``mode`` is ``"events"`` or, when forced or unavailable, ``"polling"`` (nothing runs)."""

    def __init__(self, directory: Any, wake: threading.Event, force_polling: bool) -> None:
        self.mode = "polling"
        self._observer: Any = None
        if force_polling:
            return
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            class _Wake(FileSystemEventHandler):
                def on_any_event(self, event: Any) -> None:
                    wake.set()

            observer = Observer()
            observer.schedule(_Wake(), str(directory), recursive=True)
            observer.daemon = True
            observer.start()
        except Exception as exc:  # no inotify watches left, unsupported file system, ...
            log.warning("file-system events unavailable (%s); polling instead", exc)
            return
        self._observer, self.mode = observer, "events"

    def close(self) -> None:
        """Stop the observer thread."""
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)


def _newest(sigs: list[Signature]) -> float | None:
    times = [m for sig in sigs for _, _, m in sig]
    return max(times) / 1e9 if times else None


class Watcher:
    """Follows one directory into the graph (see module doc); :meth:`run` returns the exit
    code, :meth:`request_stop` (signal-handler safe) ends it after the current sync."""

    def __init__(self, follower: Follower, scanner: Scanner, options: WatchOptions, *,
                 on_change: Callable[[CheckpointChange], None],
                 on_alert: Callable[[Alert], None],
                 on_error: Callable[[str], None]) -> None:
        self.follower, self.scanner, self.options = follower, scanner, options
        self.on_change, self.on_alert, self.on_error = on_change, on_alert, on_error
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.notifier: Notifier | None = None

    def request_stop(self) -> None:
        """Stop after the sync in progress (called from a signal handler)."""
        self.stop.set()
        self.wake.set()

    def run(self, on_start: Callable[[str], None] | None = None) -> int:
        """Watch until a stop condition; 0, ALERT_EXIT, or 2 after unreadable input with
        ``--once``. ``on_start`` gets "file-system events" or "polling"."""
        opts = self.options
        self.notifier = Notifier(self.scanner.directory, self.wake, opts.force_polling)
        if on_start is not None:
            on_start("file-system events" if self.notifier.mode == "events" else "polling")
        try:
            return self._loop(opts)
        finally:
            self.notifier.close()

    def _loop(self, opts: WatchOptions) -> int:
        tried: dict[str, Signature] | None = None  # ready set of the last sync attempt
        good: dict[str, Signature] = {}  # ready set of the last successful sync
        rejected: dict[str, Signature] = {}  # unreadable checkpoints, until they change
        errors = 0
        alerted = False
        last_activity = time.monotonic()
        while True:
            self.wake.clear()
            # looked at before the scan: training writes it after its last checkpoint, so
            # when it is seen here, the scan below sees every checkpoint
            finished = bool(opts.until_file) and (self.scanner.directory /
                                                  str(opts.until_file)).exists()
            ready, settling, _ = self.scanner.scan()
            rejected = {n: s for n, s in rejected.items() if ready.get(n) == s}
            ready = {n: s for n, s in ready.items() if n not in rejected}
            if ready and ready != tried and not self.stop.is_set():
                tried = ready
                fresh = [s for n, s in ready.items() if good.get(n) != s]
                try:
                    result = self.follower.sync(sorted(ready), _newest(fresh))
                except EntryError as exc:
                    errors += 1
                    if exc.entry in ready and good.get(exc.entry) != ready[exc.entry]:
                        # a new or changed checkpoint cannot be read: leave it out until it
                        # changes again, and sync the others right away
                        rejected[exc.entry] = ready[exc.entry]
                        self.on_error(f"{exc} (left out until it changes)")
                        tried = None
                        continue
                    self.on_error(f"{exc} (retried when the directory changes)")
                else:
                    good = ready
                    last_activity = time.monotonic()
                    for change in result.changes:
                        self.on_change(change)
                        for alert in change.alerts:
                            alerted = True
                            self.on_alert(alert)
                            self.follower.fire(alert)
            if self.stop.is_set():
                return 0
            if alerted and opts.exit_on_alert:
                return ALERT_EXIT
            if settling is None:  # nothing is still being written
                if opts.once or finished:
                    return 2 if errors and opts.once else 0
            known = self.follower.known
            if opts.until_step is not None and known and max(known) >= opts.until_step:
                return 0
            idle = time.monotonic() - last_activity
            if opts.idle_exit is not None and idle >= opts.idle_exit:
                return 0
            timeout = opts.poll if self.notifier is None or self.notifier.mode == "polling" \
                else EVENT_RESCAN_S
            if settling is not None:
                timeout = min(timeout, settling + 0.05)
            if opts.idle_exit is not None:
                timeout = min(timeout, max(opts.idle_exit - idle, 0.05))
            self.wake.wait(timeout)
