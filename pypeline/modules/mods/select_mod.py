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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pypeline.core.templates import has_templates
from pypeline.core.text import did_you_mean_sentence
from pypeline.modules.frames import is_dask
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse, name_uses


class SelectMod(BaseModule):
    """Keep / drop / rename columns."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Keeps, drops and renames columns; missing optional columns warn, missing required ones fail"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "columns_missing"]
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
        have = [str(col) for col in frame.columns]
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
        result = frame
        if c["keep"] is not None:
            fill = [col for col in c["keep"] if col in missing] if c["fill_missing"] else []
            if fill:
                result = result.assign(**{col: None for col in fill})
            result = result[[col for col in c["keep"] if col in have or col in fill]]
        drop = [col for col in c["drop"] if col in result.columns]
        if drop:
            result = result.drop(columns=drop)
        rename = {old: new for old, new in c["rename"].items() if old in result.columns}
        clashes = sorted(new for old, new in rename.items() if new in result.columns and new not in rename)
        if clashes:
            raise DataError(f"rename would give duplicate column(s) {clashes}; drop or rename the existing one first")
        if rename:
            result = result.rename(columns=rename)
        ctx.set_global("columns_missing", len(missing))
        if not is_dask(result):
            ctx.set_global("row_count", len(result))
        ctx.add_stat("columns_missing", missing)
        return {"output": result}
