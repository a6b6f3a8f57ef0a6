"""``regex_filter_mod``: keep rows whose text column matches a regular expression."""

from __future__ import annotations

import re
from typing import Any

from pypeline.modules.frames import is_dask
from pypeline.modules.sdk import BaseModule, RunContext


class RegexFilterMod(BaseModule):
    """Filter rows (text lines by default) with a regular expression."""

    TYPE = "mod"
    DESCRIPTION = "Keeps rows whose column (default 'line') matches a regular expression"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {"pattern": {"type": "str", "description": "Regular expression (re.search)"}},
        "optional": {
            "column": {"type": "str", "default": "line", "description": "Column to match"},
            "invert": {"type": "bool", "default": False, "description": "Keep the rows that do not match"},
            "ignore_case": {"type": "bool", "default": False},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        column = self.configs["column"]
        if column not in frame.columns:
            raise KeyError(f"column '{column}' not in the input (columns: {', '.join(map(str, frame.columns))})")
        try:
            regex = re.compile(self.configs["pattern"], re.IGNORECASE if self.configs["ignore_case"] else 0)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {self.configs['pattern']!r}: {exc}") from exc
        matches = frame[column].astype("string").str.contains(regex, regex=True, na=False)
        if self.configs["invert"]:
            matches = ~matches
        result = frame[matches]
        if not is_dask(result):
            ctx.set_global("row_count", len(result))
            ctx.set_global("rows_dropped", len(frame) - len(result))
        return {"output": result}
