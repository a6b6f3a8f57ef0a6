"""The numpy plan of a numeric condition gives the pandas and Arrow forms' masks, and steps aside when it cannot."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pypeline.core.expr import parse_checked
from pypeline.modules.common.frame_expressions import FrameExpressionError, compile_expression, numeric_mask
from pypeline.modules.common.frame_expressions.catalog import FRAME_DIALECT
from pypeline.modules.common.frame_expressions.numeric_mask import arrow_mask, numeric_mask_plan

FRAME = pd.DataFrame({
    "i": np.array([-3, 0, 1, 7, 2**40], dtype="int64"),
    "u": np.array([0, 1, 5, 9, 2**63], dtype="uint64"),
    "f": [np.nan, -0.5, 1.0, np.nan, 7.0],
    "g": [1.0, np.nan, 1.0, 2.0, 7.0],
    "small": np.array([1, 2, 3, 4, 5], dtype="int8"),
})

CONDITIONS = [
    "i > -1", "i == 1", "i != 1", "-1 < i", "i <= 1099511627776", "i > 1099511627776.5", "i < -9223372036854775807",
    "u > -1", "u == 9", "u >= 9223372036854775807",
    "f > 0", "f != 1", "f == f", "f != g", "1 != f", "f < g", "g >= 1.0",
    "small > 2 and f > 0", "small > 4 or f != 7", "i > 0 and u > 1 and g != 2", "(i < 0 or f > 0) and small != 3",
]


def pandas_form_mask(condition: str) -> list[bool]:
    """The mask the Series form gives: missing counts as false."""
    value = compile_expression(condition, "condition").pandas_form(FRAME)
    if isinstance(value, pd.Series):
        return [bool(v) if v is not pd.NA else False for v in value.tolist()]
    return [bool(value)] * len(FRAME)


@pytest.mark.parametrize("condition", CONDITIONS)
def test_the_numpy_plan_gives_the_series_forms_mask(condition: str) -> None:
    plan = numeric_mask_plan(parse_checked(condition, FRAME_DIALECT))
    assert plan is not None
    mask = plan(FRAME)
    assert mask is not None and mask.dtype == bool
    assert mask.tolist() == pandas_form_mask(condition)


@pytest.mark.parametrize("condition", ["not (i > 1)", "i > 1 ^ f > 0", "i + 1 > 2", "i > 1 > 0", "i in [1, 2]",
                                       "f > True", "1 < 2", "i == None", "abs(i) > 1", "i.between(0, 2)",
                                       "i <= 2**40"])
def test_other_conditions_have_no_plan(condition: str) -> None:
    assert numeric_mask_plan(parse_checked(condition, FRAME_DIALECT)) is None


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"x": pd.array([1, None, 3], dtype="Int64")}),
        pd.DataFrame({"x": pd.array([1, 2, 3], dtype="int64[pyarrow]")}),
        pd.DataFrame({"x": [1, "a", 3]}, dtype=object),
        pd.DataFrame({"x": [True, False, True]}),
        pd.DataFrame([[1, 2, 3]] * 3, columns=["x", "x", "y"]),
        pd.DataFrame([[1, 2, 3]] * 3, columns=["x", "y", "x"]),
        pd.DataFrame([[1, 2]] * 3, columns=pd.MultiIndex.from_tuples([("x", "a"), ("y", "b")])),
        pd.DataFrame({"y": [1, 2, 3]}),
        pd.DataFrame([[1, 2]] * 3),
        pa.table({"x": pa.array([1, None, 3], pa.int64())}),
        pa.table({"x": pa.array([1.5, None, 3.0])}),
        pa.table({"x": pa.array(["1", "2", "3"])}),
        pa.table({"x": pa.array([1, 2, 3]).dictionary_encode()}),
        pa.table({"x": pa.array([True, False, True])}),
        pa.Table.from_arrays([pa.array([1, 2]), pa.array([3, 4])], names=["x", "x"]),
        pa.table({"y": pa.array([1, 2, 3])}),
    ],
    ids=["nullable", "arrow-backed", "object", "bool", "repeated", "repeated-apart", "multi-level", "absent",
         "number-labels",
         "table-int-nulls", "table-float-nulls", "table-text", "table-dictionary", "table-bool", "table-repeated",
         "table-absent"],
)
def test_a_frame_or_table_it_does_not_cover_gets_no_mask_from_it(frame: pd.DataFrame | pa.Table) -> None:
    plan = numeric_mask_plan(parse_checked("x > 1", FRAME_DIALECT))
    assert plan is not None
    assert plan(frame) is None


@pytest.mark.parametrize("condition", CONDITIONS)
def test_pandas_public_accessor_gives_the_same_mask(condition: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where pandas lacks the accessor the plan reads columns with, its public form gives the same masks."""
    plan = numeric_mask_plan(parse_checked(condition, FRAME_DIALECT))
    assert plan is not None
    fast = plan(FRAME)
    monkeypatch.setattr(numeric_mask, "stored_values", numeric_mask.public_stored_values)
    public = plan(FRAME)
    assert fast is not None and public is not None
    assert public.tolist() == fast.tolist() == pandas_form_mask(condition)


