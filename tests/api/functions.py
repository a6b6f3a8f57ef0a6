"""Function modules the Python API tests use (importable as ``tests.api.functions.<name>``)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pandas as pd

import pypeline
from pypeline import RunContext
from pypeline.modules.sdk import atomic_output_path


@pypeline.module(outputs=["data"])
def numbers(count: int = 5) -> pd.DataFrame:
    """Rows n = 1..count."""
    return pd.DataFrame({"n": range(1, count + 1)})


@pypeline.module(inputs=["frame"], outputs=["frame"])
def scale(frame: pd.DataFrame, factor: int) -> pd.DataFrame:
    """n times factor (sync: called on the run's thread pool)."""
    return frame.assign(n=frame["n"] * factor)


@pypeline.module(inputs=["frame"], outputs=["frame"], globals=["total"])
async def shift(frame: pd.DataFrame, ctx: RunContext, offset: int = 0) -> pd.DataFrame:
    """n plus offset (async); sets the global 'total'."""
    await asyncio.sleep(0)
    shifted = frame.assign(n=frame["n"] + offset)
    ctx.set_global("total", int(shifted["n"].sum()))
    return shifted


@pypeline.module(inputs=["frame"], outputs=["low", "high"])
def split(frame: pd.DataFrame, at: int) -> dict[str, pd.DataFrame]:
    """Rows below ``at`` and the others."""
    return {"low": frame[frame["n"] < at], "high": frame[frame["n"] >= at]}


@pypeline.module(inputs=["frame"])
def collect(frame: pd.DataFrame, output_path: str, ctx: RunContext) -> None:
    """Write the frame as CSV (atomically)."""
    with atomic_output_path(output_path, ctx, folder=False) as temporary:
        frame.to_csv(temporary, index=False)
    ctx.record_file_written(output_path)


@pypeline.module()
def gate(marker: str) -> None:
    """Fail unless the marker file exists."""
    if not Path(marker).exists():
        raise FileNotFoundError(f"{marker} is missing")


@pypeline.module(inputs=["frame"], outputs=["frame"], globals=["pid"])
def where(frame: pd.DataFrame, ctx: RunContext) -> pd.DataFrame:
    """Record the id of the process this runs in (a far side's differs from the run's)."""
    ctx.set_global("pid", os.getpid())
    return frame


@pypeline.module(outputs=["files"], list_outputs=["files"])
def listing(folder: str) -> list[str]:
    """The sorted file names in ``folder`` (a list output: it can drive an iterate connection)."""
    return sorted(str(p) for p in Path(folder).iterdir())


@pypeline.module(inputs=["frame"], outputs=["frame", "rest"])
def wrong_ports(frame: pd.DataFrame) -> dict[str, Any]:
    """Returns a dict naming a port it does not have."""
    return {"frame": frame, "extra": 1}


def trakt_double(ctx: RunContext, input: pd.DataFrame, output: str) -> dict[str, Any]:
    """Trakt's step shape: declared by attributes, returns {output name: frame}."""
    assert output == "output"
    frame = input.copy()
    frame["n"] = frame["n"] * 2
    return {"output": frame}


trakt_double.declared_inputs = ["input"]  # type: ignore[attr-defined]
trakt_double.declared_outputs = ["output"]  # type: ignore[attr-defined]


def undeclared(frame: pd.DataFrame) -> pd.DataFrame:
    """A function that declares no ports."""
    return frame


@pypeline.module(inputs=["frame"], outputs=["frame"])
def positional_only(frame: pd.DataFrame, /) -> pd.DataFrame:
    """Its input cannot be passed by name."""
    return frame


@pypeline.module(inputs=["frame", "other"], outputs=["frame"])
def missing_parameter(frame: pd.DataFrame) -> pd.DataFrame:
    """Declares an input port no parameter receives."""
    return frame
