"""Reading JSON and JSON Lines files into records, for ``json_source``.

* JSON Lines (``.jsonl``, ``.ndjson``, or ``format: jsonl``): one JSON object
  per line; blank lines are ignored. A line that is not valid JSON, or not an
  object, fails with the file and the line number, unless
  ``on_bad_lines: skip`` (dropped and counted).
* JSON (``format: json``): a top-level array of objects, or an object. With
  ``record_path`` (``data.items``) the records are the array found at that
  dotted path inside the document; without it an object is one record.
  A syntax error names the file, line and column.

``flatten: true`` turns nested objects into dotted columns
(``{"user": {"id": 1}}`` gives the column ``user.id``); otherwise nested
objects and arrays stay as Python values in their column, ready for
``key_extractor_mod``.

:func:`scan_jsonl` makes one streaming pass over a JSON Lines file for the
dask path: it validates every line, counts records, finds the columns in
order of first appearance with one dtype each, and notes byte offsets at
which the file can be split into partitions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pypeline.modules.sdk.errors import DataError
from pypeline.modules.storage import open_input


def flatten_record(record: dict[str, Any], separator: str = ".", prefix: str = "") -> dict[str, Any]:
    """Nested objects of ``record`` as ``a.b.c`` keys (arrays are kept as values)."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{separator}{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten_record(value, separator, name))
        else:
            flat[name] = value
    return flat


def detect_format(path: str, declared: str, encoding: str, record_path: str | None = None) -> str:
    """``json`` or ``jsonl`` for ``path`` (``declared`` unless it is ``auto``; a ``record_path`` means JSON)."""
    if declared != "auto":
        return declared
    if record_path:
        return "json"
    lower = path.lower()
    if lower.endswith((".jsonl", ".ndjson", ".jsonl.txt")):
        return "jsonl"
    with open_input(path) as fh:  # bytes: a bad byte is reported by the reader, with its line
        head = fh.read(1 << 16).decode(encoding, errors="replace").lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        return "json"
    # one object spread over several lines is JSON; one object per line is JSON Lines
    first_line = head.split("\n", 1)[0].strip()
    try:
        json.loads(first_line)
        return "jsonl"
    except ValueError:
        return "json"


def parse_line(path: str, number: int, line: str) -> dict[str, Any]:
    """One JSON Lines record.

    Raises:
        DataError: naming the file and line when the line is not a JSON object.
    """
    try:
        value = json.loads(line.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(value, dict):
        raise DataError(f"{path}: line {number}: expected a JSON object, got {type(value).__name__}")
    return value


def read_jsonl(
    path: str, encoding: str, skip_bad: bool, start: int = 0, end: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Records of a JSON Lines file (or of the byte range ``[start, end)``) and the bad lines skipped."""
    records: list[dict[str, Any]] = []
    bad = 0
    with open_input(path) as fh:
        fh.seek(start)
        number = 0
        while end is None or fh.tell() < end:
            raw = fh.readline()
            if not raw:
                break
            number += 1
            text = _decode(raw, encoding, path, number)
            if not text.strip():
                continue
            try:
                records.append(parse_line(path, number, text))
            except DataError:
                if not skip_bad:
                    raise
                bad += 1
    return records, bad


def _decode(raw: bytes, encoding: str, path: str, number: int) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: line {number}: cannot decode as {encoding} at byte {exc.start}; set 'encoding'"
        ) from None


def read_json_document(path: str, encoding: str, record_path: str | None) -> list[dict[str, Any]]:
    """The records of a JSON document (see the module docstring)."""
    try:
        with open_input(path, "r", encoding=encoding) as fh:
            document = json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: cannot decode as {encoding} at byte {exc.start}; set 'encoding'") from None
    if record_path:
        for part in record_path.split("."):
            if not isinstance(document, dict) or part not in document:
                keys = ", ".join(document) if isinstance(document, dict) else type(document).__name__
                raise DataError(f"{path}: record_path '{record_path}': no key '{part}' (found: {keys})")
            document = document[part]
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        raise DataError(f"{path}: expected a JSON array of objects or an object, got {type(document).__name__}")
    for index, item in enumerate(document):
        if not isinstance(item, dict):
            raise DataError(f"{path}: item {index} of the array is a {type(item).__name__}, expected an object")
    return document


def records_frame(records: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    """A frame of ``records`` (missing keys are nulls), with ``columns`` in that order when given."""
    if not records:
        return pd.DataFrame(columns=columns or [])
    frame = pd.DataFrame.from_records(records)
    return frame.reindex(columns=columns) if columns is not None else frame


@dataclass(slots=True)
class JsonlScan:
    """What a streaming pass over one JSON Lines file found."""

    path: str
    rows: int = 0
    bad_lines: int = 0
    columns: dict[str, set[str]] = field(default_factory=dict)
    """Column -> kinds of values seen (``int``, ``str``, ``none``, ...)."""
    present: dict[str, int] = field(default_factory=dict)
    """Column -> number of records holding the key."""
    splits: list[int] = field(default_factory=lambda: [0])
    """Byte offsets where partitions start (always at a line start)."""


def scan_jsonl(path: str, encoding: str, skip_bad: bool, flatten: bool, separator: str, blocksize: int) -> JsonlScan:
    """Validate and profile a JSON Lines file in one streaming pass (bounded memory)."""
    scan = JsonlScan(path=path)
    with open_input(path) as fh:
        number = 0
        while True:
            offset = fh.tell()
            raw = fh.readline()
            if not raw:
                break
            if offset - scan.splits[-1] >= blocksize:
                scan.splits.append(offset)
            number += 1
            text = _decode(raw, encoding, path, number)
            if not text.strip():
                continue
            try:
                record = parse_line(path, number, text)
            except DataError:
                if not skip_bad:
                    raise
                scan.bad_lines += 1
                continue
            if flatten:
                record = flatten_record(record, separator)
            scan.rows += 1
            for key, value in record.items():
                scan.columns.setdefault(key, set()).add(value_kind(value))
                scan.present[key] = scan.present.get(key, 0) + 1
    return scan


def value_kind(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "object"


def dtype_for(kinds: set[str], always_present: bool) -> Any:
    """The pandas dtype a column with values of ``kinds`` gets (matching what pandas infers)."""
    nullable = "none" in kinds or not always_present
    kinds = kinds - {"none"}
    if not kinds:
        return "object"
    if kinds == {"int"}:
        return "float64" if nullable else "int64"
    if kinds <= {"int", "float"}:
        return "float64"
    if kinds == {"bool"}:
        return "object" if nullable else "bool"
    if kinds == {"str"}:
        return "str"
    return "object"
