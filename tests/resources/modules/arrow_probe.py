"""Test-only transforms that record the kind of frame they receive: one that declares ACCEPTS_ARROW, one that does not.

Each passes its input through and sets the global ``kind`` (``pandas``,
``pyarrow``, ``dask``, or ``pypeline`` for a stream).
"""

from __future__ import annotations

from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class PandasProbe(BaseModule):
    """Declares nothing: receives pandas frames in the Arrow modes."""

    TYPE = "mod"
    DESCRIPTION = "test probe"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["kind"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"]
        ctx.set_global("kind", type(frame).__module__.split(".", 1)[0])
        return {"output": frame}


class ArrowProbe(PandasProbe):
    """Declares ACCEPTS_ARROW: receives Arrow tables in arrow mode, as they come."""

    ACCEPTS_ARROW = True
