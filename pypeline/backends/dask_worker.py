"""What a dask worker runs for a module in ``execution_mode: pandas`` (the far side of the dask backend).

:func:`run_on_worker` is submitted as one dask task per module attempt. It
builds a :class:`RunContext` like the Lambda and Glue far sides do (globals
seeded from the caller's snapshot, a logger that keeps its lines), resolves
secret templates here, runs the module's life cycle and returns a plain dict:
outputs (frames stay frames: dask moves them), globals set, stats, log lines,
or a structured error with the traceback. It never raises, so a module error
is reported the same way on every backend.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pypeline.backends.local import run_module_lifecycle
from pypeline.backends.remote_far_side import FarAttempt


def run_on_worker(
    module_path: str, configs: dict[str, Any], frames: dict[str, Any], plain: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Any]:
    """Run one module attempt in this worker and return its answer (never raises)."""
    attempt = FarAttempt()
    worker = _worker_address()
    try:
        ctx, resolved = attempt.context(meta, configs, execution_mode="pandas", worker=worker)
        outputs = asyncio.run(run_module_lifecycle(module_path, resolved, {**plain, **frames}, ctx))
        return {
            "status": "ok",
            "outputs": outputs,
            "globals": dict(ctx.globals_set),
            "stats": ctx.stats.to_dict(),
            "logs": attempt.logs,
            "worker": worker,
        }
    except Exception as exc:
        return {**attempt.error(exc), "worker": worker}


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "?"
