"""--scheduler on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
127.0.0.1 started here (the distributed CLI entry points), the same files as the in-process
run for analyze and lineage (workers reading their files, or receiving the arrays), a worker
killed mid-run (same files), an unreachable scheduler (exit 2, one line, nothing written)."""

from __future__ import annotations

import filecmp
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ontochron.cli import main
from ontochron.ingest.readers import save_npz, save_reptimeline_json
from tests.lineage_planted import WRITERS, planted
from tests.synthetic import drifting_stack

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).parent / "dask"
START_TIMEOUT_S = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    return env


def start_worker(address: str, log: Path) -> subprocess.Popen:
    """One single-threaded `dask worker` (no nanny: killing it kills the worker)."""
    with open(log, "ab") as fh:
        return subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny",
                                 "--host", "127.0.0.1", "--no-dashboard"],
                                stdout=fh, stderr=subprocess.STDOUT, env=_env(), cwd=ROOT)


def _stop(procs: list[subprocess.Popen]) -> None:
    """Workers killed (they hold nothing worth a graceful exit), then the scheduler stopped."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGKILL if p is not procs[0] else signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _client(address: str):
    from distributed import Client

    return Client(address, timeout="30s", set_as_default=False)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tcp:// address of a `dask scheduler` with two `dask worker` processes on 127.0.0.1."""
    logs = tmp_path_factory.mktemp("dask-logs")
    address = f"tcp://127.0.0.1:{_free_port()}"
    procs: list[subprocess.Popen] = []
    try:
        with open(logs / "scheduler.log", "wb") as fh:
            procs.append(subprocess.Popen(
                [str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                 address.rsplit(":", 1)[1], "--no-dashboard"],
                stdout=fh, stderr=subprocess.STDOUT, env=_env(), cwd=ROOT))
        client = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while client is None:
            try:
                client = _client(address)
            except OSError:
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    pytest.fail("dask scheduler did not start:\n"
                                + (logs / "scheduler.log").read_text(), pytrace=False)
        procs += [start_worker(address, logs / f"worker{i}.log") for i in range(2)]
        try:
            client.wait_for_workers(2, timeout=START_TIMEOUT_S)
        finally:
            client.close()
        yield address
    finally:
        _stop(procs)


def _ran_on(address: str) -> set[str]:
    """Task name prefixes the scheduler has seen (proof that a run used the cluster)."""
    with _client(address) as c:
        return set(c.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes)))


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert names
    for n in names:
        assert filecmp.cmp(a / n, b / n, shallow=False), n


@pytest.fixture(scope="module")
def npz_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with one npz file per checkpoint (so workers can read their own)."""
    d = tmp_path_factory.mktemp("npzrun")
    stack = drifting_stack(10, 240, 160, density=0.05, drift=0.05, seed=3)
    for t in range(stack.n_steps):
        save_npz([stack.snapshot(t)], d / f"ckpt_{t:03d}.npz")
    return d


@pytest.fixture(scope="module")
def json_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same kind of run as one reptimeline JSON (tasks receive their codes)."""
    path = tmp_path_factory.mktemp("jsonrun") / "run.json"
    save_reptimeline_json(drifting_stack(8, 200, 120, density=0.06, drift=0.05, seed=4), path)
    return path


@pytest.mark.parametrize("source", ["npz_run", "json_run"])
def test_analyze_on_a_scheduler_writes_the_in_process_files(dask_cluster, source, request,
                                                            tmp_path):
    src = request.getfixturevalue(source)
    base = ["analyze", str(src), "--quiet", "--structure-at", "all"]
    assert main(base + ["--out", str(tmp_path / "here"), "--workers", "1"]) == 0
    assert main(base + ["--out", str(tmp_path / "there"), "--scheduler", dask_cluster]) == 0
    same_files(tmp_path / "here", tmp_path / "there")
    assert any(p.startswith("ontochron_checkpoint") for p in _ran_on(dask_cluster))


