"""The graph store layer: embedded ArcadeDB over Bolt, locks, process hygiene, URI resolution,
password secrecy and the `store` CLI. Uses the real server (no database mocks)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import neo4j
import pytest

from ontochron.cli import main as cli_main
from ontochron.cli.options import add_store_arguments
from ontochron.errors import StoreError
from ontochron.graph import embedded as emb
from ontochron.graph.store import (
    EMBEDDED,
    StoreConfig,
    config_from_args,
    connect,
    open_store,
)

pytestmark = pytest.mark.graph
ROOT = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _server_pids(data_dir: Path) -> list[int]:
    """Brute force over /proc: every live ArcadeDB server process rooted at data_dir."""
    want = f"-Darcadedb.server.rootPath={data_dir.resolve()}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if want in args and emb.pid_alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def _wait_until(pred, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


# -- Cypher through the driver ----------------------------------------------------------------

def test_constraint_if_not_exists_is_idempotent_and_enforced(graph_store):
    q = "CREATE CONSTRAINT t_concept_id IF NOT EXISTS FOR (n:TConcept) REQUIRE n.cid IS UNIQUE"
    graph_store.write(q)
    graph_store.write(q)  # second time is a no-op, not an error
    graph_store.write("CREATE (:TConcept {cid: 7})")
    with pytest.raises(StoreError, match="(?i)duplicat|constraint"):
        graph_store.write("CREATE (:TConcept {cid: 7})")
    assert graph_store.run("MATCH (n:TConcept) RETURN count(n) AS c") == [{"c": 1}]


def test_unwind_merge_set_plus_equals_merges_properties(graph_store):
    q = "UNWIND $rows AS r MERGE (n:TNode {cid: r.cid}) SET n += r.props"
    graph_store.write(q, rows=[{"cid": 1, "props": {"a": 1, "b": "x"}},
                               {"cid": 2, "props": {"a": 2}}])
    # Second pass: updates a, adds c, must keep b (SET += merges, = would replace).
    graph_store.write(q, rows=[{"cid": 1, "props": {"a": 10, "c": True}}])
    got = graph_store.run("MATCH (n:TNode) RETURN n.cid AS cid, n.a AS a, n.b AS b, n.c AS c "
                          "ORDER BY cid")
    assert got == [{"cid": 1, "a": 10, "b": "x", "c": True},
                   {"cid": 2, "a": 2, "b": None, "c": None}]


def test_explicit_transaction_rollback_discards_and_commit_keeps(graph_store):
    with graph_store.driver.session(database=graph_store.database) as session:
        tx = session.begin_transaction()
        tx.run("CREATE (:TTx {v: 1})").consume()
        tx.rollback()
        tx = session.begin_transaction()
        tx.run("CREATE (:TTx {v: 2})").consume()
        tx.commit()
    assert graph_store.run("MATCH (n:TTx) RETURN n.v AS v") == [{"v": 2}]


def test_write_batches_sends_every_row_once_with_extra_params(graph_store):
    rows = ({"cid": i, "w": i * i} for i in range(53))  # a generator: no len()
    n = graph_store.write_batches(
        "UNWIND $rows AS r CREATE (:TB {cid: r.cid, w: r.w, run: $run})", rows,
        batch_size=7, run="r1")
    assert n == 53
    got = graph_store.run("MATCH (n:TB) RETURN count(n) AS c, sum(n.w) AS s, "
                          "count(DISTINCT n.cid) AS d, collect(DISTINCT n.run) AS runs")
    assert got == [{"c": 53, "s": sum(i * i for i in range(53)), "d": 53, "runs": ["r1"]}]


def test_bad_query_raises_store_error(graph_store):
    with pytest.raises(StoreError, match="query failed"):
        graph_store.run("MATCH (n RETURN n")


def test_graph_store_fixture_starts_empty(graph_store):
    assert graph_store.run("MATCH (n) RETURN count(n) AS c") == [{"c": 0}]


# -- locks and processes ----------------------------------------------------------------------

def test_second_server_on_live_data_dir_is_refused(bolt_server):
    second = emb.EmbeddedServer(bolt_server.data_dir)
    with pytest.raises(StoreError, match=rf"already served by pid {bolt_server.pid}"):
        second.start(timeout=30)
    assert not second.running
    assert bolt_server.running  # the refusal did not disturb the first one
    assert emb.read_lock(bolt_server.data_dir).pid == bolt_server.pid


def test_open_store_reuses_running_server(bolt_server):
    with open_store(EMBEDDED, data_dir=bolt_server.data_dir) as store:
        assert store.server is None  # connected to the running one, started nothing
        assert store.run("RETURN 41 + 1 AS x") == [{"x": 42}]
    assert bolt_server.running  # closing the client does not stop the shared server


def test_failed_start_reports_server_log_and_leaves_nothing(tmp_path):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    data = tmp_path / "busy"
    try:
        with pytest.raises(StoreError, match="(?s)server log .*Unable to listen for BOLT"):
            emb.EmbeddedServer(data, port=port).start(timeout=120)
    finally:
        blocker.close()
    assert _server_pids(data) == []
    assert not (data / emb.LOCK_FILE).exists()


def test_read_lock_rejects_dead_and_reused_pids(tmp_path):
    lock = tmp_path / emb.LOCK_FILE

    def plant(**kw):
        lock.write_text(json.dumps({"owner_pid": _dead_pid(), "bolt_port": 1, **kw}))

    assert emb.read_lock(tmp_path) is None  # no lock
    plant(pid=_dead_pid())
    assert emb.read_lock(tmp_path) is None  # dead server pid: stale
    plant(pid=os.getpid())
    assert emb.read_lock(tmp_path) is None  # live pid that is no ArcadeDB server: reused pid
    plant(pid=None, owner_pid=os.getpid())
    info = emb.read_lock(tmp_path)  # a live process is still starting its server
    assert info is not None and info.owner_pid == os.getpid()
    with pytest.raises(StoreError, match="already served"):
        emb.EmbeddedServer(tmp_path).start(timeout=5)
    lock.write_text("{not json")
    assert emb.read_lock(tmp_path) is None


def test_killed_parent_leaves_no_orphan_and_its_stale_lock_is_taken_over(tmp_path, caplog):
    data = tmp_path / "store"
    script = textwrap.dedent(f"""
        import json, sys, time
        from ontochron.graph.embedded import EmbeddedServer
        s = EmbeddedServer({str(data)!r}).start()
        print(json.dumps({{"pid": s.pid, "port": s.port}}), flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline()
        assert line, "the child never reported its server"
        first_pid = json.loads(line)["pid"]
        assert emb.pid_alive(first_pid) and emb.read_lock(data).pid == first_pid
        parent.send_signal(signal.SIGKILL)  # no atexit, no handler: only PDEATHSIG can help
        parent.wait(timeout=30)
        assert _wait_until(lambda: not emb.pid_alive(first_pid), 60), "orphaned ArcadeDB server"
    finally:
        if parent.poll() is None:
            parent.kill()
        for p in _server_pids(data):
            emb.terminate_process(p, 5)
    # The lock left behind names a dead server: stale, and a new server takes it over.
    assert (data / emb.LOCK_FILE).exists() and emb.read_lock(data) is None

    caplog.set_level(logging.DEBUG)
    server = emb.EmbeddedServer(data)
    server.start()
    try:
        pid = server.pid
        assert server.running and _server_pids(data) == [pid]
        info = emb.read_lock(data)
        assert info.pid == pid and info.bolt_port == server.port and info.ready
        assert info.owner_pid == os.getpid()
        password = server.password  # the same file as the first run: the root user matches
        assert len(password) >= 24
        assert (data / emb.PASSWORD_FILE).stat().st_mode & 0o777 == 0o600
        # The password never appears on the (world-readable) command line, in the log or lock.
        assert password.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert password not in server.log_file.read_text()
        assert password not in (data / emb.LOCK_FILE).read_text()
        assert password not in repr(server)
        leaked = [f for f in data.rglob("*") if f.is_file() and f.name != emb.PASSWORD_FILE
                  and password.encode() in f.read_bytes()]
        assert leaked == []  # ArcadeDB's own logs and config hold no clear-text password
        with neo4j.GraphDatabase.driver(server.bolt_uri, auth=("root", password)) as drv:
            recs, _, _ = drv.execute_query("RETURN 1 AS one", database_=server.database)
            assert recs[0]["one"] == 1
    finally:
        server.stop()
    assert not server.running
    assert not emb.pid_alive(pid)
    assert _server_pids(data) == []
    assert not (data / emb.LOCK_FILE).exists()
    assert password not in caplog.text
    assert "stale lock" in caplog.text


# -- the CLI --------------------------------------------------------------------------------

def test_cli_serve_status_stop(tmp_path, capsys):
    data = tmp_path / "served"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    serve = subprocess.Popen(
        [sys.executable, "-m", "ontochron", "store", "serve", "--port", "0",
         "--data-dir", str(data)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _wait_until(lambda: emb.read_lock(data) is not None
                           and emb.read_lock(data).bolt_port is not None
                           and cli_main(["store", "status", "--data-dir", str(data)]) == 0, 240), \
            "store serve did not come up"
        capsys.readouterr()
        assert cli_main(["store", "status", "--json", "--data-dir", str(data)]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["running"] is True and status["pid"] == emb.read_lock(data).pid
        java_pid = status["pid"]

        # Another command on the same data dir reuses it rather than starting a second one.
        with open_store(data_dir=data) as store:
            assert store.server is None
            assert store.uri == status["bolt_uri"]
            store.write("CREATE (:TServed {v: 3})")
            assert store.run("MATCH (n:TServed) RETURN n.v AS v") == [{"v": 3}]

        assert cli_main(["store", "stop", "--data-dir", str(data)]) == 0
        assert "stopped" in capsys.readouterr().out
        out, _ = serve.communicate(timeout=60)
        assert serve.returncode == 0
        assert "Bolt URI:" in out and emb.read_password(data) not in out
        assert not emb.pid_alive(java_pid) and _server_pids(data) == []
        assert cli_main(["store", "status", "--data-dir", str(data)]) == 1
        assert cli_main(["store", "stop", "--data-dir", str(data)]) == 1
    finally:
        if serve.poll() is None:
            serve.terminate()
            serve.wait(timeout=60)


def test_sigterm_to_serve_stops_server_and_releases_lock(tmp_path):
    data = tmp_path / "served"
    serve = subprocess.Popen(
        [sys.executable, "-m", "ontochron", "store", "serve", "--port", "0",
         "--data-dir", str(data)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        assert _wait_until(lambda: (i := emb.read_lock(data)) is not None and i.ready, 240), \
            "store serve did not come up"
        java_pid = emb.read_lock(data).pid
        serve.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=60)
        assert serve.returncode == 128 + signal.SIGTERM
        assert "ignored SIGTERM" not in out  # the server stopped at once, not after a SIGKILL
        assert not emb.pid_alive(java_pid) and _server_pids(data) == []
        assert not (data / emb.LOCK_FILE).exists()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(timeout=60)
        for p in _server_pids(data):
            emb.terminate_process(p, 5)


# -- configuration ----------------------------------------------------------------------------

def test_resolve_defaults_to_embedded():
    cfg = StoreConfig.resolve(env={})
    assert cfg.embedded and cfg.uri == EMBEDDED
    assert cfg.username == "root" and cfg.database == "ontochron"
    assert cfg.data_dir == Path(".ontochron/store")
    assert StoreConfig.resolve(env={"ONTOCHRON_DATA_DIR": "/x/y"}).data_dir == Path("/x/y")
    assert StoreConfig.resolve(data_dir="/a", env={"ONTOCHRON_DATA_DIR": "/x"}).data_dir \
        == Path("/a")


def test_resolve_from_neo4j_environment_and_flags_win():
    env = {"NEO4J_URI": "neo4j://db.example:7687", "NEO4J_USERNAME": "alice",
           "NEO4J_PASSWORD": "pw-env", "NEO4J_DATABASE": "graphs"}
    cfg = StoreConfig.resolve(env=env)
    assert (cfg.uri, cfg.username, cfg.password, cfg.database) == \
        ("neo4j://db.example:7687", "alice", "pw-env", "graphs")
    cfg = StoreConfig.resolve("bolt://other:7688", database="d2", env=env)
    assert (cfg.uri, cfg.username, cfg.database) == ("bolt://other:7688", "alice", "d2")
    assert StoreConfig.resolve("embedded", env=env).embedded  # the flag beats NEO4J_URI
    cfg = StoreConfig.resolve("bolt://bob:s3cr%40t@h:1", env={})
    assert (cfg.uri, cfg.username, cfg.password) == ("bolt://h:1", "bob", "s3cr@t")
    assert StoreConfig.resolve("bolt://h", env={}).username == "neo4j"
    assert StoreConfig.resolve("bolt://h", env={}).database is None


def test_resolve_rejects_bad_uri_without_echoing_password():
    with pytest.raises(StoreError, match="--store") as err:
        StoreConfig.resolve("http://u:topsecret@h:7474", env={})
    assert "topsecret" not in str(err.value)


def test_cli_store_flags(monkeypatch):
    monkeypatch.setenv("NEO4J_URI", "bolt://envhost:7687")
    monkeypatch.setenv("NEO4J_PASSWORD", "pw-from-env")
    parser = argparse.ArgumentParser()
    add_store_arguments(parser)
    cfg = config_from_args(parser.parse_args([]))
    assert cfg.uri == "bolt://envhost:7687" and cfg.password == "pw-from-env"
    cfg = config_from_args(parser.parse_args(["--store", "embedded", "--data-dir", "/d"]))
    assert cfg.embedded and cfg.data_dir == Path("/d")


# -- secrets ----------------------------------------------------------------------------------

def test_password_hidden_in_repr_and_str():
    cfg = StoreConfig(uri="bolt://h:1", username="u", password="hunter2-xyz")
    assert "hunter2-xyz" not in repr(cfg) and "hunter2-xyz" not in str(cfg)
    assert "***" in repr(cfg)


def test_wrong_password_error_and_logs_never_show_it(bolt_server, caplog):
    caplog.set_level(logging.DEBUG)  # includes the neo4j driver's own debug logging
    secret = "wrong-pass-0123456789"
    with pytest.raises(StoreError, match="authentication failed") as err:
        connect(bolt_server.bolt_uri, "root", secret, bolt_server.database, timeout=10)
    assert secret not in str(err.value) and secret not in repr(err.value)
    assert err.value.__cause__ is None or secret not in str(err.value.__cause__)
    real = bolt_server.password
    with connect(bolt_server.bolt_uri, "root", real, bolt_server.database) as store:
        assert store.run("RETURN 1 AS x") == [{"x": 1}]
        assert real not in repr(store)
    assert secret not in caplog.text and real not in caplog.text


def test_unreachable_store_is_a_clear_error(tmp_path):
    port = emb.free_port()  # nothing listens there
    with pytest.raises(StoreError, match=f"cannot reach the graph store at bolt://127.0.0.1:{port}"):
        open_store(f"bolt://u:pw-abc-123@127.0.0.1:{port}", data_dir=tmp_path)
    try:
        open_store(f"bolt://u:pw-abc-123@127.0.0.1:{port}", data_dir=tmp_path)
    except StoreError as exc:
        assert "pw-abc-123" not in str(exc)
