"""Connect to the graph store (Neo4j, or the embedded ArcadeDB over Bolt) through the official
``neo4j`` driver: configuration resolution, read/write helpers and batched UNWIND writes."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import neo4j
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable

from ontochron.errors import StoreError
from ontochron.graph import background, readonly
from ontochron.graph import embedded as emb
from ontochron.graph.notice import notice

log = logging.getLogger(__name__)

EMBEDDED = "embedded"
DEFAULT_DATA_DIR = Path(".ontochron") / "store"
_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


@dataclass(frozen=True)
class StoreConfig:
    """Where the graph lives and how to log in; ``repr``/``str`` never show the password."""

    uri: str = EMBEDDED
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR

    @property
    def embedded(self) -> bool:
        return self.uri == EMBEDDED

    def __repr__(self) -> str:
        hidden = "'***'" if self.password else "None"
        return (f"StoreConfig(uri={self.uri!r}, username={self.username!r}, password={hidden}, "
                f"database={self.database!r}, data_dir={str(self.data_dir)!r})")

    __str__ = __repr__

    @classmethod
    def resolve(cls, store: str | None = None, *, data_dir: str | os.PathLike[str] | None = None,
                username: str | None = None, password: str | None = None,
                database: str | None = None,
                env: Mapping[str, str] | None = None) -> StoreConfig:
        """Flags win over the Neo4j environment (NEO4J_URI/USERNAME/PASSWORD/DATABASE);
        with neither, the embedded store in ``--data-dir``/ONTOCHRON_DATA_DIR/.ontochron/store."""
        env = os.environ if env is None else env
        uri = (store or env.get("NEO4J_URI") or EMBEDDED).strip()
        ddir = Path(data_dir or env.get("ONTOCHRON_DATA_DIR") or DEFAULT_DATA_DIR).expanduser()
        if uri.lower() == EMBEDDED:
            return cls(uri=EMBEDDED, username=emb.USERNAME, password=None,
                       database=database or emb.DEFAULT_DATABASE, data_dir=ddir)
        parts = urlsplit(uri)
        if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
            raise StoreError(f"--store must be 'embedded' or a Bolt URI such as "
                             f"bolt://host:7687 or neo4j://host:7687, not {_redact(uri)!r}")
        url_user = unquote(parts.username) if parts.username else None
        url_pw = unquote(parts.password) if parts.password else None
        if url_user is not None:  # the driver wants credentials apart from the URI
            netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
            uri = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        return cls(uri=uri,
                   username=username or url_user or env.get("NEO4J_USERNAME") or "neo4j",
                   password=password or url_pw or env.get("NEO4J_PASSWORD"),
                   database=database or env.get("NEO4J_DATABASE") or None,
                   data_dir=ddir)


def _redact(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password:
        return uri.replace(f":{parts.password}@", ":***@")
    return uri


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


class GraphStore:
    """An open connection to the graph: ``run`` reads, ``write``/``write_batches`` write.

    Results come back as ``list[dict]`` (``Record.data()``: nodes/relationships become
    property dicts). Driver errors are raised as ``StoreError`` with the cause chained.
    """

    def __init__(self, driver: neo4j.Driver, database: str | None, *, uri: str = "",
                 config: StoreConfig | None = None,
                 server: emb.EmbeddedServer | None = None) -> None:
        self.driver = driver
        self.database = database
        self.uri = uri  # the Bolt URI actually connected to (never with credentials)
        self.config = config
        self.server = server  # the embedded server this store started (stopped on close)
        self.last_use_dir: Path | None = None  # a shared embedded store: mark its use on close

    def __repr__(self) -> str:
        return f"GraphStore(uri={self.uri!r}, database={self.database!r})"

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, cypher: str, /, **params: Any) -> list[dict[str, Any]]:
        """Run a read query and return its rows as dicts (read-only: see ``read``)."""
        return self.read(cypher, params)[1]

    def read(self, cypher: str, params: Mapping[str, Any] | None = None, *,
             convert: Callable[[neo4j.Record], Any] | None = None,
             ) -> tuple[list[str], list[Any]]:
        """Run a read and return (column names, rows). Read-only on every server: a statement
        with a writing clause is refused before it is sent, and the read runs in a read-mode
        transaction that is always rolled back, refused if its summary reports any change.
        ``convert`` turns each record into a row (default ``Record.data()``)."""
        return self.read_many([(cypher, params)], convert=convert)[0]

    def read_many(self, statements: Sequence[tuple[str, Mapping[str, Any] | None]], *,
                  convert: Callable[[neo4j.Record], Any] | None = None,
                  ) -> list[tuple[list[str], list[Any]]]:
        """Run several reads in one read transaction (one snapshot, one rollback), with the
        guarantees of ``read`` for each; returns (column names, rows) per statement. Every
        statement is checked before any is sent. Each result is fetched in one batch
        (``fetch_size=-1``): the rows are all kept anyway, and fewer PULL round trips cost less."""
        for cypher, _ in statements:
            readonly.check_statement(cypher)
        out: list[tuple[list[str], list[Any]]] = []
        try:
            with self.driver.session(database=self.database, fetch_size=-1,
                                     default_access_mode=neo4j.READ_ACCESS) as session:
                tx = session.begin_transaction()
                try:
                    for cypher, params in statements:
                        result = tx.run(cypher, dict(params or {}))
                        keys = list(result.keys())
                        rows = [convert(r) if convert else r.data() for r in result]
                        readonly.check_summary(result.consume())  # rolled back below
                        out.append((keys, rows))
                finally:
                    tx.rollback()  # a read has nothing to commit
                    tx.close()
        except (Neo4jError, DriverError) as exc:
            raise self._error(exc, "query failed") from exc
        return out

    def write(self, cypher: str, /, **params: Any) -> list[dict[str, Any]]:
        """Run one write statement in its own (retried) transaction; returns its rows."""
        return self._execute(cypher, params, neo4j.RoutingControl.WRITE)

    def write_batches(self, cypher: str, rows: Iterable[Mapping[str, Any]], /,
                      batch_size: int = 5000, progress: bool | None = None,
                      desc: str | None = None, **params: Any) -> int:
        """Send ``rows`` as ``$rows`` in batches, each in a write transaction retried on
        transient errors; other ``params`` go with every batch. Returns rows written."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        total = len(rows) if isinstance(rows, Sequence) else None
        bar = None
        if progress or (progress is None and total is not None and total > 10 * batch_size):
            from tqdm.auto import tqdm
            bar = tqdm(total=total, desc=desc or "writing", unit="row", leave=False)

        def work(tx: neo4j.ManagedTransaction, batch: list[Any]) -> None:
            tx.run(cypher, {**params, "rows": batch}).consume()

        written = 0
        try:
            with self.driver.session(database=self.database) as session:
                for batch in _chunks(rows, batch_size):
                    session.execute_write(work, batch)
                    written += len(batch)
                    if bar is not None:
                        bar.update(len(batch))
        except (Neo4jError, DriverError) as exc:
            raise self._error(exc, f"batched write failed after {written} rows") from exc
        finally:
            if bar is not None:
                bar.close()
        return written

    def close(self) -> None:
        """Close the driver, and stop the embedded server if this store started it."""
        try:
            self.driver.close()
            if self.last_use_dir is not None:
                background.touch(self.last_use_dir)
        finally:
            if self.server is not None:
                self.server.stop()
                self.server = None

    # -- internals -----------------------------------------------------------------------------
    def _execute(self, cypher: str, params: dict[str, Any],
                 routing: neo4j.RoutingControl) -> list[dict[str, Any]]:
        try:
            records, _, _ = self.driver.execute_query(
                cypher, params, database_=self.database, routing_=routing)
        except (Neo4jError, DriverError) as exc:
            raise self._error(exc, "query failed") from exc
        return [r.data() for r in records]

    def _error(self, exc: Exception, what: str) -> StoreError:
        if isinstance(exc, AuthError):
            return StoreError(f"authentication failed at {self.uri}")
        if isinstance(exc, ServiceUnavailable):
            # one line: the driver's text spans lines; an embedded store names its log
            cfg = self.config
            log_path = (self.server.log_file if self.server is not None else
                        Path(cfg.data_dir) / emb.LOG_FILE if cfg is not None and cfg.embedded
                        and cfg.data_dir is not None else None)
            where = f"; server log {log_path}" if log_path is not None else ""
            return StoreError(f"{what}: the graph store at {self.uri} stopped answering "
                              f"(did the server crash?){where}")
        return StoreError(f"{what}: {' '.join(str(exc).split())}")


