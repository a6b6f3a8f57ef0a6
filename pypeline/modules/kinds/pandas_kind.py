"""The ``pandas`` kind: a :class:`pandas.DataFrame`, eager (``execution_mode: pandas``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.modules.kinds.base import ArrowFn, PandasFn, ReaderStep, RowsReport
from pypeline.modules.kinds.convert import to_pandas, to_table
from pypeline.modules.kinds.eager_work import eager_work


class PandasKind:
    """A pandas frame: every step runs at once, on the run's thread pool."""

    name = "pandas"
    native = "pandas"
    lazy = False
    partitioned = False

    def owns(self, value: Any) -> bool:
        return isinstance(value, pd.DataFrame)

    def columns(self, frame: pd.DataFrame) -> list[str]:
        return [str(c) for c in frame.columns]

    def rows(self, frame: pd.DataFrame) -> int | None:
        return len(frame)

    def map_rows(self, frame: pd.DataFrame, pandas_fn: PandasFn, arrow_fn: ArrowFn | None, *args: Any) -> Any:
        return pandas_fn(frame, *args)

    def report_rows(self, source: pd.DataFrame, result: Any, report: RowsReport) -> None:
        report(len(source), len(result))

    def to_pandas(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    def to_arrow(self, frame: pd.DataFrame) -> pa.Table:
        return to_table(frame)

    def blocking(self, frame: pd.DataFrame, step: ReaderStep) -> pd.DataFrame:
        return to_pandas(step(to_table(frame).to_reader()))

    async def work(self, ctx: Any, fn: Callable[..., Any], *args: Any) -> Any:
        return await eager_work(ctx, fn, *args)
