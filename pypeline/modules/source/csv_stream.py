"""``csv_source`` in ``execution_mode: stream``: the files as one stream of record batches.

When the module runs, each file's first block (4 MB) is read to know its
columns and their types: the declared ``dtypes`` for the columns they name,
pyarrow's inference over that block for the others (a column of dates stays
text, a column without a value there is text). The columns are checked and
unified across files by ``combine_strategy`` as for a table. Empty files are
reported then (``empty_file``).

The data is read when a sink reads the stream: file after file, 4 MB at a
time, with pyarrow's streaming reader on a thread of its own that reads a few
batches ahead; each batch is typed as the first blocks said. A file that
fails while streaming (a malformed row, a byte the encoding cannot decode, a
NUL character, a value that does not fit its column's type) is read again by
the chunked pandas reader (bounded memory) to name the file and the line;
a value that only pyarrow refuses, past the first block, is reported with the
column, its type and the ``dtypes`` to declare. ``row_count`` and
``rows_dropped`` are set when the stream ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from pypeline.modules.kinds.stream import BatchStream
from pypeline.modules.sdk.errors import DataError
from pypeline.modules.source.csv_arrow import ArrowCsv, ArrowReadFailed, _Dropped, _temporal
from pypeline.modules.source.csv_checks import is_blank
from pypeline.modules.source.csv_reading import CsvReader
from pypeline.modules.source.csv_tables import align, pandas_dtypes, union_schema

READ_AHEAD = 3
"""Batches the reading thread may hold ready ahead of the stream's reader."""


@dataclass(slots=True)
class StreamPlan:
    """What the first blocks told: the files with data, their columns, the stream's schema."""

    files: list[tuple[str, pa.Schema]]
    empty: list[str]
    schema: pa.Schema
    dropped: list[int] = field(default_factory=list)


def plan_stream(configs: dict[str, Any], paths: list[str], check: Any) -> StreamPlan:
    """Read the first block of every file and settle the stream's schema.

    ``check(files)`` is the combine strategy's column check, given
    ``[(path, columns, pandas dtypes or None)]``.

    Raises:
        DataError: a file whose start cannot be read (file and line), or columns that do not fit the strategy.
    """
    fast = ArrowCsv(configs)
    files: list[tuple[str, pa.Schema]] = []
    empty: list[str] = []
    for path in paths:
        try:
            schema = _file_schema(fast, path)
        except ArrowReadFailed as exc:
            if is_blank(path, configs["encoding"]):
                empty.append(path)
                continue
            raise explain(configs, path, exc) from None
        files.append((path, schema))
    check([(path, schema.names, None if _no_values(schema) else pandas_dtypes(schema)) for path, schema in files])
    strategy = configs["combine_strategy"]
    schema = union_schema([s for _, s in files], fill_missing=strategy == "union_by_name")
    dates = set(fast.dates)
    schema = pa.schema([  # a column with no value in any first block is text, as pandas reads it
        pa.field(f.name, pa.string()) if f.type == pa.null() and f.name not in dates else f for f in schema
    ])
    if configs.get("file_column"):
        schema = schema.append(pa.field(configs["file_column"], pa.string()))
    return StreamPlan(files=files, empty=empty, schema=schema)


def _file_schema(fast: ArrowCsv, path: str) -> pa.Schema:
    first = fast.first_schema(path)
    declared = fast.declared_types()
    fields = []
    for item in first:
        kind = declared.get(item.name, item.type)
        if item.name in fast.dates:
            kind = pa.null()  # parsed by pandas' rules: the first batch tells the type
        elif item.name not in declared and _temporal(kind):
            kind = pa.string()
        fields.append(pa.field(str(item.name), kind))
    return pa.schema(fields)


def _no_values(schema: pa.Schema) -> bool:
    """True when a first block held no value at all (a header-only file): its types say nothing."""
    return all(f.type == pa.null() for f in schema)


def csv_stream(configs: dict[str, Any], plan: StreamPlan) -> BatchStream:
    """The stream that reads the planned files (see the module docstring)."""
    return BatchStream(plan.schema, lambda: _read_files(configs, plan))


def stream_ended(ctx: Any, stream: BatchStream, plan: StreamPlan) -> None:
    """Set the row globals of ``csv_source`` once its stream has been read."""
    dropped = sum(plan.dropped)
    ctx.set_global("row_count", stream.rows)
    ctx.set_global("rows_dropped", dropped)
    ctx.add_stat("rows_dropped", dropped)
    if dropped:
        ctx.emit_event("bad_lines_skipped", count=dropped)


def _read_files(configs: dict[str, Any], plan: StreamPlan) -> Iterator[pa.RecordBatch]:
    fast = ArrowCsv(configs)
    reader = CsvReader(configs)
    file_column = configs.get("file_column")
    for path, file_schema in plan.files:
        reader.check_nul(path)
        types = {  # every file is read with the stream's types (an int column of one file, float in another)
            name: plan.schema.field(name).type for name in file_schema.names
            if plan.schema.field(name).type != pa.null()
        }
        dropped = _Dropped()
        try:
            for batch in read_ahead(fast.batches(path, types, dropped)):
                table = pa.Table.from_batches([batch])
                if file_column:
                    table = table.append_column(file_column, pa.array([path] * table.num_rows, pa.string()))
                yield from align(table, _typed(plan.schema, table.schema)).to_batches()
        except DataError:
            raise
        except (pa.ArrowException, UnicodeError, ValueError) as exc:
            raise explain(configs, path, exc) from None
        plan.dropped.append(dropped.count)


def _typed(schema: pa.Schema, seen: pa.Schema) -> pa.Schema:
    """``schema`` with its provisional (null) types taken from a batch (the parsed date columns)."""
    fields = [seen.field(f.name) if f.type == pa.null() and f.name in seen.names else f for f in schema]
    return pa.schema(fields)


def read_ahead(batches: Iterator[pa.RecordBatch], depth: int = READ_AHEAD) -> Iterator[pa.RecordBatch]:
    """``batches``, produced by a thread of their own up to ``depth`` batches ahead of the reader.

    Parsing the next batch then overlaps the work the stream's reader does on this one.
    An exception in the thread is raised in the reader; a reader that stops early stops it.
    """
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        slots.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(done)
        except BaseException as exc:  # handed to the reader
            slots.put(exc)

    thread = threading.Thread(target=produce, name="pypeline-csv-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def explain(configs: dict[str, Any], path: str, exc: Exception) -> DataError:
    """The one clear error for ``path`` that pyarrow failed to read (``exc``): file and line where known.

    The chunked pandas reader reads the file again (bounded memory, error path only) and
    names the malformed row, the byte or the value; when it reads the file fine, the value
    is one pyarrow refuses past the first block's types.
    """
    try:
        CsvReader(configs).scan(path)
    except DataError as found:
        return found
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DataError(
        f"{path}: {message} (stream mode takes the type of a column without declared dtypes from the file's "
        "first 4 MB: declare the column's type with dtypes)"
    )
