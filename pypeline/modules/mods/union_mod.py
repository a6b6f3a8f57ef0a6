"""``union_mod``: stack up to four inputs, aligning columns by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.common.column_rules import stacked
from pypeline.modules.frames import is_dask
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.sdk.columns import Columns


class UnionMod(BaseModule):
    """Union frames by column name (missing columns become nulls)."""

    TYPE = "mod"
    DESCRIPTION = "Stacks up to four inputs by column name (union by name)"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input1", "input2", "input3", "input4"]
    OPTIONAL_INPUTS = ["input3", "input4"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {},
        "optional": {
            "distinct": {
                "type": "bool",
                "default": False,
                "description": "Drop duplicate rows (counted in rows_dropped)",
            },
        },
    }

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return {"output": stacked(inputs, cls.INPUT_PORTS)}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frames = [inputs[p] for p in self.INPUT_PORTS if inputs.get(p) is not None]
        if any(is_dask(f) for f in frames):
            import dask.dataframe as dd

            result = dd.concat(frames, join="outer", interleave_partitions=True)
        else:
            with_rows = [f for f in frames if len(f)] or frames[:1]
            columns = list(dict.fromkeys(c for f in frames for c in f.columns))
            result = pd.concat(with_rows, ignore_index=True, join="outer").reindex(columns=columns)
        if self.configs["distinct"]:
            result = result.drop_duplicates()
        if not is_dask(result):
            ctx.set_global("row_count", len(result))
            ctx.set_global("rows_dropped", sum(len(f) for f in frames) - len(result))
        return {"output": result}
