"""``sort_mod``: sort rows by one or more columns.

``by`` lists the columns; ``ascending`` is one flag for all of them or one per
column; nulls go last unless ``nulls: first``. The sort is stable in pandas
mode (equal keys keep their input order). In dask mode the frame is sorted
across partitions by dask (a shuffle), the output partitions in order. An
Arrow table is sorted by pyarrow (stable too; NaN sorts with the nulls, as in
pandas); a stream is read whole first (a sort needs every row: its memory is
the input's), then passed on sorted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pypeline.modules.common.column_rules import same_columns
from pypeline.modules.common.columns import require_columns
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse, name_uses


def sort_frame(frame: Any, by: list[str], ascending: bool | list[bool], nulls: str) -> Any:
    """``frame`` sorted by ``by`` (pandas: stable sort; dask: see :func:`_sort_dask`)."""
    if not kind_of(frame).partitioned:
        return frame.sort_values(by, ascending=ascending, na_position=nulls, kind="stable").reset_index(drop=True)
    flags = ascending if isinstance(ascending, list) else [ascending] * len(by)
    return _sort_dask(frame, by, flags, nulls)


def sort_table(table: pa.Table, by: list[str], ascending: bool | list[bool], nulls: str) -> pa.Table:
    """``table`` sorted by ``by``, stable, NaN placed with the nulls (as pandas places them)."""
    flags = ascending if isinstance(ascending, list) else [ascending] * len(by)
    keys = {}
    for column in by:
        values = table.column(column)
        keys[column] = pc.if_else(pc.is_nan(values), None, values) if pa.types.is_floating(values.type) else values
    placement = "at_start" if nulls == "first" else "at_end"
    order = [(c, "ascending" if up else "descending", placement) for c, up in zip(by, flags, strict=True)]
    return table.take(pc.sort_indices(pa.table(keys), sort_keys=order))


def _sort_dask(frame: Any, by: list[str], ascending: list[bool], nulls: str) -> Any:
    """dask cannot place the nulls (``pd.NA``) of a text first sort column (it sorts by quantiles of
    that column), so rows with a null there are split off, sorted by the remaining columns, and put
    first or last; numbers and dates sort as they are."""
    import dask.dataframe as dd

    first = by[0]
    if pd.api.types.is_numeric_dtype(frame[first].dtype) or pd.api.types.is_datetime64_any_dtype(frame[first].dtype):
        return frame.sort_values(by, ascending=ascending, na_position=nulls)  # NaN / NaT sort fine
    present = frame[~frame[first].isna()].sort_values(by, ascending=ascending, na_position=nulls)
    missing = frame[frame[first].isna()]
    if len(by) > 1:
        missing = _sort_dask(missing, by[1:], ascending[1:], nulls)
    parts = [missing, present] if nulls == "first" else [present, missing]
    return dd.concat(parts)


class SortMod(BaseModule):
    """Sort rows."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Sorts rows by columns (ascending or descending per column, nulls first or last)"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {
            "by": {"type": "str|list[str]", "description": "Column or columns to sort by"},
        },
        "optional": {
            "ascending": {"type": "bool|list[bool]", "default": True, "description": "One flag, or one per column"},
            "nulls": {"type": "str", "default": "last", "enum": ["first", "last"], "description": "Where nulls go"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        by = configs.get("by")
        columns = [by] if isinstance(by, str) else list(by or [])
        if not columns:
            return ["'by' is empty"]
        ascending = configs.get("ascending")
        if isinstance(ascending, list) and len(ascending) != len(columns):
            return [f"'ascending' has {len(ascending)} flags for {len(columns)} 'by' columns"]
        return []

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return same_columns(inputs)

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        return name_uses("by", configs.get("by"))

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        by = self.configs["by"]
        columns = [by] if isinstance(by, str) else list(by)
        require_columns(frame, columns)
        kind = kind_of(frame)
        ascending, nulls = self.configs["ascending"], self.configs["nulls"]
        if kind.native == "arrow":
            result = await kind.work(ctx, kind.blocking, frame,
                                     lambda reader: sort_table(reader.read_all(), columns, ascending, nulls))
        else:
            result = await kind.work(ctx, sort_frame, frame, columns, ascending, nulls)
        kind.report_rows(frame, result, lambda _rows_in, rows_out: ctx.set_global("row_count", rows_out))
        return {"output": result}
