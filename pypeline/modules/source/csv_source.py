"""``csv_source``: read one CSV file, a folder of them or a glob.

Several files are combined by ``combine_strategy``:

* ``concat`` (default): stack rows; the files must have the same columns in the same order;
* ``union_by_name``: align columns by name, filling the ones a file lacks with nulls;
* ``validate_schema``: like ``concat`` but fail, naming the file, when a file's
  columns differ from the first file's.

A malformed row fails the module with the file and line number, unless
``on_bad_lines: skip``, which drops such rows and counts them (``rows_dropped``).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from pypeline.modules.frames import expand_paths
from pypeline.modules.sdk import BaseModule, RunContext


class CsvSource(BaseModule):
    """Read CSV files into a frame."""

    TYPE = "source"
    VERSION = "1.0.0"
    DESCRIPTION = "Reads CSV files (a path, a folder or a glob) into a frame"
    CATEGORY = "File Sources"
    OUTPUT_PORTS = ["data"]
    GLOBALS = ["row_count", "files_read", "file_size", "rows_dropped"]
    PACKAGES = ["pandas"]
    CONFIG_SCHEMA = {
        "required": {
            "file_path": {"type": "str", "description": "Path, folder or glob of CSV files"},
        },
        "optional": {
            "encoding": {"type": "str", "default": "utf-8", "description": "File encoding"},
            "delimiter": {"type": "str", "default": ",", "description": "Field delimiter"},
            "header": {"type": "bool", "default": True, "description": "First line holds column names"},
            "column_names": {"type": "list[str]|null", "default": None, "description": "Names when header is false"},
            "combine_strategy": {
                "type": "str",
                "default": "concat",
                "enum": ["concat", "union_by_name", "validate_schema"],
                "description": "How several files are combined",
            },
            "dtypes": {"type": "dict[str]", "default": {}, "description": "Column -> pandas dtype"},
            "date_columns": {"type": "list[str]", "default": [], "description": "Columns parsed as datetimes"},
            "decimal": {"type": "str", "default": ".", "description": "Decimal separator"},
            "on_bad_lines": {
                "type": "str",
                "default": "error",
                "enum": ["error", "skip"],
                "description": "Malformed rows: fail with file and line, or drop and count them",
            },
            "blocksize": {"type": "str", "default": "64MB", "description": "dask mode: bytes per partition"},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        files = expand_paths(self.configs["file_path"])
        if ctx.execution_mode == "dask":
            frame = await ctx.executor.run_in_thread(self._read_dask, files)
            for path in files:
                ctx.record_file_read(path)
            ctx.set_global("files_read", len(files))
            return {"data": frame}
        frames = []
        dropped = 0
        for path in files:
            frame, bad = await ctx.executor.run_in_thread(self._read_one, path)
            dropped += bad
            frames.append((path, frame))
            ctx.record_file_read(path)
        combined = combine(frames, self.configs["combine_strategy"])
        ctx.set_global("row_count", len(combined))
        ctx.set_global("files_read", len(files))
        ctx.set_global("file_size", sum(_size(p) for p in files))
        ctx.set_global("rows_dropped", dropped)
        if dropped:
            ctx.add_stat("rows_dropped", dropped)
            ctx.emit_event("bad_lines_skipped", count=dropped)
        return {"data": combined}

    def _read_options(self) -> dict[str, Any]:
        c = self.configs
        options: dict[str, Any] = {
            "sep": c["delimiter"],
            "encoding": c["encoding"],
            "decimal": c["decimal"],
            "header": 0 if c["header"] else None,
        }
        if c["column_names"]:
            options["names"] = c["column_names"]
            if c["header"]:
                options["header"] = 0
        if c["dtypes"]:
            options["dtype"] = dict(c["dtypes"])
        if c["date_columns"]:
            options["parse_dates"] = list(c["date_columns"])
        return options

    def _read_one(self, path: str) -> tuple[pd.DataFrame, int]:
        options = self._read_options()
        bad: list[list[str]] = []
        if self.configs["on_bad_lines"] == "skip":
            options.update(engine="python", on_bad_lines=lambda line: bad.append(line) and None)
        try:
            frame = pd.read_csv(path, **options)
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame(columns=self.configs["column_names"] or [])
        except pd.errors.ParserError as exc:
            raise ValueError(f"{path}: malformed CSV: {_line_hint(str(exc))}") from exc
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{path}: cannot decode byte at position {exc.start} as {self.configs['encoding']}; "
                "set the 'encoding' config"
            ) from exc
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        return frame, len(bad)

    def _read_dask(self, files: list[str]) -> Any:
        import dask.dataframe as dd

        options = self._read_options()
        try:
            return dd.read_csv(files, blocksize=self.configs["blocksize"], **options)
        except Exception as exc:
            raise ValueError(f"{files[0]}: {exc}") from exc


def combine(frames: list[tuple[str, pd.DataFrame]], strategy: str) -> pd.DataFrame:
    """Combine per-file frames by ``strategy`` (see the module docstring).

    Raises:
        ValueError: naming the first file whose columns do not fit.
    """
    if not frames:
        return pd.DataFrame()
    if len(frames) == 1:
        return frames[0][1]
    first_path, first = frames[0]
    if strategy in ("concat", "validate_schema"):
        for path, frame in frames[1:]:
            if list(frame.columns) != list(first.columns):
                raise ValueError(
                    f"{path}: columns {list(frame.columns)} differ from {first_path}'s "
                    f"{list(first.columns)} (combine_strategy {strategy}; use union_by_name to align)"
                )
            if strategy == "validate_schema":
                mismatched = [
                    c for c in first.columns
                    if len(frame) and len(first) and frame[c].dtype != first[c].dtype
                ]
                if mismatched:
                    raise ValueError(
                        f"{path}: column types differ from {first_path}'s for {mismatched} "
                        "(combine_strategy validate_schema)"
                    )
    return pd.concat([f for _, f in frames], ignore_index=True)


def _line_hint(message: str) -> str:
    match = re.search(r"line (\d+)", message)
    if match:
        return f"line {match.group(1)}: {message.split('. ')[-1].strip()}"
    return message


def _size(path: str) -> int:
    import os

    return os.path.getsize(path)
