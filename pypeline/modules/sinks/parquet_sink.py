"""``parquet_sink``: write a frame to Parquet (a file, or a partitioned folder), atomically.

In dask mode the frame is written with ``to_parquet`` into a folder (one file
per partition, computed in one pass, never whole in memory); the row count is
then read from the Parquet footers, not by reading the data again.
"""

from __future__ import annotations

from typing import Any

from pypeline.modules.frames import is_dask
from pypeline.modules.sdk import BaseModule, RunContext, atomic_output_path


class ParquetSink(BaseModule):
    """Write Parquet."""

    TYPE = "sink"
    DESCRIPTION = "Writes its input to Parquet (file, or folder with partition columns)"
    CATEGORY = "File Sinks"
    INPUT_PORTS = ["input"]
    GLOBALS = ["row_count"]
    CONFIG_SCHEMA = {
        "required": {"output_path": {"type": "str", "description": "Target file (or folder when partitioned)"}},
        "optional": {
            "compression": {
                "type": "str",
                "default": "snappy",
                "enum": ["snappy", "gzip", "zstd", "brotli", "lz4", "none"],
            },
            "partition_cols": {"type": "list[str]", "default": [], "description": "Hive-style partition columns"},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        path = self.configs["output_path"]
        rows = await ctx.executor.run_in_thread(self._write, inputs["input"], path)
        ctx.record_file_written(path)
        ctx.set_global("row_count", rows)
        return {}

    def _write(self, frame: Any, path: str) -> int:
        compression = None if self.configs["compression"] == "none" else self.configs["compression"]
        partition_cols = self.configs["partition_cols"] or None
        with atomic_output_path(path) as tmp:
            if is_dask(frame):
                frame.to_parquet(str(tmp), compression=compression, partition_on=partition_cols, write_index=False)
                return _footer_rows(tmp)
            frame.to_parquet(tmp, compression=compression, partition_cols=partition_cols, index=False)
            return len(frame)


def _footer_rows(folder: Any) -> int:
    """Rows in a folder of Parquet files, from their footers (no data is read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(str(f)).metadata.num_rows for f in sorted(folder.rglob("*.parquet")))
