"""``inline``: runs a module in a worker thread with its own event loop, and tags what it ran."""

from __future__ import annotations

import asyncio
from typing import Any

from pypeline.backends.base import Backend, ModuleTask
from pypeline.backends.local import run_module_lifecycle


class InlineExecutor(Backend):
    """Runs each attempt on a fresh event loop in a thread; records ``tag`` as a stat."""

    name = "inline"
    OPTIONS_SCHEMA = {
        "type": "object",
        "additionalProperties": False,
        "required": ["tag"],
        "properties": {"tag": {"type": "string", "minLength": 1}},
    }

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def submit(self, task: ModuleTask) -> dict[str, Any]:
        assert self.started
        outputs = await asyncio.to_thread(
            asyncio.run, run_module_lifecycle(task.module_path, task.configs, task.inputs, task.ctx)
        )
        task.ctx.add_stat("ran_by", f"inline:{task.options['tag']}")
        return outputs
