"""Combining the per-file tables of ``csv_source`` into one (``execution_mode: arrow`` and the stream's schema).

The same rules as the pandas combine (:func:`pypeline.modules.source.csv_combine.combine`):
``concat`` and ``validate_schema`` need the same columns in every file (and,
for ``validate_schema``, the same types, named as pandas names them), and
``union_by_name`` aligns columns by name, filling the ones a file lacks with
nulls. A column's types are unified as pandas' ``concat`` would: integers and
floats give floats, a column with no values takes the type of the others,
anything else that differs becomes text.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from pypeline.modules.kinds.convert import to_pandas

_INTEGER = pa.types.is_integer
_NUMBER = (pa.types.is_integer, pa.types.is_floating)


def pandas_dtypes(schema: pa.Schema) -> dict[str, str]:
    """The pandas dtype names of a schema's columns (what error messages show in every mode)."""
    dtypes = to_pandas(schema.empty_table()).dtypes
    return {str(name): str(dtype) for name, dtype in dtypes.items()}


def unify_types(first: pa.DataType | None, second: pa.DataType) -> pa.DataType:
    """One type able to hold values of both (``None`` means "not seen yet")."""
    if first is None or first == second or second == pa.null():
        return first if first is not None else second
    if first == pa.null():
        return second
    if _INTEGER(first) and _INTEGER(second):
        return pa.int64()
    if all(any(check(t) for check in _NUMBER) for t in (first, second)):
        return pa.float64()
    if pa.types.is_timestamp(first) and pa.types.is_timestamp(second):
        return first
    return pa.string()


def union_schema(schemas: Sequence[pa.Schema], *, fill_missing: bool) -> pa.Schema:
    """The columns of all ``schemas`` in order of first appearance, with unified types.

    ``fill_missing``: a column some schemas lack is filled with nulls there, so an
    integer column becomes a float one, as in pandas (a bool column keeps its
    type: its nulls read back into pandas as the ``object`` column pandas makes).
    """
    types: dict[str, pa.DataType] = {}
    for schema in schemas:
        for field in schema:
            types[field.name] = unify_types(types.get(field.name), field.type)
    if fill_missing:
        for name, kind in types.items():
            if _INTEGER(kind) and any(name not in schema.names for schema in schemas):
                types[name] = pa.float64()
    return pa.schema([(name, kind) for name, kind in types.items()])


def align(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with the columns of ``schema`` in its order and types (missing ones all null)."""
    columns = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            columns.append(column if column.type == field.type else column.cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def combine_tables(tables: Sequence[pa.Table], *, fill_missing: bool) -> pa.Table:
    """The tables stacked into one (their columns checked by the caller)."""
    schema = union_schema([t.schema for t in tables], fill_missing=fill_missing)
    with_rows = [t for t in tables if t.num_rows] or list(tables[:1])
    return pa.concat_tables([align(t, schema) for t in with_rows])
