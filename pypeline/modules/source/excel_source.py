"""``excel_source``: read sheets of ``.xlsx`` workbooks (needs the optional extra ``excel``).

Reading ``.xlsx`` files needs ``openpyxl``, which PYpeline ships as an
optional extra (``pip install 'pypeline[excel]'``). Without it the module
fails at the start of the run with that instruction; nothing else is
affected. Several files (folder or glob) are combined by column name.
Workbooks are read whole, so in ``execution_mode: dask`` the result is
turned into a dask frame after reading (Excel files are small by nature).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.frames import expand_paths, like_input
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns
from pypeline.modules.storage import STORAGE_OPTIONS_CONFIG, reader_options

EXTRA_HINT = "excel_source needs the optional extra 'excel' (openpyxl): pip install 'pypeline[excel]'"


def require_openpyxl() -> None:
    """Fail with the install instruction when ``openpyxl`` is missing.

    Raises:
        DataError: naming the extra to install.
    """
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise DataError(EXTRA_HINT) from None


class ExcelSource(BaseModule):
    """Read Excel sheets into a frame."""

    TYPE = "source"
    VERSION = "1.0.0"
    DESCRIPTION = "Reads a sheet of .xlsx workbooks (a file, folder or glob); needs the extra 'excel'"
    CATEGORY = "File Sources"
    OUTPUT_PORTS = ["data"]
    GLOBALS = ["row_count", "files_read"]
    PACKAGES = ["openpyxl"]
    CONFIG_SCHEMA = {
        "required": {
            "file_path": {"type": "str", "description": "An .xlsx file, a folder or a glob"},
        },
        "optional": {
            **STORAGE_OPTIONS_CONFIG,
            "sheet": {"type": "str|int", "default": 0, "description": "Sheet name, or 0-based sheet index"},
            "header": {"type": "bool", "default": True, "description": "The first row holds the column names"},
            "column_names": {"type": "list[str]|null", "default": None, "description": "Column names (header false)"},
            "skip_rows": {"type": "int", "default": 0, "description": "Rows to skip above the header"},
            "dtypes": {"type": "dict[str]", "default": {}, "description": "Column -> pandas dtype"},
        },
    }

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        names = configs.get("column_names")
        return {"data": Columns.of(names) if isinstance(names, list) and not configs["header"] else None}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        require_openpyxl()
        files = expand_paths(self.configs["file_path"], self.configs["storage_options"])
        frames = []
        for path in files:
            frames.append(await ctx.executor.run_in_thread(self._read, path))
            ctx.record_file_read(path)
        with_rows = [f for f in frames if len(f)]
        if len(with_rows) > 1:
            frame = pd.concat(with_rows, ignore_index=True, join="outer")
        else:
            frame = with_rows[0] if with_rows else frames[0]
        ctx.set_global("row_count", len(frame))
        ctx.set_global("files_read", len(files))
        return {"data": like_input(frame, ctx.execution_mode)}

    def _read(self, path: str) -> pd.DataFrame:
        c = self.configs
        try:
            frame = pd.read_excel(
                path,
                sheet_name=c["sheet"],
                header=0 if c["header"] else None,
                names=c["column_names"],
                skiprows=c["skip_rows"] or None,
                dtype=c["dtypes"] or None,
                engine="openpyxl",
                **reader_options(path),
            )
        except ValueError as exc:
            if "Worksheet" in str(exc) or "sheet" in str(exc).lower():
                raise DataError(f"{path}: sheet {c['sheet']!r} not found: {exc}") from None
            raise DataError(f"{path}: cannot read as Excel: {exc}") from None
        except Exception as exc:
            raise DataError(f"{path}: cannot read as Excel: {type(exc).__name__}: {exc}") from None
        frame.columns = [str(col) for col in frame.columns]
        return frame
