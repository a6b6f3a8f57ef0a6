"""``empty_source``: an empty frame, for no-op flows and tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pypeline.modules.frames import like_input, like_source
from pypeline.modules.kinds.convert import to_table
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.sdk.columns import Columns


class EmptySource(BaseModule):
    """Produce an empty frame with the given columns."""

    TYPE = "source"
    DESCRIPTION = "Produces an empty frame (optionally with named columns)"
    CATEGORY = "Utility"
    OUTPUT_PORTS = ["data"]
    GLOBALS = ["row_count"]
    ACCEPTS_ARROW = True
    STREAMS = True
    CONFIG_SCHEMA = {
        "required": {},
        "optional": {"columns": {"type": "list[str]", "default": [], "description": "Column names"}},
    }

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return {"data": Columns.of(configs["columns"])}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = pd.DataFrame({c: pd.Series([], dtype="string") for c in self.configs["columns"]})
        ctx.set_global("row_count", 0)
        if ctx.execution_mode in ("arrow", "stream"):
            return {"data": like_source(to_table(frame), ctx.execution_mode)}
        return {"data": like_input(frame, ctx.execution_mode)}
