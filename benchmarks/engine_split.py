"""Where a run's CPU time goes, per module: loading the job, the sub flow runner, the checkpoint, the manifest.

Used by ``scheduler_overhead.py --split``: the run is timed with the CPU time
(``time.process_time``) spent inside four parts of the engine added up, each
divided by the number of modules:

* ``load``: :func:`pypeline.run.job.load_job` (``dag.json`` and the execution
  metadata parsed, module specs and the plan's indexes built);
* ``sub flows``: the sub flow runner (every node: records, context, task,
  artifacts, the log line, and the modules' own work, nothing for no-op modules);
* ``checkpoint``: the checkpoint record of each finished sub flow instance;
* ``manifest``: the manifest writes (at the start and at the end);
* ``rest``: the run's CPU time outside those four.

The parts are measured by wrapping those functions for the duration of the
runs, which adds well under a microsecond per call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PARTS = ("load", "sub flows", "checkpoint", "manifest")


@contextmanager
def _timed(owner: Any, name: str, spent: dict[str, float], part: str) -> Iterator[None]:
    """Add the CPU time of every call of ``owner.name`` to ``spent[part]`` while the block runs."""
    original = getattr(owner, name)
    if asyncio.iscoroutinefunction(original):
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return await original(*args, **kwargs)
            finally:
                spent[part] += time.process_time() - start
    else:
        def timed(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent[part] += time.process_time() - start
    setattr(owner, name, timed)
    try:
        yield
    finally:
        setattr(owner, name, original)


def split_run(run: Callable[[str], float], modules: int, repeat: int) -> dict[str, float]:
    """µs per module of each part (and ``total``, ``rest``) in the run with the least CPU time of ``repeat``.

    ``run(run_id)`` runs the job once in a fresh event loop and returns its CPU seconds.
    """
    import pypeline.run.run as run_module
    from pypeline.run.checkpoint.store import CheckpointWriter
    from pypeline.run.nodes.subflow import SubflowRunner
    from pypeline.run.observe.manifest import ManifestWriter

    best: dict[str, float] = {}
    for i in range(repeat):
        spent = dict.fromkeys(PARTS, 0.0)
        with _timed(run_module, "load_job", spent, "load"), \
                _timed(SubflowRunner, "__call__", spent, "sub flows"), \
                _timed(CheckpointWriter, "instance_done", spent, "checkpoint"), \
                _timed(ManifestWriter, "write", spent, "manifest"):
            total = run(f"split{i}")
        if not best or total < best["total"]:
            best = {**spent, "total": total}
    best["rest"] = best["total"] - sum(best[part] for part in PARTS)
    return {key: value / modules * 1e6 for key, value in best.items()}


def print_split(figures: dict[str, float], job: Path) -> None:
    """One line: each part's µs per module."""
    shown = "  ".join(f"{key} {figures[key]:.1f}" for key in (*PARTS, "rest", "total"))
    print(f"{job.name}: CPU µs per module, by part: {shown}")
