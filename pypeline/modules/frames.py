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
from pathlib import Path
from typing import Any

import pandas as pd


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


def expand_paths(pattern: str) -> list[str]:
    """Files matching a path, folder or glob, sorted; a folder yields its regular files.

    Raises:
        FileNotFoundError: when nothing matches.
    """
    path = Path(pattern)
    if any(ch in pattern for ch in "*?["):
        matches = sorted(p for p in globlib.glob(pattern, recursive=True) if os.path.isfile(p))
    elif path.is_dir():
        matches = sorted(str(p) for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    elif path.is_file():
        matches = [pattern]
    else:
        matches = []
    if not matches:
        raise FileNotFoundError(f"no file matches '{pattern}'")
    return matches