@pytest.mark.parametrize("switches", [{"connections": False},
                                      {"structure": False, "connection_null": "fdsm",
                                       "null_samples": 50},
                                      {"structure_at": "last"}])
def test_analyze_api_on_a_scheduler_equals_in_process(dask_cluster, switches):
    """Each switch combination takes another path through the tasks."""
    import dataclasses

    from ontochron.ontology import OntologyConfig, analyze

    stack = drifting_stack(6, 60, 80, density=0.1, drift=0.1, seed=9)
    at = switches.pop("structure_at", None)
    config = OntologyConfig(**switches)
    if at is not None:
        config.structure_config = dataclasses.replace(config.structure_config, at=at)
    here = analyze(stack, config, progress=False)
    there = analyze(stack, config, progress=False, scheduler=dask_cluster)
    assert here.summary == there.summary
    for name in ("kind", "a", "b", "c", "valid_from", "valid_to"):
        assert np.array_equal(getattr(here.relations, name), getattr(there.relations, name))
    for k, v in here.relations.stats.items():
        assert np.array_equal(v, there.relations.stats[k], equal_nan=True), k
    for name in ("kind", "step", "concept", "feature", "detail"):
        assert np.array_equal(getattr(here.events, name), getattr(there.events, name))


def test_analyze_tasks_receive_arrays_when_workers_cannot_see_the_files(
        dask_cluster, npz_run, tmp_path, monkeypatch):
    from ontochron.distributed import Cluster

    seen = []
    monkeypatch.setattr(Cluster, "files_visible", lambda self, paths: seen.append(1) or False)
    base = ["analyze", str(npz_run), "--quiet"]
    assert main(base + ["--out", str(tmp_path / "here")]) == 0
    assert main(base + ["--out", str(tmp_path / "there"), "--scheduler", dask_cluster]) == 0
    assert seen
    same_files(tmp_path / "here", tmp_path / "there")


def test_dask_scheduler_address_from_the_environment(dask_cluster, json_run, tmp_path,
                                                     monkeypatch):
    from ontochron.distributed import scheduler_address

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster)
    assert scheduler_address(None) == dask_cluster
    assert scheduler_address("local") == "local"


@pytest.fixture(scope="module")
def sae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("saerun")
    p = planted(d=96, n0=90, steps=5, seed=5, n_split=3, n_merge=3, n_birth=4, n_death=4)
    for t, W in enumerate(p.decoders):
        WRITERS["saelens"](root / f"checkpoint-{t * 100}", W.astype(np.float32))
    return root


@pytest.mark.parametrize("visible", [True, False])
def test_lineage_on_a_scheduler_writes_the_in_process_files(dask_cluster, sae_run, tmp_path,
                                                            monkeypatch, visible):
    from ontochron.distributed import Cluster

    if not visible:  # the arrays travel instead of the paths
        monkeypatch.setattr(Cluster, "files_visible", lambda self, paths: False)
    base = ["lineage", str(sae_run), "--quiet", "--null", "both"]
    assert main(base + ["--out", str(tmp_path / "here")]) == 0
    assert main(base + ["--out", str(tmp_path / "there"), "--scheduler", dask_cluster]) == 0
    same_files(tmp_path / "here", tmp_path / "there")
    assert any(p.startswith("ontochron_pair") for p in _ran_on(dask_cluster))


def test_compare_on_a_scheduler_gives_the_in_process_match(dask_cluster, sae_run, tmp_path):
    a, b = sorted(sae_run.iterdir())[:2]
    base = ["compare", str(a), str(b), "--quiet"]
    assert main(base + ["--out", str(tmp_path / "here")]) == 0
    assert main(base + ["--out", str(tmp_path / "there"), "--scheduler", dask_cluster]) == 0
    same_files(tmp_path / "here", tmp_path / "there")


SAE_FIXTURES = ROOT / "tests" / "fixtures" / "sae" / "warm"


