"""One ``dask.compute`` of a joint compute: on a thread of its own, stoppable, and leaving nothing running.

:class:`ComputeRun` computes a list of dask collections for the joint
computes of a sub flow instance (``joint.py``):

* **On a thread of its own.** The calling thread of ``dask.compute`` only
  drives dask's scheduler (the work runs on dask's pool), and it waits as long
  as the computation lasts; on the run's thread pool it would hold a worker
  that other modules need (``--threads 1``).
* **Stoppable.** When a module whose collections are being computed is
  cancelled (its timeout, a halting run), the computation is stopped: a dask
  callback raises at the start of the next task. dask has no other way to
  stop a local computation.
* **Leaving nothing running.** When ``dask.compute`` raises (a task failed,
  or the computation was stopped) the tasks it had started still run on
  dask's pool, and a straggler may still be writing a part file that a new
  computation of the same collections (the modules that were not at fault)
  would write again. In dask mode the run installs a :class:`DaskPool` as
  dask's pool (``run/engine/dask_mode.py``): it knows which thread submitted
  each task, so the run waits for the tasks *it* started before it reports,
  and two computations of one output never overlap.

Collections come in two kinds: expression-backed ones (dask dataframes and
what is built from them) and ``Delayed`` objects carrying graphs of their own;
dask warns when one ``dask.compute`` mixes them and optimises the graphs
apart anyway, so each kind is computed in one ``dask.compute`` of its own.

Only dask's local schedulers (threads; synchronous) can be stopped and
waited for: :attr:`ComputeRun.exact` tells whether that is the case (with a
dask.distributed client, say, it is not).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class DaskPool(ThreadPoolExecutor):
    """dask's pool in dask mode: remembers which thread submitted each running task (see the module docstring)."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "pypeline-dask") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._lock = threading.Lock()
        self._by_thread: defaultdict[int, set[Future[Any]]] = defaultdict(set)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future = super().submit(fn, *args, **kwargs)
        owner = threading.get_ident()
        with self._lock:
            self._by_thread[owner].add(future)
        future.add_done_callback(lambda done: self._forget(owner, done))
        return future

    def _forget(self, owner: int, future: Future[Any]) -> None:
        with self._lock:
            running = self._by_thread.get(owner)
            if running is not None:
                running.discard(future)
                if not running:
                    del self._by_thread[owner]

    def wait_for_mine(self) -> None:
        """Return once no task the current thread submitted runs any more."""
        with self._lock:
            mine = set(self._by_thread.get(threading.get_ident(), ()))
        wait_futures(mine)


class Stopped(Exception):
    """Raised inside dask's scheduler loop to stop a computation (never leaves this module)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a computation ended: ``results`` (one per collection), or ``error``, or ``stopped``."""

    results: list[Any] | None = None
    error: BaseException | None = None
    stopped: bool = False
    seconds: float = 0.0


class ComputeRun:
    """One computation of ``collections`` (see the module docstring)."""

    def __init__(self, collections: list[Any]) -> None:
        self.collections = collections
        self.stop_event = threading.Event()
        self.exact = _local_scheduler(collections)
        """The computation can be stopped, and stragglers waited for (dask's local schedulers)."""

    def stop(self) -> None:
        """Ask the computation to stop at the start of its next task (no effect when not :attr:`exact`)."""
        self.stop_event.set()

    async def outcome(self) -> Outcome:
        """Run the computation on a thread of its own; how it ended."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Outcome] = loop.create_future()

        def deliver(outcome: Outcome) -> None:
            if not done.done():
                done.set_result(outcome)

        def work() -> None:
            outcome = self._compute()
            try:
                loop.call_soon_threadsafe(deliver, outcome)
            except RuntimeError:  # the loop closed meanwhile (the run is over): nobody waits for it
                pass

        threading.Thread(target=work, name="pypeline-joint-compute", daemon=True).start()
        return await done

    def _compute(self) -> Outcome:
        started = time.perf_counter()
        try:
            results = self._compute_groups()
        except Stopped:
            outcome = Outcome(stopped=True)
        except BaseException as exc:  # whatever a task raised: the joint compute attributes it
            outcome = Outcome(error=exc, stopped=self.stop_event.is_set())
        else:
            outcome = Outcome(results=results)
        finally:
            if self.exact:
                _wait_for_stragglers()
        return Outcome(outcome.results, outcome.error, outcome.stopped, round(time.perf_counter() - started, 3))

    def _compute_groups(self) -> list[Any]:
        from dask.base import compute as dask_compute
        from dask.delayed import Delayed

        kinds = [isinstance(c, Delayed) or getattr(c, "expr", None) is None for c in self.collections]
        results: list[Any] = [None] * len(self.collections)
        options: dict[str, Any] = {"callbacks": [_stopper(self.stop_event)]} if self.exact else {}
        for legacy in (False, True):
            indexes = [i for i, kind in enumerate(kinds) if kind is legacy]
            if indexes:
                computed = dask_compute(*(self.collections[i] for i in indexes), **options)
                for index, result in zip(indexes, computed, strict=True):
                    results[index] = result
        return results


def _local_scheduler(collections: list[Any]) -> bool:
    import dask
    import dask.local
    import dask.threaded
    from dask.base import get_scheduler

    scheduler = get_scheduler(collections=collections)
    if scheduler is dask.local.get_sync:
        return True
    return scheduler is dask.threaded.get and isinstance(dask.config.get("pool", None), DaskPool)


def _wait_for_stragglers() -> None:
    import dask

    pool = dask.config.get("pool", None)
    if isinstance(pool, DaskPool):
        pool.wait_for_mine()


def _stopper(stop: threading.Event) -> tuple[Any, ...]:
    """dask callbacks that raise :class:`Stopped` when a task is about to start after ``stop`` was set."""
    from dask.callbacks import Callback

    def pretask(*_task: Any) -> None:  # called with (key, graph, state)
        if stop.is_set():
            raise Stopped

    return tuple(Callback(pretask=pretask)._callback)
