"""What pandas' CSV reader accepts silently and ``csv_source`` does not: short rows and NUL characters.

**Rows with too few fields.** ``pandas.read_csv`` pads a row that has fewer
fields than the header with nulls, without a word (and an integer column
becomes float to hold them); it reports only rows with too many. A padded row
always holds a null in the last column, so :func:`may_hold_short_rows` (one
``isna`` over the last column of the frame just read) clears most files at
no cost. When it cannot, :func:`has_short_rows` asks pyarrow's CSV reader,
which counts each row's fields (multi-threaded, no values converted) and is
the fast filter (:func:`head_has_short_rows` asks it about a file's first
rows only, the sample a lazy read takes); only a file it flags is read again by the standard
library's :mod:`csv` reader in :func:`find_short_rows`, which gives each short
row's record number (what pandas' ``skiprows`` counts, blank lines included)
and the physical line it starts on (what a person sees in an editor). Both
are readers of record, not a parser of ours. Blank and whitespace-only lines
are not rows (pandas skips them). A delimiter longer than one character is a
regular expression to pandas and is not checked.

**NUL characters.** A NUL (``\\x00``) in a CSV file is a sign of a binary file
or a wrong encoding (UTF-16 read as UTF-8); pandas passes it into the data.
:func:`first_nul_line` finds the first one (a byte search, or a decoded
search for the UTF-16/32 encodings whose text holds zero bytes).
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

import pandas as pd

from pypeline.modules.storage import StoragePath, open_input

WIDE_ENCODINGS = ("utf-16", "utf16", "utf-32", "utf32")
_CHUNK = 1 << 20
_HEAD_BYTES = (1 << 20, 1 << 22, 1 << 24)
"""The heads of a file :func:`head_has_short_rows` reads, one after the other: 1, 4 and 16 MiB."""
_WINDOW = 16 * mmap.ALLOCATIONGRANULARITY * 256  # 16 MiB with 4 KiB pages: a multiple of the map granularity


@dataclass(frozen=True, slots=True)
class Dialect:
    """What the checks need to split a CSV source into rows and fields as pandas does."""

    delimiter: str
    quotechar: str
    encoding: str
    skip: int = 0
    """Records before the header (``skip_rows``)."""
    header: bool = True

    @property
    def checkable(self) -> bool:
        """False for a multi-character delimiter (a regular expression for pandas)."""
        return len(self.delimiter) == 1 and len(self.quotechar) == 1


@dataclass(frozen=True, slots=True)
class ShortRow:
    """A row with fewer fields than the header."""

    index: int
    """0-based record number in the source, as pandas' ``skiprows`` counts them."""
    line: int
    """1-based physical line the row starts on."""
    fields: int
    expected: int

    def message(self, path: str) -> str:
        """The error for this row when short rows are not skipped."""
        return (
            f"{path}: line {self.line}: malformed row: expected {self.expected} fields, saw {self.fields} "
            "(set on_bad_lines: skip to drop and count such rows)"
        )


def is_wide(encoding: str) -> bool:
    """True for the encodings whose text holds zero bytes (UTF-16, UTF-32)."""
    return str(encoding).lower().replace("_", "-").startswith(WIDE_ENCODINGS)


def may_hold_short_rows(frame: pd.DataFrame) -> bool:
    """False when ``frame`` (as read by pandas) cannot hold a padded row: its last column has no null."""
    if len(frame.columns) < 2 or not len(frame):
        return False  # with one column a row of no field is a blank line
    return bool(frame.iloc[:, -1].isna().any())


def has_short_rows(source: str | bytes, dialect: Dialect, expected: int) -> bool:
    """Whether ``source`` (a path, or the bytes of a block) may hold a short row: pyarrow's quick count.

    ``True`` when pyarrow cannot tell (an option it lacks, a parse error): the
    exact pass decides then. Lines before the header are counted as rows (a
    short one only costs the exact pass).
    """
    return _quick_count(source, dialect, expected) is None


def head_has_short_rows(path: str, dialect: Dialect, expected: int, rows: int) -> bool:
    """:func:`has_short_rows` for the first ``rows`` data rows of ``path`` only (a sample), read from its head.

    The head is cut after its last newline and grows (:data:`_HEAD_BYTES`) until
    pyarrow counts enough records in it. Its last record may be cut inside a
    quoted value: cut, it has at most the fields it has whole, so it never hides
    a short row (at worst it is taken for one). ``True`` when a short row may be
    among them, or when pyarrow cannot tell: a wide encoding (no newline byte to
    cut at), a parse error, or fewer records than ``rows`` in the largest head.
    A short row after the first ``rows`` only costs the exact pass.
    """
    if is_wide(dialect.encoding):
        return True
    needed = rows + dialect.skip + int(dialect.header)
    head = b""
    with open_input(path, "rb") as stream:
        for size in _HEAD_BYTES:
            head += stream.read(size - len(head))
            whole = len(head) < size
            counted = _quick_count(head if whole else head[: head.rfind(b"\n") + 1], dialect, expected)
            if counted is None:
                return True
            if whole or counted >= needed:
                return False
    return True


