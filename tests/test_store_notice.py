"""The first command that starts the embedded store says so on stderr (issue 20, item 6: it
used to be silent for 7-15 s); a command that finds the store running says nothing."""

from __future__ import annotations

import pytest

from ontochron.cli import main


@pytest.fixture
def no_env_store(monkeypatch):
    for name in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE",
                 "ONTOCHRON_STORE", "ONTOCHRON_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_starting_the_embedded_store_is_announced(tmp_path, capsys, no_env_store):
    data = tmp_path / "store"
    assert main(["query", "--cypher", "RETURN 1 AS x", "--data-dir", str(data)]) == 0
    out, err = capsys.readouterr()
    assert f"ontochron: starting the embedded store in {data}" in err
    assert "starting" not in out and "1" in out        # stdout keeps the result only


def test_a_running_store_is_not_announced(bolt_server, capsys, no_env_store):
    assert main(["query", "--cypher", "RETURN 1 AS x", "--data-dir",
                 str(bolt_server.data_dir)]) == 0
    assert "starting the embedded store" not in capsys.readouterr().err


def test_quiet_commands_stay_quiet(tmp_path, capsys, no_env_store):
    assert main(["export", "--data-dir", str(tmp_path / "s"), "-f", "json", "-o",
                 str(tmp_path / "x.jsonl")]) == 2      # an empty store: no run to export
    assert "starting the embedded store" in capsys.readouterr().err
    assert main(["plot", "--run", "r", "--data-dir", str(tmp_path / "s2"), "--out",
                 str(tmp_path / "p"), "--quiet"]) == 2
    assert "starting the embedded store" not in capsys.readouterr().err
