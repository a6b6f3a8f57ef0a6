"""Log lines for people: what ``pype run`` echoes to a terminal instead of JSON.

The log file (``runs/<id>/log.jsonl``) always gets JSON lines. What is echoed
to stderr depends on ``--log-format``:

========  =====================================================================
``auto``  human lines when stderr is a terminal, JSON lines otherwise (the default)
``human`` always human lines
``json``  always JSON lines (what a log collector reads)
========  =====================================================================

A human line is one line, whatever the event holds::

    20:05:57 error   adults  module_failed: condition 'agee > 18' failed: column 'agee' ... (attempt=1)

Its parts: the local time, the level, the node id (none for run-level lines),
the event and its ``error`` (the one-line cause), then the other fields as
``key=value``. A ``traceback`` field stays in the log file only: the line says
``(traceback in log.jsonl)`` instead, so a failing module never floods the
terminal with an escaped stack.

With human lines, the lowest level echoed is ``warning`` unless
``--log-level`` says otherwise: the progress display already shows each module
starting and finishing, which is what the ``info`` lines say.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

LOG_FORMATS = ("auto", "human", "json")
_OWN_FIELDS = frozenset({"timestamp", "level", "event", "run_id", "node_id", "error", "traceback", "module"})


def echo_format(log_format: str, stderr_is_terminal: bool) -> str:
    """``human`` or ``json``: what ``--log-format`` means for this stderr."""
    if log_format == "auto":
        return "human" if stderr_is_terminal else "json"
    return log_format


def echo_level(log_level: str | None, fmt: str) -> str:
    """The lowest level echoed: ``--log-level`` when given, else ``warning`` for human lines, ``info`` for JSON."""
    if log_level:
        return log_level
    return "warning" if fmt == "human" else "info"


def human_line(event: Mapping[str, Any]) -> str:
    """One readable line for a log event (see the module docstring)."""
    parts = [_clock(event.get("timestamp")), f"{event.get('level', 'info')!s:<7}"]
    node = event.get("node_id")
    if node and node != "-":
        parts.append(str(node))
    what = str(event.get("event", ""))
    if event.get("error") is not None:
        what += f": {_one_line(str(event['error']))}"
    parts.append(what)
    extras = [f"{key}={_value(event[key])}" for key in sorted(event) if key not in _OWN_FIELDS]
    if event.get("traceback"):
        extras.append("traceback in log.jsonl")
    line = " ".join(parts)
    return f"{line} ({', '.join(extras)})" if extras else line


def _clock(timestamp: Any) -> str:
    try:
        return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return datetime.now().strftime("%H:%M:%S")


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def _value(value: Any) -> str:
    if isinstance(value, str):
        text = _one_line(value)
        return text if text and " " not in text and "=" not in text else json.dumps(text, ensure_ascii=False)
    return _one_line(json.dumps(value, ensure_ascii=False, default=str, sort_keys=True))
