"""The documented function and method list is exactly what both compiled forms implement."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from pypeline.modules.common.frame_expressions import FUNCTIONS, METHODS, compile_expression
from tests.security.test_expression_properties import FRAME, TABLE, _same, _values

ARGUMENTS = {
    "round": "(1)", "fillna": "(0)", "clip": "(0, 5)", "between": "(0, 5)", "isin": "([3, 5])",
    "astype": "('float')", "mod": "(4)", "pow": "(2)", "str.strip": "()", "str.contains": "('b')",
    "str.startswith": "('a')", "str.endswith": "('b')", "str.match": "('[a-z]')", "str.fullmatch": "('[a-z]+')",
    "str.count": "('b')", "str.replace": "('a', 'xy')", "str.slice": "(0, 2)", "str.removeprefix": "('a')",
    "str.removesuffix": "('b')", "str.zfill": "(4)", "str.pad": "(4)", "str.center": "(5, '*')",
    "str.ljust": "(4)", "str.rjust": "(4)", "dt.floor": "('h')", "dt.ceil": "('D')",
    "dt.strftime": "('%Y-%m-%d')",
}


def _subject(path: str) -> str:
    if path.startswith("str."):
        return "s"
    if path.startswith("dt."):
        return "d"
    return "f"


@pytest.mark.parametrize("path", sorted(METHODS))
def test_every_method_runs_alike_in_both_forms(path: str) -> None:
    signature = METHODS[path]
    call = "" if signature.attribute else ARGUMENTS.get(path, "()")
    expression = compile_expression(f"{_subject(path)}.{path}{call}")
    pandas_values = _values(expression.evaluate(FRAME), len(FRAME))
    arrow_values = _values(expression.evaluate_table(TABLE), len(FRAME))
    assert all(_same(a, b) for a, b in zip(pandas_values, arrow_values, strict=True)), (pandas_values, arrow_values)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_runs_alike_in_both_forms(name: str) -> None:
    arguments = "i, f" if name == "arctan2" else "f / 10"
    expression = compile_expression(f"{name}({arguments})")
    pandas_values = _values(expression.evaluate(FRAME), len(FRAME))
    arrow_values = _values(expression.evaluate_table(TABLE), len(FRAME))
    assert all(_same(a, b) for a, b in zip(pandas_values, arrow_values, strict=True)), (pandas_values, arrow_values)


def test_the_arrow_form_is_a_compute_expression_for_dataset_projections() -> None:
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    expression = compile_expression("i * 2 > 5 and s.str.upper() != 'AB'", "condition")
    arrow = expression.arrow(TABLE.schema)
    assert isinstance(arrow, pc.Expression)
    assert ds.dataset(TABLE).to_table(filter=arrow).column("i").to_pylist() == [12, 5]
    assert expression.arrow(TABLE.schema) is arrow  # compiled once per schema


def test_a_compiled_expression_pickles_by_its_text() -> None:
    import pickle

    expression = compile_expression("i > 2", "condition")
    copy = pickle.loads(pickle.dumps(expression))
    assert copy.source == "i > 2" and copy.filter(FRAME)["i"].tolist() == [3, 12, 5]


def test_dask_partitions_use_the_pandas_form() -> None:
    import dask.dataframe as dd

    from pypeline.modules.mods.filter_mod import keep_rows

    frame = dd.from_pandas(FRAME, npartitions=3)
    condition = compile_expression("s.str.contains('b', case=False) | (i > 10)", "condition")
    result = frame.map_partitions(keep_rows, condition, meta=FRAME.iloc[:0]).compute()
    assert result["i"].tolist() == [3, -7, 12, 5]
    assert isinstance(result, pd.DataFrame) and isinstance(TABLE, pa.Table)


def test_nullable_extension_columns_keep_missing_values_missing() -> None:
    frame = pd.DataFrame({"age": pd.array([20, None, 10], dtype="Int64"), "ok": pd.array([True, None, False])})
    condition = compile_expression("age >= 18 or ok", "condition")
    assert condition.filter(frame)["age"].tolist() == [20]
    assert compile_expression("age >= 18").evaluate(frame).tolist() == [True, pd.NA, False]
