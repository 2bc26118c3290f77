"""``ontochron watch`` as a real subprocess against the real ArcadeDB Bolt test server: a
directory written checkpoint by checkpoint ends up as the graph a batch ingest of the same
checkpoints gives; restarts pick up where the graph is; SIGTERM mid-write finishes the
checkpoint and exits 0; half-written and unreadable checkpoints never reach the graph;
alerts and their hook; the TensorBoard scalars read back with TensorBoard's own reader."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ontochron.graph.ingest import ingest
from ontochron.ingest.readers import save_npz
from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.ontology import analyze
from ontochron.stepcounts import step_counts
from tests.test_graph_ingest import CONN, dump, structured_stack

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 180.0  # generous: a loaded 2-core host; only a hang hits it


def write_checkpoint(directory: Path, stack: CodeStack, t: int, *, atomic: bool = True) -> Path:
    """Checkpoint ``t`` of ``stack`` as ``step_<step>.npz`` (write-then-rename by default)."""
    snap = stack.snapshot(t)
    final = directory / f"step_{int(stack.steps[t])}.npz"
    tmp = directory / (f".{final.name}.tmp" if atomic else final.name)
    save_npz([snap], tmp)
    if atomic:
        os.replace(tmp, final)
    return final


def env_for(bolt_server, **extra: str) -> dict[str, str]:
    return dict(os.environ, NEO4J_USERNAME=bolt_server.username,
                NEO4J_PASSWORD=bolt_server.password, PYTHONPATH=str(ROOT), **extra)


def watch_cmd(bolt_server, directory: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ontochron", "watch", str(directory),
            "--store", bolt_server.bolt_uri, "--database", bolt_server.database,
            "--connection-null", "hypergeometric", *extra]


class Watch:
    """A running ``watch`` subprocess whose stdout lines are collected by a thread."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.err: list[str] = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines.put),
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.err.append),
                         daemon=True).start()

    @staticmethod
    def _read(stream, put) -> None:
        for line in stream:
            put(line.rstrip("\n"))

    def next_line(self) -> str:
        """The next stdout line (fails the test when none comes)."""
        try:
            line = self.lines.get(timeout=WAIT_S)
        except queue.Empty:
            self.stop()
            pytest.fail(f"watch printed nothing in time; stderr: {self.err}")
        self.seen.append(line)
        return line

    def wait(self) -> int:
        try:
            rc = self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"watch did not exit; stderr: {self.err}")
        time.sleep(0.1)  # let the reader threads drain
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return rc

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def line_steps(lines: list[str]) -> list[int]:
    return [int(ln.split()[1].rstrip(":")) for ln in lines if ln.startswith("step ")]


def batch_ref(graph_store, directory: Path, run: str = "ref") -> tuple:
    ingest(directory, run=run, store=graph_store, config=CONN, progress=False)
    return dump(graph_store, run)


# ------------------------------------------------------------------ tests


