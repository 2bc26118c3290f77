"""Per-checkpoint and per-pair work on a Dask distributed cluster: connect to a running
scheduler (``tcp://host:8786``), start a ``LocalCluster`` (``"local"``), or stay in-process
(``None``, unless Dask's own configuration names a scheduler: ``DASK_SCHEDULER_ADDRESS``).

One helper serves every command (``analyze``, ``ingest``, ``lineage``, ``compare``, and any
later one): :func:`open_cluster` gives a :class:`Cluster` (or None for in-process), whose
:meth:`Cluster.imap` runs a module-level function over a stream of arguments with a bounded
number of tasks in flight, gathers results as they complete and yields them in input order.
Results never depend on the number of workers or the order tasks finish in: every task is a
pure function of its arguments (random streams are seeded by the checkpoint), and the caller
consumes them in step order exactly as the in-process path does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ontochron.errors import ClusterError

R = TypeVar("R")

LOCAL = "local"
#: Seconds to wait for a scheduler to answer (a gone scheduler fails fast, nothing written).
CONNECT_TIMEOUT_S = float(os.environ.get("ONTOCHRON_DASK_CONNECT_TIMEOUT", "5"))
#: Tasks in flight per worker thread: enough to keep workers busy while the client consumes
#: results in step order, few enough that the client holds at most this many results.
IN_FLIGHT_PER_THREAD = 2


def scheduler_address(scheduler: str | None) -> str | None:
    """The scheduler to use: ``scheduler`` itself, else Dask's configured
    ``scheduler-address`` (``DASK_SCHEDULER_ADDRESS`` or a Dask config file), else None."""
    if scheduler:
        return scheduler
    if os.environ.get("DASK_SCHEDULER_ADDRESS"):
        return os.environ["DASK_SCHEDULER_ADDRESS"]
    if not _dask_config_files():  # importing dask costs ~0.15 s: only when it may say more
        return None
    try:
        import dask.config
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        return None
    address = dask.config.get("scheduler-address", None)
    return str(address) if address else None


def _dask_config_files() -> bool:
    """Is there a Dask configuration file where Dask looks for one?"""
    dirs = [os.environ.get("DASK_CONFIG") or os.path.join(os.path.expanduser("~"), ".config",
                                                          "dask"),
            os.path.join(sys.prefix, "etc", "dask"), "/etc/dask"]
    for d in dirs:
        with contextlib.suppress(OSError):
            if any(f.endswith((".yaml", ".yml", ".json")) for f in os.listdir(d)):
                return True
    return False


def _call(fn: Callable[..., R], *args: Any) -> R:
    """Run one task with BLAS on one thread, as the in-process path does (its products are
    small, and the worker processes already use the cores)."""
    from ontochron.ontology.parallel import single_threaded_blas

    with single_threaded_blas():
        return fn(*args)


def _files_visible(files: list[tuple[str, int]]) -> bool:
    """True when every (path, size) is a file of that size on this worker."""
    try:
        return all(os.path.getsize(p) == size for p, size in files)
    except OSError:
        return False


class Cluster:
    """A connected Dask client plus the bookkeeping of ordered, bounded task streams."""

    def __init__(self, client: Any, address: str) -> None:
        self.client = client
        self.address = address

    @property
    def n_threads(self) -> int:
        """Worker threads the scheduler knows of (at least 1)."""
        try:
            info = self.client.scheduler_info()
        except Exception as exc:  # noqa: BLE001 - any comm failure is the same to the user
            raise _lost(self.address, exc) from None
        return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))

    def files_visible(self, paths: Iterable[str | os.PathLike[str]]) -> bool:
        """Do the workers see these files (same sizes) at the same paths? Then tasks read
        their checkpoint's files themselves instead of receiving the arrays."""
        files = [(os.fspath(Path(p).absolute()), os.path.getsize(p)) for p in paths]
        if not files:
            return False
        fut = self.client.submit(_files_visible, files, pure=False,
                                 key=f"ontochron_files-{uuid.uuid4().hex}")
        return bool(self._result(fut))

    def scatter(self, data: Any) -> Any:
        """Send one object to the cluster once (a future that tasks can take as argument).

        Scattered data has no task that could recompute it, so it is kept on two workers
        where there are two: one worker dying does not lose it (at twice the transfer)."""
        try:
            fut = self.client.scatter(data, hash=False)
            if len(self.client.scheduler_info().get("workers", {})) > 1:
                self.client.replicate([fut], n=2)
            return fut
        except Exception as exc:  # noqa: BLE001
            raise _lost(self.address, exc) from None

    def imap(self, fn: Callable[..., R], args: Iterable[tuple[Any, ...]], *,
             desc: str = "tasks", total: int | None = None, progress: bool = False,
             window: int | None = None) -> Iterator[R]:
        """``fn(*a)`` for each ``a`` in ``args`` on the cluster, yielded in input order.

        At most ``window`` tasks (default: 2 per worker thread) are submitted and not yet
        yielded, so the client holds a bounded number of results; results are gathered as
        they complete (``as_completed``). A worker that dies has its tasks re-run elsewhere
        by the scheduler; a scheduler that goes away raises :class:`ClusterError`.
        """
        from distributed import as_completed
        from tqdm import tqdm

        window = max(1, window or IN_FLIGHT_PER_THREAD * self.n_threads)
        source = iter(enumerate(args))
        run = uuid.uuid4().hex[:12]
        prefix = "ontochron_" + "_".join(desc.split())  # the scheduler's task group name
        where: dict[str, int] = {}
        ready: dict[int, Any] = {}
        done = as_completed(loop=self.client.loop)
        nxt = 0

        def submit_next() -> bool:
            try:
                i, a = next(source)
            except StopIteration:
                return False
            key = f"{prefix}-{run}-{i}"
            try:
                fut = self.client.submit(_call, fn, *a, key=key, pure=False)
            except Exception as exc:  # noqa: BLE001
                raise _lost(self.address, exc) from None
            where[fut.key] = i
            done.add(fut)
            return True

        in_flight = 0
        while in_flight < window and submit_next():
            in_flight += 1
        with tqdm(total=total, desc=desc, unit="task", disable=not progress) as bar:
            for fut in done:
                ready[where.pop(fut.key)] = self._result(fut)
                fut.release()
                bar.update(1)
                while nxt in ready:
                    yield ready.pop(nxt)
                    nxt += 1
                    submit_next()

    def _result(self, fut: Any) -> Any:
        """A future's value; comm failures and cancellation (the scheduler went away) become
        one :class:`ClusterError`; a task's own exception (e.g. InputError) passes through."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        try:
            return fut.result()
        except KilledWorker as exc:
            raise ClusterError(f"a task ended every worker that ran it ({exc}); the workers "
                               "may need more memory (docs/scale.md)") from None
        except (CancelledError, OSError, TimeoutError) as exc:
            if isinstance(exc, OSError) and fut.status == "error":
                raise  # the task itself raised OSError
            raise _lost(self.address, exc) from None


def _lost(address: str, exc: BaseException) -> ClusterError:
    what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ClusterError(f"lost the Dask scheduler at {address}: {what}")


def _local_cluster(workers: int | None) -> Any:
    """A LocalCluster of ``workers`` single-threaded processes, without a dashboard."""
    import dask.config
    from distributed import LocalCluster

    from ontochron.ontology.parallel import default_workers

    n = default_workers() if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ClusterError(f"--workers must be an integer >= 1, got {n!r}")
    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which switches off
    # glibc's dynamic mmap threshold: every large numpy temporary is then a fresh mmap whose
    # pages fault in again, and a checkpoint task costs 17-24 % more than without it
    # (docs/scale.md, "Memory per worker"). None unsets it (distributed's own convention).
    # No dashboard; the scheduler's small HTTP server (health, metrics) on a free local port,
    # not Dask's default 8787, which warns when another cluster already holds it.
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=logging.CRITICAL,
                            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})


def _connect(address: str) -> Any:
    """A Client on ``address``; an unreachable scheduler is one ClusterError line, fast."""
    import dask.config
    from distributed import Client

    timeout = f"{CONNECT_TIMEOUT_S}s"
    with dask.config.set({"distributed.comm.timeouts.connect": timeout}):
        try:
            return Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ClusterError(f"cannot reach the Dask scheduler at {address} "
                               f"(waited {CONNECT_TIMEOUT_S:g} s): {what}") from None


@contextlib.contextmanager
def open_cluster(scheduler: str | Cluster | Any | None, workers: int | None = None
                 ) -> Iterator[Cluster | None]:
    """The cluster to run on, closed on exit when opened here.

    ``scheduler``: None (in-process, unless Dask's configuration names a scheduler), an
    address such as ``tcp://10.0.0.5:8786``, ``"local"`` (a LocalCluster of ``workers``
    processes), an open :class:`Cluster` or a ``distributed.Client`` (used as given).
    """
    if isinstance(scheduler, Cluster):
        yield scheduler
        return
    if scheduler is not None and not isinstance(scheduler, str):  # a distributed.Client
        yield Cluster(scheduler, str(getattr(scheduler, "scheduler", None) and
                                     scheduler.scheduler.address))
        return
    address = scheduler_address(scheduler)
    if address is None:
        yield None
        return
    with contextlib.ExitStack() as scope:
        if address == LOCAL:
            cluster = scope.enter_context(_local_cluster(workers))
            client = scope.enter_context(_client_of(cluster))
            address = str(cluster.scheduler_address)
        else:
            client = _connect(address)
            scope.callback(_close_quietly, client)
        yield Cluster(client, address)


@contextlib.contextmanager
def _client_of(cluster: Any) -> Iterator[Any]:
    from distributed import Client

    client = Client(cluster, set_as_default=False)
    try:
        client.wait_for_workers(len(cluster.workers))
        yield client
    finally:
        _close_quietly(client)


def _close_quietly(client: Any) -> None:
    """Close a client whose scheduler may already be gone, without waiting long."""
    with contextlib.suppress(Exception):
        client.close(timeout=2)
