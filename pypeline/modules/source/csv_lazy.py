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
* **Errors that name the file.** Each block is parsed by a
  :class:`CsvBlockReader`, not ``pd.read_csv`` itself. When a block fails (at
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

from typing import Any

import pandas as pd

from pypeline.modules.sdk.errors import DataError
from pypeline.modules.source.csv_reading import CsvReader, FileScan, describe_decode_error

SAMPLE_ROWS = 10_000
"""Rows read per file, when the module runs, to find the column types of a lazy read."""


def sample(reader: CsvReader, path: str, rows: int = SAMPLE_ROWS) -> FileScan:
    """The columns of ``path`` and their types in its first ``rows`` rows (``columns`` is ``None`` when empty).

    ``FileScan.rows`` is the number of rows sampled, not the file's row count.

    Raises:
        DataError: the first rows cannot be read (naming the file, as :meth:`CsvReader.read` does).
    """
    bad: list[Any] = []
    options = reader.options()
    if reader.skip_bad_lines:
        options.update(engine="python", on_bad_lines=bad.append)
    try:
        frame = pd.read_csv(path, nrows=rows, **options)
    except pd.errors.EmptyDataError:
        return FileScan(path=path)
    except Exception as exc:
        raise reader.error(path, exc) from None
    columns = [str(c) for c in frame.columns]
    dtypes = {str(c): frame[c].dtype for c in frame.columns} if len(frame) else {}
    return FileScan(path=path, columns=columns, rows=len(frame), dtypes=dtypes)


class CsvBlockReader:
    """``pd.read_csv`` for the blocks of one file in a lazy dask read; failures name the file.

    dask calls it like ``pd.read_csv`` (a buffer holding the header and one block,
    plus keyword arguments), on its workers: it holds only plain data, so it pickles.
    """

    def __init__(self, path: str, configs: dict[str, Any]) -> None:
        self.path = path
        self.configs = dict(configs)
        self.__name__ = "read_csv"  # dask names its tasks after the reader

    def __dask_tokenize__(self) -> Any:
        return ("pypeline-csv-block-reader", self.path, repr(sorted(self.configs.items(), key=lambda kv: kv[0])))

    def __call__(self, source: Any, **kwargs: Any) -> pd.DataFrame:
        try:
            return pd.read_csv(source, **kwargs)
        except DataError:
            raise
        except Exception as exc:
            raise self.explain(source, kwargs, exc) from None

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
