"""Reading one CSV file lazily for ``csv_source`` in dask mode, with errors that name the file.

By default (``scan: false``) a dask-mode ``csv_source`` reads nothing but each
file's first rows when the module runs: the file becomes a lazy dask frame of
``blocksize`` partitions, parsed only when a sink computes it. Two things make
that work as well as a pandas-mode read:

* **Column types from the first rows.** :func:`sample` reads the header and
  the first :data:`SAMPLE_ROWS` rows with pandas; the types it finds (unified
  over the files) are passed to every block as explicit ``dtype``, so every
  partition has the same types. dask alone guesses them from 10 rows, and a
  later block that differs (a float, or an empty value, in a column whose
  first rows held integers) fails at write time with a message about dask's
  ``read_csv`` arguments.
* **pyarrow first.** A :class:`CsvBlockReader` parses each block with
  pandas' pyarrow engine (what ``dd.read_csv(engine="pyarrow")`` does) and
  keeps the result when it is exactly what pandas' C parser would give;
  otherwise (a malformed row, a value of another type, an option pyarrow
  lacks) the block is parsed by the C parser as below:
  :mod:`pypeline.modules.source.csv_lazy_arrow`.
* **Errors that name the file.** The C parser's failures are explained by the
  :class:`CsvBlockReader`, not left to ``pd.read_csv``. When a block fails (at
  compute time, inside the sink that computes it) it raises a
  :class:`~pypeline.modules.sdk.DataError` naming the file, and the line
  where one can be told:

  - a malformed row (more fields than the header) or a byte the encoding
    cannot decode: the block's line numbers are relative to the block, so the
    reader reads the whole file again, in chunks, the way ``scan: true``
    would, to report the file's own line (this costs one pass, on the error
    path only): ``data/b.csv: line 1502: malformed row: expected 3 fields, saw 4``;
  - a value that does not fit the type the first rows gave its column: the
    block is parsed again without types to name the column, what it holds and
    what was expected, and how to declare the type (``dtypes``) or use
    ``scan: true``;
  - anything else: the file and pandas' own message.

  The sink then fails with that one message (a ``DataError`` passes through
  the module's error wrapping unchanged), and the run with it.

``scan: true`` (:meth:`CsvReader.scan`) instead reads every file once before
the lazy frame is built: errors surface before anything is written, column
types come from the whole file, and ``row_count`` / ``rows_dropped`` are set.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pandas as pd

from pypeline.modules.sdk.errors import DataError
from pypeline.modules.source.csv_checks import (
    Dialect,
    find_short_rows,
    first_nul_line,
    has_short_rows,
    head_has_short_rows,
    holds_nul,
    may_hold_short_rows,
    nul_message,
)
from pypeline.modules.source.csv_lazy_arrow import read_block
from pypeline.modules.source.csv_reading import CsvReader, FileScan, describe_decode_error, skipping
from pypeline.modules.storage import reader_options

SAMPLE_ROWS = 10_000
"""Rows read per file, when the module runs, to find the column types of a lazy read."""


def sample(reader: CsvReader, path: str, rows: int = SAMPLE_ROWS) -> FileScan:
    """The columns of ``path`` and their types in its first ``rows`` rows (``columns`` is ``None`` when empty).

    ``FileScan.rows`` is the number of rows sampled, not the file's row count. A
    row with too few fields among them fails (or, with ``on_bad_lines: skip``, is
    left out of the sample, so that its padding does not make an integer column float).

    Raises:
        DataError: the first rows cannot be read (naming the file, as :meth:`CsvReader.read` does).
    """
    frame: pd.DataFrame | None = None
    failure: Exception | None = None
    try:
        frame = _sample_frame(reader, path, rows, frozenset())
    except pd.errors.EmptyDataError:
        return FileScan(path=path)
    except Exception as exc:  # padding a declared int dtype cannot hold is a short row: said below
        failure = exc
    short = _sample_short_rows(reader, path, rows, frame)
    if short:
        try:
            frame = _sample_frame(reader, path, rows, short)
        except Exception as exc:
            raise reader.error(path, exc) from None
    if frame is None:
        raise reader.error(path, failure or RuntimeError("unread")) from None
    columns = [str(c) for c in frame.columns]
    dtypes = {str(c): frame[c].dtype for c in frame.columns} if len(frame) else {}
    return FileScan(path=path, columns=columns, rows=len(frame), dtypes=dtypes)


def _sample_short_rows(reader: CsvReader, path: str, rows: int, frame: pd.DataFrame | None) -> frozenset[int]:
    """Record numbers of the short rows among the first ``rows`` (``frame``: them as read, ``None`` if that failed).

    Raises:
        DataError: the first one, unless ``on_bad_lines: skip``.
    """
    dialect = reader.dialect()
    if not dialect.checkable or (frame is not None and not may_hold_short_rows(frame)):
        return frozenset()
    expected = len(frame.columns) if frame is not None else reader.header_width(path)
    if expected < 2 or (frame is not None and not head_has_short_rows(path, dialect, expected, rows)):
        return frozenset()
    try:
        short = find_short_rows(path, dialect, expected, first_only=not reader.skip_bad_lines, limit=rows)
    except (csv.Error, UnicodeError):
        return frozenset()
    if short and not reader.skip_bad_lines:
        raise DataError(short[0].message(path))
    return frozenset(row.index for row in short)


def _sample_frame(reader: CsvReader, path: str, rows: int, skip: frozenset[int]) -> pd.DataFrame:
    options = reader.options()
    if reader.skip_bad_lines:
        options.update(engine="python", on_bad_lines=lambda _line: None)
    if skip:
        options["skiprows"] = skipping(options.get("skiprows"), skip)
    return pd.read_csv(path, nrows=rows, **options, **reader_options(path))


class CsvBlockReader:
    """``pd.read_csv`` for the blocks of one file in a lazy dask read; failures name the file.

    dask calls it like ``pd.read_csv`` (a buffer holding the header and one block,
    plus keyword arguments), on its workers: it holds only plain data, so it pickles.
    """

    def __init__(self, path: str, configs: dict[str, Any], arrow: dict[str, str] | None = None) -> None:
        self.path = path
        self.configs = dict(configs)
        self.arrow = arrow
        """Column -> kind when blocks may be parsed by pyarrow first (``csv_lazy_arrow``), else ``None``."""
        self.__name__ = "read_csv"  # dask names its tasks after the reader

    def __dask_tokenize__(self) -> Any:
        configs = repr(sorted(self.configs.items(), key=lambda kv: kv[0]))
        return ("pypeline-csv-block-reader", self.path, configs, repr(self.arrow))

    def __call__(self, source: Any, **kwargs: Any) -> pd.DataFrame:
        in_memory = isinstance(source, io.BytesIO)
        if in_memory and holds_nul(source, self.configs["encoding"]):
            line = first_nul_line(self.path, self.configs["encoding"])  # the file's own line: error path only
            raise DataError(nul_message(self.path, line or 0))
        if self.arrow is not None and in_memory and "nrows" not in kwargs:
            fast = read_block(source, kwargs, self.arrow)
            if fast is not None:
                return fast
        data = source.getvalue() if in_memory else None
        try:
            frame = pd.read_csv(source, **kwargs)
        except DataError:
            raise
        except Exception as exc:
            short = self._short_rows(data, kwargs, None)
            if not short:
                raise self.explain(source, kwargs, exc) from None
        else:
            short = self._short_rows(data, kwargs, frame)
        if not short:
            return frame
        source.seek(0)
        try:
            return pd.read_csv(source, **{**kwargs, "skiprows": skipping(kwargs.get("skiprows"), short)})
        except Exception as exc:
            raise self.explain(source, kwargs, exc) from None

    def _short_rows(self, data: bytes | None, kwargs: dict[str, Any], frame: pd.DataFrame | None) -> frozenset[int]:
        """Record numbers of the block's rows with too few fields (to skip them).

        Raises:
            DataError: naming the file's own line of the first one, unless ``on_bad_lines: skip``.
        """
        reader = CsvReader(self.configs)
        file_dialect = reader.dialect()
        if data is None or not file_dialect.checkable or (frame is not None and not may_hold_short_rows(frame)):
            return frozenset()
        header = kwargs.get("header", "infer")
        dialect = Dialect(
            delimiter=file_dialect.delimiter, quotechar=file_dialect.quotechar, encoding=file_dialect.encoding,
            skip=kwargs["skiprows"] if isinstance(kwargs.get("skiprows"), int) else 0,
            header=header == 0 or (header == "infer" and kwargs.get("names") is None),
        )
        expected = len(frame.columns) if frame is not None else _block_width(data, kwargs)
        if expected < 2 or not has_short_rows(data, dialect, expected):
            return frozenset()
        try:
            found = find_short_rows(
                data, dialect, expected, first_only=not reader.skip_bad_lines, limit=kwargs.get("nrows")
            )
        except (csv.Error, UnicodeError):
            return frozenset()
        if found and not reader.skip_bad_lines:
            try:  # the file's own line number: one pass over the file, on the error path only
                in_file = find_short_rows(self.path, file_dialect, expected, first_only=True)
            except (csv.Error, UnicodeError):
                in_file = []
            raise DataError((in_file or found)[0].message(self.path))
        return frozenset(row.index for row in found)

    def explain(self, source: Any, kwargs: dict[str, Any], exc: Exception) -> DataError:
        """The one clear error for a block that failed with ``exc`` (see the module docstring)."""
        reader = CsvReader(self.configs)
        if isinstance(exc, UnicodeError):
            return DataError(f"{self.path}: {describe_decode_error(self.path, self.configs['encoding'])}")
        if isinstance(exc, pd.errors.ParserError):
            try:
                reader.scan(self.path)  # the file's own line number: one pass over the file
            except DataError as found:
                return found
            return DataError(
                f"{self.path}: malformed CSV in a block read lazily: {str(exc).strip()} (a quoted value that "
                "spans lines cannot be split into blocks: raise blocksize above the file's size)"
            )
        if isinstance(exc, (ValueError, TypeError)) and kwargs.get("dtype"):
            mismatch = self._type_mismatch(source, kwargs)
            if mismatch:
                return DataError(f"{self.path}: {mismatch}")
        return reader.error(self.path, exc)

    def _type_mismatch(self, source: Any, kwargs: dict[str, Any]) -> str | None:
        """Which column's values do not fit the type the first rows gave it (the block parsed untyped)."""
        expected: dict[str, Any] = dict(kwargs["dtype"])
        declared = self.configs.get("dtypes") or {}
        try:
            source.seek(0)
            untyped = pd.read_csv(source, **{k: v for k, v in kwargs.items() if k != "dtype"})
        except Exception:
            return None
        problems = []
        for column in untyped.columns:
            want = expected.get(str(column))
            found = untyped[column].dtype
            if want is None or _fits(found, want):
                continue
            if str(column) in declared:
                problems.append(f"column '{column}': a value does not fit the declared dtype {want}")
                continue
            problems.append(
                f"column '{column}': the first rows gave it type {want}, a later part of the file holds "
                f"{_kind(untyped[column])} (dask mode reads lazily and takes column types from the first "
                f"{SAMPLE_ROWS} rows); declare it with dtypes: {{{column}: {_suggest(found)}}}, or set "
                "scan: true to read the whole file first"
            )
        return "; ".join(problems) or None


