"""``aggregate_mod``'s pandas form: a grouped aggregation of one pandas frame (or one dask partition).

A file of its own so that the module and its Arrow form (:mod:`.aggregate_arrow`,
which falls back to this for ``median``) do not import each other.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def _series_agg(series: pd.Series, function: str) -> Any:
    if function in ("first", "last"):
        present = series.dropna()
        if not len(present):
            return None
        return present.iloc[0] if function == "first" else present.iloc[-1]
    return getattr(series, function)()


def aggregate(
    frame: pd.DataFrame, group_by: list[str], specs: dict[str, tuple[str, str | None]], sort: bool
) -> pd.DataFrame:
    """The aggregated frame: the group columns, then one column per aggregation in order."""
    if not group_by:
        values = {}
        for name, (function, column) in specs.items():
            values[name] = [len(frame) if function == "size" else _series_agg(frame[column], function)]
        return pd.DataFrame(values)
    named = {}
    for name, (function, column) in specs.items():
        named[name] = (group_by[0], "size") if function == "size" else (column, function)
    grouped = frame.groupby(group_by, sort=sort, dropna=False).agg(**named)
    return grouped.reset_index()