def test_watch_follows_checkpoints_as_written_and_equals_batch_ingest(
        graph_store, bolt_server, tmp_path):
    """Training writes checkpoints one by one (renamed into place, one written in place in
    slow chunks); watch appends each to the graph; the result equals a batch ingest."""
    stack = structured_stack(seed=4, n_steps=5, n=60)
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    (ckpts / "notes.txt").write_text("not a checkpoint")  # ignored, as by ingest
    w = Watch(watch_cmd(bolt_server, ckpts, "--run", "live", "--settle", "0.5",
                        "--until-step", str(int(stack.steps[-1]))), env_for(bolt_server))
    try:
        for t in range(stack.n_steps):
            if t == 2:  # written in place, in chunks with pauses shorter than --settle
                data_path = write_checkpoint(tmp_path, stack, t)
                data = data_path.read_bytes()
                target = ckpts / data_path.name
                with open(target, "wb") as fh:
                    for i in range(0, len(data), max(1, len(data) // 4)):
                        fh.write(data[i:i + max(1, len(data) // 4)])
                        fh.flush()
                        time.sleep(0.1)
            else:
                write_checkpoint(ckpts, stack, t)
            line = w.next_line()  # the graph holds step t before the next is written
            assert line.startswith(f"step {int(stack.steps[t])}:"), line
            assert "births=" in line and "active_features=" in line and "latency=" in line
        assert w.wait() == 0, w.err
    finally:
        w.stop()
    assert line_steps(w.seen) == stack.steps.tolist()
    assert not [e for e in w.err if "error" in e], w.err
    live = dump(graph_store, "live")
    assert live == batch_ref(graph_store, ckpts)
    # the first line's counts are those of the first checkpoint alone; later lines report
    # what the checkpoint added, from the analysis of every checkpoint so far
    first = dict(kv.split("=") for kv in w.seen[0].split()[2:] if "=" in kv)
    ont = analyze(CodeStack.from_snapshots([stack.snapshot(0)]), CONN, progress=False)
    assert int(first["active_features"]) == int(np.unique(stack.codes[0].indices).size)
    assert int(first["births"]) == ont.events.count("birth")


def test_restart_picks_up_where_the_graph_is(graph_store, bolt_server, tmp_path):
    stack = structured_stack(seed=5, n_steps=5, n=60)
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    for t in range(3):
        write_checkpoint(ckpts, stack, t)
    cmd = watch_cmd(bolt_server, ckpts, "--run", "rs", "--settle", "0", "--once")
    first = Watch(cmd, env_for(bolt_server))
    assert first.wait() == 0, first.err
    assert line_steps(first.seen) == stack.steps[:3].tolist()
    # nothing new: nothing printed or written; --idle-exit ends it
    again = Watch([a for a in cmd if a != "--once"] + ["--idle-exit", "1"],
                  env_for(bolt_server))
    assert again.wait() == 0, again.err
    assert line_steps(again.seen) == []
    for t in range(3, 5):
        write_checkpoint(ckpts, stack, t)
    second = Watch(cmd, env_for(bolt_server))
    assert second.wait() == 0, second.err
    assert line_steps(second.seen) == stack.steps[3:].tolist()  # only the new ones
    assert dump(graph_store, "rs") == batch_ref(graph_store, ckpts)


def test_sigterm_mid_write_finishes_the_checkpoint_and_exits_0(graph_store, bolt_server,
                                                               tmp_path):
    """SIGTERM while a sync is writing (slowed by the writer's test hook): the sync completes,
    watch exits 0, and the run is complete and equals a batch ingest; SIGINT when idle too."""
    stack = structured_stack(seed=6, n_steps=4, n=60)
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    for t in range(stack.n_steps):
        write_checkpoint(ckpts, stack, t)
    env = env_for(bolt_server, ONTOCHRON_TEST_PAUSE_AFTER_BATCHES="2",
                  ONTOCHRON_TEST_PAUSE_S="0.3")
    w = Watch(watch_cmd(bolt_server, ckpts, "--run", "term", "--settle", "0",
                        "--batch-size", "100"), env)
    try:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:  # until the first batches have landed
            n = graph_store.run("MATCH (c:Concept) WHERE c.run_id = 'term' "
                                "RETURN count(c) AS n")[0]["n"]
            if n > 0:
                break
            assert w.proc.poll() is None, w.err
            time.sleep(0.1)
        status = graph_store.run("MATCH (r:Run {run_id: 'term'}) RETURN r.status AS s")
        assert status[0]["s"] == "ingesting"  # really stopped mid-write
        w.proc.send_signal(signal.SIGTERM)
        assert w.wait() == 0, w.err
    finally:
        w.stop()
    assert line_steps(w.seen) == stack.steps.tolist()
    status = graph_store.run("MATCH (r:Run {run_id: 'term'}) RETURN r.status AS s")
    assert status[0]["s"] == "complete"
    assert dump(graph_store, "term") == batch_ref(graph_store, ckpts)
    idle = Watch(watch_cmd(bolt_server, ckpts, "--run", "term", "--settle", "0"),
                 env_for(bolt_server))
    try:
        time.sleep(1.0)
        deadline = time.monotonic() + WAIT_S
        while not any("watching" in e for e in idle.err) and time.monotonic() < deadline:
            time.sleep(0.1)
        idle.proc.send_signal(signal.SIGINT)
        assert idle.wait() == 0, idle.err
    finally:
        idle.stop()


def test_half_written_checkpoint_never_reaches_the_graph(graph_store, bolt_server, tmp_path):
    """A checkpoint cut off mid-write (its writer stalled past --settle) is reported, left out,
    and ingested once complete; a trainer's temporary name is never read."""
    stack = structured_stack(seed=7, n_steps=4, n=60)
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    for t in range(3):
        write_checkpoint(ckpts, stack, t)
    whole = write_checkpoint(tmp_path, stack, 3).read_bytes()
    partial = ckpts / f"step_{int(stack.steps[3])}.npz"
    partial.write_bytes(whole[: len(whole) // 2])
    (ckpts / f"tmp-step_{int(stack.steps[3]) + 100}.npz").write_bytes(b"\0" * 10)
    w = Watch(watch_cmd(bolt_server, ckpts, "--run", "half", "--settle", "0.3", "--polling",
                        "--poll", "0.2", "--until-step", str(int(stack.steps[3]))),
              env_for(bolt_server))
    try:
        for t in range(3):
            assert w.next_line().startswith(f"step {int(stack.steps[t])}:")
        deadline = time.monotonic() + WAIT_S
        while not any("left out" in e for e in w.err) and time.monotonic() < deadline:
            time.sleep(0.1)
        err = [e for e in w.err if "left out" in e]
        assert err and partial.name in err[0] and str(ckpts) in err[0]
        steps = graph_store.run("MATCH (r:Run {run_id: 'half'}) RETURN r.steps AS s")[0]["s"]
        assert steps == stack.steps[:3].tolist()  # the half-written one is not in the graph
        partial.write_bytes(whole)  # the writer finishes
        assert w.next_line().startswith(f"step {int(stack.steps[3])}:")
        assert w.wait() == 0, w.err
    finally:
        w.stop()
    (ckpts / f"tmp-step_{int(stack.steps[3]) + 100}.npz").unlink()  # batch ingest would read it
    assert dump(graph_store, "half") == batch_ref(graph_store, ckpts)


def _forgetting_stack() -> CodeStack:
    """Concept 'a' keeps its 6 features, then loses 5 of them at step 200 (forgetting)."""
    rng = np.random.default_rng(3)
    names = ["a"] + [f"c{i}" for i in range(30)]
    frames = []
    for t in range(3):
        x = rng.random((31, 24)) < 0.2
        x[0] = False
        x[0, :6] = True
        if t == 2:
            x[0, 1:6] = False
        frames.append(Snapshot.create(100 * t, names, x))
    return CodeStack.from_snapshots(frames)


def test_alerts_line_hook_and_exit_code(graph_store, bolt_server, tmp_path):
    stack = _forgetting_stack()
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    for t in range(stack.n_steps):
        write_checkpoint(ckpts, stack, t)
    out = tmp_path / "alerts.jsonl"
    hook = (f"{sys.executable} -c \"import json, os, sys; "
            f"open(sys.argv[1], 'a').write(json.dumps({{k: v for k, v in os.environ.items() "
            f"if k.startswith('ONTOCHRON_ALERT_')}}) + chr(10))\" '{out}'")
    ont = analyze(stack, CONN, progress=False)
    deaths_at = {s: int(np.count_nonzero((ont.events.kind == "death") & (ont.events.step == s)))
                 for s in stack.steps.tolist()}
    assert deaths_at[200] >= 5
    w = Watch(watch_cmd(bolt_server, ckpts, "--run", "forget", "--settle", "0", "--once",
                        "--alert", "concept-loses=0.75", "--alert", "deaths=4",
                        "--on-alert", hook, "--exit-on-alert"), env_for(bolt_server))
    assert w.wait() == 3, w.err
    alerts = [e for e in w.err if e.startswith("alert:")]
    assert any("concept 'a' lost 83%" in e for e in alerts), alerts
    assert any(e.startswith("alert: deaths:") and "step 200" in e for e in alerts), alerts
    got = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert {(g["ONTOCHRON_ALERT_RULE"], g["ONTOCHRON_ALERT_STEP"]) for g in got} >= {
        ("concept-loses", "200"), ("deaths", "200")}
    loses = next(g for g in got if g["ONTOCHRON_ALERT_RULE"] == "concept-loses")
    assert loses["ONTOCHRON_ALERT_CONCEPT"] == "a" and loses["ONTOCHRON_ALERT_RUN"] == "forget"
    # no alert below the thresholds; bad rules are refused with exit 2
    quiet = Watch(watch_cmd(bolt_server, ckpts, "--run", "forget", "--settle", "0", "--once",
                            "--alert", f"deaths={max(deaths_at.values())}"),
                  env_for(bolt_server))
    assert quiet.wait() == 0 and not [e for e in quiet.err if e.startswith("alert:")]
    bad = Watch(watch_cmd(bolt_server, ckpts, "--once", "--alert", "forgets=1"),
                env_for(bolt_server))
    assert bad.wait() == 2 and any("--alert 'forgets=1'" in e for e in bad.err), bad.err


def _scalars(logdir: Path) -> dict[str, dict[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return {tag: {e.step: e.value for e in acc.Scalars(tag)}
            for tag in acc.Tags()["scalars"]}


def test_tensorboard_scalars_load_in_tensorboards_reader(graph_store, bolt_server, tmp_path):
    stack = structured_stack(seed=8, n_steps=4, n=60)
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    for t in range(stack.n_steps):
        write_checkpoint(ckpts, stack, t)
    want = step_counts(analyze(stack, CONN, progress=False), stack)
    env = env_for(bolt_server)
    common = ["--store", bolt_server.bolt_uri, "--database", bolt_server.database,
              "--connection-null", "hypergeometric", "--quiet"]
    for cmd, logdir in (
            (["ingest", str(ckpts), "--run", "tb", *common], tmp_path / "tb-ingest"),
            (["analyze", str(ckpts), "--out", str(tmp_path / "an"),
              "--connection-null", "hypergeometric", "--quiet"], tmp_path / "tb-analyze")):
        proc = subprocess.run([sys.executable, "-m", "ontochron", *cmd, "--tensorboard",
                               str(logdir)], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=WAIT_S)
        assert proc.returncode == 0, proc.stderr
        got = _scalars(logdir)
        for name in ("births", "deaths", "active_features", "connections_formed",
                     "connections_broken", "phase_transitions"):
            assert got[f"ontochron/{name}"] == {
                int(s): pytest.approx(float(v)) for s, v in zip(stack.steps, want[name],
                                                                strict=True)}, name
    assert sum(want["births"]) > 0 and sum(want["connections_formed"]) > 0
    # watch writes each checkpoint's values once, as it reaches the graph
    w = Watch(watch_cmd(bolt_server, ckpts, "--run", "tbw", "--settle", "0", "--once",
                        "--tensorboard", str(tmp_path / "tb-watch")), env)
    assert w.wait() == 0, w.err
    got = _scalars(tmp_path / "tb-watch")
    assert sorted(got["ontochron/births"]) == stack.steps.tolist()
    assert got["ontochron/active_features"] == {
        int(s): float(v) for s, v in zip(stack.steps, want["active_features"], strict=True)}


def test_monitor_in_a_torch_training_loop_equals_batch_ingest(graph_store, tmp_path):
    """The Python API: each log() writes the step's snapshot and appends it to the graph
    through watch's path; the graph equals a batch ingest of the snapshots it wrote."""
    import torch

    from ontochron.ingest.extractors import BinaryExtractor
    from ontochron.watch import Monitor

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Sigmoid())
    probes = {f"concept {i}": torch.randn(6, 8) + i % 3 for i in range(12)}
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    fired = []
    with Monitor("mon", tmp_path / "snaps", extractor=BinaryExtractor(), probes=probes,
                 store=graph_store, config=CONN, alerts=["deaths=0"],
                 on_alert=fired.append, tensorboard=tmp_path / "tb") as mon:
        for step in range(0, 50, 10):
            x = torch.randn(32, 8)
            loss = (model(x) - (x[:, :1] > 0).float()).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            changes = mon.log(step, model)
            assert [c.step for c in changes] == [step]
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == sorted(
        f"step_{s}.npz" for s in range(0, 50, 10))  # no temporary file left behind
    assert dump(graph_store, "mon") == batch_ref(graph_store, tmp_path / "snaps")
    deaths = graph_store.run("MATCH (e:Death) WHERE e.run_id = 'mon' RETURN e.step AS s")
    assert deaths and sorted({a.step for a in fired}) == sorted({r["s"] for r in deaths})
    assert sorted(_scalars(tmp_path / "tb")["ontochron/births"]) == list(range(0, 50, 10))


def test_scanner_settle_marker_and_temporary_names(tmp_path):
    from ontochron.watch.ready import Scanner

    stack = structured_stack(seed=9, n_steps=2, n=20)
    write_checkpoint(tmp_path, stack, 0)
    (tmp_path / "tmp-checkpoint-5").mkdir()  # a trainer's folder before its rename
    (tmp_path / "step_9.npz.part").write_bytes(b"x")
    (tmp_path / "README.md").write_text("x")
    (tmp_path / "checkpoint-7").mkdir()  # a folder checkpoint being written
    (tmp_path / "checkpoint-7" / "sae_weights.safetensors").write_bytes(b"x")
    ready, wait, pending = Scanner(tmp_path, settle=0.0).scan()
    assert sorted(ready) == ["checkpoint-7", "step_0.npz"] and wait is None
    marked = Scanner(tmp_path, settle=0.0, marker="COMPLETE")
    ready, _, pending = marked.scan()
    assert ready == {} and sorted(pending) == ["checkpoint-7", "step_0.npz"]
    (tmp_path / "checkpoint-7" / "COMPLETE").write_text("")
    (tmp_path / "step_0.npzCOMPLETE").write_text("")
    assert sorted(marked.scan()[0]) == ["checkpoint-7", "step_0.npz"]
    slow = Scanner(tmp_path, settle=3600.0)  # files just written are not settled yet
    ready, wait, pending = slow.scan()
    assert ready == {} and wait is not None and 0 < wait <= 3600
    old = time.time() - 7200
    for p in (tmp_path / "step_0.npz", tmp_path / "checkpoint-7" / "sae_weights.safetensors",
              tmp_path / "checkpoint-7" / "COMPLETE"):
        os.utime(p, (old, old))
    assert sorted(slow.scan()[0]) == ["checkpoint-7", "step_0.npz"]  # a restart: old files
    with open(tmp_path / "step_0.npz", "ab") as fh:  # written again: not settled any more
        fh.write(b"more")
    assert "step_0.npz" in slow.scan()[2]


def test_watch_sae_folders_with_a_marker_equals_batch_ingest(graph_store, bolt_server,
                                                             tmp_path):
    """Per-checkpoint SAE folders with probe activations (lineage space), each moved in and
    then marked COMPLETE: lines carry the lineage counts; the graph equals a batch ingest."""
    from tests.test_lineage_pipeline import write_probe_run

    steps = (0, 100, 200)
    src = tmp_path / "written"
    write_probe_run(src, steps=steps)
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    w = Watch(watch_cmd(bolt_server, ckpts, "--run", "sae", "--settle", "0", "--marker",
                        "COMPLETE", "--until-step", "200", "--tensorboard",
                        str(tmp_path / "tb")), env_for(bolt_server))
    try:
        for step in steps:
            os.rename(src / f"step_{step}", ckpts / f"step_{step}")
            time.sleep(0.5)  # not complete yet: no marker
            (ckpts / f"step_{step}" / "COMPLETE").write_text("")
            line = w.next_line()
            assert line.startswith(f"step {step}:") and "splits=" in line and "merges=" in line
        assert w.wait() == 0, w.err
    finally:
        w.stop()
    assert "mean_drift=" in w.seen[1] and "mean_drift=" not in w.seen[0]
    assert dump(graph_store, "sae") == batch_ref(graph_store, ckpts)
    tags = _scalars(tmp_path / "tb")
    assert sorted(tags["ontochron/lineage_births"]) == list(steps)
    assert 0 < tags["ontochron/mean_drift"][100] < 1


@pytest.mark.parametrize("args,needle", [
    (["{missing}"], "not a directory"),
    (["{dir}", "--settle", "-1"], "--settle must be >= 0"),
    (["{dir}", "--alert", "deaths=1.5"], "whole number"),
    (["{dir}", "--alert", "concept-loses=2"], "fraction in (0, 1]"),
    (["{dir}", "--on-alert", "notify 'unclosed"], "--on-alert"),
])
def test_bad_watch_options_exit_2_with_one_line(tmp_path, capsys, args, needle):
    from ontochron.cli import main

    argv = [a.format(missing=tmp_path / "nope", dir=tmp_path) for a in args]
    assert main(["watch", *argv, "--store", "bolt://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and err[0].startswith("ontochron watch: error:")


def test_follower_reopens_a_store_whose_connection_was_lost(graph_store, store_target,
                                                            tmp_path):
    """A long watch outlives a connection (an idle embedded store that stopped, a restarted
    server): the sync is retried once on a reopened store, and the run stays exact."""
    from ontochron.graph.store import connect
    from ontochron.watch.follow import Follower

    def fresh():
        return connect(store_target.uri, store_target.username, store_target.password,
                       store_target.database, config=store_target)

    stack = structured_stack(seed=10, n_steps=2, n=40)
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    first = fresh()
    follower = Follower(ckpts, first, run="reopen", config=CONN, reopen=fresh)
    try:
        write_checkpoint(ckpts, stack, 0)
        assert [c.step for c in follower.sync(["step_0.npz"]).changes] == [0]
        first.driver.close()  # the connection is gone
        write_checkpoint(ckpts, stack, 1)
        changes = follower.sync(["step_0.npz", "step_100.npz"]).changes
        assert [c.step for c in changes] == [100] and follower.store is not first
    finally:
        follower.store.close()
    assert dump(graph_store, "reopen") == batch_ref(graph_store, ckpts)
