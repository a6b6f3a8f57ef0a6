"""``json_sink``: write a frame as JSON Lines (one object per line) or as one JSON array, atomically.

Nulls are written as ``null``, datetimes as ISO 8601 text, nested values
(dicts and lists, as ``json_source`` reads them) as nested JSON. Non-ASCII
text is written as is (UTF-8) unless ``ascii: true``. The file appears under
its final name only when complete; in dask mode partitions are streamed into
it one at a time (bounded memory).
"""

from __future__ import annotations

import json
from typing import Any

from pypeline.modules.common.records import iter_pandas_parts, json_default, plain_records
from pypeline.modules.sdk import BaseModule, RunContext, atomic_output_path


class JsonSink(BaseModule):
    """Write JSON / JSON Lines."""

    TYPE = "sink"
    VERSION = "1.0.0"
    DESCRIPTION = "Writes its input as JSON Lines or a JSON array (atomic rename on success)"
    CATEGORY = "File Sinks"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    CONFIG_SCHEMA = {
        "required": {"output_path": {"type": "str", "description": "Target file"}},
        "optional": {
            "format": {
                "type": "str",
                "default": "jsonl",
                "enum": ["jsonl", "array"],
                "description": "`jsonl`: one object per line; `array`: one JSON array",
            },
            "indent": {"type": "int|null", "default": None, "description": "array format: indentation for humans"},
            "ascii": {"type": "bool", "default": False, "description": "Escape non-ASCII characters"},
            "encoding": {"type": "str", "default": "utf-8", "description": "File encoding"},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        path = self.configs["output_path"]
        rows = await ctx.executor.run_in_thread(self._write, inputs["input"], path)
        ctx.record_file_written(path)
        ctx.set_global("row_count", rows)
        return {}

    def _write(self, frame: Any, path: str) -> int:
        c = self.configs
        lines = c["format"] == "jsonl"
        rows = 0
        with atomic_output_path(path) as tmp, open(tmp, "w", encoding=c["encoding"], newline="\n") as fh:
            if not lines:
                fh.write("[")
            for part in iter_pandas_parts(frame):
                for record in plain_records(part):
                    text = json.dumps(record, default=json_default, ensure_ascii=c["ascii"],
                                      indent=None if lines else c["indent"])
                    if lines:
                        fh.write(text + "\n")
                    else:
                        fh.write(("," if rows else "") + ("\n" if c["indent"] is not None else "") + text)
                    rows += 1
            if not lines:
                fh.write(("\n" if c["indent"] is not None and rows else "") + "]\n")
        return rows
