"""``noop_mod``: pass the input through unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pypeline.modules.common.column_rules import same_columns
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.sdk.columns import Columns


class NoopMod(BaseModule):
    """Identity transform (Petal case 1, tests, placeholders)."""

    TYPE = "mod"
    DESCRIPTION = "Passes its input through unchanged"
    CATEGORY = "Utility"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    ACCEPTS_ARROW = True
    STREAMS = True

    @classmethod
    def output_columns(
        cls, configs: Mapping[str, Any], inputs: Mapping[str, Columns | None]
    ) -> dict[str, Columns | None]:
        return same_columns(inputs)

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"output": inputs["input"]}
