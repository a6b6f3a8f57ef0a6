"""``limit_mod``: keep ``n`` rows, after skipping ``offset`` rows (in input order).

In dask mode the result stays lazy: a one-partition frame that, when a sink
computes it, reads only as many leading partitions as it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pypeline.modules.common.column_rules import same_columns
from pypeline.modules.frames import is_dask
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.sdk.columns import Columns


class LimitMod(BaseModule):
    """Keep the first rows."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Keeps the first n rows (after an optional offset)"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {
            "n": {"type": "int", "description": "Number of rows to keep"},
        },
        "optional": {
            "offset": {"type": "int", "default": 0, "description": "Rows to skip first"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Any) -> list[str]:
        problems = []
        for key in ("n", "offset"):
            value = configs.get(key)
            if isinstance(value, int) and value < 0:
                problems.append(f"'{key}' must not be negative, got {value}")
        return problems

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return same_columns(inputs)

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        n, offset = self.configs["n"], self.configs["offset"]
        if is_dask(frame):
            head = frame.head(offset + n, npartitions=-1, compute=False)
            return {"output": head.map_partitions(lambda part: part.iloc[offset : offset + n], meta=frame._meta)}
        result = frame.iloc[offset : offset + n]
        ctx.set_global("row_count", len(result))
        ctx.set_global("rows_dropped", len(frame) - len(result))
        return {"output": result}
