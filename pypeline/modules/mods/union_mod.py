"""``union_mod``: stack up to four inputs, aligning columns by name.

pandas and dask frames are stacked with ``concat``; Arrow tables and streams
by :mod:`pypeline.modules.mods.union_arrow`, with the same columns and types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.common.column_rules import stacked
from pypeline.modules.kinds import BatchStream, kind_of
from pypeline.modules.mods.union_arrow import union_streams, union_tables
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
    ACCEPTS_ARROW = True
    STREAMS = True
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
        kinds = [kind_of(f) for f in frames]
        distinct = self.configs["distinct"]
        if any(k.lazy and k.native == "arrow" for k in kinds):
            stream = union_streams(frames, distinct)
            stream.on_end(lambda: _report(ctx, sum(map(_rows, frames)), int(stream.rows)))
            return {"output": stream}
        if any(k.partitioned for k in kinds):
            import dask.dataframe as dd

            result = dd.concat(frames, join="outer", interleave_partitions=True)
            return {"output": result.drop_duplicates() if distinct else result}
        if all(k.native == "arrow" for k in kinds):
            result = await ctx.executor.run_in_thread(union_tables, frames, distinct)
        else:
            frames = [k.to_pandas(f) for k, f in zip(kinds, frames, strict=True)]
            result = await ctx.executor.run_in_thread(_union_frames, frames, distinct)
        _report(ctx, sum(map(_rows, frames)), len(result))
        return {"output": result}


def _rows(frame: Any) -> int:
    return int(frame.rows) if isinstance(frame, BatchStream) else len(frame)


def _report(ctx: RunContext, rows_in: int, rows_out: int) -> None:
    ctx.set_global("row_count", rows_out)
    ctx.set_global("rows_dropped", rows_in - rows_out)


def _union_frames(frames: list[pd.DataFrame], distinct: bool) -> pd.DataFrame:
    with_rows = [f for f in frames if len(f)] or frames[:1]
    columns = list(dict.fromkeys(c for f in frames for c in f.columns))
    result = pd.concat(with_rows, ignore_index=True, join="outer").reindex(columns=columns)
    return result.drop_duplicates() if distinct else result
