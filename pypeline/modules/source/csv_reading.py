"""Reading one CSV file for ``csv_source``: options, malformed rows, dates, and a streaming scan.

:class:`CsvReader` turns the module's configs into :func:`pandas.read_csv`
options and reads one file at a time, so every problem names its file:

* a malformed row (more fields than the header, or fewer: pandas would pad
  it with nulls, :mod:`pypeline.modules.source.csv_checks`) fails with the
  file and its line number, unless ``on_bad_lines: skip``, which drops the
  row and counts it (the file is then read again without the short rows, so
  their padding never turns an integer column into floats);
* a NUL character fails with the file and its line (a binary file, or the
  wrong encoding);
* a byte the encoding cannot decode fails with the file, the position and a hint;
* a value that does not fit a declared dtype, or a date column value that does
  not parse, fails with the file and the column;
* an empty file (no header, no rows; whitespace-only counts as empty) reads
  as "no frame" (``None``), a header-only file as a frame with columns and
  zero rows. With ``column_names`` an empty file is a frame of those columns.

:meth:`CsvReader.scan` reads a file in chunks (bounded memory) and returns
what the dask path with ``scan: true`` needs before it builds its lazy frame:
the columns, the row count, the malformed rows and each column's dtype
unified over the chunks (the lazy default is in ``csv_lazy.py``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pypeline.modules.sdk.errors import DataError
from pypeline.modules.source.csv_checks import (
    Dialect,
    ShortRow,
    find_short_rows,
    first_nul_line,
    has_short_rows,
    may_hold_short_rows,
    nul_message,
)
from pypeline.modules.storage import open_input, reader_options

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

    def dialect(self) -> Dialect:
        """How the checks of ``csv_checks`` split this reader's files."""
        c = self.configs
        return Dialect(
            delimiter=c["delimiter"], quotechar=c["quotechar"], encoding=c["encoding"],
            skip=c["skip_rows"] or 0, header=bool(c["header"]),
        )

    def read(self, path: str) -> tuple[pd.DataFrame | None, int]:
        """The whole file as a frame (``None`` when it is empty) and the number of rows skipped."""
        self.check_nul(path)
        frame: pd.DataFrame | None
        try:
            frame, bad = self._read(path)
        except pd.errors.EmptyDataError:
            return None, 0
        except DataError:
            raise
        except Exception as exc:
            frame, bad = None, 0
            short = self.short_rows(path, None)  # padding that a declared int dtype cannot hold, say
            if not short:
                raise self.error(path, exc) from None
        else:
            short = self.short_rows(path, frame)
        if not short:
            return frame, bad
        try:
            kept, bad = self._read(path, frozenset(row.index for row in short))
        except DataError:
            raise
        except Exception as exc:
            raise self.error(path, exc) from None
        if frame is not None and len(kept) != len(frame) - len(short):
            raise DataError(
                f"{path}: line {short[0].line}: {len(short)} row(s) have fewer fields than the header and could "
                "not be told apart exactly to skip them; fix the file"
            )
        return kept, bad + len(short)

    def _read(self, path: str, skip: frozenset[int] = frozenset()) -> tuple[pd.DataFrame, int]:
        """``pd.read_csv`` with this reader's options, without the records ``skip``; also the too-long rows skipped."""
        bad: list[Any] = []
        options = self.options()
        if self.skip_bad_lines:
            options.update(engine="python", on_bad_lines=bad.append)
        if skip:
            options["skiprows"] = skipping(options.get("skiprows"), skip)
        frame = pd.read_csv(path, **options, **reader_options(path))
        return self._finish(frame, path), len(bad)

    def check_nul(self, path: str) -> None:
        """Fail on a NUL character in ``path`` (see ``csv_checks``)."""
        line = first_nul_line(path, self.configs["encoding"])
        if line is not None:
            raise DataError(nul_message(path, line))

    def short_rows(self, path: str, frame: pd.DataFrame | None) -> list[ShortRow]:
        """The rows of ``path`` with too few fields: all of them with ``on_bad_lines: skip``, else the first.

        ``frame`` is the file as pandas read it (``None`` when that failed): it tells
        the expected number of fields and, most of the time, that no row was padded.

        Raises:
            DataError: a short row, unless ``on_bad_lines: skip``.
        """
        dialect = self.dialect()
        if not dialect.checkable or (frame is not None and not may_hold_short_rows(frame)):
            return []
        expected = len(frame.columns) if frame is not None else self.header_width(path)
        if expected < 2 or not has_short_rows(path, dialect, expected):
            return []
        try:
            found = find_short_rows(path, dialect, expected, first_only=not self.skip_bad_lines)
        except (csv.Error, UnicodeError):
            return []  # pandas' own read tells what is wrong with the file
        if found and not self.skip_bad_lines:
            raise DataError(found[0].message(path))
        return found

    def header_width(self, path: str) -> int:
        """Fields a row of ``path`` should have: its header's or the names' (0 when it cannot be read)."""
        options = {k: v for k, v in self.options().items() if k != "dtype"}
        try:
            return len(pd.read_csv(path, nrows=0, **options, **reader_options(path)).columns)
        except Exception:
            return 0

    def scan(self, path: str, chunk_rows: int = SCAN_CHUNK_ROWS) -> FileScan:
        """A chunked pass over ``path`` (bounded memory) that fails like :meth:`read` would."""
        self.check_nul(path)
        try:
            result, padded = self._scan(path, chunk_rows)
        except DataError:
            raise
        except Exception as exc:
            short = self.short_rows(path, None)
            if not short:
                raise self.error(path, exc) from None
        else:
            short = self.short_rows(path, None) if padded else []
        if not short:
            return result
        try:
            result, _ = self._scan(path, chunk_rows, frozenset(row.index for row in short))
        except DataError:
            raise
        except Exception as exc:
            raise self.error(path, exc) from None
        result.bad_lines += len(short)
        return result

    def _scan(self, path: str, chunk_rows: int, skip: frozenset[int] = frozenset()) -> tuple[FileScan, bool]:
        """The scan without the records ``skip``, and whether a chunk may hold a padded row."""
        result = FileScan(path=path)
        bad: list[Any] = []
        options = self.options()
        if self.skip_bad_lines:
            options.update(engine="python", on_bad_lines=bad.append)
        if skip:
            options["skiprows"] = skipping(options.get("skiprows"), skip)
        padded = False
        try:
            with pd.read_csv(path, chunksize=chunk_rows, **options, **reader_options(path)) as chunks:
                for chunk in chunks:
                    chunk = self._finish(chunk, path)
                    padded = padded or may_hold_short_rows(chunk)
                    if result.columns is None:
                        result.columns = list(map(str, chunk.columns))
                    result.rows += len(chunk)
                    if len(chunk):
                        for column in chunk.columns:
                            result.dtypes[str(column)] = unify_dtypes(
                                result.dtypes.get(str(column)), chunk[column].dtype
                            )
        except pd.errors.EmptyDataError:
            return result, False
        if result.columns is None:  # a header-only file yields no chunk with pandas < 3
            result.columns = []
        result.bad_lines = len(bad)
        return result, padded

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


def skipping(first: Any, records: frozenset[int]) -> Any:
    """A ``skiprows`` callable: the first ``first`` records (an int or ``None``) and ``records``."""
    count = first if isinstance(first, int) else 0
    return lambda index: index < count or index in records


def describe_decode_error(path: str, encoding: str) -> str:
    """Where ``path`` first fails to decode as ``encoding``: line, byte offset and the byte."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    lines = 1
    with open_input(path) as fh:
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
