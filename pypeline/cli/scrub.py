"""The command's stdout and stderr pass through the run's secret redaction.

Each ``pype`` command runs with one :class:`~pypeline.core.secret.SecretRegistry`
(:func:`command_secrets`); ``pype run`` hands it to the run, whose secret
resolver fills it. While the command runs, ``sys.stdout`` and ``sys.stderr``
are :class:`ScrubbedStream` wrappers that redact every form of every
registered secret from what is written: the CLI's own lines and error
messages, the ``--debug`` traceback (whose chained exceptions may quote a
value), progress lines, warnings, and what module code or a library prints.
This is the last exit of the value-based backstop
(``pypeline/core/secret.py``); the run's files are redacted where they are
written.

A wrapper holds back a partial line until its newline (or a ``flush``), so a
secret written in two pieces of one line is still found. While the registry
is empty (every command but a run that resolved a secret) text passes
straight through.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from pypeline.core.secret import SecretRegistry

_COMMAND_SECRETS: contextvars.ContextVar[SecretRegistry | None] = contextvars.ContextVar(
    "pypeline_command_secrets", default=None
)


def command_secrets() -> SecretRegistry | None:
    """The registry of the command running now (``None`` outside :func:`scrubbed_output`)."""
    return _COMMAND_SECRETS.get()


class ScrubbedStream(io.TextIOBase):
    """A text stream that redacts registered secrets from each line before passing it on."""

    def __init__(self, inner: TextIO, secrets: SecretRegistry) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = secrets
        self._pending = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.inner, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(self.inner.isatty())

    def fileno(self) -> int:
        return self.inner.fileno()

    def write(self, text: str) -> int:
        if not self.secrets.count and not self._pending:
            self.inner.write(text)
            return len(text)
        with self._lock:
            self._pending += text
            cut = self._pending.rfind("\n") + 1
            if cut:
                ready, self._pending = self._pending[:cut], self._pending[cut:]
                self.inner.write(self.secrets.redact_text(ready))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.inner.write(self.secrets.redact_text(self._pending))
                self._pending = ""
        self.inner.flush()

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # writing bytes would bypass the redaction
            raise AttributeError(name)
        return getattr(self.inner, name)


@contextlib.contextmanager
def scrubbed_output() -> Iterator[SecretRegistry]:
    """Run a command with its own registry and redacted ``sys.stdout`` / ``sys.stderr``."""
    secrets = SecretRegistry()
    token = _COMMAND_SECRETS.set(secrets)
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ScrubbedStream(out, secrets), ScrubbedStream(err, secrets)
    try:
        yield secrets
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stdout, sys.stderr = out, err
        _COMMAND_SECRETS.reset(token)
