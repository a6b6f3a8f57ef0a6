"""What a run in ``execution_mode: dask`` sets up so that its memory stays bounded.

Sinks compute their lazy input from threads of the run's pool. Left alone,
dask's threaded scheduler gives every calling thread that is not the main
thread a pool of its own, sized ``ThreadPoolExecutor``'s default
(``min(32, cpus + 4)``): two sinks computing at once would then hold up to
twice that many partitions in memory, which is what breaks a memory bound.
While a dask-mode run is active, :func:`dask_mode` therefore

* installs one pool of ``num_workers`` threads (dask's ``num_workers``
  setting, e.g. the ``DASK_NUM_WORKERS`` environment variable; default: the
  CPU count) as dask's ``pool``, so all computations of the run share it and
  at most that many partitions are processed at a time (a
  :class:`~pypeline.run.nodes.dask_run.DaskPool`, which lets a joint compute
  that failed or was stopped wait for the tasks it started);
* makes pyarrow allocate from the system allocator instead of its default
  (mimalloc or jemalloc), which keeps freed memory cached and lets peak RSS
  grow with the amount of data streamed through (measured on 49M rows:
  500 MB with mimalloc, 300 MB with the system allocator). Arrow picks its
  allocator once, when pyarrow is first imported, from
  ``ARROW_DEFAULT_MEMORY_POOL``: ``pype run`` calls :func:`prepare_process`
  before anything imports pyarrow, which sets that variable for a dask-mode
  job (an explicit value in the environment is left alone). When pyarrow
  was imported before (a library caller), the run can only switch pyarrow's
  Python-level default pool, which helps less.

Both are restored when the run ends. A dask.distributed client, when one is
active, is not affected (its workers have their own pools and limits).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pypeline.core.compat import lock_free_cached_property
from pypeline.run.nodes.dask_run import DaskPool

ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


def prepare_process(job_dir: str | os.PathLike[str]) -> None:
    """Before pyarrow is imported: choose Arrow's system allocator when the job runs in dask mode.

    Reads only the job's execution metadata (stdlib JSON); a folder it cannot read is
    left for the run to report.
    """
    if "pyarrow" in sys.modules or os.environ.get(ARROW_POOL_ENV):
        return
    try:
        [metadata] = Path(job_dir).glob("*_execution_metadata.json")
        mode = json.loads(metadata.read_text(encoding="utf-8"))["settings"]["execution_mode"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    choose_allocator(mode)


def choose_allocator(mode: Any) -> None:
    """Arrow's system allocator for a run in dask mode (``mode``: ``settings.execution_mode``), if not too late."""
    if mode == "dask" and "pyarrow" not in sys.modules and not os.environ.get(ARROW_POOL_ENV):
        os.environ[ARROW_POOL_ENV] = "system"


@contextlib.contextmanager
def dask_mode(settings: dict[str, Any]) -> Iterator[int | None]:
    """Set up the block for a dask-mode run (no-op in pandas mode); yields the dask pool's size."""
    if settings.get("execution_mode") != "dask":
        yield None
        return
    import dask

    # dask graphs are built and optimised from several threads at once in dask mode;
    # on Python 3.11 that can deadlock in functools.cached_property (see pypeline.core.compat)
    lock_free_cached_property()
    workers = int(dask.config.get("num_workers", None) or os.cpu_count() or 1)
    pool = DaskPool(max_workers=workers)
    try:
        with dask.config.set(pool=pool), _system_arrow_allocator():
            yield workers
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _system_arrow_allocator() -> Iterator[None]:
    if os.environ.get(ARROW_POOL_ENV):
        yield
        return
    import pyarrow as pa

    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)
