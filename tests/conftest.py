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
