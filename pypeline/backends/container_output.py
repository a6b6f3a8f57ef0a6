"""A container's stdout and stderr, line by line, into the run's log as the module runs.

The far side writes its log lines as JSON objects on stderr
(:class:`pypeline.backends.remote_far_side.FarLogger`); each one is replayed
into the module's logger as itself (``remote: true``). Anything else, a
``print``, a warning, a traceback, or the engine's own complaint (``Error:
... image not known``), becomes a ``container_output`` line with the stream
it came from. The module's logger is bound to its node id, so every line is
tagged with it. The last lines of plain stderr are kept for the error
message of a container that ended without a result.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Callable
from typing import Any

MAX_LINE = 16_000
"""Characters kept of one line (a longer line is cut and says so)."""
MAX_LINES = 10_000
"""Lines logged per attempt and stream; the rest is counted, not logged."""
TAIL_LINES = 8


class OutputPump:
    """Reads a container's output streams into ``logger`` (see the module docstring).

    Args:
        logger: the module's (structlog-like) logger.
        replay: logs one far-side JSON log line (a dict with ``level`` and ``event``).
    """

    def __init__(self, logger: Any, replay: Callable[[dict[str, Any]], None]) -> None:
        self._logger = logger
        self._replay = replay
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)

    def tail_text(self) -> str:
        """The last plain lines the container wrote on stderr, joined (``""`` when none)."""
        return " | ".join(self._tail)

    async def drain(self, stream: asyncio.StreamReader, name: str) -> None:
        """Log every line of ``stream`` until it ends."""
        pending = b""
        logged = dropped = 0
        while True:
            chunk = await stream.read(65_536)
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop() if chunk else b""
            for raw in lines:
                if not raw.strip():
                    continue
                if logged < MAX_LINES:
                    self._line(raw.decode("utf-8", "replace").rstrip("\r"), name)
                    logged += 1
                else:
                    dropped += 1
            if len(pending) > MAX_LINE * 4:  # a line without end: log what came so far
                self._line(pending.decode("utf-8", "replace"), name)
                pending = b""
            if not chunk:
                break
        if dropped:
            self._logger.warning("container_output_truncated", stream=name, lines_not_logged=dropped)

    def _line(self, text: str, stream: str) -> None:
        if len(text) > MAX_LINE:
            text = text[:MAX_LINE] + f"... ({len(text) - MAX_LINE} more characters)"
        if stream == "stderr" and text.startswith("{"):
            try:
                doc = json.loads(text)
            except ValueError:
                doc = None
            if isinstance(doc, dict) and "event" in doc and "level" in doc:
                self._replay(doc)
                return
        if stream == "stderr":
            self._tail.append(text)
        self._logger.info("container_output", stream=stream, line=text)
