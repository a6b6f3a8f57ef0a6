"""``select_mod``: keep, drop and rename columns, with required and optional columns.

Configs work on the input's column names, in this order:

1. ``keep``: the columns to keep, in that order (all columns when omitted);
2. ``drop``: columns to remove;
3. ``rename``: a map ``old name -> new name``.

Every column these configs name must exist, unless it is listed in
``optional``. A missing required column fails the module with the list of the
input's columns; a missing optional column is a warning event
(``missing_column``, in the log and the manifest) and is skipped, or, with
``fill_missing: true``, added as a column of nulls so the output schema stays
the same whether or not the input had it.

The column plan is worked out on the names alone, then applied to a frame of
any kind (:mod:`pypeline.modules.kinds`): pandas operations on a pandas or dask
frame, Arrow's on a table or on each batch of a stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.core.templates import has_templates
from pypeline.core.text import did_you_mean_sentence
from pypeline.modules.common.columns import column_names
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse, name_uses

Plan = tuple[list[str], list[str] | None, list[str], dict[str, str]]
"""``(fill, keep, drop, rename)``: null columns to add, columns to keep, to drop, to rename."""


def select_pandas(frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The plan applied to a pandas frame (or a dask partition)."""
    fill, keep, drop, rename = plan
    result = frame.assign(**{col: None for col in fill}) if fill else frame
    if keep is not None:
        result = result[keep]
    if drop:
        result = result.drop(columns=drop)
    return result.rename(columns=rename) if rename else result


def select_arrow(table: pa.Table, plan: Plan) -> pa.Table:
    """The plan applied to an Arrow table (or a stream's batch)."""
    fill, keep, drop, rename = plan
    for col in fill:
        table = table.append_column(col, pa.nulls(table.num_rows))
    if keep is not None:
        table = table.select(keep)
    if drop:
        table = table.drop_columns(drop)
    return table.rename_columns([rename.get(c, c) for c in table.column_names]) if rename else table


class SelectMod(BaseModule):
    """Keep / drop / rename columns."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Keeps, drops and renames columns; missing optional columns warn, missing required ones fail"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "columns_missing"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {},
        "optional": {
            "keep": {"type": "list[str]|null", "default": None, "description": "Columns to keep, in output order"},
            "drop": {"type": "list[str]", "default": [], "description": "Columns to remove"},
            "rename": {"type": "dict[str]", "default": {}, "description": "Map old name -> new name"},
            "optional": {
                "type": "list[str]",
                "default": [],
                "description": "Columns that may be missing (a warning event instead of an error)",
            },
            "fill_missing": {
                "type": "bool",
                "default": False,
                "description": "Add missing optional `keep` columns as nulls (stable output schema)",
            },
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        problems = []
        keep, drop = configs.get("keep"), configs.get("drop") or []
        if keep is None and not drop and not configs.get("rename"):
            problems.append("give at least one of 'keep', 'drop' and 'rename'")
        if isinstance(keep, list):
            doubled = sorted({c for c in keep if keep.count(c) > 1})
            if doubled:
                problems.append(f"'keep' names {doubled} more than once")
            both = sorted(set(keep) & set(drop))
            if both:
                problems.append(f"columns {both} are both kept and dropped")
        targets = list((configs.get("rename") or {}).values())
        doubled = sorted({t for t in targets if targets.count(t) > 1})
        if doubled:
            problems.append(f"'rename' maps several columns to {doubled}")
        return problems

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        given, keep = inputs.get("input"), configs["keep"]
        optional, fill = set(configs["optional"]), bool(configs["fill_missing"])
        if has_templates([keep, configs["drop"], configs["rename"]]):
            return {"output": None}  # templated names: known at run time only
        if keep is not None:
            if given is not None and given.complete:
                kept = Columns.of(c for c in keep if c in given or (fill and c in optional))
            else:  # an optional column that is missing is left out, unless filled
                kept = Columns.of(keep, complete=fill or not optional & set(keep))
        elif given is None:
            return {"output": None}
        else:
            kept = given
        return {"output": kept.minus(configs["drop"]).renamed(configs["rename"])}

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        optional = set(configs.get("optional") or [])
        uses = [*name_uses("keep", configs.get("keep")), *name_uses("drop", configs.get("drop")),
                *name_uses("rename", configs.get("rename"))]
        return [use for use in uses if use.column not in optional]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        c = self.configs
        have = column_names(frame)
        optional = set(c["optional"])
        named = [*(c["keep"] or []), *c["drop"], *c["rename"]]
        missing = [col for col in dict.fromkeys(named) if col not in have]
        required_missing = [col for col in missing if col not in optional]
        if required_missing:
            hints = "".join(did_you_mean_sentence(col, have) for col in required_missing)
            raise DataError(
                f"required column(s) {required_missing} not in the input.{hints} The input has: {', '.join(have)} "
                "(list a column under 'optional' if it may be missing)"
            )
        for col in missing:
            ctx.emit_event("missing_column", column=col, filled=bool(c["fill_missing"] and col in (c["keep"] or [])))
        plan = self._plan(have, missing)
        kind = kind_of(frame)
        result = kind.map_rows(frame, select_pandas, select_arrow, plan)
        ctx.set_global("columns_missing", len(missing))
        kind.report_rows(frame, result, lambda _rows_in, rows_out: ctx.set_global("row_count", rows_out))
        ctx.add_stat("columns_missing", missing)
        return {"output": result}

    def _plan(self, have: list[str], missing: list[str]) -> Plan:
        """The column plan for an input with the columns ``have`` (``missing``: the optional ones it lacks).

        Raises:
            DataError: a rename that would give two columns one name.
        """
        c = self.configs
        columns = list(have)
        fill: list[str] = []
        keep = None
        if c["keep"] is not None:
            fill = [col for col in c["keep"] if col in missing] if c["fill_missing"] else []
            keep = [col for col in c["keep"] if col in have or col in fill]
            columns = keep
        drop = [col for col in c["drop"] if col in columns]
        columns = [col for col in columns if col not in drop]
        rename = {old: new for old, new in c["rename"].items() if old in columns}
        clashes = sorted(new for old, new in rename.items() if new in columns and new not in rename)
        if clashes:
            raise DataError(f"rename would give duplicate column(s) {clashes}; drop or rename the existing one first")
        return fill, keep, drop, rename
