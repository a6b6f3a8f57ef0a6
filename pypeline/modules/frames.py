"""Helpers built-in modules share to treat pandas and dask frames alike.

In ``execution_mode: pandas`` ports carry :class:`pandas.DataFrame`; in
``execution_mode: dask`` they carry :class:`dask.dataframe.DataFrame`. Most
pandas methods exist on dask frames too; the few differences live here.
dask is imported lazily so that pandas-only runs (and Lambda cold starts)
never pay for it.
"""

from __future__ import annotations

import glob as globlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pypeline.core.text import relative_note
from pypeline.modules.sdk.errors import DataError
from pypeline.modules.storage import MARKER, MissingStorageError, expand_url, is_url, local_path


class MissingInputError(DataError, FileNotFoundError):
    """No file matches a module's input path, folder or glob."""


def is_dask(frame: Any) -> bool:
    """True for a dask DataFrame or Series (without importing dask)."""
    return type(frame).__module__.startswith("dask")


def row_count(frame: Any) -> int:
    """Number of rows; for a dask frame this computes the partition lengths."""
    if is_dask(frame):
        return int(frame.map_partitions(len).sum().compute())
    return len(frame)


def to_dask(frame: pd.DataFrame, rows_per_partition: int = 1_000_000) -> Any:
    """A pandas frame as a dask frame with partitions of at most ``rows_per_partition`` rows."""
    import dask.dataframe as dd

    partitions = max(1, -(-len(frame) // rows_per_partition))
    return dd.from_pandas(frame, npartitions=partitions)


def expand_paths(pattern: str, storage_options: Mapping[str, Any] | None = None) -> list[str]:
    """Files matching a path, folder or glob, sorted; a folder yields its regular files.

    Hidden files of a folder and the ownership marker of a sink's output folder
    (``_PYPELINE``, see ``sdk/ownership.py``) are no data: they are left out.
    A URL (``s3://bucket/in/*.csv``, docs/storage.md) gives the same on its store,
    as :class:`~pypeline.modules.storage.StoragePath` objects (open them with
    :func:`~pypeline.modules.storage.open_input`), reached with ``storage_options``.

    Raises:
        MissingInputError: when nothing matches (a ``FileNotFoundError`` too).
        StorageError: a URL's store cannot be reached (one line naming the URL).
    """
    if is_url(pattern):
        try:
            return list(expand_url(pattern, storage_options))
        except MissingStorageError as exc:
            raise MissingInputError(exc.format_message()) from None
    pattern = local_path(pattern)
    path = Path(pattern)
    if any(ch in pattern for ch in "*?["):
        matches = sorted(
            p for p in globlib.glob(pattern, recursive=True) if os.path.isfile(p) and os.path.basename(p) != MARKER
        )
    elif path.is_dir():
        matches = sorted(
            str(p) for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and p.name != MARKER
        )
    elif path.is_file():
        matches = [pattern]
    else:
        matches = []
    if not matches:
        if path.is_dir():
            raise MissingInputError(f"folder '{pattern}' holds no files (expected the input files in it)")
        raise MissingInputError(f"no file matches '{pattern}'{relative_note(pattern)}")
    return matches


def compute(*values: Any) -> tuple[Any, ...]:
    """Values with every lazy dask object computed in one pass (others returned as they are).

    Modules gather their figures (row counts, rows dropped, ...) and compute
    them together, so dask reads the upstream data once for all of them.
    """
    lazy = [i for i, v in enumerate(values) if is_dask(v)]
    out = list(values)
    if lazy:
        from dask.base import compute as dask_compute

        results = dask_compute(*(values[i] for i in lazy))
        for index, result in zip(lazy, results, strict=True):
            out[index] = result
    # numpy scalars become Python numbers: globals and stats must serialise as JSON
    return tuple(v.item() if isinstance(v, np.generic) else v for v in out)


def lazy_len(frame: Any) -> Any:
    """``len(frame)`` for pandas; a lazy row count for dask (see :func:`compute`)."""
    if is_dask(frame):
        return frame.map_partitions(len).sum()
    return len(frame)


def map_frame(frame: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Apply ``fn(pandas_frame, *args, **kwargs) -> pandas_frame`` to a frame of either kind.

    For dask, ``fn`` runs per partition; the result's columns and dtypes come
    from running ``fn`` on the empty meta frame, so ``fn`` must accept an empty frame.
    """
    if not is_dask(frame):
        return fn(frame, *args, **kwargs)
    meta = fn(frame._meta, *args, **kwargs)
    return frame.map_partitions(fn, *args, meta=meta, **kwargs)


INLINE_CELLS = 50_000
"""Frames of at most this many cells (rows x columns) are worked on inline, on the event loop."""


async def frame_work(ctx: Any, frame: Any, fn: Any, *args: Any) -> Any:
    """``fn(*args)``: on the run's thread pool for a large eager frame, inline for a small one or dask.

    Work on a large frame is real CPU work: run on the event loop, it would stall
    every other module of the run (the sibling branch of a fan-out waits instead of
    running on the second core). On a small frame (:data:`INLINE_CELLS`) the work
    takes microseconds to a millisecond, less than handing it to a thread and back
    (a queue, a wake-up, the interpreter lock changing hands twice), so it runs
    inline. Building a dask graph is cheap and stays on the loop.
    """
    if is_dask(frame) or _cells(frame) <= INLINE_CELLS:
        return fn(*args)
    return await ctx.executor.run_in_thread(fn, *args)


def _cells(frame: Any) -> float:
    """Rows x columns of a pandas frame or series, an Arrow table or batch; infinite when unknown."""
    shape = getattr(frame, "shape", None)
    if not isinstance(shape, tuple) or not shape or not all(type(n) is int for n in shape):
        return float("inf")
    cells = 1
    for n in shape:
        cells *= n
    return cells


def like_input(frame: pd.DataFrame, execution_mode: str) -> Any:
    """A pandas frame as the kind the mode passes between modules."""
    return to_dask(frame) if execution_mode == "dask" else frame


ORDER_COLUMNS = ("__pype_part", "__pype_row")
"""Columns :func:`tag_input_order` adds to remember the input order across a dask shuffle."""


def _tag(part: pd.DataFrame, partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    number = (partition_info or {}).get("number", 0)
    return part.assign(**{ORDER_COLUMNS[0]: number, ORDER_COLUMNS[1]: np.arange(len(part), dtype="int64")})


def tag_input_order(frame: Any) -> Any:
    """A dask frame with two columns holding each row's input position (partition, row)."""
    meta = frame._meta.assign(
        **{ORDER_COLUMNS[0]: np.array([], dtype="int64"), ORDER_COLUMNS[1]: np.array([], dtype="int64")}
    )
    return frame.map_partitions(_tag, meta=meta)


def in_input_order(part: pd.DataFrame) -> pd.DataFrame:
    """A partition of a :func:`tag_input_order` frame sorted back into input order, tags kept."""
    return part.sort_values(list(ORDER_COLUMNS), kind="stable")
