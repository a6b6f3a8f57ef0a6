"""Frames as plain Python records (for JSON files, SQL parameters and log lines)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pandas as pd


def plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of Python values: nulls (NaN, NA, NaT) become ``None``, numpy scalars Python ones."""
    if not len(frame):
        return []
    records: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return records


def json_default(value: Any) -> Any:
    """``json.dumps`` fallback: datetimes as ISO 8601, decimals as floats, other objects as text."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
