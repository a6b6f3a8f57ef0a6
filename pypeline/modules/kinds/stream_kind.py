"""The ``stream`` kind: a :class:`~pypeline.modules.kinds.stream.BatchStream` (``execution_mode: stream``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from pypeline.modules.kinds.base import ArrowFn, PandasFn, ReaderStep, RowsReport
from pypeline.modules.kinds.convert import to_pandas, to_table
from pypeline.modules.kinds.stream import BatchStream, empty_table


class StreamKind:
    """A stream of record batches: steps become stages, run batch by batch when a sink reads."""

    name = "stream"
    native = "arrow"
    lazy = True
    partitioned = False

    def owns(self, value: Any) -> bool:
        return isinstance(value, BatchStream)

    def columns(self, frame: BatchStream) -> list[str]:
        return frame.columns

    def rows(self, frame: BatchStream) -> int | None:
        return None

    def map_rows(self, frame: BatchStream, pandas_fn: PandasFn, arrow_fn: ArrowFn | None, *args: Any) -> Any:
        if arrow_fn is not None:
            return frame.map(lambda table: arrow_fn(table, *args))
        return frame.map(lambda table: to_table(pandas_fn(to_pandas(table), *args)), typed=False)

    def report_rows(self, source: BatchStream, result: Any, report: RowsReport) -> None:
        if isinstance(result, BatchStream):
            result.on_end(lambda: report(source.rows, result.rows))

    def to_pandas(self, frame: BatchStream) -> pd.DataFrame:
        return to_pandas(frame.collect())

    def to_arrow(self, frame: BatchStream) -> pa.Table:
        return frame.collect()

    def blocking(self, frame: BatchStream, step: ReaderStep) -> BatchStream:
        """A stage that runs ``step`` over the whole input when first read (its output schema: ``step`` on no rows)."""
        schema = step(empty_table(frame.schema).to_reader()).schema
        return frame.then(lambda upstream: step(upstream.reader()), schema=schema)

    async def work(self, ctx: Any, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)  # adding a stage reads nothing: it stays on the loop
