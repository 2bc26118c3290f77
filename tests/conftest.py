"""Shared fixtures: one embedded ArcadeDB Bolt server per test session (`bolt_server`) and a
`GraphStore` on an emptied graph per test (`graph_store`). A server that cannot start fails
the tests that need it (never a skip).

Set ONTOCHRON_TEST_NEO4J_URI (with ONTOCHRON_TEST_NEO4J_USERNAME/_PASSWORD/_DATABASE) to run
the `graph_store` tests against a real Neo4j instead, e.g. the one from docker-compose.yml.
Nodes are deleted between tests; schema (constraints, indexes) persists for the session, so
create it with IF NOT EXISTS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ontochron.graph.embedded import EmbeddedServer
from ontochron.graph.store import GraphStore, StoreConfig, connect

# Generous: the machine is small and shared, and a cold JVM can take a while under load.
START_TIMEOUT_S = 240.0


@pytest.fixture(scope="session")
def bolt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """One ArcadeDB server (Bolt on 127.0.0.1, free port) for the whole test session."""
    server = EmbeddedServer(tmp_path_factory.mktemp("arcadedb"), heap="1g")
    try:
        server.start(timeout=START_TIMEOUT_S)
    except Exception as exc:  # turned into a clear failure of every graph test
        server.stop()
        pytest.fail(f"the ArcadeDB Bolt test server could not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def store_target(request: pytest.FixtureRequest) -> StoreConfig:
    """Where `graph_store` connects: $ONTOCHRON_TEST_NEO4J_URI, else the session server."""
    uri = os.environ.get("ONTOCHRON_TEST_NEO4J_URI")
    if uri:
        return StoreConfig(uri=uri,
                           username=os.environ.get("ONTOCHRON_TEST_NEO4J_USERNAME", "neo4j"),
                           password=os.environ.get("ONTOCHRON_TEST_NEO4J_PASSWORD"),
                           database=os.environ.get("ONTOCHRON_TEST_NEO4J_DATABASE") or None)
    server: EmbeddedServer = request.getfixturevalue("bolt_server")
    return StoreConfig(uri=server.bolt_uri, username=server.username, password=server.password,
                       database=server.database, data_dir=server.data_dir)


@pytest.fixture
def graph_store(store_target: StoreConfig) -> Iterator[GraphStore]:
    """A GraphStore on an empty graph (all nodes and relationships deleted before the test)."""
    store = connect(store_target.uri, store_target.username, store_target.password,
                    store_target.database, config=store_target)
    try:
        store.write("MATCH (n) DETACH DELETE n")
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def hand_store(store_target):
    """The hand-built run of tests/test_queries.py (plus a copy under another run id, to prove
    run scoping), shared by the query, export and Bloom tests."""
    from ontochron.graph.store import connect
    from tests.test_queries import ingest_hand_run

    store = connect(store_target.uri, store_target.username, store_target.password,
                    store_target.database, config=store_target)
    try:
        store.write("MATCH (n) DETACH DELETE n")
        ingest_hand_run(store)
        ingest_hand_run(store, "other run")
        yield store
    finally:
        store.close()


# Commands under test run and stop their own embedded server unless a test asks for the
# background one (tests/test_store_background.py sets a short idle time itself).
os.environ["ONTOCHRON_STORE_IDLE"] = "0"


def _our_servers(root: str) -> list[int]:
    """Pids of ArcadeDB servers or store keepers whose data dir is under ``root``."""
    from pathlib import Path

    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = [a.decode(errors="replace") for a in args]
        if any(a.startswith(f"-Darcadedb.server.rootPath={root}") for a in text) or (
                "ontochron.graph.background" in text
                and any(a.startswith(root) for a in text)):
            pids.append(int(proc.name))
    return pids


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Nothing the tests started may outlive them: fail the run if a server is left, and stop
    it (only servers on this session's temporary folders are looked at)."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    try:
        root = str(factory.getbasetemp())
    except Exception:  # no temporary folder was made: nothing can be left
        return
    import time

    from ontochron.graph.embedded import pid_alive

    end = time.monotonic() + 15  # a keeper whose server just stopped may still be exiting
    while (left := [p for p in _our_servers(root) if pid_alive(p)]) and time.monotonic() < end:
        time.sleep(0.2)
    if left:
        from ontochron.graph.embedded import terminate_process

        for pid in left:
            terminate_process(pid, 10)
        session.exitstatus = 1
        print(f"\nERROR: the tests left store processes running (stopped now): {left}")
