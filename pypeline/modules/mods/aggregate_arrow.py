"""``aggregate_mod`` on Arrow data: one Acero aggregation over a table or a stream.

The input (a table, or a stream read batch by batch) feeds an Acero plan
``record_batch_reader_source -> aggregate``; memory is the groups' state, not
the rows. The result matches the pandas form (``groupby(..., dropna=False)``,
``skipna``):

* NaN counts as missing, as in pandas: float columns the aggregations read have
  their NaN turned into nulls on the way in;
* ``sum`` of no values is 0, ``mean`` / ``min`` / ``max`` / ``first`` / ``last``
  of no values are null (NaN in pandas), ``std`` / ``var`` use ``ddof=1``;
* the output has the group columns first, then the aggregations in order;
  groups are sorted by their keys (nulls last), or with ``sort: false`` in
  order of first appearance (the plan then runs on one thread, which also
  keeps ``first`` / ``last`` exact).

``median`` has only an approximate Acero kernel: an aggregation that uses it
goes through pandas, on the columns it needs (:func:`needs_pandas`).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from pypeline.modules.kinds.convert import to_pandas, to_table
from pypeline.modules.mods.aggregate_pandas import aggregate

_KERNELS: dict[str, tuple[str, Any]] = {
    "size": ("count_all", None),
    "sum": ("sum", pc.ScalarAggregateOptions(skip_nulls=True, min_count=0)),
    "mean": ("mean", pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)),
    "min": ("min", pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)),
    "max": ("max", pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)),
    "count": ("count", pc.CountOptions(mode="only_valid")),
    "nunique": ("count_distinct", pc.CountOptions(mode="only_valid")),
    "first": ("first", pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)),
    "last": ("last", pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)),
    "std": ("stddev", pc.VarianceOptions(ddof=1)),
    "var": ("variance", pc.VarianceOptions(ddof=1)),
}
_ORDERED = frozenset({"first", "last"})

Specs = dict[str, tuple[str, str | None]]


def needs_pandas(specs: Specs) -> bool:
    """True when an aggregation has no exact Acero kernel (``median``)."""
    return any(function not in _KERNELS for function, _ in specs.values())


def aggregate_reader(reader: pa.RecordBatchReader, group_by: list[str], specs: Specs, sort: bool) -> pa.Table:
    """The aggregated table of everything ``reader`` yields (see the module docstring)."""
    columns = sorted({column for _, column in specs.values() if column})
    source = ac.Declaration("record_batch_reader_source", ac.RecordBatchReaderSourceNodeOptions(
        pa.RecordBatchReader.from_batches(reader.schema, _nan_as_null(reader, columns))))
    prefix = "hash_" if group_by else ""
    aggregates = []
    for name, (function, column) in specs.items():
        kernel, options = _KERNELS[function]
        aggregates.append(([] if column is None else column, prefix + kernel, options, name))
    plan = ac.Declaration.from_sequence([
        source, ac.Declaration("aggregate", ac.AggregateNodeOptions(aggregates, keys=group_by or None)),
    ])
    ordered = not sort or any(function in _ORDERED for function, _ in specs.values())
    result = plan.to_table(use_threads=not ordered)
    result = result.select([*group_by, *specs])
    if group_by and sort:
        result = result.sort_by([(key, "ascending", "at_end") for key in group_by])
    return result


def aggregate_with_pandas(reader: pa.RecordBatchReader, group_by: list[str], specs: Specs, sort: bool) -> pa.Table:
    """The pandas form on the columns the aggregation needs (for ``median``: exact, in memory)."""
    needed = list(dict.fromkeys([*group_by, *(column for _, column in specs.values() if column)]))
    frame = to_pandas(reader.read_all().select(needed))
    return to_table(aggregate(frame, group_by, specs, sort))


def _nan_as_null(reader: pa.RecordBatchReader, columns: list[str]) -> Any:
    floats = [c for c in columns if c in reader.schema.names and pa.types.is_floating(reader.schema.field(c).type)]
    for batch in reader:
        for column in floats:
            index = batch.schema.get_field_index(column)
            values = batch.column(index)
            if values.null_count < len(values) and pc.any(pc.is_nan(values)).as_py():
                batch = batch.set_column(index, column, pc.if_else(pc.is_nan(values), None, values))
        yield batch
