"""A project module (Petal case 5): prefix every line with a timestamp.

Written the way a user writes one: a ``BaseModule`` subclass in the project's
``modules/`` folder. Register it, then use its name in a flow::

    pype register-module modules.timestamp_appender     # -> name 'timestamp_appender'
    pype build examples/custom_module/flow.yaml
    pype run jobs/custom_module
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class TimestampAppender(BaseModule):
    """Prefix the text of one column with the time the module ran."""

    TYPE = "mod"
    VERSION = "1.0.0"
    DESCRIPTION = "Prefixes each line with an ISO-8601 timestamp"
    CATEGORY = "Transforms"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["stamped_at"]
    CONFIG_SCHEMA = {
        "required": {},
        "optional": {
            "column": {"type": "str", "default": "line", "description": "Column to prefix"},
            "separator": {"type": "str", "default": " - ", "description": "Between timestamp and text"},
            "timestamp": {"type": "str|null", "default": None, "description": "Fixed timestamp (default: now, UTC)"},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        frame = inputs["input"].copy()
        column = self.configs["column"]
        stamp = self.configs["timestamp"] or datetime.now(UTC).isoformat(timespec="seconds")
        frame[column] = stamp + self.configs["separator"] + frame[column].astype("string")
        ctx.set_global("stamped_at", stamp)
        ctx.logger.info("stamped", rows=len(frame), timestamp=stamp)
        return {"output": frame}
