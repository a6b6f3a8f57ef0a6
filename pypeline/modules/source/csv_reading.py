"""Reading one CSV file for ``csv_source``: options, malformed rows, dates, and a streaming scan.

:class:`CsvReader` turns the module's configs into :func:`pandas.read_csv`
options and reads one file at a time, so every problem names its file:

* a malformed row (more fields than the header) fails with the file and its
  line number, unless ``on_bad_lines: skip``, which drops the row and counts it;
* a byte the encoding cannot decode fails with the file, the position and a hint;
* a value that does not fit a declared dtype, or a date column value that does
  not parse, fails with the file and the column;
* an empty file (no header, no rows) reads as "no frame" (``None``), a
  header-only file as a frame with columns and zero rows.

:meth:`CsvReader.scan` reads a file in chunks (bounded memory) and returns
what the dask path with ``scan: true`` needs before it builds its lazy frame:
the columns, the row count, the malformed rows and each column's dtype
unified over the chunks (the lazy default is in ``csv_lazy.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pypeline.modules.sdk.errors import DataError

WHITESPACE = "\\s+"
"""The one delimiter longer than a character that is not literal: runs of spaces and tabs (pandas reads it in C)."""

SCAN_CHUNK_ROWS = 100_000
_LINE_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@dataclass(slots=True)
class FileScan:
    """What a chunked pass over one file found."""

    path: str
    columns: list[str] | None = None
    """``None`` for an empty file (no header)."""
    rows: int = 0
    bad_lines: int = 0
    dtypes: dict[str, Any] = field(default_factory=dict)


class CsvReader:
    """Reads CSV files with one set of options (see the module docstring)."""

    def __init__(self, configs: dict[str, Any]) -> None:
        self.configs = configs

    @property
    def skip_bad_lines(self) -> bool:
        return bool(self.configs["on_bad_lines"] == "skip")

    def options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`pandas.read_csv` (shared by the pandas and dask paths)."""
        c = self.configs
        options: dict[str, Any] = {
            "sep": c["delimiter"],
            "encoding": c["encoding"],
            "decimal": c["decimal"],
            "quotechar": c["quotechar"],
            "header": 0 if c["header"] else None,
            "skiprows": c["skip_rows"] or None,
        }
        if len(c["delimiter"]) > 1 and c["delimiter"] != WHITESPACE:
            # pandas reads a longer separator as a Python regular expression (backtracking, so a
            # delimiter could stall the read): it is literal text here, split by an escaped pattern
            options.update(sep=re.escape(c["delimiter"]), engine="python")
        if c["thousands"]:
            options["thousands"] = c["thousands"]
        if c["null_values"]:
            options["na_values"] = list(c["null_values"])
        if c["column_names"]:
            options["names"] = list(c["column_names"])
        if c["dtypes"]:
            options["dtype"] = dict(c["dtypes"])
        return options

    def read(self, path: str) -> tuple[pd.DataFrame | None, int]:
        """The whole file as a frame (``None`` when it is empty) and the number of rows skipped."""
        bad: list[Any] = []
        options = self.options()
        if self.skip_bad_lines:
            options.update(engine="python", on_bad_lines=bad.append)
        try:
            frame = pd.read_csv(path, **options)
        except pd.errors.EmptyDataError:
            return None, 0
        except Exception as exc:
            raise self.error(path, exc) from None
        frame = self._finish(frame, path)
        return frame, len(bad)

    def scan(self, path: str, chunk_rows: int = SCAN_CHUNK_ROWS) -> FileScan:
        """A chunked pass over ``path`` (bounded memory) that fails like :meth:`read` would."""
        result = FileScan(path=path)
        bad: list[Any] = []
        options = self.options()
        if self.skip_bad_lines:
            options.update(engine="python", on_bad_lines=bad.append)
        try:
            with pd.read_csv(path, chunksize=chunk_rows, **options) as chunks:
                for chunk in chunks:
                    chunk = self._finish(chunk, path)
                    if result.columns is None:
                        result.columns = list(map(str, chunk.columns))
                    result.rows += len(chunk)
                    if len(chunk):
                        for column in chunk.columns:
                            result.dtypes[str(column)] = unify_dtypes(
                                result.dtypes.get(str(column)), chunk[column].dtype
                            )
        except pd.errors.EmptyDataError:
            return result
        except DataError:
            raise
        except Exception as exc:
            raise self.error(path, exc) from None
        if result.columns is None:  # a header-only file yields no chunk with pandas < 3
            result.columns = []
        result.bad_lines = len(bad)
        return result

    def _finish(self, frame: pd.DataFrame, path: str) -> pd.DataFrame:
        frame.columns = [str(c) for c in frame.columns]
        dates = self.configs["date_columns"]
        if dates:
            frame = parse_date_columns(frame, dates, self.configs["date_format"], path)
        return frame

    def error(self, path: str, exc: Exception) -> DataError:
        """The one clear error for ``path`` failing to read with ``exc`` (file, and line where known)."""
        if isinstance(exc, pd.errors.ParserError):
            match = _LINE_RE.search(str(exc))
            if match:
                expected, line, saw = match.groups()
                return DataError(
                    f"{path}: line {line}: malformed row: expected {expected} fields, saw {saw} "
                    "(set on_bad_lines: skip to drop and count such rows)"
                )
            return DataError(f"{path}: malformed CSV: {str(exc).strip()}")
        if isinstance(exc, UnicodeError):
            return DataError(f"{path}: {describe_decode_error(path, self.configs['encoding'])}")
        if isinstance(exc, (ValueError, TypeError)) and self.configs["dtypes"]:
            return DataError(f"{path}: a value does not fit the declared dtypes {self.configs['dtypes']}: {exc}")
        return DataError(f"{path}: cannot read as CSV: {type(exc).__name__}: {exc}")


