"""Plain functions as modules: the ports are declared, configs are the other parameters.

``pype run`` imports them by their path (``examples.python_api.steps.add_tax``),
so they live at the top level of an importable module, not in the script
that builds the flow.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd

import pypeline
from pypeline import RunContext
from pypeline.modules.sdk import atomic_output_path


@pypeline.module(outputs=["orders"])
def read_orders(path: str) -> pd.DataFrame:
    """Read an orders CSV (a source: no inputs)."""
    return pd.read_csv(path)


@pypeline.module(inputs=["orders"], outputs=["orders"])
def add_tax(orders: pd.DataFrame, rate: float = 0.2) -> pd.DataFrame:
    """Add a ``gross`` column (a transform, run on the run's thread pool)."""
    return orders.assign(gross=(orders["amount"] * (1 + rate)).round(2))


@pypeline.module(inputs=["orders"], outputs=["big", "small"], globals=["big_count"])
async def split_big(orders: pd.DataFrame, ctx: RunContext, threshold: float = 100.0) -> dict[str, pd.DataFrame]:
    """Split orders at ``threshold`` (an ``async def``: awaited on the run's event loop)."""
    await asyncio.sleep(0)
    big = orders[orders["gross"] >= threshold]
    ctx.set_global("big_count", len(big))
    return {"big": big, "small": orders[orders["gross"] < threshold]}


@pypeline.module(inputs=["frame"])
def write_csv(frame: pd.DataFrame, output_path: str, ctx: RunContext) -> None:
    """Write a frame as CSV: under a temporary name first, renamed when complete (a sink)."""
    with atomic_output_path(output_path, ctx, folder=False) as temporary:
        frame.to_csv(temporary, index=False)
    ctx.record_file_written(output_path)


@pypeline.module()
def require_file(path: str) -> None:
    """Fail unless ``path`` exists (a solo module: no ports), e.g. a sign-off before the next step."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} is missing: create it to go on")
