"""``aggregate_mod``: group rows and compute named aggregations.

::

    group_by: [country, product]
    aggregations:
      - revenue: sum(amount)
      - orders: count(*)
      - customers: nunique(customer_id)
      - avg_basket: mean(amount)

Each aggregation is ``function(column)``; ``count(*)`` counts rows,
``count(column)`` counts non-null values. Functions: :data:`FUNCTIONS`.
The output has the group columns, then the aggregations in list order (a
mapping loses its order in the job folder: its columns come sorted by name).
Without ``group_by`` the whole input is one group (one output row). Rows
whose group keys are null form their own group. Groups are sorted by their
keys unless ``sort: false`` (then they come in order of first appearance); in
dask mode each partition's groups are sorted (a global order would cost a
pass over the whole input when the graph is built: use ``sort_mod``).

In dask mode, when every function can be combined from partial results
(``sum``, ``count``, ``mean``, ``min``, ``max``, ``std``, ``var``), groups are
aggregated per partition and the partials combined in a tree (dask's
``groupby().agg``): one pass, memory bounded by the number of groups, not by
the data. Otherwise rows are shuffled so that every group lives in one
partition, then each partition is aggregated with the same pandas code, so
every function (``median``, ``nunique`` included) is exact; a shuffle moves
the whole input, so it is the slow path. Without ``group_by``,
dask mode reduces the whole input with tree reductions (bounded memory); there
``median`` is dask's approximate quantile. Either way the result stays lazy.

An Arrow table, or a stream read batch by batch, is aggregated by one Acero
plan (:mod:`pypeline.modules.mods.aggregate_arrow`): memory bounded by the
groups, the same results as the pandas form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.modules.common.columns import require_columns
from pypeline.modules.common.pairs import ORDERED_TYPE, ordered_pairs, pairs_problems
from pypeline.modules.frames import ORDER_COLUMNS, in_input_order, lazy_len, map_frame, tag_input_order
from pypeline.modules.kinds import kind_of
from pypeline.modules.mods.aggregate_arrow import aggregate_reader, aggregate_with_pandas, needs_pandas
from pypeline.modules.mods.aggregate_pandas import aggregate
from pypeline.modules.sdk import BaseModule, DataError, RunContext
from pypeline.modules.sdk.columns import Columns, ColumnUse, name_uses

FUNCTIONS = ("sum", "mean", "min", "max", "count", "nunique", "first", "last", "median", "std", "var")
_SPEC_RE = re.compile(r"^\s*([a-z_]+)\s*\(\s*(\*|`[^`]+`|[^()]+?)\s*\)\s*$")


def parse_aggregation(spec: str) -> tuple[str, str | None]:
    """``("sum", "amount")`` for ``"sum(amount)"``; ``("size", None)`` for ``"count(*)"``.

    Raises:
        ValueError: for a malformed spec or an unknown function.
    """
    match = _SPEC_RE.match(spec)
    if not match:
        raise ValueError(f"{spec!r} is not 'function(column)'")
    function, column = match.groups()
    if column == "*":
        if function != "count":
            raise ValueError(f"{spec!r}: only count(*) takes '*'")
        return "size", None
    if function not in FUNCTIONS:
        raise ValueError(f"{spec!r}: unknown function '{function}' (expected one of {', '.join(FUNCTIONS)})")
    return function, column.strip("`")


def _sort_groups(part: pd.DataFrame, group_by: list[str]) -> pd.DataFrame:
    return part.sort_values(group_by, na_position="last", kind="stable")


def _aggregate_tagged(part: pd.DataFrame, group_by: list[str], specs: dict[str, tuple[str, str | None]]) -> Any:
    ordered = in_input_order(part).drop(columns=list(ORDER_COLUMNS))
    return aggregate(ordered, group_by, specs, False)


_TREE_FUNCTIONS = frozenset({"size", "sum", "count", "mean", "min", "max", "std", "var"})
_FIRST_SEEN = "__pype_first_seen"


def _aggregate_dask_tree(
    frame: Any, group_by: list[str], specs: dict[str, tuple[str, str | None]], sort: bool
) -> Any:
    """Lazy grouped aggregation by tree reduction; groups sorted, or in order of first appearance."""
    named: dict[str, tuple[str, str]] = {
        name: (group_by[0], "size") if function == "size" else (str(column), function)
        for name, (function, column) in specs.items()
    }
    if not sort:  # remember where each group first appeared: the smallest (partition, row) position
        frame = tag_input_order(frame)
        frame = frame.assign(**{_FIRST_SEEN: frame[ORDER_COLUMNS[0]] * (1 << 40) + frame[ORDER_COLUMNS[1]]})
        named[_FIRST_SEEN] = (_FIRST_SEEN, "min")
    result = frame.groupby(group_by, sort=sort, dropna=False).agg(**named).reset_index()
    if sort:
        return result
    meta = result._meta.drop(columns=[_FIRST_SEEN])
    return result.map_partitions(_by_first_seen, meta=meta)


def _by_first_seen(part: pd.DataFrame) -> pd.DataFrame:
    return part.sort_values(_FIRST_SEEN, kind="stable").drop(columns=[_FIRST_SEEN]).reset_index(drop=True)


def _first_last(series: Any, which: str) -> Any:
    """Per partition the first / last non-null value (0 or 1 row each), in partition order."""

    def pick(values: pd.Series) -> pd.Series:
        values = values.dropna()
        return values.head(1) if which == "first" else values.tail(1)

    return series.map_partitions(pick, meta=series._meta)


def _aggregate_dask_whole(frame: Any, specs: dict[str, tuple[str, str | None]]) -> Any:
    """A lazy one-row dask frame aggregating the whole input with tree reductions (bounded memory)."""
    import dask.dataframe as dd
    from dask.delayed import delayed

    lazy: dict[str, Any] = {}
    for name, (function, column) in specs.items():
        if function == "size":
            lazy[name] = lazy_len(frame)
        elif function in ("first", "last"):
            lazy[name] = _first_last(frame[column], function)
        elif function == "median":
            lazy[name] = frame[column].quantile(0.5)
        else:
            lazy[name] = getattr(frame[column], function)()
    meta = aggregate(frame._meta_nonempty, [], specs, False).iloc[:0]
    row = delayed(_one_row)(list(lazy), [specs[name][0] for name in lazy], *lazy.values())
    return dd.from_delayed([row], meta=meta, verify_meta=False)


def _one_row(names: list[str], functions: list[str], *values: Any) -> pd.DataFrame:
    row = {}
    for name, function, value in zip(names, functions, values, strict=True):
        if isinstance(value, pd.Series):
            value = (value.iloc[-1] if function == "last" else value.iloc[0]) if len(value) else None
        elif hasattr(value, "item"):
            value = value.item()
        row[name] = [value]
    return pd.DataFrame(row)


class AggregateMod(BaseModule):
    """Group and aggregate."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Groups rows by columns and computes named aggregations (sum(amount), count(*), ...)"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["row_count", "groups"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {
            "aggregations": {
                "type": ORDERED_TYPE,
                "description": "Output column -> `function(column)`, as a list of `name: spec` (kept in order) or a "
                "mapping (sorted by name); functions: " + ", ".join(FUNCTIONS) + ", count(*)",
            },
        },
        "optional": {
            "group_by": {"type": "list[str]", "default": [], "description": "Group key columns (none: one group)"},
            "sort": {"type": "bool", "default": True, "description": "Sort groups by their keys"},
        },
    }

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        given = configs.get("aggregations")
        if not isinstance(given, (dict, list)):
            return []
        if not given:
            return ["'aggregations' is empty"]
        problems = pairs_problems(given, "aggregations")
        if problems:
            return problems
        specs = dict(ordered_pairs(given))
        for name, spec in specs.items():
            if "{{" in str(spec):
                continue
            try:
                parse_aggregation(str(spec))
            except ValueError as exc:
                problems.append(f"aggregations.{name}: {exc}")
        clash = sorted(set(specs) & set(configs.get("group_by") or []))
        if clash:
            problems.append(f"aggregations {clash} have the name of a group_by column")
        return problems

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        names = [*configs["group_by"], *(name for name, _ in ordered_pairs(configs["aggregations"]))]
        return {"output": Columns.of(names)}  # a templated name is left to the run (column_check)

    @classmethod
    def columns_used(cls, configs: Mapping[str, Any]) -> list[ColumnUse]:
        uses = name_uses("group_by", configs.get("group_by"))
        for name, spec in ordered_pairs(configs["aggregations"]):
            if "{{" not in str(spec):
                column = parse_aggregation(str(spec))[1]
                uses += name_uses(f"aggregations.{name}", column) if column else []
        return uses

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        group_by = list(self.configs["group_by"])
        try:
            specs = {name: parse_aggregation(spec) for name, spec in ordered_pairs(self.configs["aggregations"])}
        except ValueError as exc:
            raise DataError(str(exc)) from None
        require_columns(frame, [*group_by, *(col for _, col in specs.values() if col)])
        kind = kind_of(frame)
        sort = self.configs["sort"]
        try:
            if kind.native == "arrow":
                step = _ArrowStep(group_by, specs, sort)
                result = await kind.work(ctx, kind.blocking, frame, step)
            elif not kind.lazy:
                result = await kind.work(ctx, aggregate, frame, group_by, specs, sort)
            else:
                result = _aggregate_dask(frame, group_by, specs, sort)
        except DataError:
            raise
        except (TypeError, ValueError, pa.ArrowException) as exc:
            raise _failed(exc) from None

        def report(_rows_in: int, rows_out: int) -> None:
            ctx.set_global("row_count", rows_out)
            ctx.set_global("groups", rows_out)

        kind.report_rows(frame, result, report)
        return {"output": result}


