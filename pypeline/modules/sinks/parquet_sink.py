"""``parquet_sink``: write a frame to Parquet (a file, or a partitioned folder), atomically.

Without ``partition_cols`` pandas mode writes one Parquet file; with them the
output is a folder ``output_path/col=value/...parquet`` that
``parquet_source`` reads back with the partition columns restored. Either way
the output is written under a temporary name next to the target and renamed
when complete, so a failed or killed run never leaves a partial file or
folder under the final name.

In dask mode the frame is written with ``to_parquet`` into a folder (one file
per partition, never whole in memory), computed with ``ctx.compute`` in one
``dask.compute`` together with the other sinks of the sub flow
(docs/dask-mode.md); the row count is then read from the Parquet footers, not
by reading the data again. An Arrow table is written by pyarrow directly, a
stream batch by batch as it is read (:mod:`pypeline.modules.sinks.parquet_arrow`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pypeline.modules.common.columns import require_columns
from pypeline.modules.common.sink_configs import REPLACE_OUTPUT_OF_CONFIG
from pypeline.modules.kinds import STREAM, kind_of
from pypeline.modules.sdk import BaseModule, RunContext, atomic_output_path, atomic_output_path_async
from pypeline.modules.sdk.columns import ColumnUse, name_uses
from pypeline.modules.sinks.parquet_arrow import write_stream, write_table
from pypeline.modules.storage import STORAGE_OPTIONS_CONFIG

COMPRESSIONS = ["snappy", "gzip", "zstd", "brotli", "lz4", "none"]


class ParquetSink(BaseModule):
    """Write Parquet."""

    TYPE = "sink"
    VERSION = "1.2.0"
    DESCRIPTION = "Writes its input to Parquet: a file, or a folder with hive partition columns (atomic)"
    CATEGORY = "File Sinks"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    PACKAGES = ["pyarrow"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {
            "output_path": {"type": "str", "description": "Target file (a folder when partitioned or in dask mode)"},
        },
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "compression": {"type": "str", "default": "snappy", "enum": COMPRESSIONS, "description": "Codec"},
            "partition_cols": {
                "type": "list[str]",
                "default": [],
                "description": "Hive-style partition columns (the output becomes a folder)",
            },
            **REPLACE_OUTPUT_OF_CONFIG,
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        cols = configs.get("partition_cols") or []
        doubled = sorted({c for c in cols if cols.count(c) > 1})
        return [f"'partition_cols' names {doubled} twice"] if doubled else []

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        return name_uses("partition_cols", configs.get("partition_cols"))

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        require_columns(frame, self.configs["partition_cols"])
        path = self.configs["output_path"]
        if kind_of(frame).partitioned:
            rows = await self._write_lazy(frame, path, ctx)
        else:
            rows = await ctx.executor.run_in_thread(self._write, frame, path, ctx)
        ctx.record_file_written(path)
        ctx.set_global("row_count", rows)
        return {}

    def _compression(self) -> str | None:
        return None if self.configs["compression"] == "none" else str(self.configs["compression"])

    def _write(self, frame: Any, path: str, ctx: RunContext) -> int:
        partition_cols = self.configs["partition_cols"] or None
        compression = self._compression()
        kind = kind_of(frame)
        replace = self.configs["replace_output_of"]
        with atomic_output_path(path, ctx, folder=bool(partition_cols), replace_output_of=replace,
                                storage_options=self.configs["storage_options"]) as tmp:
            if kind is STREAM:
                return write_stream(frame, tmp, compression, partition_cols)
            if kind.native == "arrow":
                return write_table(frame, tmp, compression, partition_cols)
            frame.to_parquet(tmp, compression=compression, partition_cols=partition_cols, index=False)
            return len(frame)

    async def _write_lazy(self, frame: Any, path: str, ctx: RunContext) -> int:
        replace = self.configs["replace_output_of"]
        async with atomic_output_path_async(path, ctx, folder=True, replace_output_of=replace) as tmp:
            write = await ctx.executor.run_in_thread(
                frame.to_parquet, str(tmp), compression=self._compression(),
                partition_on=self.configs["partition_cols"] or None, write_index=False, compute=False,
            )
            await ctx.compute(write)
            return await ctx.executor.run_in_thread(_footer_rows, tmp)


def _footer_rows(folder: Any) -> int:
    """Rows in a folder of Parquet files, from their footers (no data is read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(str(f)).metadata.num_rows for f in sorted(folder.rglob("*.parquet")))
