"""Modules the executor tests run on every backend (importable on dask workers, Lambda and Glue)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class Scale(BaseModule):
    """``value * factor + offset`` where ``offset`` may come from another module's global."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["total"]
    CONFIG_SCHEMA = {
        "required": {"factor": {"type": "number"}},
        "optional": {
            "offset_from": {"type": "str", "default": ""},
            "label": {"type": "str", "default": ""},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"].copy()
        offset = 0
        if self.configs["offset_from"]:
            module, var = self.configs["offset_from"].split("__")
            offset = ctx.get_global(module, var)
        frame["value"] = frame["value"] * self.configs["factor"] + offset
        if self.configs["label"]:
            frame["label"] = self.configs["label"]
        total = frame["value"].sum()
        if hasattr(total, "compute"):
            total = total.compute()
        ctx.set_global("total", float(total))
        ctx.add_stat("scaled_rows", len(frame))
        ctx.logger.info("scaled", factor=self.configs["factor"], offset=offset)
        return {"output": frame}


class Boom(BaseModule):
    """Always fails."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {"required": {}, "optional": {"message": {"type": "str", "default": "boom"}}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        raise ValueError(f"{self.configs['message']} ({len(inputs['input'])} rows)")


class FlakyOnce(BaseModule):
    """Fails while ``marker`` does not exist, creating it: the first attempt fails, a retry passes."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {"required": {"marker": {"type": "str"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        marker = Path(self.configs["marker"])
        if not marker.exists():
            marker.write_text("failed once", encoding="utf-8")
            raise RuntimeError(f"first attempt fails on purpose (pid {os.getpid()})")
        return {"output": inputs["input"]}


class Sleepy(BaseModule):
    """Sleeps, then passes its input through."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {"required": {"seconds": {"type": "number"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        await asyncio.sleep(self.configs["seconds"])
        return {"output": inputs["input"]}


class Secretive(BaseModule):
    """Reports whether its ``password`` config was resolved (never outputs the value)."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {"required": {"password": {"type": "str"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        ctx.set_global("password_length", len(self.configs["password"]))
        return {"output": inputs["input"]}


class WhereAmI(BaseModule):
    """Records which dask workers computed its frame (``execution_mode: dask``)."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["workers"]
    CONFIG_SCHEMA = {"required": {}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        where = frame.map_partitions(lambda part: part.assign(worker=_worker()), meta={**frame.dtypes, "worker": str})
        seen = await ctx.executor.run_in_thread(lambda: sorted(set(where["worker"].compute())))
        ctx.set_global("workers", seen)
        return {"output": frame}


def _worker() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except ValueError:
        return "not-a-worker"


class ListFiles(BaseModule):
    """A source whose list output crosses as JSON."""

    TYPE = "source"
    OUTPUT_PORTS = ["files"]
    LIST_OUTPUTS = ["files"]
    GLOBALS = ["count"]
    CONFIG_SCHEMA = {"required": {"names": {"type": "list[str]"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        ctx.set_global("count", len(self.configs["names"]))
        return {"files": [n.upper() for n in self.configs["names"]]}
