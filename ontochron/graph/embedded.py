"""Run ArcadeDB as a child Java process speaking Bolt, so the embedded store and Neo4j share
one code path (the official ``neo4j`` driver). Owns the data-directory lock and password file."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ontochron.errors import StoreError

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "ontochron"
USERNAME = "root"
PASSWORD_FILE = ".ontochron-root-password"
LOCK_FILE = "ontochron-server.json"
LOG_FILE = "server.log"
MAIN_CLASS = "com.arcadedb.server.ArcadeDBServer"

# JVM flags the arcadedb-embedded package itself passes (see its jvm.py, same as server.sh).
_BASE_JVM_FLAGS = (
    "--add-modules=jdk.incubator.vector",
    "--enable-native-access=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/java.nio.channels.spi=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF8",
    "-Dpolyglot.engine.WarnInterpreterOnly=false",
    "-XX:+UseCompactObjectHeaders",
)


def _package_dir() -> Path:
    try:
        import arcadedb_embedded
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise StoreError("the embedded store needs the 'arcadedb-embedded' package "
                         "(pip install arcadedb-embedded)") from exc
    return Path(arcadedb_embedded.__file__).resolve().parent


def java_command() -> tuple[Path, Path]:
    """Return (java executable, jar directory) bundled with arcadedb-embedded (JRE 25)."""
    pkg = _package_dir()
    java = pkg / "jre" / "bin" / ("java.exe" if os.name == "nt" else "java")
    jars = pkg / "jars"
    if not java.exists() or not jars.is_dir():
        raise StoreError(f"arcadedb-embedded at {pkg} has no bundled JRE/jars; reinstall it")
    return java, jars


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int | None) -> bool:
    """True when a process with this pid exists (zombies of ours count as dead)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        # Field 3 is the state; 'Z' is a zombie that only waits to be reaped.
        if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _is_our_server(pid: int, data_dir: Path) -> bool:
    """Guard against pid reuse: the pid must be an ArcadeDB server on this data dir."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():  # not Linux: trust the pid
        return pid_alive(pid)
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    want = f"-Darcadedb.server.rootPath={data_dir}".encode()
    return MAIN_CLASS.encode() in args and want in args


@dataclass(frozen=True)
class LockInfo:
    """Contents of the data-directory lock: who runs the server and where it listens."""

    pid: int | None  # the Java server process (None while starting)
    owner_pid: int  # the Python process that started it and will stop it
    bolt_port: int | None
    http_port: int | None
    database: str
    data_dir: str
    ready: bool = False  # True once the server answered a query on its database

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"


def read_lock(data_dir: str | os.PathLike[str]) -> LockInfo | None:
    """The lock of ``data_dir`` if one exists and its server (or starter) is alive, else None."""
    d = Path(data_dir).resolve()
    path = d / LOCK_FILE
    try:
        raw = json.loads(path.read_text())
        info = LockInfo(pid=raw.get("pid"), owner_pid=int(raw["owner_pid"]),
                        bolt_port=raw.get("bolt_port"), http_port=raw.get("http_port"),
                        database=str(raw.get("database", DEFAULT_DATABASE)), data_dir=str(d),
                        ready=bool(raw.get("ready", False)))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("ignoring unreadable lock file %s", path)
        return None
    if info.pid is not None:
        return info if _is_our_server(int(info.pid), d) else None
    return info if pid_alive(info.owner_pid) else None


def password_file(data_dir: str | os.PathLike[str]) -> Path:
    """Where the generated root password of ``data_dir`` lives (mode 0600)."""
    return Path(data_dir).resolve() / PASSWORD_FILE


def read_password(data_dir: str | os.PathLike[str]) -> str:
    """The root password of an embedded store; StoreError when it was never created."""
    path = password_file(data_dir)
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise StoreError(f"no password file at {path}: start the store once "
                         "(`ontochron store serve`) to create it") from exc


def _ensure_password(data_dir: Path) -> Path:
    """Create a random root password file (0600) on first use; never logged."""
    path = data_dir / PASSWORD_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24))
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)
    return path


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no server log)"
    return "\n".join(text[-lines:])


PRIVATE_UMASK = 0o077  # the server creates every file 0600 and every folder 0700


def make_private(data_dir: str | os.PathLike[str]) -> None:
    """Give ``data_dir`` and everything in it owner-only modes (folders 0700, files 0600):
    the graph must not be readable by other local users, who could bypass the password."""
    root = Path(data_dir)
    with contextlib.suppress(OSError):
        os.chmod(root, 0o700)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(dirpath, name), 0o700, follow_symlinks=False)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o600)


def _child_preexec() -> Callable[[], None]:
    """A pre-exec hook for the Java child: umask 077 (so whatever ArcadeDB creates later is
    private) and, on Linux in the main thread, SIGTERM if the process that started it dies (no
    orphans even after SIGKILL). The kernel ties PDEATHSIG to the forking *thread*, so a server
    started from a worker thread would die with that thread: skip it there. libc is resolved
    here, in the parent, so the child only makes system calls."""
    prctl = None
    if sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread():
        try:
            import ctypes

            prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):  # pragma: no cover - non-glibc oddities
            prctl = None

    def hook() -> None:  # pragma: no cover - runs in the child between fork and exec
        os.umask(PRIVATE_UMASK)
        if prctl is not None:
            prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return hook


_LIVE: set[EmbeddedServer] = set()  # strong refs: a started server is stopped at exit
_HOOKS_INSTALLED = False


def _stop_all() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


def _on_sigterm(signum: int, frame: object) -> None:
    _stop_all()
    raise SystemExit(128 + signum)


def _install_exit_hooks() -> None:
    """atexit always; a SIGTERM handler only when nobody else has installed one."""
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    atexit.register(_stop_all)
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)


class EmbeddedServer:
    """One ArcadeDB server process on ``data_dir`` with the Bolt plugin on 127.0.0.1.

    Use as a context manager or call ``start()``/``stop()``; the password is read from a 0600
    file inside ``data_dir`` and is never logged or shown in ``repr``.
    """

    def __init__(self, data_dir: str | os.PathLike[str], port: int = 0, heap: str = "1g",
                 *, database: str = DEFAULT_DATABASE, http_port: int = 0,
                 jvm_args: Sequence[str] | None = None) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        # Extra JVM flags: the argument, else $ONTOCHRON_JVM_ARGS (shell-split).
        self.jvm_args = list(jvm_args if jvm_args is not None
                             else shlex.split(os.environ.get("ONTOCHRON_JVM_ARGS", "")))
        self.requested_port = int(port)
        self.requested_http_port = int(http_port)
        self.heap = heap
        self.database = database
        self.port: int | None = None
        self.http_port: int | None = None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock_held = False
        self._stop_lock = threading.RLock()  # re-entered when SIGTERM arrives inside stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid} port={self.port}" if self.running else "stopped"
        return f"EmbeddedServer(data_dir={str(self.data_dir)!r}, {state})"

    # -- public properties -------------------------------------------------------------------
    @property
    def username(self) -> str:
        return USERNAME

    @property
    def password(self) -> str:
        """The root password (read from the password file on demand)."""
        return read_password(self.data_dir)

    @property
    def password_file(self) -> Path:
        return self.data_dir / PASSWORD_FILE

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE

    @property
    def lock_file(self) -> Path:
        return self.data_dir / LOCK_FILE

    @property
    def bolt_uri(self) -> str:
        if self.port is None:
            raise StoreError("the embedded server is not started")
        return f"bolt://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 180.0) -> EmbeddedServer:
        """Start the server and wait until Bolt answers a query on the database."""
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        make_private(self.data_dir)  # also fixes a data dir made before stores were private
        _install_exit_hooks()
        self._acquire_lock()
        try:
            attempts = 1 if self.requested_port else 3  # a free port can be taken meanwhile
            for attempt in range(attempts):
                t0 = time.monotonic()
                self._spawn()
                try:
                    self._wait_ready(t0 + timeout)
                except _EarlyExit as exc:
                    if attempt + 1 < attempts and _PORT_BUSY.search(str(exc)):
                        log.info("port taken while starting; retrying on another port")
                        continue
                    raise StoreError(str(exc)) from None
                self.startup_seconds = time.monotonic() - t0
                self._write_lock(ready=True)
                log.info("embedded ArcadeDB up at %s in %.1fs (pid %s)", self.bolt_uri,
                         self.startup_seconds, self.pid)
                return self
            raise StoreError("could not start the embedded store")  # pragma: no cover
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (SIGTERM, wait, then SIGKILL) and release the data-directory lock."""
        with self._stop_lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                terminate_process(proc.pid, timeout, proc=proc)
            _LIVE.discard(self)
            if self._lock_held:
                with contextlib.suppress(OSError):
                    self.lock_file.unlink()
                self._lock_held = False

    def wait(self) -> int:
        """Block until the server process exits; returns its exit code."""
        if self._proc is None:
            return 0
        return self._proc.wait()

    # -- internals -----------------------------------------------------------------------------
    def _acquire_lock(self) -> None:
        """Create the lock file atomically; refuse if a live process holds it, take over if not."""
        for _ in range(5):
            try:
                fd = os.open(self.lock_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                live = read_lock(self.data_dir)
                if live is not None:
                    where = f" on {live.bolt_uri}" if live.bolt_port else " (starting)"
                    raise StoreError(
                        f"the store in {self.data_dir} is already served by pid "
                        f"{live.pid or live.owner_pid}{where}; connect to it or run "
                        f"`ontochron store stop --data-dir {self.data_dir}`") from None
                log.warning("taking over a stale lock in %s", self.data_dir)
                with contextlib.suppress(FileNotFoundError):
                    self.lock_file.unlink()
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump({"pid": None, "owner_pid": os.getpid(), "database": self.database}, fh)
            self._lock_held = True
            return
        raise StoreError(f"could not take the lock {self.lock_file}")

    def _write_lock(self, ready: bool = False) -> None:
        tmp = self.lock_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps({
                "pid": self.pid, "owner_pid": os.getpid(), "bolt_port": self.port,
                "http_port": self.http_port, "database": self.database,
                "data_dir": str(self.data_dir), "started_at": time.time(), "ready": ready}))
        os.replace(tmp, self.lock_file)

    def _command(self) -> list[str]:
        java, jars = java_command()
        pw = _ensure_password(self.data_dir)
        d = self.data_dir
        return [
            str(java), f"-Xmx{self.heap}", *_BASE_JVM_FLAGS, *self.jvm_args,
            f"-XX:ErrorFile={d / 'log' / 'hs_err_pid%p.log'}",
            f"-Darcadedb.server.rootPath={d}",
            # A path, not the password: the command line is visible to every local user.
            f"-Darcadedb.server.rootPasswordPath={pw}",
            "-Darcadedb.server.mode=development",
            "-Darcadedb.server.httpIncomingHost=127.0.0.1",
            f"-Darcadedb.server.httpIncomingPort={self.http_port}",
            "-Darcadedb.bolt.host=127.0.0.1",
            # No statement may read the server's files or fetch URLs (LOAD CSV), reads or writes.
            "-Darcadedb.opencypher.loadCsv.allowFileUrls=false",
            "-Darcadedb.opencypher.loadCsv.allowRemoteUrls=false",
            f"-Darcadedb.bolt.port={self.port}",
            f"-Darcadedb.server.defaultDatabases={self.database}[{USERNAME}]",
            "-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "-cp", str(jars / "*"), MAIN_CLASS,
        ]

    def _spawn(self) -> None:
        self.port = self.requested_port or free_port()
        self.http_port = self.requested_http_port or free_port()
        cmd = self._command()
        log.debug("starting embedded ArcadeDB: bolt port %s, data dir %s", self.port, self.data_dir)
        (self.data_dir / "log").mkdir(exist_ok=True, mode=0o700)
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            self._proc = subprocess.Popen(
                cmd, cwd=self.data_dir, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_child_preexec())
        _LIVE.add(self)
        self._write_lock()

    def _wait_ready(self, deadline: float) -> None:
        """Poll until a query on the database succeeds, the process dies, or time runs out."""
        import neo4j
        from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

        last: Exception | None = None
        while time.monotonic() < deadline:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                code = proc.returncode if proc is not None else None
                self._proc = None
                raise _EarlyExit(f"the embedded ArcadeDB server exited during start-up "
                                 f"(code {code}); server log {self.log_file}:\n"
                                 f"{_tail(self.log_file)}")
            if _START_FAILED.search(_tail(self.log_file, 200)):
                # After a failed start ArcadeDB's JVM lingers on non-daemon threads: end it.
                self._proc = None
                terminate_process(proc.pid, 10, proc=proc)
                raise _EarlyExit(f"the embedded ArcadeDB server failed to start; server log "
                                 f"{self.log_file}:\n{_tail(self.log_file)}")
            if _port_open(self.port):
                try:
                    with neo4j.GraphDatabase.driver(
                            self.bolt_uri, auth=(USERNAME, self.password),
                            connection_timeout=5, connection_acquisition_timeout=5,
                            max_connection_lifetime=60) as drv, \
                            drv.session(database=self.database) as session:
                        session.run("RETURN 1 AS ok").consume()  # no driver-side retries
                    return
                except AuthError as exc:
                    raise StoreError(
                        f"the embedded store in {self.data_dir} rejected the password in "
                        f"{self.password_file}; it must match the root user created on first "
                        "start (config/server-users.jsonl)") from exc
                except (ServiceUnavailable, Neo4jError, OSError) as exc:
                    last = exc  # Bolt is up but the default database is still being created
            time.sleep(0.2)
        raise StoreError(f"the embedded ArcadeDB server did not answer on {self.bolt_uri} "
                         f"within the start-up deadline (last error: {last}); server log "
                         f"{self.log_file}:\n{_tail(self.log_file)}")


