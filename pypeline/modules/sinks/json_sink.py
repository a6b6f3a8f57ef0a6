"""``json_sink``: write a frame as JSON Lines (one object per line) or as one JSON array, atomically.

Nulls are written as ``null``, datetimes as ISO 8601 text, nested values
(dicts and lists, as ``json_source`` reads them) as nested JSON. Non-ASCII
text is written as is (UTF-8) unless ``ascii: true``. The file appears under
its final name only when complete; in dask mode every partition is written
to a part file in one pass (computed with ``ctx.compute``, together with the
other sinks of the sub flow) and the parts are appended in order
(``pypeline.modules.partitioned``), never holding the whole frame.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pypeline.modules.common.records import json_default, plain_records
from pypeline.modules.common.sink_configs import REPLACE_OUTPUT_OF_CONFIG
from pypeline.modules.kinds import kind_of
from pypeline.modules.kinds.convert import pandas_chunks
from pypeline.modules.partitioned import (
    concat_and_remove,
    continuation_encoding,
    partition_writes,
    parts_folder,
    written_rows,
)
from pypeline.modules.sdk import BaseModule, RunContext, atomic_output_path, atomic_output_path_async
from pypeline.modules.sdk.outputs import file_path_problems
from pypeline.modules.storage import STORAGE_OPTIONS_CONFIG


class JsonSink(BaseModule):
    """Write JSON / JSON Lines."""

    TYPE = "sink"
    VERSION = "1.1.0"
    DESCRIPTION = "Writes its input as JSON Lines or a JSON array (atomic rename on success)"
    CATEGORY = "File Sinks"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {"output_path": {"type": "str", "description": "Target file"}},
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "format": {
                "type": "str",
                "default": "jsonl",
                "enum": ["jsonl", "array"],
                "description": "`jsonl`: one object per line; `array`: one JSON array",
            },
            "indent": {"type": "int|null", "default": None, "description": "array format: indentation for humans"},
            "ascii": {"type": "bool", "default": False, "description": "Escape non-ASCII characters"},
            "encoding": {"type": "str", "default": "utf-8", "description": "File encoding"},
            **REPLACE_OUTPUT_OF_CONFIG,
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        return file_path_problems(configs)

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        path = self.configs["output_path"]
        frame = inputs["input"]
        if kind_of(frame).partitioned:
            rows = await self._write_lazy(frame, path, ctx)
        else:
            rows = await ctx.executor.run_in_thread(self._write, frame, path, ctx)
        ctx.record_file_written(path)
        ctx.set_global("row_count", rows)
        return {}

    def _write(self, frame: Any, path: str, ctx: RunContext) -> int:
        lines = self.configs["format"] == "jsonl"
        encoding = self.configs["encoding"]
        with atomic_output_path(path, ctx, folder=False, replace_output_of=self.configs["replace_output_of"],
                                storage_options=self.configs["storage_options"]) as tmp:
            arrow = kind_of(frame).native == "arrow"
            with open(tmp, "w", encoding=encoding, newline="\n") as fh:
                if not lines:
                    fh.write("[")
                rows = 0
                for chunk in pandas_chunks(frame) if arrow else [frame]:
                    rows += self._write_records(chunk, fh, first=rows == 0)
                if not lines:
                    fh.write(self._closing(rows))
            return rows

    async def _write_lazy(self, frame: Any, path: str, ctx: RunContext) -> int:
        replace = self.configs["replace_output_of"]
        async with atomic_output_path_async(path, ctx, folder=False, replace_output_of=replace) as tmp:
            parts = parts_folder(tmp)  # beside tmp: removed with it when the write fails
            (counts,) = await ctx.compute(partition_writes(frame, parts, self._part_writer(), ".json"))
            rows = written_rows(counts)
            if self.configs["format"] == "jsonl":
                await ctx.executor.run_in_thread(concat_and_remove, parts, tmp)
            else:
                await ctx.executor.run_in_thread(self._concat_array, parts, tmp, rows)
            return rows

    def _concat_array(self, parts: Path, target: Path, rows: int) -> None:
        """``[`` + the parts (every item comma-led, the very first comma dropped) + ``]``, in constant memory;
        then the folder of parts is removed."""
        pieces = sorted(parts.iterdir())
        encoding = self.configs["encoding"]
        comma = len(",".encode(continuation_encoding(encoding)))
        with open(target, "wb") as out:
            out.write("[".encode(encoding))
            skip = comma
            for piece in pieces:
                with open(piece, "rb") as fh:
                    if skip and piece.stat().st_size:
                        fh.seek(skip)
                        skip = 0
                    shutil.copyfileobj(fh, out, 1 << 20)
            out.write(self._closing(rows).encode(continuation_encoding(encoding)))
        shutil.rmtree(parts, ignore_errors=True)

    def _write_records(self, frame: Any, fh: Any, *, first: bool) -> int:
        """Write ``frame``'s rows; array items after the first start with a comma."""
        c = self.configs
        lines = c["format"] == "jsonl"
        rows = 0
        for record in plain_records(frame):
            text = json.dumps(
                record, default=json_default, ensure_ascii=c["ascii"], indent=None if lines else c["indent"]
            )
            if lines:
                fh.write(text + "\n")
            else:
                separator = "" if first and rows == 0 else ","
                fh.write(separator + ("\n" if c["indent"] is not None else "") + text)
            rows += 1
        return rows

    def _closing(self, rows: int) -> str:
        return ("\n" if self.configs["indent"] is not None and rows else "") + "]\n"

    def _part_writer(self) -> Any:
        """Part files continue the output: only a JSON Lines file's first part may carry a byte-order mark;
        array items all start with a comma (:meth:`_concat_array` drops the very first)."""
        lines = self.configs["format"] == "jsonl"
        encoding = self.configs["encoding"]

        def write(part: Any, file: Path, index: int) -> None:
            first_bytes = lines and index == 0
            with open(
                file, "w", encoding=encoding if first_bytes else continuation_encoding(encoding), newline="\n"
            ) as fh:
                self._write_records(part, fh, first=False)

        return write