def connect(uri: str, username: str | None, password: str | None,
            database: str | None, *, timeout: float = 30.0,
            config: StoreConfig | None = None,
            server: emb.EmbeddedServer | None = None) -> GraphStore:
    """Open a driver on ``uri``, verify it can log in, and wrap it in a GraphStore."""
    auth = (username, password) if username and password is not None else None
    try:
        driver = neo4j.GraphDatabase.driver(uri, auth=auth, connection_timeout=timeout,
                                            user_agent="ontochron")
    except (ValueError, DriverError) as exc:
        raise StoreError(f"bad graph store URI {_redact(uri)!r}: {exc}") from exc
    try:
        driver.verify_connectivity()
    except AuthError:
        driver.close()
        raise StoreError(f"authentication failed for user {username!r} at {uri} "
                         "(check NEO4J_USERNAME / NEO4J_PASSWORD)") from None
    except (ServiceUnavailable, DriverError, Neo4jError, OSError) as exc:
        driver.close()
        raise StoreError(f"cannot reach the graph store at {uri}: {exc}") from None
    return GraphStore(driver, database, uri=uri, config=config, server=server)


def open_store(uri: str | None = None, *, data_dir: str | os.PathLike[str] | None = None,
               username: str | None = None, password: str | None = None,
               database: str | None = None, config: StoreConfig | None = None,
               heap: str = "1g", start_timeout: float = 180.0,
               idle: float | None = None) -> GraphStore:
    """Open the configured store (see ``StoreConfig.resolve``). For ``embedded`` this reuses the
    server running on the same data dir (``store serve`` or a background one), else starts a
    background server that stops after ``idle`` seconds unused ($ONTOCHRON_STORE_IDLE, default
    300); with ``idle=0`` it starts a private server that ``close()`` stops."""
    cfg = config or StoreConfig.resolve(uri, data_dir=data_dir, username=username,
                                        password=password, database=database)
    if not cfg.embedded:
        return connect(cfg.uri, cfg.username, cfg.password, cfg.database, config=cfg)
    lock = emb.read_lock(cfg.data_dir)
    if lock is not None and not lock.ready:
        notice(f"waiting for the embedded store in {cfg.data_dir} to finish starting…")
    running = emb.wait_for_running(cfg.data_dir, timeout=start_timeout)
    secs = background.idle_seconds(idle)
    if running is None:
        notice(f"starting the embedded store in {cfg.data_dir} (takes a few seconds)…")
    if running is None and secs > 0:
        running = background.start(cfg.data_dir, idle=secs, heap=heap,
                                   database=cfg.database or emb.DEFAULT_DATABASE,
                                   timeout=start_timeout)
    if running is not None:
        log.info("reusing the embedded store served by pid %s on %s", running.pid,
                 running.bolt_uri)
        background.touch(cfg.data_dir)
        cfg = replace(cfg, database=running.database)
        store = connect(running.bolt_uri, emb.USERNAME, emb.read_password(cfg.data_dir),
                        cfg.database, config=cfg)
        store.last_use_dir = cfg.data_dir
        return store
    server = emb.EmbeddedServer(cfg.data_dir, heap=heap,
                                database=cfg.database or emb.DEFAULT_DATABASE)
    server.start(timeout=start_timeout)
    try:
        return connect(server.bolt_uri, server.username, server.password, server.database,
                       config=cfg, server=server)
    except BaseException:
        server.stop()
        raise


def config_from_args(args: argparse.Namespace) -> StoreConfig:
    """StoreConfig from the flags of ``ontochron.cli.options.add_store_arguments`` plus the
    environment."""
    return StoreConfig.resolve(getattr(args, "store", None),
                               data_dir=getattr(args, "data_dir", None),
                               database=getattr(args, "database", None))


def open_store_from_args(args: argparse.Namespace) -> GraphStore:
    """``open_store`` for a CLI command that called ``add_store_arguments``."""
    return open_store(config=config_from_args(args))
