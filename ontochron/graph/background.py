"""The embedded store that stays up: the first command that needs it starts a detached keeper
process (``python -m ontochron.graph.background``) that runs the server and stops it after an
idle time; later commands find it through the data dir's lock file and reuse it."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from ontochron.errors import StoreError
from ontochron.graph import embedded as emb

log = logging.getLogger(__name__)

IDLE_ENV = "ONTOCHRON_STORE_IDLE"
DEFAULT_IDLE_S = 300.0  # five minutes without a client, then the server stops
LAST_USE_FILE = "ontochron-last-use"
KEEPER_LOG = "keeper.log"


def idle_seconds(value: str | float | None = None) -> float:
    """The idle time in seconds: ``value``, else $ONTOCHRON_STORE_IDLE, else 300. ``0`` means
    no background server (each command runs and stops its own)."""
    raw = value if value is not None else os.environ.get(IDLE_ENV)
    if raw is None or raw == "":
        return DEFAULT_IDLE_S
    try:
        secs = float(raw)
    except ValueError:
        raise StoreError(f"{IDLE_ENV} must be a number of seconds, not {raw!r}") from None
    if secs < 0:
        raise StoreError(f"{IDLE_ENV} must be >= 0, not {raw!r}")
    return secs


def touch(data_dir: str | os.PathLike[str]) -> None:
    """Record a use of the store now (the keeper counts idle time from the last one)."""
    path = Path(data_dir).resolve() / LAST_USE_FILE
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
        os.utime(path)


def _last_use(data_dir: Path, since: float) -> float:
    try:
        return max(since, (data_dir / LAST_USE_FILE).stat().st_mtime)
    except OSError:
        return since


def open_connections(port: int | None) -> int:
    """Established TCP connections to ``port`` on this host (Linux /proc/net/tcp*; 0 elsewhere):
    a client still connected (a long query, a notebook) keeps the server up."""
    if not port:
        return 0
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 3 and parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                n += 1
    return n


def start(data_dir: str | os.PathLike[str], *, idle: float, heap: str = "1g",
          database: str = emb.DEFAULT_DATABASE, timeout: float = 180.0) -> emb.LockInfo:
    """Start a detached keeper on ``data_dir`` (unless one is up) and wait until it serves."""
    d = Path(data_dir).expanduser().resolve()
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    logf = d / KEEPER_LOG
    fd = os.open(logf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ontochron.graph.background", "--data-dir", str(d),
             "--idle", str(idle), "--heap", heap, "--database", database,
             "--timeout", str(timeout)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True, close_fds=True)
    end = time.monotonic() + timeout + 10
    while time.monotonic() < end:
        info = emb.read_lock(d)
        if info is not None and info.ready:
            touch(d)
            return info
        if proc.poll() is not None:  # it failed, or another command's keeper won the race
            info = emb.wait_for_running(d, timeout=timeout)
            if info is not None:
                touch(d)
                return info
            raise StoreError(f"the embedded store in {d} did not start; {logf}:\n"
                             f"{emb._tail(logf)}\nserver log {d / emb.LOG_FILE}:\n"
                             f"{emb._tail(d / emb.LOG_FILE)}")
        time.sleep(0.1)
    raise StoreError(f"the embedded store in {d} did not start within {timeout:.0f}s; "
                     f"see {logf} and {d / emb.LOG_FILE}")


def keep(data_dir: Path, idle: float, heap: str, database: str, timeout: float) -> int:
    """Run the server until ``idle`` seconds pass with no use and no open connection, until
    it is stopped (``store stop``, SIGTERM), or until it exits."""
    server = emb.EmbeddedServer(data_dir, heap=heap, database=database)
    server.start(timeout=timeout)
    t0 = time.time()
    poll = max(0.2, min(5.0, idle / 4))
    try:
        while server.running:
            time.sleep(poll)
            if open_connections(server.port):
                touch(data_dir)
                continue
            if time.time() - _last_use(data_dir, t0) > idle:
                log.info("idle for %.0fs: stopping", idle)
                break
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ontochron.graph.background")
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--idle", type=float, default=DEFAULT_IDLE_S)
    p.add_argument("--heap", default="1g")
    p.add_argument("--database", default=emb.DEFAULT_DATABASE)
    p.add_argument("--timeout", type=float, default=180.0)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        return keep(a.data_dir.resolve(), a.idle, a.heap, a.database, a.timeout)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
