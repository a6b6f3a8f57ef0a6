"""``log_sink``: log the first rows of its input (for debugging a flow), and count them all.

The rows go to the run's structured log (``preview`` event, one entry per
row, values as JSON-able text) and so to the console and ``log.jsonl``. Use it
to look at the data between two modules without writing a file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pypeline.modules.common.records import json_default, plain_records
from pypeline.modules.frames import is_dask, lazy_len
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
            frame = frame[self.configs["columns"]]
        n = self.configs["rows"]
        if is_dask(frame):  # with the other sinks of the sub flow: the data is read once for all
            head, rows = await ctx.compute(frame.head(n, npartitions=-1, compute=False), lazy_len(frame))
            rows = int(rows)
        else:
            head, rows = frame.head(n), len(frame)
        preview = [json.loads(json.dumps(r, default=json_default)) for r in plain_records(head)]
        ctx.logger.info(
            self.configs["title"],
            rows=preview,
            shown=len(preview),
            total_rows=rows,
            columns=[str(c) for c in frame.columns],
        )
        ctx.set_global("row_count", rows)
        return {}
