"""``regex_filter_mod``: keep rows whose text matches a regular expression.

By default it filters text lines (the ``line`` column that ``text_source``
produces); ``column`` points it at any column. ``match: search`` (default)
finds the pattern anywhere in the value, ``full`` needs the whole value to
match. ``invert`` keeps the rows that do not match. Null values never match.

Patterns are RE2 (``pypeline.modules.common.regex``): matching takes time
linear in the text whatever the pattern, and a pattern that needs
backtracking (backreferences, lookaround) is refused when the flow is built,
or when its templates are resolved at run time. The pandas work runs on the
run's thread pool (Arrow's regex kernel releases the GIL meanwhile).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.core.templates import has_templates
from pypeline.modules.common.column_rules import same_columns
from pypeline.modules.common.columns import require_columns
from pypeline.modules.common.regex import compile_pattern, full_pattern, match_mask, pattern_problem
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse, name_uses


def regex_filter(frame: pd.DataFrame, column: str, pattern: str, ignore_case: bool, invert: bool) -> pd.DataFrame:
    """Rows of ``frame`` whose ``column`` contains a match of the RE2 ``pattern`` (or not, with ``invert``)."""
    values = frame[column]
    text = values if isinstance(values.dtype, pd.StringDtype) else values.astype("str").where(values.notna())
    matches = match_mask(text, pattern, ignore_case=ignore_case)
    return frame[~matches if invert else matches]


class RegexFilterMod(BaseModule):
    """Filter rows (text lines by default) with a regular expression."""

    TYPE = "mod"
    VERSION = "1.2.0"
    DESCRIPTION = "Keeps rows whose column (default 'line', for text lines) matches a regular expression"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {"pattern": {"type": "str", "description": "Regular expression (RE2 syntax: no backreferences "
                                                             "or lookaround; linear-time matching)"}},
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
            problem = pattern_problem(pattern, ignore_case=configs.get("ignore_case") is True)
            if problem:
                return [problem]
        return []

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return same_columns(inputs)

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        return name_uses("column", configs.get("column"))

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        c = self.configs
        require_columns(frame, [c["column"]])
        try:
            compile_pattern(c["pattern"], ignore_case=c["ignore_case"])  # a templated pattern is checked here
        except ValueError as exc:
            raise DataError(str(exc)) from None
        pattern = full_pattern(c["pattern"]) if c["match"] == "full" else c["pattern"]
        kind = kind_of(frame)
        result = await kind.work(
            ctx, kind.map_rows, frame, regex_filter, None, c["column"], pattern, c["ignore_case"], c["invert"]
        )

        def report(rows_in: int, rows_out: int) -> None:  # dask: never (counting would compute it)
            ctx.set_global("row_count", rows_out)
            ctx.set_global("rows_dropped", rows_in - rows_out)
            ctx.add_stat("rows_dropped", rows_in - rows_out)

        kind.report_rows(frame, result, report)
        return {"output": result}
