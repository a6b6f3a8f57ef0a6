"""The garbage collector during a run: what exists when the run starts is set aside.

CPython's cyclic garbage collector now and then walks every container object
the process holds. When a run starts, that is mostly what never goes away:
the imported libraries (pandas, pyarrow, ...) and the job's plan, a hundred
thousand objects and more. A run of thousands of small modules allocates
enough to trigger such full collections during the run, and each one walks
all of those objects again: measured with ``benchmarks/module_overhead.py``,
30-60 µs per module of a 2,000-module chain, and growing with the heap.

:func:`heap_frozen` moves every object alive when the run starts to the
collector's permanent generation (:func:`gc.freeze`) and back when the run
ends (:func:`gc.unfreeze`); ``run_job`` does so before it reads the job folder
(parsing a large ``dag.json`` triggers full collections too) and the engine
again once the plan is read. Collections during the run then walk only what the
run allocated. Nothing is leaked: a frozen object that became garbage is
collected after the run, at the next collection. Objects are still freed by
reference counting as usual; only cycles among the frozen objects wait.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_FROZEN = [0]
"""Blocks inside :func:`heap_frozen` now (runs may nest or overlap): the last one out unfreezes."""
_LOCK = threading.Lock()


@contextmanager
def heap_frozen() -> Iterator[None]:
    """Freeze the objects alive now for the collector until the block ends (see the module docstring).

    Blocks nest: ``run_job`` freezes before it reads the job folder, the engine once
    the plan is read; the objects go back to the collector when the outermost block
    (of every run in the process) ends.
    """
    with _LOCK:
        gc.freeze()
        _FROZEN[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _FROZEN[0] -= 1
            if not _FROZEN[0]:
                gc.unfreeze()
