"""The embedded store stays up between commands: the first one starts a detached server that
later ones reuse, which stops by itself after the idle time, or now with `store stop`."""

from __future__ import annotations

import json
import os
import time

from ontochron.cli import main
from ontochron.graph import background
from ontochron.graph import embedded as emb
from ontochron.graph.store import open_store


def _wait_gone(data, pid, limit=90.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if emb.read_lock(data) is None and not emb.pid_alive(pid):
            return True
        time.sleep(0.2)
    return False


def test_first_command_starts_it_later_ones_reuse_it_and_it_stops_when_idle(
        tmp_path, monkeypatch, capsys):
    data = tmp_path / "store"
    monkeypatch.setenv(background.IDLE_ENV, "4")
    monkeypatch.delenv("NEO4J_URI", raising=False)
    argv = ["query", "--cypher", "RETURN 1 AS one", "-f", "json", "--data-dir", str(data)]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == [{"one": 1}]
    first = emb.read_lock(data)
    assert first is not None and first.ready and emb.pid_alive(first.pid)
    assert first.owner_pid != os.getpid()  # detached: it outlives the command
    try:
        assert main(argv) == 0
        capsys.readouterr()
        again = emb.read_lock(data)
        assert again is not None and again.pid == first.pid  # reused, not restarted
        with open_store(data_dir=data) as store:  # an open connection keeps it up
            time.sleep(6)
            assert store.run("RETURN 2 AS two") == [{"two": 2}]
        assert _wait_gone(data, first.pid), "the idle server did not stop by itself"
    finally:
        emb.stop_running(data)


def test_store_stop_stops_the_background_server_now(tmp_path, monkeypatch, capsys):
    data = tmp_path / "store"
    monkeypatch.setenv(background.IDLE_ENV, "600")
    with open_store(data_dir=data) as store:
        assert store.server is None  # not ours to stop on close
    info = emb.read_lock(data)
    assert info is not None and emb.pid_alive(info.pid)
    try:
        assert main(["store", "status", "--data-dir", str(data)]) == 0
        assert main(["store", "stop", "--data-dir", str(data)]) == 0
        assert _wait_gone(data, info.pid, 30)
        assert main(["store", "status", "--data-dir", str(data)]) == 1
    finally:
        emb.stop_running(data)


def test_idle_time_validation(monkeypatch):
    monkeypatch.setenv(background.IDLE_ENV, "")
    assert background.idle_seconds() == background.DEFAULT_IDLE_S
    assert background.idle_seconds("2.5") == 2.5
    monkeypatch.setenv(background.IDLE_ENV, "soon")
    import pytest

    from ontochron.errors import StoreError
    with pytest.raises(StoreError, match="ONTOCHRON_STORE_IDLE"):
        background.idle_seconds()
