"""Benchmark-only stand-in for ``aggregate_mod`` (used while the built-in is not on main).

Same configs as the built-in: ``aggregations`` maps an output column to
``function(column)`` (sum, count, mean, min, max), grouped by ``group_by``,
groups sorted by key; works on pandas and dask frames (dask: tree reduction).
"""

from __future__ import annotations

import re
from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext

_SPEC = re.compile(r"^\s*(sum|count|mean|min|max)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$")


class BenchAggregate(BaseModule):
    """Group and aggregate."""

    TYPE = "mod"
    DESCRIPTION = "benchmark stand-in for aggregate_mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {
        "required": {"aggregations": {"type": "dict[str]"}},
        "optional": {"group_by": {"type": "list[str]", "default": []}},
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        named = {}
        for name, spec in self.configs["aggregations"].items():
            match = _SPEC.match(spec)
            if match is None:
                raise ValueError(f"aggregation {name}: {spec!r} is not function(column)")
            named[name] = (match.group(2), match.group(1))
        result = frame.groupby(self.configs["group_by"], sort=True).agg(**named).reset_index()
        return {"output": result}
