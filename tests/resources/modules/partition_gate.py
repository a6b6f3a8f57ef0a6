"""Test-only transforms for joint computes: a per-partition gate, and a transform that computes.

``PartitionGate`` passes its input through, partition by partition (lazily in
dask mode), and on the way counts the calls per partition in
:data:`CALLS` (keyed by its ``key`` config), sleeps ``sleep`` seconds, and
fails the first ``fail_first`` calls of partition 0 with a ``DataError``. The
tests run flows in process and read :data:`CALLS`.

``ComputingMod`` counts its input's rows with ``ctx.compute`` before passing
it on (a transform a sink waits for, while another sink waits in the batch).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pandas as pd

from pypeline.modules.frames import is_dask, lazy_len
from pypeline.modules.sdk import BaseModule, DataError, RunContext

CALLS: Counter[tuple[str, int]] = Counter()
"""(key, partition number) -> calls so far."""
_LOCK = threading.Lock()


def _gate(part: pd.DataFrame, key: str, sleep: float, fail_first: int, partition_info: Any = None) -> pd.DataFrame:
    number = int((partition_info or {}).get("number", 0))
    with _LOCK:
        CALLS[(key, number)] += 1
        calls = CALLS[(key, number)]
    if sleep:
        time.sleep(sleep)
    if number == 0 and calls <= fail_first:
        raise DataError(f"gate '{key}' closed for call {calls} of partition 0")
    return part


class PartitionGate(BaseModule):
    """Identity, partition by partition, with counted calls, a pause and planned failures."""

    TYPE = "mod"
    DESCRIPTION = "test gate"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {
        "required": {"key": {"type": "str"}},
        "optional": {"sleep": {"type": "number", "default": 0.0}, "fail_first": {"type": "int", "default": 0}},
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        args = (self.configs["key"], float(self.configs["sleep"]), int(self.configs["fail_first"]))
        if is_dask(frame):
            return {"output": frame.map_partitions(_gate, *args, meta=frame._meta)}
        return {"output": _gate(frame, *args)}


class ComputingMod(BaseModule):
    """Identity that first counts its input with ``ctx.compute`` (global ``rows``)."""

    TYPE = "mod"
    DESCRIPTION = "test transform that computes"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["rows"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        (rows,) = await ctx.compute(lazy_len(frame))
        ctx.set_global("rows", int(rows))
        return {"output": frame}


def _worker() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "not-a-worker"


class WorkersSeen(BaseModule):
    """A sink that records, through ``ctx.compute``, which dask workers computed its input (global ``workers``)."""

    TYPE = "sink"
    DESCRIPTION = "test sink"
    INPUT_PORTS = ["input"]
    GLOBALS = ["workers"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        where = frame.map_partitions(lambda part: pd.Series([_worker()] * len(part), dtype=str), meta=(None, str))
        (seen,) = await ctx.compute(where)
        ctx.set_global("workers", sorted(set(seen)))
        return {}
