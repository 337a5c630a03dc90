"""A pool of worker processes that end with the process that started them.

Used for feature extraction and the demo corpus. On Linux each worker asks the kernel
(``prctl(PR_SET_PDEATHSIG)``) to be killed when its parent dies, so a killed run leaves
no workers behind; elsewhere workers notice an orphaned state when their next task
starts.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

T = TypeVar("T")
PR_SET_PDEATHSIG = 1


def _end_with_parent(parent: int) -> None:
    """Worker initializer: die with the parent (Linux), or now if it is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def worker_count(n_jobs: int) -> int:
    """Processes for ``n_jobs`` (joblib's convention: -1 all cores, -2 all but one, ...)."""
    cores = os.cpu_count() or 1
    return max(1, n_jobs if n_jobs > 0 else cores + 1 + n_jobs)


def run_unordered(function: Callable[..., T], jobs: Iterable[tuple[Any, ...]],
                  n_jobs: int) -> Iterator[T]:
    """``function(*job)`` for every job, results as they complete.

    With one worker the jobs run in this process (no start-up cost).
    """
    jobs = list(jobs)
    workers = min(worker_count(n_jobs), max(1, len(jobs)))
    if workers == 1:
        for job in jobs:
            yield function(*job)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_end_with_parent, initargs=(os.getpid(),)) as pool:
        futures: list[Future[T]] = [pool.submit(function, *job) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
