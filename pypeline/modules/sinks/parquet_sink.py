"""``parquet_sink``: write a frame to Parquet (a file, or a partitioned folder), atomically."""

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
                import dask.dataframe as dd

                return int(dd.read_parquet(str(tmp)).map_partitions(len).sum().compute())
            frame.to_parquet(tmp, compression=compression, partition_cols=partition_cols, index=False)
            return len(frame)
