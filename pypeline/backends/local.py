"""The local backend: await the module in this process, on the run's event loop.

:func:`run_module_lifecycle` is the one life a module instance lives on every
backend: ``setup`` -> ``run`` -> ``teardown``. ``teardown`` is always awaited
to its end, even when the run is cancelled while it runs (a halting run, a
module timeout that expires during a teardown started by a cancellation):
further cancellations wait for it and are re-raised afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from pypeline.backends.base import Backend, ModuleTask
from pypeline.modules.loader import load_module_class
from pypeline.modules.sdk.base import BaseModule


async def run_module_lifecycle(
    module_path: str, configs: dict[str, Any], inputs: dict[str, Any], ctx: Any
) -> dict[str, Any]:
    """``setup`` -> ``run`` -> ``teardown`` (always, also after a failed ``setup``) of a fresh instance.

    Shared by every backend's far side, so a module lives the same life everywhere.
    """
    cls = load_module_class(module_path)
    module = cls(configs)
    try:
        if cls.setup is not BaseModule.setup:
            await module.setup(ctx)
        outputs: Any = await module.run(inputs, ctx)  # user code: checked below, whatever it declares
    finally:
        if cls.teardown is not BaseModule.teardown:
            await _to_the_end(module.teardown(ctx))
    if outputs is None:
        return {}
    if not isinstance(outputs, dict):
        raise TypeError(f"run() returned {type(outputs).__name__}, expected a dict of output port -> value")
    return outputs


async def _to_the_end(coro: Coroutine[Any, Any, None]) -> None:
    """Await ``coro`` to completion even if this task is cancelled meanwhile; then re-raise that."""
    task = asyncio.ensure_future(coro)
    interrupted = False
    while True:
        try:
            await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():
                raise
            interrupted = True
    if interrupted:
        raise asyncio.CancelledError


class LocalBackend(Backend):
    """Runs modules in process (the default backend)."""

    name = "local"

    async def submit(self, task: ModuleTask) -> dict[str, Any]:
        return await run_module_lifecycle(task.module_path, task.configs, task.inputs, task.ctx)
