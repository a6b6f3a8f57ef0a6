"""Modules for the secret leak test (flows name them by import path).

* :class:`Leaky` (solo) pushes its ``value`` out through every channel module
  code has, in the encoded forms a secret takes in practice (``repr``, JSON,
  percent-encoding, base64 inside a larger blob, cut short): log fields and
  event names, span events, stats, a recorded file path, stdout, stderr, its
  globals, and its error message when ``fail`` is set.
* :class:`Proof` (solo) writes ``sha256`` of each of its ``values`` to a file,
  so a test can check a resumed run got the exact values without the values
  being written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from typing import Any
from urllib.parse import quote, quote_plus

from pypeline.modules.sdk import BaseModule, RunContext


def leak_forms(value: str) -> list[str]:
    """The value as module code and libraries typically write it."""
    data = value.encode("utf-8")
    return [
        value,
        repr(value),
        ascii(value),
        json.dumps(value),
        json.dumps({"v": value}, ensure_ascii=False),
        quote(value, safe=""),
        quote_plus(value),
        quote(value, safe=" +"),
        "Basic " + base64.b64encode(b"user:" + data).decode(),
        base64.urlsafe_b64encode(b"xy" + data + b"!").decode(),
        value[:12] + "...",
        repr(data),
    ]


def fingerprint(value: Any) -> str:
    """What :class:`Proof` writes for ``value``."""
    return hashlib.sha256(str(value).encode("utf-8")).hexdigest()


class Leaky(BaseModule):
    """Write ``value`` everywhere, in every form; fail with it when ``fail``."""

    TYPE = "solo"
    GLOBALS = ["wrapped", "b64"]
    CONFIG_SCHEMA = {
        "required": {"value": {"type": "any"}},
        "optional": {"fail": {"type": "bool", "default": True}},
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        value = str(self.configs["value"])
        forms = leak_forms(value)
        joined = " | ".join(forms)
        ctx.logger.info("leaky_forms", forms=forms, text=joined, configs=self.configs)
        ctx.logger.warning(f"event name holding {value!r}")
        ctx.emit_event("leaky", **{f"form{i}": form for i, form in enumerate(forms)})
        ctx.add_stat("forms", forms)
        ctx.record_file_read(f"/data/{value}/input.csv")
        print(f"stdout: {joined}", flush=True)
        print(f"stderr: {joined}", file=sys.stderr, flush=True)
        # a global a checkpoint can store as a reference, and one it cannot (an encoded secret)
        ctx.set_global("wrapped", f"<{value}>")
        ctx.set_global("b64", base64.b64encode(value.encode("utf-8")).decode())
        if self.configs["fail"]:
            raise RuntimeError(f"cannot connect: {joined}")
        return {}


class Proof(BaseModule):
    """Append ``name sha256(value)`` for each of ``values`` to ``out``."""

    TYPE = "solo"
    CONFIG_SCHEMA = {"required": {"values": {"type": "dict"}, "out": {"type": "str"}}, "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        os.makedirs(os.path.dirname(self.configs["out"]) or ".", exist_ok=True)
        with open(self.configs["out"], "a", encoding="utf-8") as fh:
            for name, value in sorted(self.configs["values"].items()):
                fh.write(f"{name} {fingerprint(value)}\n")
        return {}
