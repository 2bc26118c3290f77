"""Checkpoint-level parallelism: the per-checkpoint tests are pure functions of one
checkpoint's codes, so they run in threads (numpy and scipy release the GIL in their
kernels) while the interval bookkeeping consumes the results in step order."""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Bytes of per-checkpoint working memory allowed in flight across threads.
IN_FLIGHT_BYTES = 1 << 30


def default_workers() -> int:
    """Threads used when the caller does not say: the CPUs this process may use, up to 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


def workers_for(workers: int, step_bytes: int) -> int:
    """How many checkpoints may be in flight when each needs ``step_bytes`` of memory."""
    return max(1, min(workers, IN_FLIGHT_BYTES // max(step_bytes, 1)))


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map(fn, items)`` on ``workers`` threads, results in input order, with at most
    ``workers + 1`` items submitted ahead of the one being consumed."""
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="ontochron") as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Keep BLAS to one thread: its products here are small, where its own threads cost
    more than they give, and the checkpoint threads already use the cores."""
    from threadpoolctl import threadpool_limits  # a dependency; imported when analysing

    with threadpool_limits(limits=1, user_api="blas"):
        yield
