"""Test-only module that does not finish, in the ways a real module can get stuck.

``how`` says what it does for ever (or for long enough):

* ``python``: a busy loop in pure Python (gives up the GIL every switch interval);
* ``gil``: ``pow(9, 9**9)``, one C call that holds the GIL for minutes;
* ``regex``: a catastrophic backtrack in Python's ``re``, which holds the GIL too;
* ``sleep``: ``time.sleep``, blocking without the GIL.

``where`` says where: ``loop`` (inside ``async def run``, so on the event loop) or
``thread`` (through ``ctx.executor.run_in_thread``, on the run's thread pool).

``once`` names a marker file: when it exists the module does not stall, and it is
created before stalling, so a resumed run (or a retry) gets past the module. Either
way the module ends with one quick call on the thread pool (it needs a free worker). Every step is written
to the ``log`` file (``start ID``, ``stall ID``, ``end ID``, ``teardown ID``), flushed,
so a test sees where the run is without sleeping blindly.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from pypeline.modules.sdk import BaseModule, RunContext


def _write(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def stall(how: str, seconds: float) -> None:
    """Be busy in the way ``how`` says (see the module docstring)."""
    if how == "python":
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
    elif how == "gil":
        pow(9, 9**9)
    elif how == "regex":
        re.match(r"^(a|aa)+$", "a" * 60 + "!")
    elif how == "sleep":
        time.sleep(seconds)
    else:
        raise ValueError(f"unknown way to stall: {how}")


class Stall(BaseModule):
    """A solo module that gets stuck (see the module docstring)."""

    TYPE = "solo"
    DESCRIPTION = "test module that does not finish"
    GLOBALS = ["done"]
    CONFIG_SCHEMA = {
        "required": {"how": {"type": "str", "enum": ["python", "gil", "regex", "sleep"]}},
        "optional": {
            "where": {"type": "str", "default": "thread", "enum": ["loop", "thread"]},
            "seconds": {"type": "number", "default": 3600, "description": "for python and sleep"},
            "once": {"type": "str|null", "default": None, "description": "marker file: stall only without it"},
            "log": {"type": "str", "default": "events.log"},
        },
    }

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        c = self.configs
        _write(c["log"], f"start {ctx.node_id}")
        marker = c["once"]
        if marker is None or not os.path.exists(marker):
            if marker is not None:
                Path(marker).touch()
            _write(c["log"], f"stall {ctx.node_id}")
            if c["where"] == "loop":
                stall(c["how"], c["seconds"])
            else:
                await ctx.executor.run_in_thread(stall, c["how"], c["seconds"])
        await ctx.executor.run_in_thread(time.sleep, 0)  # a quick call that needs a free worker of the pool
        ctx.set_global("done", True)
        _write(c["log"], f"end {ctx.node_id}")
        return {}

    async def teardown(self, ctx: RunContext) -> None:
        _write(self.configs["log"], f"teardown {ctx.node_id}")


class RaisesTimeoutError(BaseModule):
    """A solo module that raises a ``TimeoutError`` of its own, as a socket would (not a module timeout)."""

    TYPE = "solo"
    DESCRIPTION = "test module that raises TimeoutError"

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        raise TimeoutError("the server did not answer")