def _aggregate_dask(frame: Any, group_by: list[str], specs: dict[str, tuple[str, str | None]], sort: bool) -> Any:
    if group_by and all(f in _TREE_FUNCTIONS for f, _ in specs.values()):
        return _aggregate_dask_tree(frame, group_by, specs, sort)
    if group_by:
        # first / last depend on the input order, which a shuffle loses: carry it along
        shuffled = tag_input_order(frame).shuffle(on=group_by)
        result = map_frame(shuffled, _aggregate_tagged, group_by, specs)
        if sort:
            # within each partition: a global sort would cost dask a quantile pass over the
            # whole upstream at graph time (use sort_mod for a global order)
            result = result.map_partitions(_sort_groups, group_by, meta=result._meta)
        return result
    return _aggregate_dask_whole(frame, specs)


class _ArrowStep:
    """The Arrow aggregation over a reader (a table's, or a stream's when it is read)."""

    def __init__(self, group_by: list[str], specs: dict[str, tuple[str, str | None]], sort: bool) -> None:
        self.args = (group_by, specs, sort)
        self.run = aggregate_with_pandas if needs_pandas(specs) else aggregate_reader

    def __call__(self, reader: pa.RecordBatchReader) -> pa.Table:
        try:
            return self.run(reader, *self.args)
        except DataError:
            raise
        except (TypeError, ValueError, pa.ArrowException) as exc:
            raise _failed(exc) from None


def _failed(exc: Exception) -> DataError:
    return DataError(f"aggregation failed: {exc} (check the column types; cast them with cast_mod)")
