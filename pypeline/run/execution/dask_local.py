"""One thread pool for every dask computation of a run in ``execution_mode: dask``.

Sinks compute their lazy input from threads of the run's pool. Left alone,
dask's threaded scheduler gives every calling thread that is not the main
thread a pool of its own, sized ``ThreadPoolExecutor``'s default
(``min(32, cpus + 4)``): two sinks computing at once would then hold up to
twice that many partitions in memory, which is what breaks a memory bound.
While a dask-mode run is active, :func:`shared_dask_pool` installs one pool
of ``num_workers`` threads (dask's ``num_workers`` setting, e.g. the
``DASK_NUM_WORKERS`` environment variable; default: the CPU count) as dask's
``pool``, so all computations of the run share it and at most that many
partitions are processed at a time. A dask.distributed client, when one is
active, is not affected (it ignores the local pool).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any


@contextlib.contextmanager
def shared_dask_pool(settings: dict[str, Any]) -> Iterator[int | None]:
    """Install the run's dask pool for the duration of the block (dask mode only); yields its size."""
    if settings.get("execution_mode") != "dask":
        yield None
        return
    import dask

    workers = int(dask.config.get("num_workers", None) or os.cpu_count() or 1)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pypeline-dask")
    try:
        with dask.config.set(pool=pool):
            yield workers
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
