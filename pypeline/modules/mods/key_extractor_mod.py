"""``key_extractor_mod``: pull fields out of nested JSON records by dotted paths.

``keys`` lists dotted paths; each becomes an output column::

    keys: [timestamp, level, context.user.id, tags.0]    # columns timestamp, level, context_user_id, tags_0
    keys: [timestamp, {user: context.user.id}]           # or name a column yourself

A path walks into objects by key and into arrays by index (``items.0.sku``).
Where do records come from?

* without ``source_column``, the input's columns are the top level: the
  first path segment is a column, and the rest walks into its value (a dict or
  list, as ``json_source`` leaves nested values, or a JSON string);
* with ``source_column``, that column holds the whole record, as a dict or as
  JSON text (``text_source`` lines, a JSON column of a database).

A path missing from a record gives null, or fails the module with the row and
path when ``on_missing: error``. ``keep_input: true`` keeps the input columns
next to the extracted ones. Extracted values are typed as pandas infers them
in pandas mode; in dask mode they stay Python objects unless ``types``
(column -> ``int``, ``float``, ``str``, ``bool``) sets them, which also makes
both modes give the same types.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.common.columns import column_names, require_columns
from pypeline.modules.common.pairs import ORDERED_TYPE, ordered_pairs, pairs_problems
from pypeline.modules.frames import map_frame
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse, name_uses

TYPES = {"int": "Int64", "float": "float64", "str": "str", "bool": "boolean"}
_MISSING = object()


def parse_text(text: str) -> Any:
    """A nested value held as text: JSON, or the Python literal dask makes of a dict (``_MISSING`` if neither).

    dask stores object columns as strings, so a dict travelling through dask mode
    can arrive as ``"{'a': 1}"``; :func:`ast.literal_eval` reads that back without
    running any code (it accepts literals only).
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return _MISSING


def walk(value: Any, parts: list[str]) -> Any:
    """Follow ``parts`` into nested dicts / lists (JSON text is parsed on the way); ``_MISSING`` if absent."""
    for part in parts:
        if isinstance(value, str) and value[:1] in ("{", "["):
            value = parse_text(value)
            if value is _MISSING:
                return _MISSING
        if isinstance(value, dict):
            if part not in value:
                return _MISSING
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(value) <= index < len(value):
                return _MISSING
            value = value[index]
        else:
            return _MISSING
    return value


def extract(
    frame: pd.DataFrame,
    fields: dict[str, str],
    source_column: str | None,
    on_missing: str,
    keep_input: bool,
    types: dict[str, str],
    infer: bool,
) -> pd.DataFrame:
    """The extracted columns (after the input's columns when ``keep_input``)."""
    columns: dict[str, list[Any]] = {name: [] for name in fields}
    split = {name: path.split(".") for name, path in fields.items()}
    for position, (label, row) in enumerate(zip(frame.index, _records(frame, source_column), strict=True)):
        for name, parts in split.items():
            whole = fields[name]
            value = row[whole] if source_column is None and whole in row else walk(row, parts)
            if value is _MISSING:
                if on_missing == "error":
                    raise DataError(f"row {label} (position {position}): path '{fields[name]}' not found")
                value = None
            columns[name].append(value)
    extracted = pd.DataFrame(
        {name: pd.Series(values, index=frame.index, dtype=object) for name, values in columns.items()},
        index=frame.index,
    )
    if infer and not types:
        extracted = extracted.infer_objects()
    for name, kind in types.items():
        extracted[name] = _typed(extracted[name], kind, fields[name])
    if keep_input:
        clash = sorted(set(frame.columns) & set(extracted.columns))
        if clash:
            raise DataError(f"extracted columns {clash} already exist in the input; name them differently")
        return pd.concat([frame, extracted], axis=1)
    return extracted


