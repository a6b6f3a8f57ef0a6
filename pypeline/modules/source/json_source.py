"""``json_source``: read JSON documents or JSON Lines files into a frame.

The file formats, ``record_path``, ``flatten`` and the error rules are
described in :mod:`pypeline.modules.source.json_reading`. Several files
(folder or glob) are combined by column name: JSON has no fixed schema, so a
key missing from some records or files gives nulls.

In ``execution_mode: dask`` each JSON Lines file is scanned once (streaming,
bounded memory) to validate it, count the records, settle the columns and
their types and find split points; the dask frame then reads ``blocksize``
byte ranges lazily. A JSON document (array) must be parsed whole, so it is one
partition. dask keeps object columns as strings, so in dask mode nested
values (objects, arrays) and columns of mixed types arrive as JSON text;
``key_extractor_mod`` parses that text, so extraction works the same in both modes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.frames import expand_paths
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.source.json_reading import (
    JsonlScan,
    detect_format,
    dtype_for,
    flatten_record,
    read_json_document,
    read_jsonl,
    records_frame,
    scan_jsonl,
    value_kind,
)
from pypeline.modules.storage import STORAGE_OPTIONS_CONFIG


class JsonSource(BaseModule):
    """Read JSON / JSON Lines files into a frame."""

    TYPE = "source"
    VERSION = "1.0.0"
    DESCRIPTION = "Reads JSON documents (array or object) and JSON Lines files into a frame"
    CATEGORY = "File Sources"
    OUTPUT_PORTS = ["data"]
    GLOBALS = ["row_count", "files_read", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {
            "file_path": {"type": "str", "description": "A JSON / JSON Lines file, a folder or a glob"},
        },
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "format": {
                "type": "str",
                "default": "auto",
                "enum": ["auto", "json", "jsonl"],
                "description": "`jsonl`: one object per line; `json`: one document; `auto`: by extension and content",
            },
            "record_path": {
                "type": "str|null",
                "default": None,
                "description": "JSON documents: dotted path to the array of records (`data.items`)",
            },
            "flatten": {
                "type": "bool",
                "default": False,
                "description": "Turn nested objects into dotted columns (`user.id`)",
            },
            "separator": {"type": "str", "default": ".", "description": "Separator of flattened column names"},
            "encoding": {"type": "str", "default": "utf-8", "description": "File encoding"},
            "on_bad_lines": {
                "type": "str",
                "default": "error",
                "enum": ["error", "skip"],
                "description": "JSON Lines: a line that is not a JSON object fails (file and line), "
                "or is dropped and counted",
            },
            "blocksize": {"type": "int", "default": 64_000_000, "description": "dask mode: bytes per partition"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        problems = []
        if isinstance(configs.get("blocksize"), int) and configs["blocksize"] < 1:
            problems.append("config 'blocksize' must be at least 1")
        if configs.get("separator") == "":
            problems.append("config 'separator' must not be empty")
        return problems

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        files = expand_paths(self.configs["file_path"], self.configs["storage_options"])
        if ctx.execution_mode == "dask":
            frame, rows, dropped = await ctx.executor.run_in_thread(self._read_dask, files)
        else:
            frame, dropped = await ctx.executor.run_in_thread(self._read_pandas, files)
            rows = len(frame)
        for path in files:
            ctx.record_file_read(path)
        ctx.set_global("row_count", rows)
        ctx.set_global("files_read", len(files))
        ctx.set_global("rows_dropped", dropped)
        ctx.add_stat("rows_dropped", dropped)
        if dropped:
            ctx.emit_event("bad_lines_skipped", count=dropped)
        return {"data": frame}

    def _records(self, path: str, start: int = 0, end: int | None = None) -> tuple[list[dict[str, Any]], int]:
        c = self.configs
        if detect_format(path, c["format"], c["encoding"], c["record_path"]) == "jsonl":
            records, bad = read_jsonl(path, c["encoding"], c["on_bad_lines"] == "skip", start, end)
        else:
            records, bad = read_json_document(path, c["encoding"], c["record_path"]), 0
        if c["flatten"]:
            records = [flatten_record(r, c["separator"]) for r in records]
        return records, bad

    def _read_pandas(self, files: list[str]) -> tuple[pd.DataFrame, int]:
        frames = []
        dropped = 0
        for path in files:
            records, bad = self._records(path)
            dropped += bad
            frames.append(records_frame(records))
        with_rows = [f for f in frames if len(f)]
        if not with_rows:
            return pd.DataFrame(), dropped
        if len(with_rows) == 1:
            return with_rows[0], dropped
        return pd.concat(with_rows, ignore_index=True, join="outer"), dropped

    def _read_dask(self, files: list[str]) -> tuple[Any, int, int]:
        import dask.dataframe as dd

        c = self.configs
        pieces: list[tuple[str, int, int | None]] = []
        scans: list[JsonlScan] = []
        for path in files:
            if detect_format(path, c["format"], c["encoding"], c["record_path"]) == "jsonl":
                scan = scan_jsonl(
                    path, c["encoding"], c["on_bad_lines"] == "skip", c["flatten"], c["separator"], c["blocksize"]
                )
                ends: list[int | None] = [*scan.splits[1:], None]
                pieces.extend((path, start, end) for start, end in zip(scan.splits, ends, strict=True))
            else:
                records, _ = self._records(path)
                scan = JsonlScan(path=path, rows=len(records))
                for record in records:
                    for key, value in record.items():
                        scan.columns.setdefault(key, set()).add(value_kind(value))
                        scan.present[key] = scan.present.get(key, 0) + 1
                pieces.append((path, 0, None))
            scans.append(scan)
        rows = sum(s.rows for s in scans)
        kinds: dict[str, set[str]] = {}
        present: dict[str, int] = {}
        for scan in scans:
            for key, seen in scan.columns.items():
                kinds.setdefault(key, set()).update(seen)
                present[key] = present.get(key, 0) + scan.present[key]
        dtypes = {key: dtype_for(seen, present[key] == rows) for key, seen in kinds.items()}
        # dask stores object columns as strings (its convert-string setting), which would turn nested
        # values into Python reprs; they travel as JSON text instead (key_extractor_mod parses it)
        dtypes = {key: "str" if dtype == "object" else dtype for key, dtype in dtypes.items()}
        columns = list(dtypes)
        meta = pd.DataFrame({k: pd.Series([], dtype=d) for k, d in dtypes.items()})
        frame = dd.from_map(
            _read_piece, pieces, reader=self, columns=columns, dtypes=dtypes, meta=meta, enforce_metadata=False
        )
        return frame, rows, sum(s.bad_lines for s in scans)


def _read_piece(
    piece: tuple[str, int, int | None], *, reader: JsonSource, columns: list[str], dtypes: dict[str, Any]
) -> pd.DataFrame:
    """One byte range of a JSON Lines file (or one JSON document) as a partition."""
    path, start, end = piece
    records, _ = reader._records(path, start, end)
    frame = records_frame(records, columns)
    if not len(frame):
        return pd.DataFrame({k: pd.Series([], dtype=d) for k, d in dtypes.items()})
    texts = {
        key: frame[key].map(_as_text, na_action="ignore").astype("str")
        for key, dtype in dtypes.items()
        if dtype == "str" and frame[key].dtype == object
    }
    return frame.assign(**texts).astype(dtypes)


def _as_text(value: Any) -> str:
    """A cell of a mixed or nested column as text: JSON for objects and arrays."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value if isinstance(value, str) else json.dumps(value)
