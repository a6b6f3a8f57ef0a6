"""No-op modules for the scheduler benchmark: they do nothing, so what a run costs is the framework."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pypeline.modules.kinds.stream import BatchStream
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
    """Emit :func:`small_frame` of ``rows`` rows on ``data``, as the execution mode's own kind of frame.

    A pandas frame in pandas mode, an Arrow table in arrow mode, a stream of one batch
    in stream mode: the modules after it then work on that kind, as after a built-in source.
    """

    TYPE = "source"
    OUTPUT_PORTS = ["data"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {"required": {}, "optional": {"rows": {"type": "int", "default": 5000}}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = small_frame(int(self.configs["rows"]))
        if ctx.execution_mode not in ("arrow", "stream"):
            return {"data": frame}
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if ctx.execution_mode == "arrow":
            return {"data": table}
        return {"data": BatchStream(table.schema, lambda: iter(table.to_batches()), origin="src")}