@pytest.mark.parametrize("columns", [["x", "y", "y"], pd.CategoricalIndex(["x", "y", "z"]), ["x", 1, 2.5]])
def test_a_name_found_once_is_read_whatever_the_other_labels(columns: list[Any] | pd.Index) -> None:
    frame = pd.DataFrame([[0, 1, 2], [5, 6, 7]], columns=columns)
    plan = numeric_mask_plan(parse_checked("x > 1", FRAME_DIALECT))
    assert plan is not None
    mask = plan(frame)
    assert mask is not None and mask.tolist() == [False, True]


def test_the_plan_never_writes_to_the_frame() -> None:
    frame = FRAME.copy()
    condition = compile_expression("f != 1 and i > -5", "condition")
    assert condition.filter(frame)["i"].tolist() == [0, 2**40]
    pd.testing.assert_frame_equal(frame, FRAME)


def test_the_filter_keeps_the_series_forms_answers_and_errors_where_the_plan_steps_aside() -> None:
    condition = compile_expression("x > 1", "condition")
    assert condition.filter(pd.DataFrame({"x": pd.array([1, None, 3], dtype="Int64")}))["x"].tolist() == [3]
    with pytest.raises(FrameExpressionError, match="column 'x' is not defined"):
        condition.filter(pd.DataFrame({"y": [1, 2]}))
    with pytest.raises(FrameExpressionError, match="appears more than once"):
        condition.filter(pd.DataFrame([[1, 2]], columns=["x", "x"]))
    with pytest.raises(FrameExpressionError, match="cannot compare"):
        condition.filter(pd.DataFrame({"x": ["a", "b"]}))


def test_the_filter_uses_the_plan_on_numpy_numbers() -> None:
    condition = compile_expression("i > 0 and f != 1", "condition")
    assert condition.numeric_mask is not None
    assert condition.filter(FRAME)["i"].tolist() == [2**40]


TABLE = pa.table({name: pa.array(FRAME[name].to_numpy()) for name in FRAME.columns}).set_column(
    1, "u", pa.array(np.array([0, 1, 5, 9, 2**62], dtype="uint64"))
)
"""FRAME as Arrow, NaN kept as NaN (not null); ``u`` within int64, which the Arrow form compares through."""


@pytest.mark.parametrize("condition", CONDITIONS)
def test_on_arrow_the_numpy_plan_gives_the_arrow_forms_rows(condition: str) -> None:
    compiled = compile_expression(condition, "condition")
    assert compiled.numeric_mask is not None and compiled.numeric_mask(TABLE) is not None
    by_plan = compiled.filter_table(TABLE)
    by_arrow_form = TABLE.filter(compiled.arrow(TABLE.schema))
    assert by_plan.schema == by_arrow_form.schema
    assert by_plan.column("i").to_pylist() == by_arrow_form.column("i").to_pylist()  # i names the row
    batch = TABLE.to_batches()[0]
    assert compiled.filter_table(batch).column("i").to_pylist() == by_arrow_form.column("i").to_pylist()


def test_on_arrow_the_arrow_form_keeps_its_answers_and_errors_where_the_plan_steps_aside() -> None:
    condition = compile_expression("x > 1", "condition")
    assert condition.filter_table(pa.table({"x": pa.array([1, None, 3])})).column("x").to_pylist() == [3]
    with pytest.raises(FrameExpressionError, match="'x'"):
        condition.filter_table(pa.table({"y": pa.array([1, 2])}))
    with pytest.raises(FrameExpressionError, match="cannot compare"):
        condition.filter_table(pa.table({"x": pa.array(["a", "b"])}))


def test_on_arrow_a_table_of_several_chunks_is_filtered_as_one() -> None:
    table = pa.concat_tables([pa.table({"x": [1, 5, 3]}), pa.table({"x": [7, 0]})])
    assert table.column("x").num_chunks == 2
    condition = compile_expression("x > 2", "condition")
    assert condition.numeric_mask is not None and condition.numeric_mask(table) is not None
    assert condition.filter_table(table).column("x").to_pylist() == [5, 3, 7]


def test_on_arrow_no_rows_come_back_as_they_are_and_errors_still_show() -> None:
    """A stream stage asks its step for its types on no rows: the plan's table comes back, a bad column still fails."""
    condition = compile_expression("x > 2 and y <= 1.5", "condition")
    empty = pa.schema([("x", pa.int64()), ("y", pa.float64()), ("note", pa.string())]).empty_table()
    assert condition.filter_table(empty) is empty
    with pytest.raises(FrameExpressionError, match="'y'"):
        condition.filter_table(empty.drop_columns(["y"]))
    with pytest.raises(FrameExpressionError, match="cannot compare"):
        condition.filter_table(empty.set_column(0, "x", pa.array([], pa.string())))


@pytest.mark.parametrize("rows", [0, 1, 7, 8, 9, 64, 5_001])
def test_a_numpy_mask_becomes_the_arrow_array_pyarrow_would_make(rows: int) -> None:
    mask = np.random.default_rng(rows).random(rows * 2) > 0.5
    for values in (mask[:rows], mask[::2]):  # contiguous, and a strided view
        made = arrow_mask(values)
        assert made.equals(pa.array(values, type=pa.bool_())) and made.null_count == 0 and len(made) == len(values)
