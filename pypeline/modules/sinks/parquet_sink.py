"""``parquet_sink``: write a frame to Parquet (a file, or a partitioned folder), atomically.

Without ``partition_cols`` pandas mode writes one Parquet file; with them the
output is a folder ``output_path/col=value/...parquet`` that
``parquet_source`` reads back with the partition columns restored. Either way
the output is written under a temporary name next to the target and renamed
when complete, so a failed or killed run never leaves a partial file or
folder under the final name.

In dask mode the frame is written with ``to_parquet`` into a folder (one file
per partition, computed in one pass, never whole in memory); the row count is
then read from the Parquet footers, not by reading the data again. An Arrow
table is written by pyarrow directly, a stream batch by batch as it is read
(:mod:`pypeline.modules.sinks.parquet_arrow`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pypeline.modules.common.columns import require_columns
from pypeline.modules.kinds import STREAM, kind_of
from pypeline.modules.sdk import BaseModule, RunContext, atomic_output_path
from pypeline.modules.sinks.parquet_arrow import write_stream, write_table

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
            "compression": {"type": "str", "default": "snappy", "enum": COMPRESSIONS, "description": "Codec"},
            "partition_cols": {
                "type": "list[str]",
                "default": [],
                "description": "Hive-style partition columns (the output becomes a folder)",
            },
            "replace_output_of": {
                "type": "list[str]",
                "default": [],
                "description": "Other jobs whose output folder (with its _PYPELINE marker) this sink may replace; "
                "`*`: any job (docs/security.md)",
            },
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        cols = configs.get("partition_cols") or []
        doubled = sorted({c for c in cols if cols.count(c) > 1})
        return [f"'partition_cols' names {doubled} twice"] if doubled else []

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        require_columns(frame, self.configs["partition_cols"])
        path = self.configs["output_path"]
        rows = await ctx.executor.run_in_thread(self._write, frame, path, ctx)
        ctx.record_file_written(path)
        ctx.set_global("row_count", rows)
        return {}

    def _write(self, frame: Any, path: str, ctx: RunContext) -> int:
        compression = None if self.configs["compression"] == "none" else self.configs["compression"]
        partition_cols = self.configs["partition_cols"] or None
        kind = kind_of(frame)
        folder = bool(partition_cols) or kind.partitioned
        with atomic_output_path(path, ctx, folder=folder, replace_output_of=self.configs["replace_output_of"]) as tmp:
            if kind is STREAM:
                return write_stream(frame, tmp, compression, partition_cols)
            if kind.native == "arrow":
                return write_table(frame, tmp, compression, partition_cols)
            if kind.partitioned:
                frame.to_parquet(str(tmp), compression=compression, partition_on=partition_cols, write_index=False)
                return _footer_rows(tmp)
            frame.to_parquet(tmp, compression=compression, partition_cols=partition_cols, index=False)
            return len(frame)


def _footer_rows(folder: Any) -> int:
    """Rows in a folder of Parquet files, from their footers (no data is read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(str(f)).metadata.num_rows for f in sorted(folder.rglob("*.parquet")))
