"""The documented function and method list is exactly what both compiled forms implement."""

from __future__ import annotations

import numpy as np
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


SPECIALS = [3.0, -3.0, 0.6, -0.6, 0.1, -0.1, 0.0, -0.0, 7.5, -7.0, -8.0, 1e300, -1e-300, float("inf"), float("-inf"),
            float("nan")]


@pytest.mark.parametrize("op", ["//", "%"])
def test_floor_division_and_modulo_give_numpys_values_in_both_forms(op: str) -> None:
    """``3 // 0.1`` is 29 and ``3 % 0.6`` about 1e-16, as in Python and numpy, also in the Arrow form."""
    pairs = [(a, b) for a in SPECIALS for b in SPECIALS]
    frame = pd.DataFrame({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]})
    with np.errstate(all="ignore"):
        expected = np.floor_divide(frame["a"], frame["b"]) if op == "//" else np.mod(frame["a"], frame["b"])
    expression = compile_expression(f"a {op} b")
    by_pandas = expression.evaluate(frame).to_numpy(dtype=float)
    by_arrow = expression.evaluate_table(pa.Table.from_pandas(frame, preserve_index=False)).to_numpy()
    for (a, b), want, left, right in zip(pairs, expected, by_pandas, by_arrow, strict=True):
        if np.isnan(want):
            assert np.isnan(left) and (np.isnan(right) or right is None), (a, b)
        else:
            assert left == want and right == want, f"{a} {op} {b}: numpy {want}, pandas {left}, Arrow {right}"
            assert np.signbit(left) == np.signbit(want) == np.signbit(right), f"{a} {op} {b}: the sign of a zero"
