"""``join_mod``: join two inputs on key columns, counting (and optionally emitting) unmatched rows.

Ports: ``left`` and ``right`` in; ``output`` and, optionally connected,
``unmatched`` out. ``how``:

* ``inner``: rows whose keys appear on both sides;
* ``left`` / ``right``: all rows of that side, with the other side's columns
  null where nothing matches;
* ``outer``: all rows of both sides;
* ``anti``: the left rows that have no match on the right (left columns only).

Keys are ``keys`` (same names on both sides) or ``left_keys`` /
``right_keys``. A null key never matches anything (SQL semantics), so such
rows count as unmatched. Key columns must have compatible types: integer and
float keys are compared as floats; a number against a string is an error
(cast one side first with ``cast_mod``).

Column name collisions (a non-key column on both sides) follow
``on_collision``: ``suffix`` appends ``suffixes`` (``_left`` / ``_right``);
``rename`` applies the ``rename_right`` map to the right side first and fails
if a collision is left.

Unmatched rows: ``rows_unmatched`` counts the left rows without a match (the
rows the ``unmatched`` port carries, with the left columns), and
``rows_unmatched_right`` the right rows without a match. ``validate``
(``one_to_one``, ``many_to_one``, ...) checks key uniqueness before joining.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.core.templates import has_templates
from pypeline.modules.common.columns import require_columns
from pypeline.modules.frames import lazy_len
from pypeline.modules.kinds import kind_of
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse, name_uses

HOWS = ("inner", "left", "right", "outer", "anti")
VALIDATIONS = ("none", "one_to_one", "one_to_many", "many_to_one", "many_to_many")


class JoinMod(BaseModule):
    """Join ``left`` and ``right`` on keys."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Joins two inputs on keys (inner, left, right, outer, anti); counts and emits unmatched rows"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["left", "right"]
    OUTPUT_PORTS = ["output", "unmatched"]
    GLOBALS = ["row_count", "rows_unmatched", "rows_unmatched_right"]
    CONFIG_SCHEMA = {
        "required": {},
        "optional": {
            "keys": {"type": "list[str]", "default": [], "description": "Key columns, same names on both sides"},
            "left_keys": {"type": "list[str]", "default": [], "description": "Key columns of the left input"},
            "right_keys": {"type": "list[str]", "default": [], "description": "Key columns of the right input"},
            "how": {"type": "str", "default": "inner", "enum": list(HOWS), "description": "Join type"},
            "on_collision": {
                "type": "str",
                "default": "suffix",
                "enum": ["suffix", "rename"],
                "description": "Non-key columns on both sides: add suffixes, or rename right columns by `rename_right`",
            },
            "suffixes": {
                "type": "list[str]",
                "default": ["_left", "_right"],
                "description": "Suffixes for colliding left and right columns",
            },
            "rename_right": {"type": "dict[str]", "default": {}, "description": "Right column -> new name"},
            "validate": {
                "type": "str",
                "default": "none",
                "enum": list(VALIDATIONS),
                "description": "Check that keys are unique on the side(s) that must be unique",
            },
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        keys, left, right = configs.get("keys") or [], configs.get("left_keys") or [], configs.get("right_keys") or []
        problems = []
        if keys and (left or right):
            problems.append("give either 'keys' or 'left_keys' + 'right_keys', not both")
        elif not keys and not (left and right):
            problems.append("give 'keys' (or 'left_keys' and 'right_keys')")
        elif len(left) != len(right):
            problems.append(f"'left_keys' has {len(left)} columns but 'right_keys' has {len(right)}")
        suffixes = configs.get("suffixes")
        if isinstance(suffixes, list) and (len(suffixes) != 2 or suffixes[0] == suffixes[1]):
            problems.append("'suffixes' must be two different strings")
        if configs.get("rename_right") and configs.get("on_collision") != "rename":
            problems.append("'rename_right' needs on_collision: rename")
        return problems

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        left = inputs.get("left")
        if configs["how"] == "anti":
            return {"output": left, "unmatched": left}
        return {"output": joined_columns(configs, left, inputs.get("right")), "unmatched": left}

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        keys = configs.get("keys")
        uses = [*name_uses("keys", keys, "left"), *name_uses("keys", keys, "right"),
                *name_uses("left_keys", configs.get("left_keys"), "left"),
                *name_uses("right_keys", configs.get("right_keys"), "right")]
        if configs.get("on_collision") == "rename":
            uses += name_uses("rename_right", configs.get("rename_right"), "right")
        return uses

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        c = self.configs
        left, right = inputs["left"], inputs["right"]
        left_keys = list(c["keys"] or c["left_keys"])
        right_keys = list(c["keys"] or c["right_keys"])
        require_columns(left, left_keys, role="left input")
        require_columns(right, right_keys, role="right input")
        if c["on_collision"] == "rename" and c["rename_right"]:
            require_columns(right, c["rename_right"], role="right input")
            right = right.rename(columns=dict(c["rename_right"]))
        right_keys = [c["rename_right"].get(k, k) for k in right_keys]
        self._check_collisions(left, right, left_keys, right_keys)
        left, right = _align_key_types(left, right, left_keys, right_keys)
        checks = self._duplicate_checks(left, right, left_keys, right_keys)
        lazy = kind_of(left).lazy
        if not lazy:
            for side, keys, duplicates in checks:  # before joining: a many-to-many join can explode
                _fail_on_duplicates(left, duplicates, side, keys, c["validate"])
        output, unmatched, unmatched_right = self._join(left, right, left_keys, right_keys)
        if lazy:
            # lazy: the key checks run, and fail, when a sink computes the output (docs/dask-mode.md, rule 5)
            for side, keys, duplicates in checks:
                output = output.map_partitions(
                    _fail_on_duplicates, duplicates, side, keys, c["validate"], meta=output._meta
                )
            return {"output": output, "unmatched": unmatched}
        ctx.set_global("row_count", len(output))
        ctx.set_global("rows_unmatched", len(unmatched))
        ctx.set_global("rows_unmatched_right", len(unmatched_right))
        ctx.add_stat("rows_unmatched", len(unmatched))
        ctx.add_stat("rows_unmatched_right", len(unmatched_right))
        return {"output": output, "unmatched": unmatched}

    def _duplicate_checks(self, left: Any, right: Any, left_keys: list[str], right_keys: list[str]) -> list[Any]:
        """``(side, keys, number of duplicate keys)`` for each side ``validate`` wants unique (lazy in dask)."""
        rule = self.configs["validate"]
        sides = []
        if rule in ("one_to_one", "one_to_many"):
            sides.append(("left", left, left_keys))
        if rule in ("one_to_one", "many_to_one"):
            sides.append(("right", right, right_keys))
        return [
            (side, keys, lazy_len(frame[keys]) - lazy_len(frame[keys].drop_duplicates())) for side, frame, keys in sides
        ]

    def _check_collisions(self, left: Any, right: Any, left_keys: list[str], right_keys: list[str]) -> None:
        shared_keys = {lk for lk, rk in zip(left_keys, right_keys, strict=True) if lk == rk}
        collisions = sorted((set(map(str, left.columns)) & set(map(str, right.columns))) - shared_keys)
        if collisions and self.configs["on_collision"] == "rename":
            raise DataError(
                f"columns {collisions} are on both sides; add them to 'rename_right' (or use on_collision: suffix)"
            )

    def _join(self, left: Any, right: Any, left_keys: list[str], right_keys: list[str]) -> tuple[Any, Any, Any]:
        how = self.configs["how"]
        suffixes = tuple(self.configs["suffixes"])
        left_ok, left_null = _split_null_keys(left, left_keys)
        right_ok, right_null = _split_null_keys(right, right_keys)
        left_marked = _merge(
            left_ok, _distinct_keys(right_ok, right_keys), left_keys, right_keys, "left", ("", "__r"), indicator=True
        )
        left_only = left_marked[left_marked["_merge"] == "left_only"][list(left.columns)]
        unmatched = _concat([left_only, left_null])
        right_marked = _merge(
            _distinct_keys(left_ok, left_keys), right_ok, left_keys, right_keys, "right", ("__l", ""), indicator=True
        )
        unmatched_right = _concat(
            [right_marked[right_marked["_merge"] == "right_only"][list(right.columns)], right_null]
        )
        if how == "anti":
            return unmatched, unmatched, unmatched_right
        output = _merge(left_ok, right_ok, left_keys, right_keys, how, suffixes)
        extra = []
        if how in ("left", "outer"):
            extra.append(left_null)
        if how in ("right", "outer"):
            extra.append(right_null)
        if extra:
            output = _concat([output, *extra], columns=list(output.columns))
        return output, unmatched, unmatched_right


def _fail_on_duplicates(part: Any, duplicates: int, side: str, keys: list[str], rule: str) -> Any:
    if duplicates:
        raise DataError(
            f"validate {rule}: the {side} input has {duplicates} duplicate key(s) on {keys} "
            "(dedupe it first with dedupe_mod, or relax 'validate')"
        )
    return part


def _split_null_keys(frame: Any, keys: list[str]) -> tuple[Any, Any]:
    has_null = frame[keys].isna().any(axis=1)
    return frame[~has_null], frame[has_null]


def _distinct_keys(frame: Any, keys: list[str]) -> Any:
    return frame[keys].drop_duplicates()


def _merge(
    left: Any,
    right: Any,
    left_keys: list[str],
    right_keys: list[str],
    how: str,
    suffixes: tuple[str, ...],
    indicator: bool = False,
) -> Any:
    if kind_of(left).lazy or kind_of(right).lazy:
        import dask.dataframe as dd

        merge = dd.merge
    else:
        merge = pd.merge
    if left_keys == right_keys:
        return merge(left, right, on=left_keys, how=how, suffixes=suffixes, indicator=indicator)
    return merge(left, right, left_on=left_keys, right_on=right_keys, how=how, suffixes=suffixes, indicator=indicator)


def _concat(frames: list[Any], columns: list[str] | None = None) -> Any:
    if any(kind_of(f).lazy for f in frames):
        import dask.dataframe as dd

        return dd.concat(frames, join="outer", interleave_partitions=True)[columns or list(frames[0].columns)]
    with_rows = [f for f in frames if len(f)]
    if not with_rows:
        return frames[0]
    combined = with_rows[0] if len(with_rows) == 1 else pd.concat(with_rows, ignore_index=True, join="outer")
    return combined.reindex(columns=columns or list(frames[0].columns))


def _align_key_types(left: Any, right: Any, left_keys: list[str], right_keys: list[str]) -> tuple[Any, Any]:
    """Make each key pair the same dtype (numbers as float64), or fail for number vs string."""
    numeric = pd.api.types.is_numeric_dtype
    for lk, rk in zip(left_keys, right_keys, strict=True):
        ld, rd = left[lk].dtype, right[rk].dtype
        if ld == rd:
            continue
        if numeric(ld) and numeric(rd) and not pd.api.types.is_bool_dtype(ld) and not pd.api.types.is_bool_dtype(rd):
            left, right = left.astype({lk: "float64"}), right.astype({rk: "float64"})
        elif _is_text(ld) and _is_text(rd):
            right = right.astype({rk: ld})
        elif pd.api.types.is_datetime64_any_dtype(ld) and pd.api.types.is_datetime64_any_dtype(rd):
            right = right.astype({rk: ld})
        else:
            raise DataError(
                f"key '{lk}' is {ld} on the left but '{rk}' is {rd} on the right; "
                "cast one side with cast_mod so both keys have the same type"
            )
    return left, right


def _is_text(dtype: Any) -> bool:
    return bool(pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype))


def joined_columns(configs: Mapping[str, Any], left: Columns | None, right: Columns | None) -> Columns | None:
    """The columns of a join on same-named keys: the left's, then the right's others, collisions suffixed.

    ``None`` (unknown) for joins on differently named keys, whose column rules have more cases than
    a check before the run needs.
    """
    keys = list(configs["keys"])
    if left is None or right is None or not keys or has_templates([keys, configs["rename_right"]]):
        return None
    if configs["on_collision"] == "rename":
        right = right.renamed(configs["rename_right"])
    others = right.minus(keys)
    clash = set(left.names) & set(others.names)
    suffix_left, suffix_right = configs["suffixes"]
    names = [n + suffix_left if n in clash else n for n in left.names]
    names += [n + suffix_right if n in clash else n for n in others.names]
    return Columns.of(names, complete=left.complete and right.complete)
