"""The items of one ``iterate`` connection: one after the other, or up to ``parallel`` at once.

With ``parallel: N``, N workers take the items in order from one shared
iterator (taking the next item never awaits, so no two workers take the
same one); each worker runs its item's instance and that instance's whole
downstream before it takes the next, so every item's scope still runs depth
first. At most N items run at any time, and the connection is done when
every item is. A halted run starts no further item (``stopped``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

VisitItem = Callable[[int, Any], Awaitable[bool]]
"""Runs the scope of one item ``(index, item)``; True on success."""


async def run_items(
    values: list[Any],
    visit: VisitItem,
    *,
    parallel: int,
    stopped: Callable[[], bool],
    spawn: Callable[[Coroutine[Any, Any, bool]], asyncio.Task[bool]],
) -> bool:
    """Visit every item (see the module docstring); True when every item succeeded.

    Args:
        values: the list output that drives the iteration.
        visit: runs one item's scope.
        parallel: how many items may run at once.
        stopped: True once the run halted (no further item starts).
        spawn: makes a worker task (the scheduler's, so a handler's workers stay protected).
    """
    numbered: Iterator[tuple[int, Any]] = enumerate(values)

    async def worker() -> bool:
        ok = True
        for index, item in numbered:
            if stopped():
                return False
            ok = await visit(index, item) and ok
        return ok

    if parallel <= 1 or len(values) <= 1:
        return await worker()
    workers = [spawn(worker()) for _ in range(min(parallel, len(values)))]
    try:
        return all(await asyncio.gather(*workers))
    except asyncio.CancelledError:
        for task in workers:
            task.cancel()
        raise
