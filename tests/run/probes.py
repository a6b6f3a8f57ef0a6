"""Test-only modules that make the scheduler's behaviour observable.

Flows in the run tests name them by import path (``tests.run.probes.Probe``).

* :class:`Probe` (solo) appends ``start NAME`` / ``end NAME`` lines (plus
  ``teardown NAME``) to an events file, so a test reads back the real order
  in which modules started and ended. It can also wait for / set a named
  :class:`asyncio.Event` (to prove that two modules overlap without timing),
  sleep, set globals, fail for its first N attempts, or fail always.
* :class:`ProbeSource` (source) does the same and emits a list on ``items``
  (for iterate connections) and a frame on ``data``.
* :class:`ProbeMod` (transform) records and passes its input through.
* :class:`ProbeSink` (sink) records the rows it received.
* :class:`BadOutputs` returns what its ``kind`` config asks for (not a dict,
  an undeclared port).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pandas as pd

from pypeline.modules.sdk import BaseModule, RunContext

_EVENTS: dict[str, asyncio.Event] = {}
"""Named events shared by probes of one test (the test clears it)."""
_ATTEMPTS: dict[tuple[str, str], int] = {}
"""(events file, node id) -> attempts so far (the events file is per test, so keys never clash)."""


def named_event(name: str) -> asyncio.Event:
    """The event called ``name`` (created on first use)."""
    event = _EVENTS.get(name)
    if event is None:
        event = _EVENTS[name] = asyncio.Event()
    return event


def reset_events() -> None:
    """Forget every named event (call at the start of a test)."""
    _EVENTS.clear()
    _ATTEMPTS.clear()


def read_events(path: str | Path) -> list[str]:
    """The lines a run's probes wrote, in order."""
    file = Path(path)
    return file.read_text(encoding="utf-8").splitlines() if file.exists() else []


_PROBE_CONFIG: dict[str, dict[str, Any]] = {
    "log": {"type": "str", "default": "events.log", "description": "Events file"},
    "label": {"type": "str|null", "default": None, "description": "Name written in events (default: node id)"},
    "sleep": {"type": "number", "default": 0},
    "wait_for": {"type": "str|null", "default": None, "description": "Named event to wait for"},
    "set_event": {"type": "str|null", "default": None, "description": "Named event to set once started"},
    "globals": {"type": "dict", "default": {}, "description": "Globals to set"},
    "fail": {"type": "bool", "default": False},
    "fail_attempts": {"type": "int", "default": 0, "description": "Fail the first N attempts"},
    "fail_item": {"type": "any", "default": None, "description": "Fail in the iteration of this item"},
    "note": {"type": "any", "default": None, "description": "Any value; written to the events file"},
    "teardown_sleep": {"type": "number", "default": 0},
    "fail_setup": {"type": "bool", "default": False},
}


