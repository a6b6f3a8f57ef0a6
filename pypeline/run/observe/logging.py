"""Structured JSON logs for a run: every line to ``log.jsonl``, INFO and up to stderr.

The echo to stderr may be human lines instead (``echo_formatter``, see
:mod:`pypeline.run.observe.console_log`); the file always gets JSON.

Each line is one JSON object with ``timestamp``, ``level``, ``event``,
``run_id`` and ``node_id`` (``-`` for run-level lines) plus the event's own
fields. Loggers are built with :func:`structlog.wrap_logger`, never by
configuring structlog globally, so two runs in one process (tests) do not mix.

Secrets never reach a line: the event's fields are redacted as data first
(secret-marked values become ``***``, registered secret values are cut out of
strings), then the JSON text is redacted again for values that only appear
through ``str()`` of some object. The registry is the run's
:class:`~pypeline.core.secret.SecretRegistry`, which the secret resolver fills.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog

from pypeline.core.jsonio import json_line
from pypeline.core.secret import SecretRegistry
from pypeline.run.observe.logfile import LogFile

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_WARNING = LEVELS["warning"]


_SECOND: list[Any] = [-1, ""]
"""The last whole second :func:`_timestamp` formatted, and its text (formatting is the slow part)."""


def _timestamp(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``timestamp``: ISO 8601 in UTC with microseconds (``2026-11-23T10:10:10.123456Z``)."""
    now = time.time()
    second = int(now)
    cached = _SECOND
    if cached[0] != second:
        cached[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        cached[0] = second
    event_dict["timestamp"] = f"{cached[1]}.{int((now - second) * 1_000_000):06d}Z"
    return event_dict


def _exc_info(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog's ``format_exc_info``, called only for a line that carries ``exc_info``."""
    if "exc_info" in event_dict:
        return structlog.processors.format_exc_info(logger, method, event_dict)
    return event_dict


class _Null:
    """The logger structlog hands the finished line to: the line is already written."""

    def msg(self, *args: Any, **kwargs: Any) -> None:
        """Do nothing."""

    debug = info = warning = warn = error = critical = exception = fatal = failure = err = msg


class _BoundOnUse:
    """A logger bound to ``fields``, made when it is first used: ``ctx.logger.info(...)`` and the like.

    Binding a structlog logger (a new logger, a copy of its context) is the costly
    part of a logger handed to every module attempt, and most modules never log.
    """

    __slots__ = ("_fields", "_log", "_logger")

    def __init__(self, log: RunLog, fields: dict[str, Any]) -> None:
        self._log = log
        self._fields = fields
        self._logger: Any = None

    def __getattr__(self, name: str) -> Any:
        logger = self._logger
        if logger is None:
            logger = self._logger = self._log._bound(**self._fields)
        return getattr(logger, name)


class RunLog:
    """Owns the log file of a run and makes bound loggers that write to it."""

    def __init__(
        self,
        run_id: str,
        path: Path | None,
        *,
        echo: TextIO | None = sys.stderr,
        echo_level: str = "info",
        echo_fn: Callable[[str], None] | None = None,
        secrets: SecretRegistry | None = None,
        echo_formatter: Callable[[Mapping[str, Any]], str] | None = None,
    ) -> None:
        self.run_id = run_id
        self.path = path
        # Written in batches (logfile.py): a live reader sees a line within FLUSH_INTERVAL, warnings
        # and errors at once; the run flushes at the end of each sub flow instance and when it ends.
        self._file = LogFile(path) if path is not None else None
        self._echo = echo
        self._echo_fn = echo_fn
        self._echo_level = LEVELS.get(echo_level, 20)
        self._echo_formatter = echo_formatter
        self._lock = threading.Lock()
        self.secrets = secrets if secrets is not None else SecretRegistry()
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._base: Any = None

    def redact(self, text: str) -> str:
        """``text`` with every registered secret value replaced by ``***``."""
        return self.secrets.redact_text(text)

    def _write(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
        level = method if method in LEVELS else "info"
        if method == "exception":
            level = "error"
        event_dict.setdefault("run_id", self.run_id)
        event_dict.setdefault("node_id", "-")
        event_dict["level"] = level
        if self.secrets.count:
            # Every marked value of a run is registered when it is resolved (or is already ***),
            # so a run without registered secrets has nothing to redact: skip the walk.
            event_dict = self.secrets.redact(event_dict)
        line = json_line(event_dict)
        if self.secrets.count:
            line = self.redact(line)
        if self._file is not None:
            self._file.write(line, urgent=LEVELS[level] >= _WARNING)
        if (self._echo is not None or self._echo_fn is not None) and LEVELS[level] >= self._echo_level:
            with self._lock:
                shown = line if self._echo_formatter is None else self.redact(self._echo_formatter(event_dict))
                if self._echo_fn is not None:
                    self._echo_fn(shown)
                elif self._echo is not None:
                    self._echo.write(shown + "\n")
                    self._echo.flush()
        if self.listeners:
            seen = json.loads(line)  # what was written: redacted, plain JSON data
            for listener in self.listeners:
                listener(seen)
        return line  # to _Null, which drops it (cheaper than raising DropEvent for every line)

    def line(self, level: str, event: str, /, **fields: Any) -> None:
        """Write one line as a logger bound to ``fields`` would, without building that logger.

        For the engine's own per-node lines (``module_finished``, ``module_retry``): a
        bound structlog logger per node costs a bind, a context copy and three processor
        calls per line, which a run of thousands of small modules pays thousands of times.
        The line is the same: ``run_id``, the fields, ``event``, ``timestamp``, ``level``.
        """
        event_dict: dict[str, Any] = {"run_id": self.run_id, **fields, "event": event}
        self._write(None, level, _timestamp(None, level, event_dict))

    def logger(self, **bound: Any) -> Any:
        """A structlog logger bound to ``run_id`` and ``bound`` (e.g. ``node_id``).

        With ``bound`` fields it is bound on its first use (:class:`_BoundOnUse`): the
        run gives every module attempt a logger, and most modules never log.
        """
        return _BoundOnUse(self, bound) if bound else self._bound()

    def _bound(self, **bound: Any) -> Any:
        """The run's structlog logger, bound to ``bound`` when given."""
        if self._base is None:
            # Built once per run, bound per use: binding a finished logger costs a copy of its
            # context, building one (processor chain, wrapper class) much more.
            self._base = structlog.wrap_logger(
                _Null(),
                processors=[
                    _timestamp,
                    _exc_info,
                    self._write,
                ],
                wrapper_class=structlog.make_filtering_bound_logger(10),
                cache_logger_on_first_use=False,
            ).bind(run_id=self.run_id)
        return self._base.bind(**bound) if bound else self._base

    def flush(self) -> None:
        """Write every line logged so far to the log file."""
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Write what waits and close the log file."""
        if self._file is not None:
            self._file.close()