def _quick_count(source: str | bytes, dialect: Dialect, expected: int) -> int | None:
    """Records pyarrow reads in ``source`` (blank ones not counted); ``None`` at a short row or a parse error."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    found: list[bool] = []

    def handler(row: Any) -> str:
        if row.actual_columns < row.expected_columns and row.text.strip():
            found.append(True)
            return "error"  # one is enough: stop the read
        return "skip"

    names = [f"f{i}" for i in range(expected)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            read_options=pacsv.ReadOptions(column_names=names, encoding=dialect.encoding),
            parse_options=pacsv.ParseOptions(
                delimiter=dialect.delimiter,
                quote_char=dialect.quotechar,
                double_quote=True,
                newlines_in_values=True,
                ignore_empty_lines=True,
                invalid_row_handler=handler,
            ),
            convert_options=pacsv.ConvertOptions(include_columns=names[:1], column_types={names[0]: pa.string()}),
        )
    except Exception:
        return None
    return None if found else table.num_rows


def find_short_rows(
    source: str | bytes, dialect: Dialect, expected: int, *, first_only: bool = False, limit: int | None = None
) -> list[ShortRow]:
    """The rows of ``source`` (a path, or a block's bytes) with fewer than ``expected`` fields.

    Args:
        first_only: stop at the first one (an error needs only it).
        limit: look at this many data rows at most (a sample).

    Raises:
        csv.Error, UnicodeError: the source cannot be split (the caller reports it).
    """
    found: list[ShortRow] = []
    with _text(source, dialect.encoding) as stream:
        reader = csv.reader(stream, delimiter=dialect.delimiter, quotechar=dialect.quotechar, doublequote=True)
        header_due = dialect.header
        start = 1
        rows = 0
        for index, record in enumerate(reader):
            blank = not record or (len(record) == 1 and not record[0].strip())
            if index < dialect.skip or blank:
                pass
            elif header_due:
                header_due = False
            else:
                rows += 1
                if len(record) < expected:
                    found.append(ShortRow(index=index, line=start, fields=len(record), expected=expected))
                    if first_only:
                        break
                if limit is not None and rows >= limit:
                    break
            start = reader.line_num + 1
    return found


def _text(source: str | bytes, encoding: str) -> IO[str]:
    if isinstance(source, bytes):
        return io.TextIOWrapper(io.BytesIO(source), encoding=encoding, newline="")
    return open_input(source, "r", encoding=encoding, newline="")


def first_nul_line(source: str | bytes, encoding: str) -> int | None:
    """The 1-based line of the first NUL character in ``source`` (a path or bytes), ``None`` if there is none."""
    if is_wide(encoding):
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        lines = 1
        for chunk in _chunks(source):
            text = decoder.decode(chunk)
            at = text.find("\x00")
            if at >= 0:
                return lines + text.count("\n", 0, at)
            lines += text.count("\n")
        return None
    offset = _find_nul(source)  # a byte search only: lines are counted on the error path
    return None if offset is None else 1 + _newlines_before(source, offset)


def _find_nul(source: str | bytes) -> int | None:
    """The offset of the first NUL byte.

    A file is searched through memory maps of :data:`_WINDOW` bytes at a time: no copy of
    its bytes, and no more of it counted in the process's resident memory than one window
    (a map of the whole file would count all of it, however large).
    """
    if isinstance(source, bytes):
        at = source.find(b"\x00")
        return at if at >= 0 else None
    if isinstance(source, StoragePath):  # an object in a store: read through its file object
        return _find_nul_read(source)
    with open(source, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        for offset in range(0, size, _WINDOW):
            length = min(_WINDOW, size - offset)
            try:
                window = mmap.mmap(fh.fileno(), length, offset=offset, access=mmap.ACCESS_READ)
            except (ValueError, OSError):  # a file that cannot be mapped: read it
                return _find_nul_read(source)
            with window:
                found = window.find(b"\x00")
            if found >= 0:
                return offset + found
    return None


def _find_nul_read(path: str) -> int | None:
    offset = 0
    for chunk in _chunks(path):
        found = chunk.find(b"\x00")
        if found >= 0:
            return offset + found
        offset += len(chunk)
    return None


def holds_nul(block: io.BytesIO, encoding: str) -> bool:
    """Whether the bytes of ``block`` hold a NUL character (see :func:`first_nul_line`).

    Searched a slice at a time, so a block of dask's lazy read is never copied whole.
    """
    if is_wide(encoding):
        return first_nul_line(block.getvalue(), encoding) is not None
    view = block.getbuffer()
    try:
        for start in range(0, len(view), _CHUNK):
            piece = view[start : start + _CHUNK]
            found = b"\x00" in piece.tobytes()
            piece.release()
            if found:
                return True
        return False
    finally:
        view.release()


def _newlines_before(source: str | bytes, offset: int) -> int:
    count = 0
    for chunk in _chunks(source):
        count += chunk.count(b"\n", 0, offset)
        offset -= len(chunk)
        if offset <= 0:
            break
    return count


def _chunks(source: str | bytes) -> Iterable[bytes]:
    if isinstance(source, bytes):
        yield source
        return
    with open_input(source) as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def is_blank(path: str, encoding: str) -> bool:
    """True when ``path`` holds nothing but whitespace (0 bytes included)."""
    chunks = _chunks(path)
    if is_wide(encoding):
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        return all(not decoder.decode(c).strip("\ufeff \t\r\n") for c in chunks)
    return all(not c.strip() for c in chunks)


def nul_message(path: str, line: int) -> str:
    """The error for a NUL character on ``line`` of ``path``."""
    return (
        f"{path}: line {line}: NUL character (\\x00) in the data; a CSV file holds text: is it a binary file, "
        "or another encoding (set the 'encoding' config, e.g. utf-16)?"
    )
