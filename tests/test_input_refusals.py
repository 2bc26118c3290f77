"""Every malformed input of issue 12 is refused at load time: one line naming the file and
the step / concept / field, exit code 2, no traceback, nothing written; the Python API raises
InputError with the same text."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from ontochron.cli import main as cli_main
from ontochron.errors import InputError
from ontochron.ingest.readers import load_snapshots, load_stack, save_npz
from ontochron.ingest.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[1]


def _json(path: Path, steps: list, codes: dict | None = None) -> Path:
    codes = codes or {"a": [0, 1, 1], "b": [1, 0, 1]}
    path.write_text(json.dumps([{"step": s, "codes": codes} for s in steps]))
    return path


def _refused(capsys, path: Path, tmp_path: Path, *match: str) -> str:
    """CLI analyze and the Python loader both refuse ``path`` with the same one-line text."""
    out = tmp_path / "out"
    code = cli_main(["analyze", str(path), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(path) in err
    assert not out.exists()  # nothing written
    with pytest.raises(InputError) as info:
        load_stack(path)
    assert str(info.value) in err  # the same text as the API's
    for m in match:
        assert m in err, err
    assert "np." not in err  # plain values, no numpy reprs
    return err


@pytest.mark.parametrize("step", [10**30, -1, 2**56])
def test_out_of_range_steps_refused(tmp_path, capsys, step):
    err = _refused(capsys, _json(tmp_path / "s.json", [0, step]), tmp_path, str(step),
                   "[0, 2**56)", "snapshot #1")
    assert "OverflowError" not in err


def test_largest_step_accepted(tmp_path):
    stack = load_stack(_json(tmp_path / "s.json", [0, 2**56 - 1]))
    assert stack.steps.tolist() == [0, 2**56 - 1]


def test_out_of_range_steps_in_npz(tmp_path, capsys):
    p = tmp_path / "s.npz"
    np.savez(p, steps=np.array([1, 2**60], dtype=np.int64), concepts=np.array(["a"]),
             codes=np.zeros((2, 1, 3)))
    _refused(capsys, p, tmp_path, str(2**60), "[0, 2**56)")
    np.savez(p, steps=np.array([2**64 - 1], dtype=np.uint64), concepts=np.array(["a"]),
             codes=np.zeros((1, 1, 3)))
    _refused(capsys, p, tmp_path, "out of range")


def test_string_step_refused(tmp_path, capsys):
    _refused(capsys, _json(tmp_path / "s.json", ["10"]), tmp_path, "the string '10'",
             "snapshot #0")
    assert load_stack(_json(tmp_path / "f.json", [10.0])).steps.tolist() == [10]


def test_zero_feature_codes_refused(tmp_path, capsys):
    _refused(capsys, _json(tmp_path / "z.json", [1], {"a": [], "b": []}), tmp_path,
             "no features", "step 1", "'a'")
    with pytest.raises(InputError, match="no features"):
        Snapshot.create(3, ["a"], np.zeros((1, 0)))


def test_messages_show_plain_values(tmp_path, capsys):
    p = tmp_path / "n.npz"
    np.savez(p, steps=[1], concepts=np.array(["a"]), codes=np.array([[[0.0, np.nan]]]))
    _refused(capsys, p, tmp_path, "has nan", "step 1", "'a'")
    np.savez(p, steps=[1], concepts=np.array(["a"]), codes=np.array([[[0, 2]]]))
    _refused(capsys, p, tmp_path, "has 2")
    with pytest.raises(InputError) as info:
        Snapshot.create(np.int64(4), ["a"], np.array([[np.float64(0.5)]]))
    assert "np." not in str(info.value) and "0.5" in str(info.value)
    with pytest.raises(InputError) as info:
        Snapshot.create(np.float64(1.5), ["a"], np.ones((1, 1)))
    assert "np." not in str(info.value) and "1.5" in str(info.value)


def test_non_numeric_codes_name_step_and_concept(tmp_path, capsys):
    p = _json(tmp_path / "c.json", [7], {"a": [0, 1], "b": [1, "x"]})
    _refused(capsys, p, tmp_path, "numeric 0/1", "step 7", "concept 'b'", "feature 1")
    p = tmp_path / "u.npz"
    np.savez(p, steps=[3], concepts=np.array(["a"]), codes=np.array([[["0", "1"]]]))
    _refused(capsys, p, tmp_path, "numeric 0/1", "step 3", "concept 'a'")
    p = _json(tmp_path / "big.json", [2], {"a": [0, 10**30]})
    _refused(capsys, p, tmp_path, "binary (0/1)", "step 2", "'a'")


def test_checkpoint_file_points_to_extraction(tmp_path, capsys):
    p = tmp_path / "model_step100.pt"
    p.write_bytes(b"\x80\x02not really a checkpoint")
    err = _refused(capsys, p, tmp_path, "model checkpoint", "docs/ingest.md")
    assert "format=" not in err.split("(format= in Python)")[0].replace("--format", "")
    txt = tmp_path / "x.txt"
    txt.write_text("hi")
    err = _refused(capsys, txt, tmp_path, "--format")
    assert "pass format=" not in err


def test_analyze_accepts_a_list_of_snapshots(tmp_path):
    from ontochron.ontology import OntologyConfig, analyze

    snaps = load_snapshots(_json(tmp_path / "l.json", [0, 1, 2]))
    cfg = OntologyConfig(structure=False)
    got = analyze(snaps, cfg, progress=False)
    want = analyze(load_stack(tmp_path / "l.json"), cfg, progress=False)
    assert got.summary == want.summary and got.summary["n_steps"] == 3
    assert analyze(snaps, compat="reptimeline", progress=False).summary["n_steps"] == 3
    with pytest.raises(InputError, match="list of Snapshots"):
        analyze([1, 2], cfg, progress=False)
    with pytest.raises(InputError, match="load_stack"):
        analyze("snapshots.json", cfg, progress=False)


# ------------------------------------------------------------------------- BinaryExtractor

def test_binary_extractor_warns_on_logits_and_takes_logits_mode():
    from ontochron.ingest.extractors import BinaryExtractor

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (10, 32))
    probs = 1 / (1 + np.exp(-logits))
    want = probs > 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(BinaryExtractor().encode(probs)[0], want)  # no warning
        on, cont = BinaryExtractor(logits=True).encode(logits)
        assert np.array_equal(on, want) and np.array_equal(cont, logits)
        on = BinaryExtractor(0.8, logits=True).encode(logits)[0]
        assert np.array_equal(on, probs > 0.8)
    ext = BinaryExtractor()
    with pytest.warns(UserWarning, match="logits=True"):
        wrong = ext.encode(logits)[0]
    assert np.count_nonzero(wrong != want) > 0  # what the warning is about
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ext.encode(logits)  # warned once per extractor
        BinaryExtractor(threshold=0.0).encode(logits)  # a threshold on the input's scale
    with pytest.raises(InputError, match="probability"):
        BinaryExtractor(threshold=0.0, logits=True)


# ------------------------------------------------------------------------- server crash

def _structured(path: Path) -> None:
    from tests.test_graph_ingest import structured_stack

    save_npz(structured_stack(seed=6, n_steps=4), path)


def test_server_crash_mid_write_is_one_clear_line(tmp_path):
    """SIGKILL our own embedded server while a CLI ingest writes to it (never the session's
    shared server): one line naming the store and its server log, exit 2, no driver noise."""
    from ontochron.graph.embedded import EmbeddedServer

    src = tmp_path / "run.npz"
    _structured(src)
    data_dir = tmp_path / "store"
    server = EmbeddedServer(data_dir, heap="512m")
    server.start(timeout=240)
    try:
        env = dict(os.environ, PYTHONPATH=str(ROOT), ONTOCHRON_TEST_PAUSE_AFTER_BATCHES="2",
                   ONTOCHRON_TEST_PAUSE_S="4")
        cmd = [sys.executable, "-m", "ontochron", "ingest", str(src), "--run", "crash",
               "--store", "embedded", "--data-dir", str(data_dir), "--batch-size", "300",
               "--quiet", "--connection-null", "hypergeometric"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=ROOT, text=True)
        try:
            deadline = time.monotonic() + 180
            log = server.log_file
            while time.monotonic() < deadline and proc.poll() is None:
                if "crash" in _concepts_written(server):
                    break
                time.sleep(0.3)
            assert proc.poll() is None, proc.communicate()
            os.kill(server.pid, signal.SIGKILL)  # the server dies mid-write
            out, err = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        server.stop()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert proc.returncode == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err and "neo4j" not in err.split(":", 1)[0]
    assert "ERROR neo4j" not in err
    assert str(log) in lines[0]


def _concepts_written(server) -> str:
    """'crash' once some Concept of run 'crash' is in the store (read through the driver)."""
    import neo4j

    try:
        with neo4j.GraphDatabase.driver(server.bolt_uri,
                                        auth=(server.username, server.password)) as drv:
            recs, _, _ = drv.execute_query("MATCH (c:Concept) WHERE c.run_id = 'crash' "
                                           "RETURN count(c) AS n", database_=server.database)
            return "crash" if recs[0]["n"] > 0 else ""
    except neo4j.exceptions.Neo4jError:
        return ""


# ------------------------------------------------------------------------- compat scope

def test_compat_honours_no_structure_and_structure_at_last(tmp_path):
    """--compat reptimeline: --no-structure skips discovery (reptimeline without
    --discover), --structure-at last runs it on the last snapshot only (its --discover);
    the tracker's results and connection intervals are the same in every scope."""
    import sys as _sys

    _sys.path.insert(0, str(ROOT / "bench"))
    from bench_vs_reptimeline import generate

    src = tmp_path / "run.npz"
    save_npz([Snapshot.create(s, c, x) for s, c, x in generate(60, 48, 5, 1, 0.1)], src)
    sums = {}
    for name, flags in (("all", []), ("last", ["--structure-at", "last"]),
                        ("none", ["--no-structure"])):
        out = tmp_path / name
        assert cli_main(["analyze", str(src), "--compat", "reptimeline", "--out", str(out),
                         "--quiet", *flags]) == 0
        sums[name] = json.loads((out / "summary.json").read_text())
    assert [sums[k]["discovery"] for k in ("all", "last", "none")] == ["all", "last", "none"]
    for key in ("births", "deaths", "connections", "connection_intervals",
                "phase_transitions"):
        assert sums["all"][key] == sums["last"][key] == sums["none"][key]
    for key in ("duals", "dependencies", "triads"):  # the last snapshot's lists
        assert sums["all"][key] == sums["last"][key]
        assert sums["none"][key] == 0
    assert sums["all"]["dependencies"] > 0
    # discovery on the last snapshot only: one open interval per relation
    assert sums["last"]["dependencies_intervals"] == sums["last"]["dependencies"]
    assert sums["all"]["dependencies_intervals"] >= sums["last"]["dependencies_intervals"]
    assert sums["none"]["dependencies_intervals"] == 0
