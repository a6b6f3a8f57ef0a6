"""``limit_mod``: keep ``n`` rows, after skipping ``offset`` rows (in input order).

In dask mode the result stays lazy: a one-partition frame that, when a sink
computes it, reads only as many leading partitions as it needs. A stream
passes on the rows it keeps and still reads its input to the end, so the
row counts upstream modules set are those of the whole input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from pypeline.modules.common.column_rules import same_columns
from pypeline.modules.kinds import BatchStream, kind_of
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
    ACCEPTS_ARROW = True
    STREAMS = True
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
        kind = kind_of(frame)
        if isinstance(frame, BatchStream):
            result: Any = BatchStream(frame.schema, lambda: _limited(frame, offset, n), upstream=frame)
        elif kind.lazy:
            head = frame.head(offset + n, npartitions=-1, compute=False)
            return {"output": head.map_partitions(lambda part: part.iloc[offset : offset + n], meta=frame._meta)}
        elif isinstance(frame, pa.Table):
            result = frame.slice(offset, n)
        else:
            result = frame.iloc[offset : offset + n]

        def report(rows_in: int, rows_out: int) -> None:
            ctx.set_global("row_count", rows_out)
            ctx.set_global("rows_dropped", rows_in - rows_out)

        kind.report_rows(frame, result, report)
        return {"output": result}


def _limited(upstream: BatchStream, offset: int, n: int) -> Any:
    """The rows ``[offset, offset + n)`` of a stream; the rest is read too (the counts of the flow stay whole)."""
    seen = 0
    for batch in upstream:
        start, stop = max(offset - seen, 0), min(offset + n - seen, batch.num_rows)
        if start < stop:
            yield batch.slice(start, stop - start)
        seen += batch.num_rows
