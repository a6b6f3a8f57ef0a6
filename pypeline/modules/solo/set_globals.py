"""``set_globals``: publish values (often templated) as this module's globals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class SetGlobals(BaseModule):
    """Set globals from its ``values`` config."""

    TYPE = "solo"
    DESCRIPTION = "Sets globals from a mapping of name -> value (templates allowed)"
    CATEGORY = "Utility"
    CONFIG_SCHEMA = {
        "required": {"values": {"type": "dict", "description": "Global name -> value"}},
        "optional": {},
    }

    @classmethod
    def declared_globals(cls, configs: Mapping[str, Any]) -> list[str] | None:
        values = configs.get("values")
        return sorted(values) if isinstance(values, dict) else None

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        for name, value in self.configs["values"].items():
            ctx.set_global(name, value)
        return {}
