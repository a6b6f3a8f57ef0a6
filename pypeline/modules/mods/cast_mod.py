"""``cast_mod``: convert columns to types, with a policy for values that do not convert.

``types`` maps columns to one of :data:`TYPES`:

=========  =====================================================================
type       result
=========  =====================================================================
int        nullable integers (``Int64``); ``"3"`` and ``3.0`` convert, ``3.5`` does not
float      ``float64``; ``"1.5"`` converts, ``"abc"`` does not
str        strings (``str``); every value converts
bool       nullable booleans; true/false, yes/no, y/n, t/f, 1/0, on/off (any case)
datetime   ``datetime64``; ISO 8601 unless ``formats`` gives a strftime format
date       like datetime, truncated to midnight
=========  =====================================================================

A value that is not null but does not convert is *invalid*. ``on_error``
decides what happens: ``fail`` (the default) stops with the column, the
number of invalid values and the first of them; ``null`` stores a null and
counts it (``values_invalid``); ``drop`` removes the rows holding an invalid
value and counts them (``rows_dropped``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.common.column_rules import same_columns
from pypeline.modules.common.columns import require_columns
from pypeline.modules.frames import map_frame
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse, name_uses

TYPES = ("int", "float", "str", "bool", "datetime", "date")
_TRUE = {"true", "yes", "y", "t", "1", "on"}
_FALSE = {"false", "no", "n", "f", "0", "off"}
_REPORT_COLUMNS = ["column", "invalid", "example", "row"]


def convert(series: pd.Series, kind: str, fmt: str | None = None) -> pd.Series:
    """``series`` as ``kind``; values that do not convert become null (see :func:`invalid_mask`)."""
    if kind == "str":
        return series.astype("str").where(series.notna())
    if kind in ("int", "float"):
        numbers = (
            pd.to_numeric(series, errors="coerce") if not pd.api.types.is_bool_dtype(series) else series.astype(float)
        )
        if kind == "float":
            return numbers.astype("float64")
        integral = numbers.where(numbers.isna() | (numbers == numbers.round()))
        return integral.astype("Float64").astype("Int64")
    if kind == "bool":
        if pd.api.types.is_bool_dtype(series):
            return series.astype("boolean")
        text = series.astype("str").str.strip().str.lower()
        result = pd.Series(pd.NA, index=series.index, dtype="boolean")
        result[text.isin(_TRUE) & series.notna()] = True
        result[text.isin(_FALSE) & series.notna()] = False
        return result
    if kind in ("datetime", "date"):
        if pd.api.types.is_datetime64_any_dtype(series):
            parsed = series
        else:
            parsed = pd.to_datetime(series, format=fmt or "ISO8601", errors="coerce")
        return parsed.dt.normalize() if kind == "date" else parsed
    raise ValueError(f"unknown type {kind!r}")


def invalid_mask(original: pd.Series, converted: pd.Series) -> pd.Series:
    """True where a non-null value became null (it did not convert)."""
    return (original.notna() & converted.isna()).astype(bool)


def invalid_report(frame: pd.DataFrame, types: dict[str, str], formats: dict[str, str]) -> pd.DataFrame:
    """One row per column with invalid values (count, first example, its row label), plus ``*rows*``."""
    rows = []
    any_bad = pd.Series(False, index=frame.index)
    for column, kind in types.items():
        bad = invalid_mask(frame[column], convert(frame[column], kind, formats.get(column)))
        count = int(bad.sum())
        if count:
            first = bad.idxmax()
            rows.append({"column": column, "invalid": count, "example": str(frame[column][first]), "row": str(first)})
            any_bad |= bad
    rows.append({"column": "*rows*", "invalid": int(any_bad.sum()), "example": "", "row": ""})
    return pd.DataFrame(rows, columns=_REPORT_COLUMNS).astype(
        {"invalid": "int64", "column": "str", "example": "str", "row": "str"}
    )


def failure_message(report: pd.DataFrame, types: dict[str, str]) -> str:
    """The ``on_error: fail`` message for an :func:`invalid_report` with invalid values."""
    per_column = (
        report[report["column"] != "*rows*"]
        .groupby("column", sort=False)
        .agg(invalid=("invalid", "sum"), example=("example", "first"), row=("row", "first"))
    )
    details = "; ".join(
        f"column '{column}': {int(r.invalid)} value(s) do not convert to {types[column]}, "
        f"first {r.example!r} (row {r.row})"
        for column, r in per_column.iterrows()
    )
    return f"{details} (set on_error: null or drop to keep going)"


def cast_frame(frame: pd.DataFrame, types: dict[str, str], formats: dict[str, str], policy: str) -> pd.DataFrame:
    """``frame`` with ``types`` applied.

    With ``policy == "drop"`` rows holding invalid values are removed; with
    ``"fail"`` an invalid value raises (in dask mode this happens per partition,
    when a sink computes it).

    Raises:
        DataError: for invalid values under ``policy == "fail"``.
    """
    if policy == "fail":
        report = invalid_report(frame, types, formats)
        if int(report["invalid"].sum()):
            raise DataError(failure_message(report, types))
    updates = {}
    keep = pd.Series(True, index=frame.index)
    for column, kind in types.items():
        converted = convert(frame[column], kind, formats.get(column))
        if policy == "drop":
            keep &= ~invalid_mask(frame[column], converted)
        updates[column] = converted
    result = frame.assign(**updates)
    return result[keep] if policy == "drop" else result


class CastMod(BaseModule):
    """Convert column types."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = (
        "Converts columns to int/float/str/bool/datetime/date; invalid values fail, become null or drop the row"
    )
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "values_invalid", "rows_dropped"]
    CONFIG_SCHEMA = {
        "required": {
            "types": {"type": "dict[str]", "description": "Column -> " + " | ".join(TYPES)},
        },
        "optional": {
            "on_error": {
                "type": "str",
                "default": "fail",
                "enum": ["fail", "null", "drop"],
                "description": "Values that do not convert: fail, store null (counted), or drop the row (counted)",
            },
            "formats": {"type": "dict[str]", "default": {}, "description": "datetime/date column -> strftime format"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        types = configs.get("types")
        if not isinstance(types, dict):
            return []
        problems = [
            f"types.{column}: unknown type {kind!r} (expected one of {', '.join(TYPES)})"
            for column, kind in types.items()
            if kind not in TYPES and "{{" not in str(kind)
        ]
        if not types:
            problems.append("'types' is empty")
        for column in configs.get("formats") or {}:
            if types.get(column) not in ("datetime", "date"):
                problems.append(f"formats.{column}: a format needs the column to be cast to datetime or date")
        return problems

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return same_columns(inputs)

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        return name_uses("types", configs.get("types")) + name_uses("formats", configs.get("formats"))

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        types, formats, policy = dict(self.configs["types"]), dict(self.configs["formats"]), self.configs["on_error"]
        require_columns(frame, types)
        if kind_of(frame).lazy:
            # lazy: invalid values fail (or are handled) per partition when a sink computes
            return {"output": map_frame(frame, cast_frame, types, formats, policy)}
        report = invalid_report(frame, types, formats)
        invalid = int(report.loc[report["column"] != "*rows*", "invalid"].sum())
        if invalid and policy == "fail":
            raise DataError(failure_message(report, types))
        result = cast_frame(frame, types, formats, "null" if policy == "fail" else policy)  # checked above
        dropped = len(frame) - len(result)
        if invalid:
            per_column = report[report["column"] != "*rows*"]
            ctx.emit_event(
                "invalid_values",
                count=invalid,
                policy=policy,
                columns={str(r.column): int(r.invalid) for r in per_column.itertuples()},
            )
        ctx.set_global("row_count", len(result))
        ctx.set_global("values_invalid", invalid)
        ctx.set_global("rows_dropped", dropped)
        ctx.add_stat("values_invalid", invalid)
        ctx.add_stat("rows_dropped", dropped)
        return {"output": result}
