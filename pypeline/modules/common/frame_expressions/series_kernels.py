"""Text and date-time functions in the pandas form: the column goes through the Arrow kernels.

The pandas form runs the very kernels of the Arrow form (:mod:`.kernels`) on
the column's Arrow array and turns the result back into a Series with the
frame's index, so both forms agree on every text function and regular
expressions run on RE2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.core.expr import ExpressionError
from pypeline.modules.common.frame_expressions import kinds
from pypeline.modules.common.frame_expressions.kernels import DATETIME, TEXT

PandasForm = Callable[[pd.DataFrame], Any]


def kernel_call(func: str, subject: PandasForm, constants: list[Any], pos: int) -> PandasForm:
    """A text or date-time function (:mod:`.kernels`) of a column, run on its Arrow array.

    Raises:
        ExpressionError: when the column holds the wrong kind of value.
    """
    kernel, result_kind = TEXT[func] if func in TEXT else DATETIME[func]
    wanted = ("str",) if func.startswith("str.") else ("time", "date")

    def call(frame: pd.DataFrame) -> Any:
        value = subject(frame)
        kind = kinds.pandas_kind(value)
        if kind not in (*wanted, "null", "any"):
            raise ExpressionError(f".{func}() needs {kinds.describe(wanted[0])}, got {kinds.describe(kind)}", pos)
        series = value if isinstance(value, pd.Series) else pd.Series([value] * len(frame), index=frame.index)
        array = pa.array(series, from_pandas=True)
        if kind == "null" or pa.types.is_null(array.type):
            array = array.cast(pa.string() if wanted[0] == "str" else pa.timestamp("ns"))
        result = kernel(array, *constants)
        return from_arrow(result, series.index, result_kind)

    return call


def from_arrow(result: Any, index: pd.Index, kind: str | None) -> pd.Series:
    """An Arrow result as a Series with ``index`` (true/false as the nullable boolean dtype)."""
    if isinstance(result, pa.ChunkedArray):
        result = result.combine_chunks()
    mapper = {pa.bool_(): pd.BooleanDtype()}.get if kind == "bool" else None
    series = pd.Series(result.to_pandas(types_mapper=mapper))
    series.index = index  # positions match; aligning by label would scramble a dask partition's rows
    return series
