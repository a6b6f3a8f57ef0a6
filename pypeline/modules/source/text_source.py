"""``text_source``: read text files as a frame of lines (one column, ``line``).

In ``execution_mode: dask`` the files are read lazily: each file is cut into
blocks of about ``blocksize`` bytes at line ends (one block per file for
encodings whose newline is not the byte ``\\n``, such as UTF-16), and each
block becomes one partition, decoded when a sink computes it. The
``row_count`` global is then not set: counting the lines would read every
file an extra time (see docs/dask-mode.md).
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.frames import expand_paths
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.sdk.columns import Columns
from pypeline.modules.storage import STORAGE_OPTIONS_CONFIG, open_input, reader_options

_BYTE_NEWLINE_ENCODINGS = {"utf-8", "utf-8-sig", "ascii", "latin-1", "iso8859-1", "iso8859-15", "cp1252"}


class TextSource(BaseModule):
    """Read the lines of one or more text files."""

    TYPE = "source"
    DESCRIPTION = "Reads text files (path or glob) into a frame with one 'line' column"
    CATEGORY = "File Sources"
    OUTPUT_PORTS = ["data"]
    GLOBALS = ["row_count", "files_read"]
    CONFIG_SCHEMA = {
        "required": {"file_path": {"type": "str", "description": "Path, folder or glob of text files"}},
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "encoding": {"type": "str", "default": "utf-8", "description": "File encoding"},
            "column": {"type": "str", "default": "line", "description": "Name of the output column"},
            "skip_empty": {"type": "bool", "default": False, "description": "Drop empty lines"},
            "blocksize": {"type": "str", "default": "64MB", "description": "dask mode: bytes per partition"},
        },
    }

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return {"data": Columns.of([configs["column"]])}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        files = expand_paths(self.configs["file_path"], self.configs["storage_options"])
        if ctx.execution_mode == "dask":
            frame = await ctx.executor.run_in_thread(self._read_dask, files)
            for path in files:
                ctx.record_file_read(path)
            ctx.set_global("files_read", len(files))
            return {"data": frame}
        lines: list[str] = []
        for path in files:
            lines.extend(await ctx.executor.run_in_thread(self._read, path))
            ctx.record_file_read(path)
        frame = _lines_frame(lines, self.configs["column"], self.configs["skip_empty"])
        ctx.set_global("row_count", len(frame))
        ctx.set_global("files_read", len(files))
        return {"data": frame}

    def _read(self, path: str) -> list[str]:
        try:
            with open_input(path, "r", encoding=self.configs["encoding"], newline=None) as fh:
                text: str = fh.read()
                return text.splitlines()
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{path}: cannot decode byte at position {exc.start} as {self.configs['encoding']}"
            ) from exc

    def _read_dask(self, files: list[str]) -> Any:
        import dask.dataframe as dd
        from dask.bytes.core import read_bytes
        from dask.delayed import delayed
        from dask.utils import parse_bytes

        c = self.configs
        encoding = c["encoding"]
        split = codecs.lookup(encoding).name in _BYTE_NEWLINE_ENCODINGS
        blocksize = parse_bytes(c["blocksize"]) if split else None
        _sample, blocks, paths = read_bytes(
            files, delimiter=b"\n", blocksize=blocksize, sample=False, include_path=True, **reader_options(files[0])
        )
        parts = [
            delayed(_decode_block)(block, path, encoding, c["column"], c["skip_empty"])
            for path, file_blocks in zip(paths, blocks, strict=True)
            for block in file_blocks
        ]
        meta = _lines_frame([], c["column"], False)
        if not parts:
            return dd.from_pandas(meta, npartitions=1)
        return dd.from_delayed(parts, meta=meta, verify_meta=False)


def _decode_block(data: bytes, path: str, encoding: str, column: str, skip_empty: bool) -> pd.DataFrame:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: cannot decode a byte as {encoding}: {exc.reason}") from exc
    lines = text.splitlines()
    return _lines_frame(lines, column, skip_empty)


def _lines_frame(lines: list[str], column: str, skip_empty: bool) -> pd.DataFrame:
    if skip_empty:
        lines = [line for line in lines if line.strip()]
    return pd.DataFrame({column: pd.Series(lines, dtype="string")})
