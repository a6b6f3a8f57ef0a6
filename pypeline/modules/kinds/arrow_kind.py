"""The ``arrow`` kind: a :class:`pyarrow.Table`, eager (``execution_mode: arrow``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.modules.kinds.base import ArrowFn, PandasFn, ReaderStep, RowsReport
from pypeline.modules.kinds.convert import to_pandas, to_table
from pypeline.modules.kinds.eager_work import eager_work


class ArrowKind:
    """An Arrow table: steps run at once, on the run's thread pool, with ``pyarrow.compute``."""

    name = "arrow"
    native = "arrow"
    lazy = False
    partitioned = False

    def owns(self, value: Any) -> bool:
        return isinstance(value, pa.Table)

    def columns(self, frame: pa.Table) -> list[str]:
        return [str(c) for c in frame.column_names]

    def rows(self, frame: pa.Table) -> int | None:
        return int(frame.num_rows)

    def map_rows(self, frame: pa.Table, pandas_fn: PandasFn, arrow_fn: ArrowFn | None, *args: Any) -> Any:
        if arrow_fn is not None:
            return arrow_fn(frame, *args)
        return to_table(pandas_fn(to_pandas(frame), *args))

    def report_rows(self, source: pa.Table, result: Any, report: RowsReport) -> None:
        report(int(source.num_rows), int(result.num_rows))

    def to_pandas(self, frame: pa.Table) -> pd.DataFrame:
        return to_pandas(frame)

    def to_arrow(self, frame: pa.Table) -> pa.Table:
        return frame

    def blocking(self, frame: pa.Table, step: ReaderStep) -> pa.Table:
        """``step`` over the whole table (the same step a stream runs on its reader)."""
        return step(frame.to_reader())

    async def work(self, ctx: Any, fn: Callable[..., Any], *args: Any) -> Any:
        return await eager_work(ctx, fn, *args)