class _EarlyExit(Exception):
    pass


# How ArcadeDB's log says a listener could not bind (Bolt: "busy, trying the next available").
_START_FAILED = re.compile(r'Exception in thread "main"|Error starting (plugin|server)')
_PORT_BUSY = re.compile(r"(?i)unable to listen|already in use|port \S+ busy")


def _port_open(port: int | None) -> bool:
    if not port:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def terminate_process(pid: int, timeout: float = 30.0,
                      proc: subprocess.Popen[bytes] | None = None) -> bool:
    """SIGTERM the process (group), wait up to ``timeout``, then SIGKILL; True when it is gone."""
    def gone() -> bool:
        # poll() cannot reap while another frame of this thread sits in proc.wait() (a signal
        # handler interrupting `store serve`), so a zombie also counts as gone.
        if proc is not None and proc.poll() is not None:
            return True
        return not pid_alive(pid)

    def kill(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            # The server runs in its own session, so its pid is also its process group id.
            if proc is not None or os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    if gone():
        return True
    kill(signal.SIGTERM)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if gone():
            return True
        time.sleep(0.1)
    log.warning("server pid %s ignored SIGTERM for %.0fs; killing it", pid, timeout)
    kill(signal.SIGKILL)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if gone():
            return True
        time.sleep(0.05)
    return gone()


def wait_for_running(data_dir: str | os.PathLike[str], timeout: float = 180.0) -> LockInfo | None:
    """The ready server on ``data_dir``, waiting while one is still starting; None if none."""
    end = time.monotonic() + timeout
    while (info := read_lock(data_dir)) is not None and not info.ready:
        if time.monotonic() > end:
            raise StoreError(f"the store in {data_dir} is still starting after {timeout:.0f}s "
                             f"(pid {info.pid or info.owner_pid}); see {Path(data_dir) / LOG_FILE}")
        time.sleep(0.2)
    return info


def stop_running(data_dir: str | os.PathLike[str], timeout: float = 30.0) -> LockInfo | None:
    """Stop the server serving ``data_dir`` (e.g. a `store serve` elsewhere); None if none ran."""
    info = read_lock(data_dir)
    if info is None:
        return None
    if info.pid is not None:
        terminate_process(int(info.pid), timeout)
    # The owner removes the lock when its server exits; give it a moment, then clean up.
    end = time.monotonic() + 5
    lock = Path(data_dir).resolve() / LOCK_FILE
    while lock.exists() and time.monotonic() < end and pid_alive(info.owner_pid) \
            and info.owner_pid != os.getpid():
        time.sleep(0.1)
    if read_lock(data_dir) is None:
        with contextlib.suppress(OSError):
            lock.unlink()
    return info
