"""The run's thread pool, and what happens to a thread whose attempt timed out.

A thread cannot be stopped from outside. When an attempt times out (or the
run is cancelled) while one of its calls runs on the pool, the run stops
*waiting* for it: the attempt is recorded ``timed_out`` at its limit and the
run goes on. The thread is *abandoned*: it runs on until its call returns,
and its result is dropped. Two things follow, and :class:`RunPool` does both:

* the pool must not lose a worker for good: an attempt that timed out hands
  its still-running calls in (:meth:`AttemptThreads.abandon`), and the pool
  grows by as many workers, so ``--threads 1`` does not starve every later
  module;
* the end of the run must not wait for them: :meth:`RunPool.shutdown` does
  not join while a call still runs (``asyncio.run`` shuts the default
  executor down with ``wait=True``, and so does the run's exit stack), and
  ``pype`` then ends its process without joining such threads
  (``pypeline.cli.cli.console``).

Work that holds the GIL in C never gives the event loop a chance: the
watchdog process stops such a run (``pypeline/run/guard/watchdog.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from pypeline.modules.sdk.context import ThreadRunner

T = TypeVar("T")


class RunPool(ThreadPoolExecutor):
    """A :class:`ThreadPoolExecutor` that knows its running calls (see the module docstring)."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "pypeline") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._running: set[Future[Any]] = set()
        self.abandoned = 0
        """Calls handed in by attempts that timed out (each got a replacement worker)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future = super().submit(fn, *args, **kwargs)
        self._running.add(future)
        future.add_done_callback(self._running.discard)  # called at once if it is done already
        return future

    def busy(self) -> int:
        """Calls submitted and not finished (queued or running)."""
        return sum(1 for future in list(self._running) if not future.done())

    def replace(self, count: int) -> None:
        """Add ``count`` workers in place of threads held by abandoned calls."""
        self.abandoned += count
        # ThreadPoolExecutor starts workers on submit up to ``_max_workers``; there is no public way to grow it
        self._max_workers += count

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut down; never wait for a call that still runs when the run is over (it was abandoned)."""
        super().shutdown(wait=wait and not self.busy(), cancel_futures=cancel_futures)


class AttemptThreads(ThreadRunner):
    """``ctx.executor`` of one attempt that has a timeout: remembers its calls to hand them in if it times out."""

    def __init__(self, pool: RunPool) -> None:
        super().__init__(pool)
        self._run_pool = pool
        self._calls: set[Future[Any]] = set()

    async def run_in_thread(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        future = self._run_pool.submit(fn, *args, **kwargs)
        self._calls.add(future)
        future.add_done_callback(self._calls.discard)
        return await asyncio.wrap_future(future)

    def abandon(self) -> int:
        """After a timeout: give the pool a worker for each call still running; how many there were."""
        stuck = sum(1 for future in list(self._calls) if future.running())
        for future in list(self._calls):
            future.cancel()  # a call still queued never starts
        if stuck:
            self._run_pool.replace(stuck)
        return stuck