def _probes_npz(path: Path, shape: tuple[int, ...], seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    np.savez(path, concepts=np.array([f"c{i}" for i in range(shape[0])]),
             activations=(rng.standard_normal(shape) + 0.3).astype(np.float32))
    return path


def same_npz(a: Path, b: Path) -> None:
    with np.load(a) as za, np.load(b) as zb:
        assert sorted(za.files) == sorted(zb.files) and "codes" in za.files
        for k in za.files:
            assert za[k].dtype == zb[k].dtype, k
            assert np.array_equal(za[k], zb[k]), k


@pytest.mark.parametrize(("lib", "visible", "shape"), [
    ("saelens", True, (12, 32)), ("sparsify", True, (12, 32)),
    ("dictionary_learning", True, (12, 32)), ("saelens", False, (12, 32)),
    ("dictionary_learning", False, (12, 5, 32)), ("sparsify", True, (12, 5, 32)),
])
def test_extract_on_a_scheduler_writes_the_in_process_npz(dask_cluster, tmp_path, monkeypatch,
                                                          lib, visible, shape):
    """One task per checkpoint (the library trees read by the workers, or each SAE sent);
    (C, d_in) probes and (C, n, d_in) probes (majority aggregation) alike."""
    from ontochron.distributed import Cluster

    asked = []
    if not visible:  # the SAEs travel instead of the paths
        monkeypatch.setattr(Cluster, "files_visible",
                            lambda self, paths: asked.append(1) and False)
    probes = _probes_npz(tmp_path / "p.npz", shape, seed=len(lib))
    base = ["extract", str(SAE_FIXTURES / lib), "--probes", str(probes), "--quiet"]
    assert main(base + ["--out", str(tmp_path / "here.npz")]) == 0
    assert main(base + ["--out", str(tmp_path / "there.npz"), "--scheduler", dask_cluster]) == 0
    same_npz(tmp_path / "here.npz", tmp_path / "there.npz")
    with np.load(tmp_path / "there.npz") as z:
        assert z["codes"].shape == (4, 12, 64) and z["codes"].any()
    assert any(p.startswith("ontochron_extract") for p in _ran_on(dask_cluster))
    assert asked or visible


def test_extract_api_on_a_scheduler_refuses_a_bad_width_as_in_process(dask_cluster, tmp_path):
    """A task's InputError (probes of another d_in) reaches the caller as itself."""
    from ontochron.errors import InputError
    from ontochron.ingest.extract import extract

    probes = _probes_npz(tmp_path / "p.npz", (12, 16))
    with pytest.raises(InputError) as here:
        extract(SAE_FIXTURES / "saelens", probes)
    with pytest.raises(InputError) as there:
        extract(SAE_FIXTURES / "saelens", probes, scheduler=dask_cluster)
    assert "d_in=16" in str(here.value)
    assert str(there.value).split(": ", 1)[1] == str(here.value).split(": ", 1)[1]


def test_a_worker_killed_mid_run_changes_nothing(dask_cluster, tmp_path):
    """A third worker joins, is killed with SIGKILL while it holds tasks; the scheduler runs
    them again on the others and the files equal the in-process run's."""
    src = tmp_path / "big"
    src.mkdir()
    stack = drifting_stack(24, 900, 300, density=0.04, drift=0.05, seed=7)
    for t in range(stack.n_steps):
        save_npz([stack.snapshot(t)], src / f"ckpt_{t:03d}.npz")
    base = [sys.executable, "-m", "ontochron", "analyze", str(src), "--quiet"]
    here = subprocess.run(base + ["--out", str(tmp_path / "here")], env=_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert here.returncode == 0, here.stderr
    with _client(dask_cluster) as client:
        before = set(client.scheduler_info()["workers"])
        victim = start_worker(dask_cluster, tmp_path / "victim.log")
        try:
            client.wait_for_workers(3, timeout=START_TIMEOUT_S)
            name = (set(client.scheduler_info()["workers"]) - before).pop()
            run = subprocess.Popen(base + ["--out", str(tmp_path / "there"), "--scheduler",
                                           dask_cluster], env=_env(), cwd=ROOT,
                                   stderr=subprocess.PIPE, text=True)
            held = 0
            deadline = time.monotonic() + 300
            while run.poll() is None and time.monotonic() < deadline:
                held = len(client.processing(workers=[name]).get(name, ()))
                if held:
                    victim.kill()
                    break
                time.sleep(0.01)
            _, err = run.communicate(timeout=600)
        finally:
            _stop([victim])
    assert held > 0, "the run ended before the victim held a task"
    assert victim.returncode == -signal.SIGKILL
    assert run.returncode == 0, err
    same_files(tmp_path / "here", tmp_path / "there")


def test_scattered_arrays_survive_a_worker_killed(dask_cluster, tmp_path):
    """Arrays sent to the cluster (workers that cannot see the files) have no task that could
    recompute them: they are kept on two workers, so killing one that holds them loses
    nothing and a task reading them still runs."""
    from ontochron.distributed import Cluster

    with _client(dask_cluster) as client:
        before = set(client.scheduler_info()["workers"])
        victim = start_worker(dask_cluster, tmp_path / "victim.log")
        try:
            client.wait_for_workers(3, timeout=START_TIMEOUT_S)
            name = (set(client.scheduler_info()["workers"]) - before).pop()
            cluster = Cluster(client, dask_cluster)
            data = np.arange(50_000, dtype=np.float64)
            futs = [cluster.scatter(data + k) for k in range(6)]
            holders = client.who_has(futs)
            assert all(len(w) == 2 for w in holders.values()), holders
            held = [f for f in futs if name in holders[f.key]]
            assert held, "the victim holds none of the scattered arrays"
            victim.kill()
            victim.wait(timeout=30)
            deadline = time.monotonic() + 60
            while name in client.scheduler_info()["workers"] and time.monotonic() < deadline:
                time.sleep(0.1)
            sums = list(cluster.imap(np.sum, [(f,) for f in futs], desc="sums"))
        finally:
            _stop([victim])
    assert sums == [float(np.sum(data + k)) for k in range(6)]


def test_an_unreachable_scheduler_is_one_line_exit_2_nothing_written(npz_run, sae_run, tmp_path,
                                                                     capsys, monkeypatch):
    import ontochron.distributed as dist

    monkeypatch.setattr(dist, "CONNECT_TIMEOUT_S", 1.0)
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    probes = _probes_npz(tmp_path / "p.npz", (12, 32))
    for cmd in (["analyze", str(npz_run)], ["lineage", str(sae_run)],
                ["extract", str(SAE_FIXTURES / "saelens"), "--probes", str(probes)]):
        assert main(cmd + ["--out", str(out), "--quiet", "--scheduler", address]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert "cannot reach the Dask scheduler at " + address in err[0]
        assert not out.exists()


def test_a_scheduler_gone_mid_run_is_one_line_exit_2_nothing_written(tmp_path):
    """A scheduler of its own (with one worker) is killed while the run's tasks are on it."""
    src = tmp_path / "run"
    src.mkdir()
    stack = drifting_stack(16, 900, 300, density=0.04, drift=0.05, seed=8)
    for t in range(stack.n_steps):
        save_npz([stack.snapshot(t)], src / f"ckpt_{t:03d}.npz")
    address = f"tcp://127.0.0.1:{_free_port()}"
    with open(tmp_path / "scheduler.log", "wb") as fh:
        scheduler = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                      address.rsplit(":", 1)[1], "--no-dashboard"],
                                     stdout=fh, stderr=subprocess.STDOUT, env=_env(), cwd=ROOT)
    procs = [scheduler]
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        client = None
        while client is None and time.monotonic() < deadline:
            try:
                client = _client(address)
            except OSError:
                time.sleep(0.2)
        assert client is not None, (tmp_path / "scheduler.log").read_text()
        procs.append(start_worker(address, tmp_path / "worker.log"))
        client.wait_for_workers(1, timeout=START_TIMEOUT_S)
        out = tmp_path / "out"
        run = subprocess.Popen([sys.executable, "-m", "ontochron", "analyze", str(src),
                                "--quiet", "--out", str(out), "--scheduler", address],
                               env=_env(), cwd=ROOT, stderr=subprocess.PIPE, text=True)
        busy = False
        while run.poll() is None and time.monotonic() < deadline + 300:
            if any(str(k).startswith("ontochron_checkpoint")
                   for keys in client.processing().values() for k in keys):
                busy = True
                break
            time.sleep(0.01)
        client.close(timeout=2)
        scheduler.kill()
        _, err = run.communicate(timeout=300)
    finally:
        _stop(procs)
    assert busy, "the run ended before the scheduler was killed"
    assert run.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ontochron analyze: error: lost the Dask scheduler at " + address)
    assert not out.exists()


def test_ingest_on_a_scheduler_writes_the_same_graph(dask_cluster, graph_store):
    from ontochron.graph.ingest import ingest
    from tests.test_graph_ingest import CONN, dump, structured_stack

    stack = structured_stack(seed=6, n_steps=5)
    ingest(stack, run="here", store=graph_store, config=CONN, progress=False)
    ingest(stack, run="there", store=graph_store, config=CONN, progress=False,
           scheduler=dask_cluster)
    here = dump(graph_store, "here")
    assert sum(here[0].values()) > 0 and sum(here[1].values()) > 0
    assert here == dump(graph_store, "there")


def test_imap_keeps_at_most_window_tasks_ahead_and_counts_them(dask_cluster, capsys):
    """The client never has more than ``window`` tasks submitted and not yet consumed (its
    memory bound: results wait in order for the consumer), results come in input order, and
    the progress bar counts the tasks done."""
    import operator

    from ontochron.distributed import Cluster

    pulled = 0

    def args():
        nonlocal pulled
        for i in range(12):
            pulled += 1
            yield (i,)

    ahead = []
    with _client(dask_cluster) as client:
        out = []
        for v in Cluster(client, dask_cluster).imap(operator.neg, args(), desc="negations",
                                                    total=12, progress=True, window=3):
            ahead.append(pulled - len(out))   # submitted, this one included, not yet consumed
            out.append(v)
            time.sleep(0.05)                   # a slow consumer: tasks finish meanwhile
    assert out == [-i for i in range(12)]
    assert max(ahead) == 3                     # the window is used, never exceeded
    err = capsys.readouterr().err
    assert "negations" in err and "12/12" in err


def test_a_task_that_ends_every_worker_is_one_cluster_error():
    """A task that kills each worker running it (here ``os._exit``; in practice out of
    memory) ends in Dask's KilledWorker; the caller gets one ClusterError saying so, not
    Dask's traceback, and the CLI turns that into one line and exit 2."""
    import dask.config

    from ontochron.distributed import open_cluster
    from ontochron.errors import ClusterError

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            open_cluster("local", workers=1) as cluster:
        assert cluster is not None
        with pytest.raises(ClusterError, match="ended every worker that ran it"):
            list(cluster.imap(os._exit, [(3,)], desc="exits"))
        # the cluster is still usable afterwards (the nanny restarted the worker)
        assert list(cluster.imap(abs, [(-2,), (-5,)], desc="abs")) == [2, 5]


def test_local_cluster_workers_run_without_dasks_trim_threshold():
    """``--scheduler local`` starts its workers without Dask's MALLOC_TRIM_THRESHOLD_ (it
    makes every large numpy temporary a fresh mmap: tasks 17-24 % slower, docs/scale.md),
    keeps the single-threaded BLAS settings, and leaves the caller's Dask config as it was."""
    import dask.config

    from ontochron.distributed import open_cluster

    before = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    with open_cluster("local", workers=1) as cluster:
        env = cluster.client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                                          os.environ.get("OMP_NUM_THREADS")))
    assert list(env.values()) == [(None, "1")]
    assert dict(dask.config.get("distributed.nanny.pre-spawn-environ")) == before
