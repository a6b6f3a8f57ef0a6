"""The one interface built-in modules use to work on a frame, whatever its kind.

A value on a data connection is one of four kinds of frame:

==========  ==========================================  =======  =========
kind        what travels                                native   lazy
==========  ==========================================  =======  =========
``pandas``  a :class:`pandas.DataFrame`                 pandas   no
``dask``    a :class:`dask.dataframe.DataFrame`         pandas   yes
``arrow``   a :class:`pyarrow.Table`                    arrow    no
``stream``  a :class:`~pypeline.modules.kinds.stream.BatchStream` of record batches  arrow  yes
==========  ==========================================  =======  =========

A module asks :func:`~pypeline.modules.kinds.kind_of` for the kind of its
input and calls the kind's methods, instead of testing for one library at
each call site:

* ``columns(frame)``: the column names (never computes anything);
* ``rows(frame)``: the row count, or ``None`` when counting would read the
  data (a lazy kind);
* ``map_rows(frame, pandas_fn, arrow_fn, *args)``: a row-local step, given as a
  pandas function and, when the module has one, an Arrow function (``Table ->
  Table``). A pandas frame gets ``pandas_fn``; a dask frame gets it per
  partition; a table gets ``arrow_fn`` (or ``pandas_fn`` through a conversion
  when there is none); a stream gets the same per batch, lazily;
* ``report_rows(source, result, report)``: call ``report(rows_in, rows_out)``
  when both counts are known: at once for eager kinds, when the stream ends
  for a stream, never for dask (counting would compute it);
* ``to_pandas`` / ``to_arrow``: the data materialized (a dask frame computed,
  a stream collected);
* ``work(ctx, fn, *args)``: run ``fn`` where it belongs (``args[0]`` is the
  frame): on the run's thread pool for eager kinds (real CPU work), unless
  the frame is small (``eager_work.py``), inline for lazy ones (building a
  graph or a stream stage is cheap).

``native`` tells which function form runs without a conversion (``pandas``
or ``arrow``), ``lazy`` whether rows are known only when a sink consumes the
data, ``partitioned`` whether the frame is split into partitions computed
apart (dask: a sink writes them a file each, then joins the files). A
module with an algorithm of its own per engine (a grouped aggregation, a
sort, a partitioned write) picks it by these facts, so a new kind that
shares them needs no change in the modules. Module-specific whole-input steps of the
Arrow kinds go through ``ArrowKind.blocking`` / ``StreamKind.blocking``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa

PandasFn = Callable[..., pd.DataFrame]
"""``fn(frame, *args) -> frame``: a row-local step on a pandas frame (or a dask partition)."""
ArrowFn = Callable[..., pa.Table]
"""``fn(table, *args) -> table``: the same step on an Arrow table (or one record batch of a stream)."""
RowsReport = Callable[[int, int], None]
"""``report(rows_in, rows_out)``."""
ReaderStep = Callable[[pa.RecordBatchReader], pa.Table]
"""``step(reader) -> table``: a whole-input Arrow step (a grouped aggregation, a sort) over a reader."""


class FrameKind(Protocol):
    """How modules handle one kind of frame (see the module docstring)."""

    name: str
    native: str
    lazy: bool
    partitioned: bool

    def owns(self, value: Any) -> bool:
        """True when ``value`` is a frame of this kind."""
        ...

    def columns(self, frame: Any) -> list[str]:
        """The column names, in order."""
        ...

    def rows(self, frame: Any) -> int | None:
        """The row count, or ``None`` when it is not known without reading the data."""
        ...

    def map_rows(self, frame: Any, pandas_fn: PandasFn, arrow_fn: ArrowFn | None, *args: Any) -> Any:
        """A frame of the same kind with a row-local step applied (see the module docstring)."""
        ...

    def report_rows(self, source: Any, result: Any, report: RowsReport) -> None:
        """Call ``report(rows_in, rows_out)`` once both counts are known (never for dask)."""
        ...

    def to_pandas(self, frame: Any) -> pd.DataFrame:
        """The whole frame as pandas (computes or collects a lazy frame)."""
        ...

    def to_arrow(self, frame: Any) -> pa.Table:
        """The whole frame as an Arrow table (computes or collects a lazy frame)."""
        ...

    def blocking(self, frame: Any, step: ReaderStep) -> Any:
        """A frame of the same kind holding ``step`` run over the whole of ``frame``.

        At once for a table (a pandas frame through a conversion); for a stream, a
        stage that runs it when first read. dask frames have no Arrow steps.
        """
        ...

    async def work(self, ctx: Any, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, on the run's thread pool for an eager kind, inline for a lazy one."""
        ...
