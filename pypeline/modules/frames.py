"""Helpers built-in modules share to treat every kind of frame alike.

The kinds (pandas, dask, Arrow tables, Arrow streams) and the interface
modules use on them live in :mod:`pypeline.modules.kinds`; the helpers here
are the older names, kept as thin calls into it, and the file helpers every
source uses. dask is imported lazily so that runs in other modes (and Lambda
cold starts) never pay for it.
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
from pypeline.modules.kinds import DASK, is_stream, kind_of
from pypeline.modules.sdk.errors import DataError
from pypeline.modules.storage import MARKER, MissingStorageError, expand_url, is_url, local_path


class MissingInputError(DataError, FileNotFoundError):
    """No file matches a module's input path, folder or glob."""


def is_dask(frame: Any) -> bool:
    """True for a dask DataFrame or Series (without importing dask)."""
    return DASK.owns(frame)


def row_count(frame: Any) -> int:
    """Number of rows; a dask frame computes its partition lengths, a stream is read to its end (blocking)."""
    if is_dask(frame):
        return int(frame.map_partitions(len).sum().compute())
    if is_stream(frame):
        return sum(batch.num_rows for batch in frame)
    rows = kind_of(frame).rows(frame)
    return int(rows or 0)


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


def map_frame(frame: Any, fn: Any, *args: Any) -> Any:
    """Apply ``fn(pandas_frame, *args) -> pandas_frame`` to a frame of any kind (``FrameKind.map_rows``).

    For dask, ``fn`` runs per partition; the result's columns and dtypes come
    from running ``fn`` on the empty meta frame, so ``fn`` must accept an empty frame.
    An Arrow table (or each batch of a stream) goes through pandas and back.
    """
    return kind_of(frame).map_rows(frame, fn, None, *args)


def like_input(frame: pd.DataFrame, execution_mode: str) -> Any:
    """A pandas frame as the kind the mode passes between modules (pandas still in the Arrow modes)."""
    return to_dask(frame) if execution_mode == "dask" else frame


def like_source(table: Any, execution_mode: str) -> Any:
    """An Arrow table as the kind the mode's sources produce: pandas, dask, the table, or a stream over it."""
    from pypeline.modules.kinds import BatchStream
    from pypeline.modules.kinds.convert import to_pandas

    if execution_mode == "stream":
        return BatchStream.from_table(table)
    if execution_mode == "arrow":
        return table
    return like_input(to_pandas(table), execution_mode)


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
