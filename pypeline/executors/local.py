"""The local executor: await the module in this process, on the run's event loop."""

from __future__ import annotations

from typing import Any

from pypeline.executors.base import Executor, ModuleTask
from pypeline.modules.loader import load_module_class


async def run_module_lifecycle(
    module_path: str, configs: dict[str, Any], inputs: dict[str, Any], ctx: Any
) -> dict[str, Any]:
    """``setup`` -> ``run`` -> ``teardown`` (always) of a fresh instance; returns the outputs.

    Shared by every backend's far side, so a module lives the same life everywhere.
    """
    cls = load_module_class(module_path)
    module = cls(configs)
    await module.setup(ctx)
    try:
        outputs = await module.run(inputs, ctx)
    finally:
        await module.teardown(ctx)
    if outputs is None:
        return {}
    if not isinstance(outputs, dict):
        raise TypeError(f"run() returned {type(outputs).__name__}, expected a dict of output port -> value")
    return outputs


class LocalExecutor(Executor):
    """Runs modules in process (the default backend)."""

    name = "local"

    async def submit(self, task: ModuleTask) -> dict[str, Any]:
        return await run_module_lifecycle(task.module_path, task.configs, task.inputs, task.ctx)
