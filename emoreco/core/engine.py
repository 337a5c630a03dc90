"""Where per-song work runs: in this process, or as tasks of a Dask cluster.

One interface for every caller (prediction, feature extraction, the demo corpus):
:func:`open_engine` gives an engine whose :meth:`~InProcessEngine.map_unordered` calls
``function(state, item)`` for every item and yields the outcomes as they complete. The
``state`` (the loaded models, say) is built once per worker by ``setup``, not once per
task. Without a scheduler address and with more than one worker, a Dask ``LocalCluster``
of worker processes on this machine runs the tasks, or, for a batch too small to repay
its start, threads of this process; with one worker they run in this process, and
``dask`` is not even imported (a one-song run starts in a second).

Dask reschedules the tasks of a lost worker on the others; a task that has been on
``distributed.scheduler.allowed-failures`` (default 3) dying workers is reported as that
item's failure, and the run goes on.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import islice
from typing import Any, Generic, TypeVar

from emoreco.core.errors import EmorecoError
from emoreco.core.extras import installed, require

log = logging.getLogger(__name__)
S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

# Dask's defaults that cost this workload dearly, measured per 45-s song on 2 cores:
# MALLOC_TRIM_THRESHOLD_=65536 in the workers' environment fixes glibc's mmap threshold,
# so every large temporary array is mapped afresh (6x the page faults: +45 ms, +50 %);
# the statistical profiler samples the task thread every 10 ms (about +10 %). The worker
# processes still get one BLAS/OpenMP thread each (Dask's default, kept).
LOCAL_WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                       "distributed.worker.profile.enabled": False}
# imported by each local worker process as it starts: Ctrl-C is for the run's process
WORKER_PRELOAD = "emoreco.core.worker_signals"


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """One item's result, or why the engine could not produce it (``error``)."""

    item: T
    value: R | None
    error: str | None = None


def worker_count(n_jobs: int) -> int:
    """Workers for ``n_jobs`` (joblib's convention: -1 all cores, -2 all but one, ...)."""
    cores = os.cpu_count() or 1
    return max(1, n_jobs if n_jobs > 0 else cores + 1 + n_jobs)


class InProcessEngine:
    """Runs the tasks one after the other in this process."""

    workers = 1

    def map_unordered(self, setup: Callable[[], S] | None, function: Callable[[S, T], R],
                      items: Iterable[T], state: S | None = None,
                      chunk: int = 0) -> Iterator[Outcome[T, R]]:
        """``function(state, item)`` for each item, ``state`` (or ``setup()``) built once.

        ``chunk`` (items per task) has no meaning here; it is accepted for symmetry.
        """
        if state is None and setup is not None:
            state = setup()
        for item in items:
            yield Outcome(item, function(state, item))  # type: ignore[arg-type]


class ThreadEngine:
    """Runs the tasks on ``workers`` threads of this process, sharing one ``state``.

    No process to start and no model to load twice: for a batch too small to repay a
    local cluster's start (:func:`choose_local_engine`). The per-song work spends most of
    its time in code that releases the GIL (FFmpeg and libsndfile decoding, resampling, FFTs,
    ONNX Runtime), and computes the same values on any thread.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map_unordered(self, setup: Callable[[], S] | None, function: Callable[[S, T], R],
                      items: Iterable[T], state: S | None = None,
                      chunk: int = 0) -> Iterator[Outcome[T, R]]:
        """``function(state, item)`` for each item on the threads, as they complete;
        at most ``4 * workers`` items in flight. An exception of ``function`` propagates
        (as in :class:`InProcessEngine`) after the threads stop."""
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        if state is None and setup is not None:
            state = setup()
        pending = iter(items)
        running: dict[Future, T] = {}
        with ThreadPoolExecutor(self.workers, thread_name_prefix="emoreco") as pool:
            try:
                while True:
                    for item in islice(pending, 4 * self.workers - len(running)):
                        running[pool.submit(function, state, item)] = item  # type: ignore[arg-type]
                    if not running:
                        return
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        yield Outcome(running.pop(future), future.result())
            finally:
                for future in running:
                    future.cancel()


def _worker_plugin_class() -> type:
    """A Dask ``WorkerPlugin`` that builds a task state once per worker (lazy import)."""
    from distributed import WorkerPlugin

    class StatePlugin(WorkerPlugin):
        """Holds ``setup()``'s result on each worker, for the tasks of one run."""

        def __init__(self, name: str, setup: Callable[[], Any] | None) -> None:
            self.name = name
            self.build = setup
            self.state: Any = None

        def setup(self, worker: Any) -> None:
            self.state = self.build() if self.build is not None else None

    return StatePlugin


