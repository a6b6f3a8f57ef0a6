"""Where an eager kind (pandas, Arrow table) does a module's work: inline when small, else on the pool.

Work on a large frame is real CPU work: run on the event loop, it would stall
every other module of the run (the sibling branch of a fan-out waits instead
of running on the second core), so it goes to the run's thread pool. On a
small frame (:data:`INLINE_CELLS`) the work takes microseconds to a
millisecond, less than handing it to a thread and back (a queue, a wake-up,
the interpreter lock changing hands twice), so it runs inline. A chain of
thousands of small modules pays that hand-off once per module otherwise
(``benchmarks/module_overhead.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

INLINE_CELLS = 50_000
"""Frames of at most this many cells (rows x columns) are worked on inline, on the event loop."""


async def eager_work(ctx: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` where it belongs; ``args[0]`` is the frame worked on (see the module docstring)."""
    if args and cells(args[0]) <= INLINE_CELLS:
        return fn(*args)
    return await ctx.executor.run_in_thread(fn, *args)


def cells(frame: Any) -> float:
    """Rows x columns of a pandas frame or series, an Arrow table or batch; infinite when unknown."""
    shape = getattr(frame, "shape", None)
    if not isinstance(shape, tuple) or not shape or not all(type(n) is int for n in shape):
        return float("inf")
    count = 1
    for n in shape:
        count *= n
    return count
