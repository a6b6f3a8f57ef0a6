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
import time
from typing import Any

from pypeline.core.secret import SecretRegistry
from pypeline.executors.local import run_module_lifecycle
from pypeline.executors.remote.far_side import FarLogger, error_result
from pypeline.executors.remote.secrets import resolve_far_side_secrets
from pypeline.modules.sdk.context import RunContext, ThreadRunner
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.secrets.transport import from_wire, lookup_from_env


def run_on_worker(
    module_path: str, configs: dict[str, Any], frames: dict[str, Any], plain: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Any]:
    """Run one module attempt in this worker and return its answer (never raises)."""
    started = time.perf_counter()
    logs: list[dict[str, Any]] = []
    secrets: list[str] = []
    unwired = SecretRegistry()  # secrets read here for globals and iteration items that arrived as references
    resolve = lookup_from_env(unwired)

    def redact(text: str) -> str:
        text = unwired.redact_text(text)
        for value in sorted(secrets, key=len, reverse=True):
            text = text.replace(value, "***") if value else text
        return text

    worker = _worker_address()
    try:
        logger = FarLogger(logs, redact=redact).bind(
            run_id=meta["run_id"], node_id=meta["node_id"], attempt=meta["attempt"], side="remote", worker=worker
        )
        resolved, found = resolve_far_side_secrets(configs, meta["node_id"])
        secrets.extend(found)
        ctx = RunContext(
            run_id=meta["run_id"],
            module_id=meta["module_id"],
            node_id=meta["node_id"],
            globals_store=GlobalStore(from_wire(meta["globals"], resolve)),
            executor=ThreadRunner(None),
            logger=logger,
            execution_mode="pandas",
            iter_path=tuple(meta["iter_path"]),
            iter_items=tuple(from_wire(meta["iter_items"], resolve)),
            context_vars=meta["context"],
        )
        outputs = asyncio.run(run_module_lifecycle(module_path, resolved, {**plain, **frames}, ctx))
        return {
            "status": "ok",
            "outputs": outputs,
            "globals": dict(ctx.globals_set),
            "stats": ctx.stats.to_dict(),
            "logs": logs,
            "worker": worker,
        }
    except Exception as exc:
        return {**error_result(exc, logs=logs, redact=redact, started=started), "worker": worker}


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "?"