def _call_with_state(plugin_name: str, function: Callable[[Any, T], R],
                     items: tuple[T, ...]) -> list[R]:
    """Task body on a worker: ``function(state of this worker, item)`` for each item."""
    from distributed import get_worker

    state = get_worker().plugins[plugin_name].state
    return [function(state, item) for item in items]


MAX_CHUNK = 8  # items per task: Dask costs the client about 6-10 ms of CPU per task here
# A task queued on a worker that an item kills counts that death too: an item alone in
# its task is given up only after this many more KilledWorker verdicts.
KILLED_RETRIES = 2


def chunk_size(n_items: int, workers: int) -> int:
    """Items per task: enough to spread the engine's cost, small enough that every worker
    gets at least 4 tasks (load balance at the end of a run)."""
    return max(1, min(MAX_CHUNK, n_items // (4 * workers)))


class DaskEngine:
    """Runs the tasks on the workers of a Dask cluster (``client``)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        found = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        if not found:
            log.warning("the Dask scheduler has no workers yet: tasks wait for `dask worker`")
        self.workers = max(1, found)

    def map_unordered(self, setup: Callable[[], S] | None, function: Callable[[S, T], R],
                      items: Sequence[T], state: S | None = None,
                      chunk: int = 0) -> Iterator[Outcome[T, R]]:
        """``function(state, item)`` for each item as Dask tasks, outcomes as completed.

        Each worker builds its ``state`` with ``setup`` (``state``, this process's, is
        not sent). A task handles ``chunk`` consecutive items (default:
        :func:`chunk_size`). At most 2 tasks per worker are submitted and not yet
        yielded, so the client holds a bounded number of results however many items
        there are. When workers keep dying on a task, its items are
        tried again one per task and one at a time, and each of those again up to
        :data:`KILLED_RETRIES` times, so that only the item that kills them is yielded
        with ``error`` set.

        Raises
        ------
        EmorecoError
            The cluster failed (scheduler gone): the outcomes yielded so far stand.
            An exception of ``function`` itself is raised as it is.
        """
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        name = f"emoreco-{secrets.token_hex(4)}"
        try:
            self.client.register_plugin(_worker_plugin_class()(name, setup))
        except EmorecoError:
            raise  # setup's own error (models unreadable, say), as in this process
        except Exception as exc:  # noqa: BLE001 - a worker's failure arrives as any type
            raise EmorecoError(
                f"the Dask workers cannot set up the run ({type(exc).__name__}: {exc}); every "
                "worker machine needs this project installed (make install) and must see the "
                "models and audio under the same paths") from exc
        window = 2 * self.workers  # tasks in flight
        chunk = chunk or chunk_size(len(items), self.workers)
        owners: dict[str, tuple[tuple[T, ...], int]] = {}
        chunks = (tuple(items[i:i + chunk]) for i in range(0, len(items), chunk))

        def submit(batch: tuple[T, ...], attempt: int = 0) -> Any:
            future = self.client.submit(_call_with_state, name, function, batch, pure=False)
            owners[future.key] = batch, attempt
            return future

        pending = as_completed([submit(batch) for batch in islice(chunks, window)])
        # The items of a task that killed workers are suspects, tried one per task and one
        # at a time, so that the item that crashes its worker cannot take another suspect
        # with it (Dask counts a death against every task the worker held).
        suspects: list[tuple[tuple[T, ...], int]] = []
        suspect_key: str | None = None

        def run_next_suspect() -> None:
            nonlocal suspect_key
            suspect_key = None
            if suspects:
                future = submit(*suspects.pop(0))
                suspect_key = future.key
                pending.add(future)

        try:
            for future in pending:
                batch, attempt = owners.pop(future.key)
                was_suspect = future.key == suspect_key
                try:
                    outcomes = [Outcome(item, value)
                                for item, value in zip(batch, future.result())]
                except KilledWorker as exc:
                    outcomes = []
                    if len(batch) > 1:  # find the culprit: one item per task
                        suspects.extend(((item,), 0) for item in batch)
                    elif attempt < KILLED_RETRIES:  # perhaps a bystander: again, alone
                        suspects.append((batch, attempt + 1))
                    else:
                        outcomes = [Outcome(batch[0], None, "worker processes died while "
                                            "processing it, too often to retry (crash or out "
                                            f"of memory): {exc}")]
                except Exception as exc:
                    if future.status == "error":
                        raise  # the function's own exception, as in this process
                    raise EmorecoError(f"the Dask cluster failed: {type(exc).__name__}: "
                                       f"{exc}") from exc
                finally:
                    future.release()
                if was_suspect or suspect_key is None:
                    run_next_suspect()
                yield from outcomes
                for batch in islice(chunks, 1):
                    pending.add(submit(batch))
        finally:
            for future in list(pending.futures):
                future.cancel()
            with suppress(OSError, TimeoutError):  # a dead cluster: its error counts
                self.client.unregister_worker_plugin(name)


SCHEDULER_TIMEOUT_S = 10.0  # the most a --scheduler that is not one may take to say so


def check_scheduler(address: str, timeout_s: float = SCHEDULER_TIMEOUT_S) -> None:
    """Make sure that a Dask scheduler answers at ``address``, within ``timeout_s``.

    Over TCP, the first 8 bytes a Dask listener sends (the size of its handshake) are
    read with a plain socket first, so that a server of another kind (an HTTP server,
    Dask's dashboard, a port that accepts and stays silent) is refused within the time
    limit, without Dask reading its answer as the size of a message; then the server is
    asked who it is and must say "Scheduler".

    Raises
    ------
    EmorecoError
        One line: what answered, or that nothing did.
    """
    import asyncio
    import socket
    import struct

    from distributed.comm import connect
    from distributed.comm.addressing import parse_address, parse_host_port

    hint = (f"start one with `dask scheduler` and workers with `dask worker {address}`")
    deadline = time.monotonic() + timeout_s
    try:
        scheme, location = parse_address(address)
        if scheme == "tcp":
            host, port = parse_host_port(location)
            with socket.create_connection((host, port), timeout=timeout_s) as conn:
                head = b""
                while len(head) < 8:
                    conn.settimeout(max(0.01, deadline - time.monotonic()))
                    chunk = conn.recv(8 - len(head))
                    if not chunk:
                        raise ConnectionError("the server closed the connection")
                    head += chunk
            (size,) = struct.unpack("<Q", head)
            if not 8 <= size <= 1 << 20:
                raise EmorecoError(f"--scheduler {address}: something answers there, but not "
                                   f"a Dask scheduler (it sent {head!r}); {hint}")

        async def identity() -> Any:
            comm = await connect(address, timeout=max(0.1, deadline - time.monotonic()))
            try:
                await asyncio.wait_for(comm.write({"op": "identity", "reply": True}),
                                       max(0.1, deadline - time.monotonic()))
                return await asyncio.wait_for(comm.read(), max(0.1, deadline - time.monotonic()))
            finally:
                comm.abort()

        answer = asyncio.run(identity())
    except (TimeoutError, asyncio.TimeoutError) as exc:  # socket.timeout is TimeoutError
        raise EmorecoError(f"--scheduler {address}: no Dask scheduler answered within "
                           f"{timeout_s:g} s; {hint}") from exc
    except (OSError, ValueError, TypeError) as exc:
        raise EmorecoError(f"--scheduler {address}: cannot connect "
                           f"({type(exc).__name__}: {exc}); {hint}") from exc
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind != "Scheduler":
        raise EmorecoError(f"--scheduler {address}: a Dask {kind or 'server'} answers there, not "
                           f"a scheduler; {hint}")


# Below this much work (seconds in one process), threads of this process beat a local
# cluster of worker processes, whose start and per-worker set-up (imports, models: about
# 2 s in all) the batch would not repay; threads run 1.35x faster than one process, two
# worker processes 1.9x. Measured by benchmarks/bench_engines.py on 2 cores (32-s Opus
# songs, wall s, process / threads / cluster): 28 songs 3.9 / 2.9 / 3.7, 60 songs
# 7.9 / 6.5 / 6.9, 100 songs 12.0 / 8.8 / 7.9.
CLUSTER_BREAK_EVEN_S = 10.0

Engine = InProcessEngine | ThreadEngine | DaskEngine


def choose_local_engine(workers: int, work_s: float | None) -> str:
    """``"process"`` (this process, one task after the other), ``"threads"`` or
    ``"cluster"`` (local worker processes) for ``workers`` workers and ``work_s`` seconds
    of estimated work (None: unknown, a cluster)."""
    if workers == 1:
        return "process"
    if work_s is not None and work_s < CLUSTER_BREAK_EVEN_S:
        return "threads"
    return "cluster"


GUARD_ADVICE = ("a script that runs emoreco with jobs other than 1 must make that call under "
                "`if __name__ == \"__main__\":` (each worker process imports the script)")


def check_not_a_worker_import() -> None:
    """Refuse to start a run while Python's multiprocessing imports a script anew in a
    worker process (its top level runs as ``__mp_main__``): that run would be a second
    copy of the script's own, started by the first one's workers."""
    # multiprocessing's spawn runs the script as "__mp_main__" and only then makes it
    # "__main__": between the two, the script's top level is being imported anew
    importing = sys.modules.get("__mp_main__")
    if importing is not None and sys.modules.get("__main__") is not importing:
        raise EmorecoError(f"emoreco was started again inside a worker process: {GUARD_ADVICE}")


@contextmanager
def _workers_born_ignoring_ctrl_c() -> Iterator[None]:
    """Let the worker processes started in the block ignore a terminal's Ctrl-C from birth.

    A terminal sends SIGINT to every process of its group, the workers included, where it
    broke their imports and event loops with tracebacks. While the block runs (the local
    cluster starts: about a second) this process ignores SIGINT, so that the processes it
    spawns are born ignoring it (an ignored signal stays ignored across ``exec``; a blocked
    one does not stay blocked); :data:`WORKER_PRELOAD` does the same for workers started
    later. The price: a Ctrl-C during that second is not seen (the run's own handler is
    back as soon as the workers are up, and the next one stops the run)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change signal handlers
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def open_engine(scheduler: str | None = None, n_jobs: int = -1,
                n_tasks: int | None = None, work_s: float | None = None) -> Iterator[Engine]:
    """The engine for a run: a remote Dask cluster, a local one, threads, or this process.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); its workers must see
        the run's files under the same paths.
    n_jobs : int
        Local worker processes (-1: all cores, engine chosen by the work); ignored with
        ``scheduler``.
    n_tasks : int, optional
        Tasks to come: no more local workers than that (one: this process).
    work_s : float, optional
        Estimated seconds of work in one process: with ``n_jobs=-1``, a batch below
        :data:`CLUSTER_BREAK_EVEN_S` runs on threads of this process instead of a local
        cluster (:func:`choose_local_engine`). An explicit ``n_jobs`` always means that
        many local processes.

    Raises
    ------
    EmorecoError
        The scheduler cannot be reached.
    """
    workers = min(worker_count(n_jobs), max(1, n_tasks if n_tasks is not None else 1 << 30))
    if scheduler is None and n_jobs == -1:
        kind = choose_local_engine(workers, work_s)
        if kind == "cluster" and not installed("distributed"):
            log.info("Dask is not installed: the songs run on %d threads of this process; "
                     "pip install 'emoreco[catalog]' for worker processes", workers)
            kind = "threads"
        if kind == "threads":
            log.info("%d threads of this process (%s songs, too few to repay worker "
                     "processes)", workers, n_tasks if n_tasks is not None else "a few")
            yield ThreadEngine(workers)
            return
    if scheduler is None and workers == 1:
        yield InProcessEngine()
        return
    require("distributed", "catalog", "--scheduler" if scheduler else f"--jobs {n_jobs}")
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler is not None:
        check_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S:g}s")
        except (OSError, ValueError, TypeError) as exc:
            raise EmorecoError(f"--scheduler {scheduler}: cannot connect ({exc}); start one "
                               "with `dask scheduler` and workers with `dask worker "
                               f"{scheduler}`") from exc
    else:
        import dask

        check_not_a_worker_import()
        try:
            with dask.config.set(LOCAL_WORKER_CONFIG), _workers_born_ignoring_ctrl_c():
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0",
                                       silence_logs=logging.ERROR,
                                       preload=[WORKER_PRELOAD])
        except RuntimeError as exc:  # distributed: "Nanny failed to start"
            raise EmorecoError(f"Dask's worker processes did not start ({exc}); "
                               f"{GUARD_ADVICE}") from None
        client = Client(cluster)
    try:
        engine = DaskEngine(client)
        log.info("Dask: %d worker(s); dashboard %s", engine.workers, client.dashboard_link)
        yield engine
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
