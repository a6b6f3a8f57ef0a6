"""Writing Arrow data to Parquet for ``parquet_sink``: a table at once, a stream as its batches arrive.

A stream is written with one :class:`pyarrow.parquet.ParquetWriter` (or, with
partition columns, :func:`pyarrow.dataset.write_dataset` over the stream), so
the sink holds a row group at a time, not the data: batches are gathered
into row groups of :data:`ROW_GROUP_ROWS` rows (a quarter of what pyarrow
uses for a table written at once: the memory a stream holds stays small).
The file's schema is the first batch's; later batches are cast to it. The
row count comes with the write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from pypeline.modules.kinds import BatchStream
from pypeline.modules.kinds.convert import as_table, conform

ROW_GROUP_ROWS = 1 << 18


def write_table(table: pa.Table, target: Path, compression: str | None, partition_cols: list[str] | None) -> int:
    """Write ``table`` to the file ``target`` (a folder of hive partitions with ``partition_cols``)."""
    if partition_cols:
        pq.write_to_dataset(table, str(target), partition_cols=partition_cols, compression=compression)
    else:
        pq.write_table(table, str(target), compression=compression, row_group_size=ROW_GROUP_ROWS)
    return int(table.num_rows)


def write_stream(stream: BatchStream, target: Path, compression: str | None, partition_cols: list[str] | None) -> int:
    """Write ``stream`` batch by batch; return the rows written."""
    if partition_cols:
        ds.write_dataset(
            stream.reader(), str(target), format="parquet", partitioning=partition_cols, partitioning_flavor="hive",
            file_options=ds.ParquetFileFormat().make_write_options(compression=compression),
            basename_template="part-{i}.parquet", existing_data_behavior="overwrite_or_ignore",
        )
        return int(stream.rows)
    writer: Any = None
    pending: list[pa.Table] = []
    held = 0
    try:
        for batch in stream:
            table = as_table(batch)
            if writer is None:
                writer = pq.ParquetWriter(str(target), table.schema, compression=compression)
            pending.append(conform(table, writer.schema))
            held += table.num_rows
            if held >= ROW_GROUP_ROWS:
                writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
                pending, held = [], 0
        if writer is None:  # no rows: a file with the columns
            writer = pq.ParquetWriter(str(target), stream.schema, compression=compression)
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
    finally:
        if writer is not None:
            writer.close()
    return int(stream.rows)
