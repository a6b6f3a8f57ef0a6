"""Reading one CSV file with pyarrow's readers for ``csv_source``, with pandas' reading rules.

pyarrow's CSV reader is multi-threaded and several times faster than
pandas' C parser, so ``csv_source`` reads with it in every mode but dask
(pandas mode converts the table with ``to_pandas``, as
``pandas.read_csv(engine="pyarrow")`` does). :class:`ArrowCsv` sets it up to
read what pandas would read:

* the same null strings (pandas' default ``na_values`` plus ``null_values``),
  empty text read as null;
* no dates guessed: a column whose values look like dates stays text, as in
  pandas (``date_columns`` parse them, through pandas' own ``to_datetime``);
* declared ``dtypes`` as Arrow types (:data:`ARROW_TYPES`); after the read, a
  numpy integer or bool dtype that meets a null is not read by pyarrow (pandas
  refuses it with its own message);
* quoted values may span lines; blank and whitespace-only lines are not rows;
  a row with too many or too few fields is dropped and counted with
  ``on_bad_lines: skip``.

Whatever pyarrow refuses (a malformed row, a byte the encoding cannot
decode, an empty file, a value that does not fit its type) is read again by
the pandas reader of :mod:`pypeline.modules.source.csv_reading`, on that
error path only: it gives the error naming the file and the line, or reads
the file the pandas way when the file is fine and only pyarrow balked, so
the result is never worse than pandas'. Options pyarrow lacks
(:func:`arrow_limits`: a thousands separator, a delimiter longer than one
character, a dtype without an Arrow type) make ``csv_source`` read with
pandas (docs/modules.md, csv_source).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from pypeline.modules.kinds.convert import to_pandas
from pypeline.modules.source.csv_reading import WHITESPACE, parse_date_columns
from pypeline.modules.storage import StoragePath, open_input

PANDAS_NULLS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
                "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
"""The strings pandas reads as null by default (``pandas.read_csv``'s ``na_values``)."""

ARROW_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(), "Int64": pa.int64(), "int": pa.int64(), "int32": pa.int32(), "Int32": pa.int32(),
    "int16": pa.int16(), "Int16": pa.int16(), "int8": pa.int8(), "Int8": pa.int8(),
    "uint64": pa.uint64(), "UInt64": pa.uint64(), "uint32": pa.uint32(), "UInt32": pa.uint32(),
    "uint16": pa.uint16(), "UInt16": pa.uint16(), "uint8": pa.uint8(), "UInt8": pa.uint8(),
    "float64": pa.float64(), "Float64": pa.float64(), "float": pa.float64(), "float32": pa.float32(),
    "Float32": pa.float32(), "str": pa.string(), "string": pa.string(), "object": pa.string(),
    "bool": pa.bool_(), "boolean": pa.bool_(),
}
"""Declared pandas dtypes and the Arrow type pyarrow reads them as."""
NOT_NULL = frozenset({"int64", "int", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8", "bool"})
"""numpy dtypes that hold no null: pandas refuses a missing value in such a column."""
_TEMPORAL = (pa.types.is_timestamp, pa.types.is_date, pa.types.is_time)
BLOCK_BYTES = 4 << 20
"""Bytes of CSV per batch when a file is streamed."""
SMALL_BLOCK = 64 << 10
"""Bytes read to learn a file's columns when dtypes are declared (a column the block misreads as dates is
caught after the whole read, which pandas then reads)."""


class ArrowReadFailed(Exception):
    """pyarrow could not read the file as pandas would (the caller reads it with pandas)."""


def arrow_limits(configs: Mapping[str, Any]) -> str | None:
    """Why pyarrow's reader cannot read with ``configs`` (``None`` when it can)."""
    delimiter = str(configs.get("delimiter", ","))
    if len(delimiter) != 1 or delimiter == WHITESPACE:
        return f"delimiter {delimiter!r} (pyarrow reads one-character delimiters)"
    if configs.get("thousands"):
        return "a thousands separator (pyarrow has none)"
    if len(str(configs.get("quotechar", '"'))) != 1:
        return "a quotechar longer than one character"
    odd = sorted(f"{column}: {dtype}" for column, dtype in (configs.get("dtypes") or {}).items()
                 if str(dtype) not in ARROW_TYPES)
    if odd:
        return f"dtypes without an Arrow type ({', '.join(odd)})"
    return None


class ArrowCsv:
    """One file read with pyarrow under ``csv_source``'s configs (see the module docstring)."""

    def __init__(self, configs: Mapping[str, Any]) -> None:
        self.configs = configs
        self.declared = {str(c): str(d) for c, d in (configs.get("dtypes") or {}).items()}
        self.dates = [str(c) for c in configs.get("date_columns") or []]
        self.skip_bad_lines = configs.get("on_bad_lines") == "skip"

    # -- options -------------------------------------------------------------------------------

    def read_options(self, *, block_size: int | None = None) -> pacsv.ReadOptions:
        c = self.configs
        names = list(c.get("column_names") or []) or None
        skip = int(c.get("skip_rows") or 0)
        if names and c.get("header", True):
            skip += 1  # the header line names the columns the config renames
        options = {"column_names": names, "skip_rows": skip, "encoding": c.get("encoding", "utf-8")}
        if block_size:
            options["block_size"] = block_size
        return pacsv.ReadOptions(**options)

    def parse_options(self, dropped: _Dropped) -> pacsv.ParseOptions:
        return pacsv.ParseOptions(
            delimiter=self.configs.get("delimiter", ","), quote_char=self.configs.get("quotechar", '"'),
            double_quote=True, newlines_in_values=True, ignore_empty_lines=True,
            invalid_row_handler=dropped.handler(self.skip_bad_lines),
        )

    def convert_options(self, column_types: Mapping[str, pa.DataType]) -> pacsv.ConvertOptions:
        nulls = PANDAS_NULLS + [str(v) for v in self.configs.get("null_values") or []]
        return pacsv.ConvertOptions(
            column_types=dict(column_types), null_values=nulls, strings_can_be_null=True,
            quoted_strings_can_be_null=True, decimal_point=self.configs.get("decimal", "."),
            true_values=["True", "TRUE", "true"], false_values=["False", "FALSE", "false"],
        )

    def declared_types(self) -> dict[str, pa.DataType]:
        """Arrow types for the declared dtypes; date columns are read as text (pandas parses them)."""
        types = {column: ARROW_TYPES[dtype] for column, dtype in self.declared.items()}
        types.update({column: pa.string() for column in self.dates})
        return types

    # -- whole files ---------------------------------------------------------------------------

    def read(self, path: str, *, parse_dates: bool = True) -> tuple[pa.Table, int]:
        """The whole file as a table with pandas' types and the rows dropped (``on_bad_lines: skip``).

        ``parse_dates=False`` leaves the date columns as text (pandas mode parses them on the frame).

        Raises:
            ArrowReadFailed: pyarrow refused the file or read it otherwise than pandas would.
        """
        types = self.declared_types()
        first = self.first_schema(path, block_size=SMALL_BLOCK if self.declared else None)
        types.update({f.name: pa.string() for f in first if _temporal(f.type) and f.name not in types})
        dropped = _Dropped()
        try:
            with _input(path) as source:
                table = pacsv.read_csv(
                    source, read_options=self.read_options(), parse_options=self.parse_options(dropped),
                    convert_options=self.convert_options(types),
                )
        except (pa.ArrowException, UnicodeError, ValueError) as exc:
            raise ArrowReadFailed(str(exc)) from None
        if table.num_rows == 0:
            raise ArrowReadFailed("no rows: pandas tells an empty file from a header and types its columns")
        if any(_temporal(f.type) and f.name not in self.dates for f in table.schema):
            raise ArrowReadFailed("a column of dates not asked for (pandas reads it as text)")
        if any(_binary(f.type) for f in table.schema):
            raise ArrowReadFailed("bytes that are not text in the encoding")
        self.check_not_null(table)
        return self.finish(table, path, parse_dates=parse_dates), dropped.count

    def first_schema(self, path: str, *, block_size: int | None = None) -> pa.Schema:
        """The columns and the types pyarrow infers from the first block of ``path`` (1 MB, or ``block_size``).

        Raises:
            ArrowReadFailed: the file is empty, or its start does not parse.
        """
        try:
            with _input(path) as source, pacsv.open_csv(
                source, read_options=self.read_options(block_size=block_size),
                parse_options=self.parse_options(_Dropped()),
                convert_options=self.convert_options(self.declared_types()),
            ) as reader:
                schema: pa.Schema = reader.schema
        except (pa.ArrowException, UnicodeError, ValueError) as exc:
            raise ArrowReadFailed(str(exc)) from None
        if not self.configs.get("column_names") and all(not str(name).strip() for name in schema.names):
            raise ArrowReadFailed("a blank header (a whitespace-only file?)")
        if any(_binary(f.type) for f in schema):
            raise ArrowReadFailed("bytes that are not text in the encoding")
        return schema

    def check_not_null(self, table: pa.Table) -> None:
        """Refuse a null in a column declared with a numpy dtype that holds none (pandas says why)."""
        for column, dtype in self.declared.items():
            if dtype in NOT_NULL and column in table.column_names and table.column(column).null_count:
                raise ArrowReadFailed(f"column '{column}' ({dtype}) holds a missing value")

    def finish(self, table: pa.Table, path: str, *, parse_dates: bool = True) -> pa.Table:
        """``table`` with its columns named as text and its date columns parsed (by pandas' rules)."""
        table = table.rename_columns([str(name) for name in table.column_names])
        if not (self.dates and parse_dates):
            return table
        return arrow_dates(table, self.dates, self.configs.get("date_format"), path)

    # -- streams -------------------------------------------------------------------------------

    def batches(self, path: str, types: Mapping[str, pa.DataType], dropped: _Dropped) -> Iterator[pa.RecordBatch]:
        """The batches of ``path`` read with the column ``types`` fixed, counting dropped rows in ``dropped``.

        Raises:
            pyarrow.ArrowException, UnicodeError: as pyarrow raises them (the stream reports them).
        """
        with _input(path) as source, pacsv.open_csv(
            source, read_options=self.read_options(block_size=BLOCK_BYTES), parse_options=self.parse_options(dropped),
            convert_options=self.convert_options(types),
        ) as reader:
            for batch in reader:
                table = pa.Table.from_batches([batch])
                self.check_not_null(table)
                yield from self.finish(table, path).to_batches()


def _input(path: str) -> AbstractContextManager[Any]:
    """What pyarrow reads: a local path itself, an object in a store through its file object (docs/storage.md)."""
    return open_input(path) if isinstance(path, StoragePath) else nullcontext(path)


class _Dropped:
    """Counts the rows pyarrow dropped (``invalid_row_handler``; it may be called from several threads)."""

    def __init__(self) -> None:
        self.count = 0
        self.first: str | None = None
        self._lock = threading.Lock()

    def handler(self, skip: bool) -> Any:
        def on_invalid(row: Any) -> str:
            if not str(row.text).strip():
                return "skip"  # a whitespace-only line: no row, as for pandas
            with self._lock:
                if skip:
                    self.count += 1
                elif self.first is None:
                    self.first = str(row.text)
            return "skip" if skip else "error"

        return on_invalid


def arrow_dates(table: pa.Table, columns: list[str], date_format: str | None, path: str) -> pa.Table:
    """``table`` with ``columns`` parsed as datetimes by pandas' ``to_datetime`` (the pandas mode's rules).

    Raises:
        DataError: naming the file, the column and the first value that does not parse.
    """
    present = [c for c in columns if c in table.column_names]
    frame = pd.DataFrame({c: to_pandas(table.select([c]))[c] for c in present})
    parsed = parse_date_columns(frame.reindex(columns=columns), columns, date_format, path)
    for column in present:
        table = table.set_column(table.schema.get_field_index(column), column, pa.array(parsed[column]))
    return table


def pandas_frame(table: pa.Table, configs: Mapping[str, Any], path: str) -> pd.DataFrame:
    """A table read with ``parse_dates=False`` as the frame pandas' reader gives (dtypes applied, dates parsed)."""
    frame = to_pandas(table)
    declared = {str(c): str(d) for c, d in (configs.get("dtypes") or {}).items() if str(c) in frame.columns}
    if declared:
        frame = frame.astype(declared)
    dates = [str(c) for c in configs.get("date_columns") or []]
    return parse_date_columns(frame, dates, configs.get("date_format"), path) if dates else frame


def _binary(kind: pa.DataType) -> bool:
    return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind))


def _temporal(kind: pa.DataType) -> bool:
    return any(check(kind) for check in _TEMPORAL)
