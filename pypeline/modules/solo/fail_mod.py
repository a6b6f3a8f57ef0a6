"""``fail_mod``: raise an error, to exercise failure paths (retries, halt, resume)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class FailMod(BaseModule):
    """Fail on purpose, optionally only until a flag file exists or for the first N attempts."""

    TYPE = "solo"
    DESCRIPTION = "Raises an error (for testing failure paths); can pass once a flag file exists"
    CATEGORY = "Utility"
    GLOBALS = ["passed"]
    CONFIG_SCHEMA = {
        "required": {},
        "optional": {
            "message": {"type": "str", "default": "fail_mod failed on purpose", "description": "The error message"},
            "unless_file_exists": {"type": "str|null", "default": None, "description": "Pass when this file exists"},
            "fail_attempts": {"type": "int|null", "default": None, "description": "Fail only the first N attempts"},
            "counter_file": {"type": "str|null", "default": None, "description": "File counting attempts"},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        c = self.configs
        if c["unless_file_exists"] and os.path.exists(c["unless_file_exists"]):
            ctx.set_global("passed", True)
            return {}
        if c["fail_attempts"] is not None:
            counter = c["counter_file"]
            if not counter:
                raise ValueError("fail_attempts needs counter_file")
            seen = int(Path(counter).read_text() or 0) if os.path.exists(counter) else 0
            Path(counter).parent.mkdir(parents=True, exist_ok=True)
            Path(counter).write_text(str(seen + 1))
            if seen >= c["fail_attempts"]:
                ctx.set_global("passed", True)
                return {}
        raise RuntimeError(c["message"])
