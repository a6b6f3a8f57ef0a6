"""``union_mod`` on Arrow data: tables stacked, streams chained, columns aligned by name as pandas does.

Columns come in order of first appearance; a column an input lacks is null
there, an integer one becoming float (as ``pandas.concat`` makes it). Streams
are read one after the other, in port order, each batch aligned to the union's
columns. ``distinct`` keeps the first of equal rows, in input order (for a
stream this reads the whole input: its state is every distinct row).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pypeline.modules.kinds import BatchStream
from pypeline.modules.kinds.convert import as_table, to_table
from pypeline.modules.source.csv_tables import align, combine_tables, union_schema

_ROW = "__pype_row"


def union_tables(tables: Sequence[pa.Table], distinct: bool) -> pa.Table:
    """The tables stacked by column name (then without repeated rows, with ``distinct``)."""
    result = combine_tables(tables, fill_missing=True)
    return distinct_rows(result) if distinct else result


def union_streams(inputs: Sequence[Any], distinct: bool) -> BatchStream:
    """The inputs (streams, tables or pandas frames) read one after the other as one stream."""
    streams = [_as_stream(value) for value in inputs]
    schema = union_schema([s.schema for s in streams], fill_missing=True)
    chained = BatchStream(schema, lambda: _chained(streams, schema))
    if not distinct:
        return chained
    return chained.then(lambda upstream: distinct_rows(upstream.collect()), schema=schema)


def distinct_rows(table: pa.Table) -> pa.Table:
    """``table`` without repeated rows, keeping the first of each (in order)."""
    if table.num_rows == 0 or not table.column_names:
        return table
    numbered = table.append_column(_ROW, pa.array(range(table.num_rows), pa.int64()))
    firsts = numbered.group_by(table.column_names, use_threads=False).aggregate([(_ROW, "min")])
    rows = firsts.column(f"{_ROW}_min")
    return table.take(pc.take(rows, pc.sort_indices(rows)))


def _as_stream(value: Any) -> BatchStream:
    if isinstance(value, BatchStream):
        return value
    return BatchStream.from_table(value if isinstance(value, pa.Table) else to_table(value))


def _chained(streams: Sequence[BatchStream], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for stream in streams:
        for batch in stream:
            yield from align(as_table(batch), schema).to_batches()
