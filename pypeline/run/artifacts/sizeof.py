"""Estimate how much data a port value holds, by type, without importing libraries eagerly.

The spill policy (``manager.py``) needs two figures per value: the rows it
holds *in memory* and their bytes. Both come from a small type dispatch:
an estimator is looked up by the value's class (walking its MRO); the
estimators for a library are registered the first time a value from that
library (its top-level package name) is seen, so pandas, dask and pyarrow
are never imported for a run that does not use them (Lambda cold starts).

What "in memory" means per kind:

* pandas DataFrame / Series: ``len`` and ``memory_usage`` (shallow; string
  columns are Arrow-backed in pandas 3, so shallow is close to real);
* pyarrow Table / RecordBatch: ``num_rows`` and ``nbytes``;
* dask DataFrame / Series: a dask frame is a lazy graph. It holds rows only
  where it was built from in-memory pandas partitions (``from_pandas``); we
  sum those leaves of its expression. A frame that reads files holds nothing
  until computed, so its estimate is 0 rows: counting its rows would force a
  full computation, which the spill policy must never do.
* anything else: unknown (``None``), never spilled.

Example::

    >>> estimate(pd.DataFrame({"a": [1, 2, 3]})).rows
    3
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SizeEstimate:
    """Rows and bytes a value holds in memory (``None`` when unknown)."""

    rows: int | None
    nbytes: int | None


UNKNOWN = SizeEstimate(None, None)
Estimator = Callable[[Any], SizeEstimate]


class SizeDispatch:
    """Type -> estimator table with per-library lazy registration (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_type: dict[type, Estimator] = {}
        self._lazy: dict[str, Callable[[SizeDispatch], None]] = {}

    def register(self, cls: type, fn: Estimator) -> None:
        """Use ``fn`` for ``cls`` and its subclasses."""
        with self._lock:
            self._by_type[cls] = fn

    def register_lazy(self, package: str, loader: Callable[[SizeDispatch], None]) -> None:
        """Call ``loader(self)`` the first time a value from top-level ``package`` is estimated."""
        with self._lock:
            self._lazy[package] = loader

    def __call__(self, obj: Any) -> SizeEstimate:
        fn = self._find(type(obj))
        if fn is None:
            return UNKNOWN
        try:
            return fn(obj)
        except Exception:  # an estimate must never fail a run
            return UNKNOWN

    def _find(self, cls: type) -> Estimator | None:
        for base in cls.__mro__:
            fn = self._by_type.get(base)
            if fn is not None:
                return fn
        package = cls.__module__.split(".", 1)[0]
        with self._lock:
            loader = self._lazy.pop(package, None)
        if loader is None:
            return None
        loader(self)
        return self._find(cls)


def _load_pandas(dispatch: SizeDispatch) -> None:
    import pandas as pd

    def frame(obj: Any) -> SizeEstimate:
        return SizeEstimate(len(obj), int(obj.memory_usage(index=True, deep=False).sum()))

    def series(obj: Any) -> SizeEstimate:
        return SizeEstimate(len(obj), int(obj.memory_usage(index=True, deep=False)))

    dispatch.register(pd.DataFrame, frame)
    dispatch.register(pd.Series, series)


def _load_pyarrow(dispatch: SizeDispatch) -> None:
    import pyarrow as pa

    def table(obj: Any) -> SizeEstimate:
        return SizeEstimate(obj.num_rows, obj.nbytes)

    dispatch.register(pa.Table, table)
    dispatch.register(pa.RecordBatch, table)


def _load_dask(dispatch: SizeDispatch) -> None:
    dd = importlib.import_module("dask.dataframe")

    def lazy_frame(obj: Any) -> SizeEstimate:
        expr = getattr(obj, "expr", None)
        if expr is None or not hasattr(expr, "walk"):
            return SizeEstimate(0, 0)
        rows = nbytes = 0
        seen: set[int] = set()
        for node in expr.walk():
            if type(node).__name__ != "FromPandas":
                continue
            held = getattr(node, "frame", None)
            held = getattr(held, "_data", held)  # dask keeps the pandas frame in a small wrapper
            if held is None or id(held) in seen:
                continue
            seen.add(id(held))
            size = estimate(held)
            rows += size.rows or 0
            nbytes += size.nbytes or 0
        return SizeEstimate(rows, nbytes)

    dispatch.register(dd.DataFrame, lazy_frame)
    dispatch.register(dd.Series, lazy_frame)


estimate = SizeDispatch()
"""Estimate a value's in-memory rows and bytes: ``estimate(obj) -> SizeEstimate``."""
estimate.register(list, lambda obj: SizeEstimate(len(obj), None))
estimate.register_lazy("pandas", _load_pandas)
estimate.register_lazy("pyarrow", _load_pyarrow)
estimate.register_lazy("dask", _load_dask)