def _records(frame: pd.DataFrame, source_column: str | None) -> Any:
    if source_column is None:
        return frame.to_dict("records")
    values = []
    for label, value in zip(frame.index, frame[source_column], strict=True):
        if isinstance(value, str):
            parsed = parse_text(value)
            if parsed is _MISSING:
                raise DataError(f"row {label}: column '{source_column}' is not valid JSON: {value[:60]!r}")
            value = parsed
        values.append(value)
    return values


def _typed(series: pd.Series, kind: str, path: str) -> pd.Series:
    try:
        if kind == "int":
            return pd.to_numeric(series).astype("Int64")
        return series.astype(TYPES[kind])
    except (TypeError, ValueError) as exc:
        raise DataError(f"path '{path}': values do not convert to {kind}: {exc}") from None


def field_names(keys: list[Any] | dict[str, str]) -> dict[str, str]:
    """Output column -> path, in output order (a bare path names its column with ``_`` for ``.``)."""
    return dict(ordered_pairs(keys, lambda path: path.replace(".", "_")))


class KeyExtractorMod(BaseModule):
    """Extract fields from nested records."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Extracts fields from nested JSON records by dotted paths (a.b.0.c) into columns"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "values_missing"]
    """``values_missing``: null values in the extracted columns (absent paths and JSON nulls)."""
    CONFIG_SCHEMA = {
        "required": {
            "keys": {
                "type": ORDERED_TYPE,
                "description": "Dotted paths; a list keeps its order, items are `path` or `column: path`",
            },
        },
        "optional": {
            "source_column": {
                "type": "str|null",
                "default": None,
                "description": "Column holding each record (dict or JSON text); default: the columns are the top level",
            },
            "on_missing": {
                "type": "str",
                "default": "null",
                "enum": ["null", "error"],
                "description": "A path absent from a record: null, or fail naming the row",
            },
            "keep_input": {"type": "bool", "default": False, "description": "Keep the input columns too"},
            "types": {
                "type": "dict[str]",
                "default": {},
                "description": "Output column -> " + " | ".join(TYPES) + " (same types in pandas and dask modes)",
            },
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        keys = configs.get("keys")
        if keys is None or (isinstance(keys, (list, dict)) and not keys):
            return ["'keys' is empty"]
        problems = pairs_problems(keys, "keys", allow_strings=True)
        if problems:
            return problems
        fields = field_names(keys) if isinstance(keys, (list, dict)) else {}
        if isinstance(keys, list) and len(fields) != len(keys):
            problems.append("'keys' gives two paths the same column name; name one of them (column: path)")
        for name, path in fields.items():
            if not path or any(part == "" for part in str(path).split(".")):
                problems.append(f"keys.{name}: {path!r} is not a dotted path")
        for name, kind in (configs.get("types") or {}).items():
            if name not in fields:
                problems.append(f"types.{name}: not an extracted column (columns: {', '.join(fields)})")
            elif kind not in TYPES:
                problems.append(f"types.{name}: unknown type {kind!r} (expected one of {', '.join(TYPES)})")
        return problems

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        fields = Columns.of(field_names(configs["keys"]))
        if not configs["keep_input"]:
            return {"output": fields}
        given = inputs.get("input")
        return {"output": None if given is None else given.plus(fields.names)}

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        return name_uses("source_column", configs.get("source_column"))

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        c = self.configs
        fields = field_names(c["keys"])
        if c["source_column"]:
            require_columns(frame, [c["source_column"]])
        else:
            have = set(column_names(frame))
            require_columns(frame, sorted({p.split(".")[0] for p in fields.values() if p not in have}))
        result = map_frame(
            frame,
            extract,
            fields,
            c["source_column"],
            c["on_missing"],
            c["keep_input"],
            dict(c["types"]),
            not kind_of(frame).lazy,
        )
        if kind_of(result).lazy:
            return {"output": result}
        values_missing = int(result[list(fields)].isna().sum().sum())
        ctx.set_global("row_count", len(result))
        ctx.set_global("values_missing", values_missing)
        ctx.add_stat("values_missing", int(values_missing))
        return {"output": result}
