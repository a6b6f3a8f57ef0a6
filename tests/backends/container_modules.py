"""Modules the container backend tests run in containers.

:class:`ToRoman` needs the PyPI package ``roman``, which the test
environment does not have: it imports it inside ``run``, so the module file
still imports here (the build and the run read its ``CONFIG_SCHEMA``) while
only an image that carries ``roman`` can run it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


class ToRoman(BaseModule):
    """Adds a ``roman`` column: ``value`` in Roman numerals (with the ``roman`` package)."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    PACKAGES = ["roman"]
    CONFIG_SCHEMA = {"required": {}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        import roman

        frame = inputs["input"].copy()
        frame["roman"] = [roman.toRoman(int(v)) for v in frame["value"]]
        ctx.logger.info("romanised", rows=len(frame), roman_version=getattr(roman, "__version__", "?"))
        return {"output": frame}


class SlowSecretive(BaseModule):
    """Holds its ``password`` for ``pause`` seconds (time to look at the container), then reports its length."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {"required": {"password": {"type": "str"}}, "optional": {"pause": {"type": "number", "default": 3}}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        await asyncio.sleep(self.configs["pause"])
        ctx.set_global("password_length", len(self.configs["password"]))
        return {"output": inputs["input"]}
