"""``log_sink``: log the first rows of its input (for debugging a flow), and count them all.

The rows go to the run's structured log (``preview`` event, one entry per
row, values as JSON-able text) and so to the console and ``log.jsonl``. Use it
to look at the data between two modules without writing a file. A stream is
read to its end (the count), keeping only the rows shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.modules.common.columns import column_names
from pypeline.modules.common.records import json_default, plain_records
from pypeline.modules.frames import lazy_len
from pypeline.modules.kinds import BatchStream, kind_of
from pypeline.modules.kinds.convert import as_table, to_pandas
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.sdk.columns import ColumnUse, name_uses


class LogSink(BaseModule):
    """Log a preview of the data."""

    TYPE = "sink"
    VERSION = "1.0.0"
    DESCRIPTION = "Logs the first rows of its input and its row count (for debugging)"
    CATEGORY = "Utility"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {},
        "optional": {
            "rows": {"type": "int", "default": 10, "description": "How many rows to log"},
            "columns": {"type": "list[str]|null", "default": None, "description": "Only these columns"},
            "title": {"type": "str", "default": "preview", "description": "Label of the log event"},
        },
    }

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        return name_uses("columns", configs.get("columns"))

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        if self.configs["columns"]:
            from pypeline.modules.common.columns import require_columns

            require_columns(frame, self.configs["columns"])
        columns = self.configs["columns"] or column_names(frame)
        n = self.configs["rows"]
        kind = kind_of(frame)
        if kind.native == "arrow":
            head, rows = await ctx.executor.run_in_thread(_arrow_head, frame, n, columns)
        elif kind.partitioned:  # with the other sinks of the sub flow: the data is read once for all
            frame = frame[columns]
            head, rows = await ctx.compute(frame.head(n, npartitions=-1, compute=False), lazy_len(frame))
            rows = int(rows)
        else:
            frame = frame[columns]
            head, rows = frame.head(n), len(frame)
        preview = [json.loads(json.dumps(r, default=json_default)) for r in plain_records(head)]
        ctx.logger.info(
            self.configs["title"],
            rows=preview,
            shown=len(preview),
            total_rows=rows,
            columns=[str(c) for c in columns],
        )
        ctx.set_global("row_count", rows)
        return {}


def _arrow_head(data: pa.Table | BatchStream, n: int, columns: list[str]) -> tuple[pd.DataFrame, int]:
    """The first ``n`` rows of a table or a stream (read to its end to count it) and the row count."""
    if isinstance(data, pa.Table):
        return to_pandas(data.select(columns).slice(0, n)), int(data.num_rows)
    kept: list[pa.Table] = []
    held = 0
    for batch in data:
        if held < n:
            kept.append(as_table(batch).select(columns).slice(0, n - held))
            held += kept[-1].num_rows
    head = pa.concat_tables(kept) if kept else data.schema.empty_table().select(columns)
    return to_pandas(head), int(data.rows)
