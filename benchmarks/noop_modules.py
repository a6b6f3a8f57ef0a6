"""No-op modules for the scheduler benchmark: they do nothing, so what a run costs is the framework."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pypeline.modules.sdk import BaseModule, RunContext


class NoopSource(BaseModule):
    """Emit ``None`` on ``data``."""

    TYPE = "source"
    OUTPUT_PORTS = ["data"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"data": None}


class NoopMod(BaseModule):
    """Pass ``input`` through."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"output": inputs["input"]}


class NoopSink(BaseModule):
    """Consume ``input``."""

    TYPE = "sink"
    INPUT_PORTS = ["input"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {}


def small_frame(rows: int) -> pd.DataFrame:
    """``rows`` rows of ``id`` (int), ``age`` (int, 0..89) and ``name`` (text): the small-frame benchmarks' data."""
    ids = np.arange(rows, dtype="int64")
    return pd.DataFrame({"id": ids, "age": ids % 90, "name": [f"n{i}" for i in range(rows)]})


class FrameSource(BaseModule):
    """Emit :func:`small_frame` of ``rows`` rows on ``data``."""

    TYPE = "source"
    OUTPUT_PORTS = ["data"]
    CONFIG_SCHEMA = {"required": {}, "optional": {"rows": {"type": "int", "default": 5000}}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"data": small_frame(int(self.configs["rows"]))}