def _block_width(data: bytes, kwargs: dict[str, Any]) -> int:
    """Fields a row of the block should have: its header's (or the names'), without parsing the rows."""
    options = {k: v for k, v in kwargs.items() if k not in ("dtype", "on_bad_lines", "engine", "nrows")}
    try:
        return len(pd.read_csv(io.BytesIO(data), nrows=0, **options).columns)
    except Exception:
        return 0


def _fits(found: Any, want: Any) -> bool:
    """True when values parsed as ``found`` convert to ``want`` without loss (int into float, anything into str)."""
    types = pd.api.types
    if str(found) == str(want) or types.is_string_dtype(want) or types.is_object_dtype(want):
        return True
    if types.is_bool_dtype(want) or types.is_bool_dtype(found):
        return bool(types.is_bool_dtype(want) and types.is_bool_dtype(found))
    if types.is_float_dtype(want):
        return bool(types.is_numeric_dtype(found))
    if types.is_integer_dtype(want):
        return bool(types.is_integer_dtype(found))
    return False


def _kind(series: pd.Series) -> str:
    if series.isna().any() and pd.api.types.is_float_dtype(series.dtype):
        return "empty values or decimals"
    return f"values of type {series.dtype}"


def _suggest(found: Any) -> str:
    if pd.api.types.is_float_dtype(found):
        return "float64"
    if pd.api.types.is_bool_dtype(found):
        return "boolean"
    if pd.api.types.is_integer_dtype(found):
        return "Int64"
    return "str"
