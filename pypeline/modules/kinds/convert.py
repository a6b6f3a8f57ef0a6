"""Conversions between Arrow tables and pandas frames, at the boundaries where a module needs the other one.

Built-in modules work on what they receive, so a conversion happens only
where a module cannot: a custom module that did not declare ``ACCEPTS_ARROW``
gets pandas, and a step a module has only in its pandas form runs on a
converted table (:meth:`ArrowKind.map_rows`).

* :func:`to_pandas`: pyarrow's own conversion, which gives what
  ``pandas.read_csv`` gives for the same data: ``int64``, ``float64``, the
  ``str`` dtype for text, ``float64`` for integers with nulls, ``object`` for
  booleans with nulls; a table that came from pandas gets its dtypes back
  from the pandas metadata it carries.
* :func:`to_table`: ``pyarrow.Table.from_pandas`` without the index (a frame's
  index carries no data between modules: sinks write ``index=False``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa


def to_pandas(data: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    """``data`` as a pandas frame (a fresh ``RangeIndex``)."""
    frame: pd.DataFrame = data.to_pandas()
    return frame


def to_table(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """``frame`` as an Arrow table, without its index.

    Raises:
        pyarrow.ArrowInvalid, pyarrow.ArrowTypeError: a column pyarrow cannot hold (mixed Python objects).
    """
    table = pa.Table.from_pandas(frame, preserve_index=False, schema=schema, safe=False)
    return table if schema is None else table.cast(schema)


def as_table(data: pa.Table | pa.RecordBatch) -> pa.Table:
    """A record batch as a one-batch table (no copy); a table as it is."""
    return data if isinstance(data, pa.Table) else pa.Table.from_batches([data])


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with the column types of ``schema`` (a stream keeps the types of its first batch).

    A column typed ``null`` in ``schema`` (no value seen yet) takes any type.

    Raises:
        pyarrow.ArrowInvalid: a value that does not fit (reported by the caller with its column).
    """
    if table.schema.equals(schema, check_metadata=False):
        return table
    if table.column_names != schema.names:
        raise pa.ArrowInvalid(f"columns {table.column_names} differ from the first batch's {schema.names}")
    fields = [
        table.schema.field(i) if schema.field(i).type == pa.null() else schema.field(i)
        for i in range(len(schema))
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def pandas_chunks(data: Any, rows: int = 65_536) -> Any:
    """A table (in slices of ``rows``) or a stream (batch by batch) as pandas frames, one at a time.

    For sinks that write through pandas (CSV, JSON): the output is the same as for
    the whole frame, and memory holds one chunk.
    """
    batches = data.to_batches(max_chunksize=rows) if isinstance(data, pa.Table) else data
    for batch in batches:
        yield to_pandas(batch)


def column_names(data: Any) -> list[str]:
    """The column names of a table, a record batch or a schema."""
    names = data.names if isinstance(data, pa.Schema) else data.schema.names
    return [str(name) for name in names]
