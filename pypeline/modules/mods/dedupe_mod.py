"""``dedupe_mod``: keep one row per key, chosen by an explicit winner rule.

``keys`` are the columns that identify a record; ``winner`` picks the row
that survives among rows with equal keys:

* ``first`` / ``last``: the first / last row in input order;
* ``latest`` / ``earliest``: the row with the greatest / smallest ``order_by``
  value (a timestamp, a version); ``max`` / ``min`` are the same rules for
  numeric columns. Rows whose ``order_by`` is null never win over a non-null one;
  ties go to the first row in input order;
* ``first_non_null``: one row per key whose every column holds the first
  non-null value of that column within the group (fills gaps across rows).

Rows whose keys are null are grouped together, like any other key value.
In pandas mode the output keeps the input order of the winning rows. In dask
mode rows are first shuffled so that each key lives in one partition, then
each partition is deduplicated with the same pandas code; row order across
partitions is not preserved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.common.column_rules import same_columns
from pypeline.modules.common.columns import require_columns
from pypeline.modules.frames import ORDER_COLUMNS, in_input_order, map_frame, tag_input_order
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse, name_uses

WINNERS = ("first", "last", "latest", "earliest", "max", "min", "first_non_null")
_ORDERED = ("latest", "earliest", "max", "min")


def dedupe(frame: pd.DataFrame, keys: list[str], winner: str, order_by: str | None) -> pd.DataFrame:
    """The winning row per key of ``frame`` (see the module docstring)."""
    if winner in ("first", "last"):
        return frame.drop_duplicates(subset=keys, keep=winner)
    if winner == "first_non_null":
        grouped = frame.groupby(keys, sort=False, dropna=False).first()
        return grouped.reset_index()[list(frame.columns)]
    assert order_by is not None
    descending = winner in ("latest", "max")
    position = pd.RangeIndex(len(frame))
    ordered = frame.assign(__pos=position.to_numpy()).sort_values(
        [order_by, "__pos"], ascending=[not descending, True], na_position="last", kind="stable"
    )
    winners = ordered.drop_duplicates(subset=keys, keep="first").sort_values("__pos")
    return winners.drop(columns="__pos")


def _dedupe_tagged(part: pd.DataFrame, keys: list[str], winner: str, order_by: str | None) -> pd.DataFrame:
    """:func:`dedupe` of a shuffled partition, in input order, without the order tags."""
    return dedupe(in_input_order(part), keys, winner, order_by).drop(columns=list(ORDER_COLUMNS))


class DedupeMod(BaseModule):
    """Remove duplicate keys."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Keeps one row per key: first, last, latest/earliest or max/min by a column, or first non-null"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {
            "keys": {"type": "list[str]", "description": "Columns that identify a record"},
        },
        "optional": {
            "winner": {"type": "str", "default": "first", "enum": list(WINNERS), "description": "Which row survives"},
            "order_by": {
                "type": "str|null",
                "default": None,
                "description": "Column compared by latest / earliest / max / min",
            },
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        problems = []
        if configs.get("keys") == []:
            problems.append("'keys' is empty")
        winner = configs.get("winner")
        if winner in _ORDERED and not configs.get("order_by"):
            problems.append(f"winner '{winner}' needs 'order_by' (the column to compare)")
        if winner not in _ORDERED and configs.get("order_by"):
            problems.append(f"'order_by' is only used by the winners {', '.join(_ORDERED)}")
        return problems

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return same_columns(inputs)

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        return name_uses("keys", configs.get("keys")) + name_uses("order_by", configs.get("order_by"))

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        keys, winner, order_by = list(self.configs["keys"]), self.configs["winner"], self.configs["order_by"]
        require_columns(frame, [*keys, *([order_by] if order_by else [])])
        kind = kind_of(frame)
        if kind.lazy:
            # a shuffle loses the input order that first / last / ties depend on: carry it along
            shuffled = tag_input_order(frame).shuffle(on=keys)
            result = map_frame(shuffled, _dedupe_tagged, keys, winner, order_by)
        else:
            result = await kind.work(ctx, map_frame, frame, dedupe, keys, winner, order_by)

        def report(rows_in: int, rows_out: int) -> None:  # dask: never (counting would compute it)
            ctx.set_global("row_count", rows_out)
            ctx.set_global("rows_dropped", rows_in - rows_out)
            ctx.add_stat("rows_dropped", rows_in - rows_out)

        kind.report_rows(frame, result, report)
        return {"output": result}
