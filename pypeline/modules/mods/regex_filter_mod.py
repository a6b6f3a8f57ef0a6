"""``regex_filter_mod``: keep rows whose text matches a regular expression.

By default it filters text lines (the ``line`` column that ``text_source``
produces); ``column`` points it at any column. ``match: search`` (default)
finds the pattern anywhere in the value, ``full`` needs the whole value to
match. ``invert`` keeps the rows that do not match. Null values never match.
The pattern is compiled at build time, so a bad pattern fails the build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.core.templates import has_templates
from pypeline.modules.common.columns import require_columns
from pypeline.modules.frames import is_dask, map_frame
from pypeline.modules.sdk import BaseModule, DataError, RunContext


def regex_filter(frame: pd.DataFrame, column: str, pattern: str, flags: int, full: bool, invert: bool) -> pd.DataFrame:
    """Rows of ``frame`` whose ``column`` matches ``pattern`` (or not, with ``invert``)."""
    text = frame[column].astype("str").where(frame[column].notna())
    regex = re.compile(pattern, flags)
    test = regex.fullmatch if full else regex.search  # not str.contains: it warns about capture groups
    matches = text.map(lambda value: test(value) is not None, na_action="ignore").fillna(False).astype(bool)
    return frame[~matches if invert else matches]


class RegexFilterMod(BaseModule):
    """Filter rows (text lines by default) with a regular expression."""

    TYPE = "mod"
    VERSION = "1.1.0"
    DESCRIPTION = "Keeps rows whose column (default 'line', for text lines) matches a regular expression"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {"pattern": {"type": "str", "description": "Regular expression (Python `re` syntax)"}},
        "optional": {
            "column": {"type": "str", "default": "line", "description": "Column to match"},
            "match": {
                "type": "str",
                "default": "search",
                "enum": ["search", "full"],
                "description": "`search`: anywhere in the value; `full`: the whole value",
            },
            "invert": {"type": "bool", "default": False, "description": "Keep the rows that do not match"},
            "ignore_case": {"type": "bool", "default": False, "description": "Case-insensitive matching"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        pattern = configs.get("pattern")
        if isinstance(pattern, str) and not has_templates(pattern):
            try:
                re.compile(pattern)
            except re.error as exc:
                return [f"pattern {pattern!r} is not a valid regular expression: {exc}"]
        return []

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        c = self.configs
        require_columns(frame, [c["column"]])
        try:
            re.compile(c["pattern"])
        except re.error as exc:
            raise DataError(f"invalid regular expression {c['pattern']!r}: {exc}") from None
        flags = re.IGNORECASE if c["ignore_case"] else 0
        result = map_frame(frame, regex_filter, c["column"], c["pattern"], flags, c["match"] == "full", c["invert"])
        if is_dask(result):
            return {"output": result}
        rows_in, rows_out = len(frame), len(result)
        ctx.set_global("row_count", rows_out)
        ctx.set_global("rows_dropped", rows_in - rows_out)
        ctx.add_stat("rows_dropped", rows_in - rows_out)
        return {"output": result}