def describe_decode_error(path: str, encoding: str) -> str:
    """Where ``path`` first fails to decode as ``encoding``: line, byte offset and the byte."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    lines = 1
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = chunk[exc.start:exc.start + 1]
                lines += chunk[: exc.start].count(b"\n")
                return (
                    f"line {lines}: cannot decode byte 0x{bad.hex()} at byte offset {offset + exc.start} as "
                    f"{encoding}; set the 'encoding' config (e.g. latin-1, utf-16)"
                )
            offset += len(chunk)
            lines += chunk.count(b"\n")
    return f"cannot decode the file as {encoding}; set the 'encoding' config (e.g. latin-1, utf-16)"


def parse_date_columns(frame: pd.DataFrame, columns: list[str], date_format: str | None, path: str) -> pd.DataFrame:
    """``frame`` with ``columns`` parsed as datetimes.

    Raises:
        DataError: naming the file, the column and the first value that does not parse.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: date column(s) {', '.join(missing)} not in the file (columns: {', '.join(frame.columns)})"
        )
    updates = {}
    for column in columns:
        values = frame[column]
        try:
            updates[column] = pd.to_datetime(values, format=date_format or "ISO8601")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(values, format=date_format or "ISO8601", errors="coerce")
            bad = values[parsed.isna() & values.notna()]
            example = bad.iloc[0] if len(bad) else "?"
            expected = f"format {date_format!r}" if date_format else "ISO 8601 dates (or set date_format)"
            raise DataError(
                f"{path}: column '{column}': value {example!r} is not a date (expected {expected}); "
                f"{len(bad)} value(s) do not parse"
            ) from None
    return frame.assign(**updates)


def unify_dtypes(first: Any, second: Any) -> Any:
    """One dtype able to hold values of both (``None`` means "not seen yet")."""
    if first is None or first == second:
        return second
    numeric = pd.api.types.is_numeric_dtype
    boolean = pd.api.types.is_bool_dtype
    if numeric(first) and numeric(second) and not boolean(first) and not boolean(second):
        return "float64"
    if pd.api.types.is_datetime64_any_dtype(first) and pd.api.types.is_datetime64_any_dtype(second):
        return first
    return "str"
