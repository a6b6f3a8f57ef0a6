"""The ``dask`` kind: a lazy :class:`dask.dataframe.DataFrame` of pandas partitions (``execution_mode: dask``).

dask is imported only when a dask frame is met, so other modes never pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.modules.kinds.base import ArrowFn, PandasFn, ReaderStep, RowsReport
from pypeline.modules.kinds.convert import to_table


class DaskKind:
    """A dask frame: steps join its graph, per partition; a sink computes it."""

    name = "dask"
    native = "pandas"
    lazy = True
    partitioned = True

    def owns(self, value: Any) -> bool:
        return type(value).__module__.startswith("dask")

    def columns(self, frame: Any) -> list[str]:
        return [str(c) for c in frame.columns]

    def rows(self, frame: Any) -> int | None:
        return None

    def map_rows(self, frame: Any, pandas_fn: PandasFn, arrow_fn: ArrowFn | None, *args: Any) -> Any:
        # the result's columns and dtypes come from the step run on the empty meta frame
        meta = pandas_fn(frame._meta, *args)
        return frame.map_partitions(pandas_fn, *args, meta=meta)

    def report_rows(self, source: Any, result: Any, report: RowsReport) -> None:
        """Never: counting a lazy frame computes it (docs/dask-mode.md, row counts)."""

    def to_pandas(self, frame: Any) -> pd.DataFrame:
        computed: pd.DataFrame = frame.compute()
        return computed

    def to_arrow(self, frame: Any) -> pa.Table:
        return to_table(self.to_pandas(frame))

    def blocking(self, frame: Any, step: ReaderStep) -> Any:
        raise NotImplementedError("a dask frame runs no Arrow steps: use its pandas form per partition")

    async def work(self, ctx: Any, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)  # building a graph is cheap: it stays on the loop
