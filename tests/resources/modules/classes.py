"""Module classes that exercise the build's checks of module declarations."""

from __future__ import annotations

from typing import Any

from pypeline import BaseModule, RunContext


class PandasOnly(BaseModule):
    """A transform that cannot work on dask frames."""

    TYPE = "mod"
    DESCRIPTION = "Upper-cases a column (pandas only)"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    SUPPORTS_DASK = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"output": inputs["input"]}


class BadType(BaseModule):
    """Declares a TYPE that is not a category."""

    TYPE = "transformer"

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {}


class BadSchema(BaseModule):
    """Declares a config of an unknown type."""

    TYPE = "solo"
    CONFIG_SCHEMA = {"required": {"when": {"type": "datetime"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {}


class NoRun(BaseModule):
    """Forgets run(): the module would fail only when the run reaches it."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]

    async def execute(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"output": inputs["input"]}


class SyncRun(BaseModule):
    """Defines run() without async."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]

    def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:  # type: ignore[override]
        return {"output": inputs["input"]}


class NotAModule:
    """A plain class, not a BaseModule."""


class OpenPath(BaseModule):
    """Opens the file its 'path' config names, as a module author's own code would (no error handling)."""

    TYPE = "source"
    OUTPUT_PORTS = ["data"]
    CONFIG_SCHEMA = {"required": {"path": {"type": "str"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        with open(self.configs["path"], encoding="utf-8") as fh:
            return {"data": fh.read()}
