"""Test modules that push a secret everywhere a value can travel (flows name them by import path).

* :class:`Fingerprint` (solo) proves the module got the real value without
  writing it: it writes ``sha256(value)`` to a file and sets globals derived
  from it (``length``, ``fingerprint``) and the value itself (``value``).
* :class:`Chatty` (solo) logs its configs, a line built with the raw value,
  emits an event carrying it and prints its configs to stdout.
* :class:`Shout` (solo) raises an error whose message holds its configs and
  the raw value.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from pypeline.core.secret import is_secret
from pypeline.modules.sdk import BaseModule, RunContext


def fingerprint(value: str) -> str:
    """What :class:`Fingerprint` writes for ``value``."""
    return hashlib.sha256(str(value).encode("utf-8")).hexdigest()


class Fingerprint(BaseModule):
    """Write sha256 of ``value`` to ``out``; set ``length``, ``fingerprint`` and ``value`` globals."""

    TYPE = "solo"
    GLOBALS = ["length", "fingerprint", "value"]
    CONFIG_SCHEMA = {
        "required": {"value": {"type": "str"}, "out": {"type": "str"}},
        "optional": {"extra": {"type": "any", "default": None}},
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        value = self.configs["value"]
        os.makedirs(os.path.dirname(self.configs["out"]) or ".", exist_ok=True)
        with open(self.configs["out"], "a", encoding="utf-8") as fh:
            fh.write(f"{ctx.node_id} {fingerprint(value)}\n")
        ctx.set_global("length", len(value))
        ctx.set_global("fingerprint", fingerprint(value))
        ctx.set_global("value", value)
        return {}


class Chatty(BaseModule):
    """Log, print and emit the configs and the raw ``value``."""

    TYPE = "solo"
    CONFIG_SCHEMA = {"required": {"value": {"type": "any"}}, "optional": {"dsn": {"type": "any", "default": None}}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        value = self.configs["value"]
        ctx.logger.info("my_configs", configs=self.configs, plain=str(value), text=f"connecting with {value}")
        ctx.logger.warning(f"warning line with the value {value} inside the event name")
        ctx.emit_event("coerced_value", value=str(value), dsn=self.configs["dsn"])
        ctx.add_stat("raw", str(value))
        ctx.record_file_read(f"/data/{value}/input.csv")
        print("configs:", self.configs, flush=True)
        return {}


class Shout(BaseModule):
    """Fail with a message that prints the configs and the raw value."""

    TYPE = "solo"
    CONFIG_SCHEMA = {"required": {"value": {"type": "any"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        value = self.configs["value"]
        raise RuntimeError(f"cannot connect with {self.configs} (password {value}, again: {str(value)!r})")


class GlobalFingerprint(BaseModule):
    """A transform that fingerprints the global ``module__var`` named by ``read`` (for remote backends)."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    GLOBALS = ["fingerprint", "marked"]
    CONFIG_SCHEMA = {"required": {"read": {"type": "str"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        module, var = self.configs["read"].split("__", 1)
        value = ctx.get_global(module, var)
        ctx.set_global("fingerprint", fingerprint(value))
        ctx.set_global("marked", is_secret(value))
        return {"output": inputs["input"]}
