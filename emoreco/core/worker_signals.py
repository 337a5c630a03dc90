"""Loaded by Dask into each local worker process (a ``preload`` module).

A terminal's Ctrl-C reaches every process of its foreground group: the run's own process,
which closes the cluster and keeps the work done, and each Dask worker process, where it
would end the worker's event loop with a ``KeyboardInterrupt`` traceback. The workers
therefore ignore SIGINT; they end when the run closes the cluster.
"""

from __future__ import annotations

import signal
from typing import Any


def dask_setup(worker: Any) -> None:
    """Dask's preload hook, called in the worker process as the worker starts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
