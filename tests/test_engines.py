"""The engine of a run is chosen by its work: threads of this process for a small batch,
worker processes for a large one; explicit --jobs keeps its meaning."""

import os
import threading

import pytest

from emoreco.core.engine import (CLUSTER_BREAK_EVEN_S, DaskEngine, InProcessEngine,
                                 ThreadEngine, choose_local_engine, open_engine)


def test_threads_run_items_concurrently_each_once_with_the_shared_state():
    meeting = threading.Barrier(2, timeout=10)  # breaks unless two items run at once
    lock = threading.Lock()
    running, most = [0], [0]

    def work(state, item):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if item < 2:
            meeting.wait()
        with lock:
            running[0] -= 1
        return state["factor"] * item

    outcomes = list(ThreadEngine(2).map_unordered(None, work, range(50), state={"factor": 3}))
    assert sorted(o.value for o in outcomes) == [3 * i for i in range(50)]
    assert sorted(o.item for o in outcomes) == list(range(50))
    assert most[0] == 2  # two at a time, never more than the threads


def test_an_exception_in_a_thread_reaches_the_caller():
    def work(_, item):
        if item == 3:
            raise ValueError("song 3 broke")
        return item

    with pytest.raises(ValueError, match="song 3 broke"):
        list(ThreadEngine(2).map_unordered(None, work, range(10)))


def test_setup_builds_the_state_once():
    calls = []
    engine = ThreadEngine(2)
    outcomes = list(engine.map_unordered(lambda: calls.append(1) or 10,
                                         lambda state, item: state + item, range(5)))
    assert calls == [1] and sorted(o.value for o in outcomes) == [10, 11, 12, 13, 14]


@pytest.mark.parametrize("workers, work_s, kind", [
    (1, 100.0, "process"), (2, 0.5, "threads"), (2, CLUSTER_BREAK_EVEN_S - 0.01, "threads"),
    (2, CLUSTER_BREAK_EVEN_S, "cluster"), (2, None, "cluster")])
def test_the_engine_follows_the_work(workers, work_s, kind):
    assert choose_local_engine(workers, work_s) == kind


MULTICORE = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: one worker")


@MULTICORE
def test_default_jobs_pick_threads_for_little_work_but_explicit_jobs_mean_processes():
    with open_engine(None, -1, 4, work_s=1.0) as engine:
        assert isinstance(engine, ThreadEngine)
    with open_engine(None, -1, 1, work_s=1.0) as engine:
        assert isinstance(engine, InProcessEngine)
    with open_engine(None, 2, 4, work_s=1.0) as engine:
        assert isinstance(engine, DaskEngine) and engine.workers == 2


@MULTICORE
def test_without_dask_a_large_batch_runs_on_threads_and_says_so(monkeypatch, caplog):
    import emoreco.core.engine as engine_module

    monkeypatch.setattr(engine_module, "installed", lambda name: False)
    caplog.set_level("INFO")
    with open_engine(None, -1, 1000, work_s=None) as engine:
        assert isinstance(engine, ThreadEngine)
    assert "Dask is not installed" in caplog.text and "emoreco[catalog]" in caplog.text