def _write(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


async def _probe(module: BaseModule, ctx: RunContext) -> None:
    c = module.configs
    label = c["label"] or ctx.node_id
    _write(c["log"], f"start {label}")
    if c["note"] is not None:
        _write(c["log"], f"note {label} {c['note']}")
    if c["set_event"]:
        named_event(c["set_event"]).set()
    if c["wait_for"]:
        await named_event(c["wait_for"]).wait()
    if c["sleep"]:
        await asyncio.sleep(c["sleep"])
    for key, value in c["globals"].items():
        ctx.set_global(key, value)
    key = (os.path.abspath(c["log"]), ctx.node_id)
    _ATTEMPTS[key] = attempt = _ATTEMPTS.get(key, 0) + 1
    failing_item = c["fail_item"] is not None and ctx.iter_item == c["fail_item"]
    if c["fail"] or attempt <= c["fail_attempts"] or failing_item:
        _write(c["log"], f"fail {label}")
        raise RuntimeError(f"{label} failed on purpose")
    _write(c["log"], f"end {label}")


async def _teardown(module: BaseModule, ctx: RunContext) -> None:
    c = module.configs
    if c["teardown_sleep"]:
        await asyncio.sleep(c["teardown_sleep"])
    _write(c["log"], f"teardown {c['label'] or ctx.node_id}")


class Probe(BaseModule):
    """A solo module that records what happens to it (see the module docstring)."""

    TYPE = "solo"
    CONFIG_SCHEMA = {"required": {}, "optional": dict(_PROBE_CONFIG)}

    @classmethod
    def declared_globals(cls, configs: Any) -> list[str] | None:
        return None

    async def setup(self, ctx: RunContext) -> None:
        if self.configs["fail_setup"]:
            _write(self.configs["log"], f"setup-failed {self.configs['label'] or ctx.node_id}")
            raise ConnectionError("setup could not connect")

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        await _probe(self, ctx)
        return {}

    async def teardown(self, ctx: RunContext) -> None:
        await _teardown(self, ctx)


class ProbeSource(BaseModule):
    """A source that records like :class:`Probe` and emits ``items`` (a list) and ``data`` (a frame)."""

    TYPE = "source"
    OUTPUT_PORTS = ["items", "data"]
    LIST_OUTPUTS = ["items"]
    CONFIG_SCHEMA = {
        "required": {},
        "optional": {**_PROBE_CONFIG, "items": {"type": "list", "default": []}},
    }

    @classmethod
    def declared_globals(cls, configs: Any) -> list[str] | None:
        return None

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        await _probe(self, ctx)
        items = list(self.configs["items"])
        return {"items": items, "data": pd.DataFrame({"item": [str(i) for i in items]}, dtype="string")}

    async def teardown(self, ctx: RunContext) -> None:
        await _teardown(self, ctx)


class ProbeSink(BaseModule):
    """A sink that records like :class:`Probe` and writes ``rows NAME N``."""

    TYPE = "sink"
    INPUT_PORTS = ["input"]
    CONFIG_SCHEMA = {"required": {}, "optional": dict(_PROBE_CONFIG)}

    @classmethod
    def declared_globals(cls, configs: Any) -> list[str] | None:
        return None

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        await _probe(self, ctx)
        _write(self.configs["log"], f"rows {self.configs['label'] or ctx.node_id} {len(inputs['input'])}")
        return {}

    async def teardown(self, ctx: RunContext) -> None:
        await _teardown(self, ctx)


class ProbeMod(BaseModule):
    """A transform that records like :class:`Probe` and passes ``input`` through to ``output``."""

    TYPE = "mod"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]
    CONFIG_SCHEMA = {"required": {}, "optional": dict(_PROBE_CONFIG)}

    @classmethod
    def declared_globals(cls, configs: Any) -> list[str] | None:
        return None

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        await _probe(self, ctx)
        return {"output": inputs["input"]}


class BadOutputs(BaseModule):
    """A source whose ``run`` returns a wrong shape on purpose."""

    TYPE = "source"
    OUTPUT_PORTS = ["data"]
    CONFIG_SCHEMA = {"required": {"kind": {"type": "str", "enum": ["not_a_dict", "unknown_port", "missing"]}},
                     "optional": {}}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> Any:
        kind = self.configs["kind"]
        if kind == "not_a_dict":
            return [1, 2, 3]
        if kind == "unknown_port":
            return {"data": pd.DataFrame({"a": [1]}), "extra": 1}
        return {}


class ContextProbe(BaseModule):
    """A solo module that writes what its RunContext offers (ids, iteration, thread pool) to a file."""

    TYPE = "solo"
    CONFIG_SCHEMA = {
        "required": {"log": {"type": "str"}},
        "optional": {
            "read_global": {"type": "list[str]|null", "default": None, "description": "[module, key]"},
            "read_status": {"type": "str|null", "default": None, "description": "A JSON file whose status to log"},
        },
    }

    @classmethod
    def declared_globals(cls, configs: Any) -> list[str] | None:
        return ["seen"]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        import threading

        if self.configs["read_global"]:
            module_id, key = self.configs["read_global"]
            value = ctx.get_global(module_id, key, "<unset>")
            ctx.set_global("seen", value)
            _write(self.configs["log"], f"{ctx.node_id} get_global({module_id}, {key}) = {value!r}")
        if self.configs["read_status"]:
            import json

            status = json.loads(Path(self.configs["read_status"]).read_text(encoding="utf-8"))["status"]
            _write(self.configs["log"], f"{ctx.node_id} status={status}")
        thread = await ctx.executor.run_in_thread(lambda: threading.current_thread().name)
        max_workers = ctx.executor.max_workers
        ctx.logger.info("context_probe", thread=thread)
        _write(
            self.configs["log"],
            f"{ctx.node_id} item={ctx.iter_item!r} index={ctx.iter_index!r} thread={thread} "
            f"max_workers={max_workers} pid={os.getpid()}",
        )
        return {}
