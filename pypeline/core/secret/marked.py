"""Secret values: a marked ``str`` and the per-run registry that redacts them.

The model
---------
A secret enters a run at exactly one place: the secret resolver (Vault,
``pypeline/secrets/``) returns it as a :class:`SecretStr`, a ``str`` subclass
that behaves like the plain value for module code (drivers, string
formatting, comparisons) but carries a *mark*:

* ``repr()`` of it is ``'***'``, so a config dict printed in an error message
  or a ``print(self.configs)`` never shows the value;
* :func:`mask` replaces every marked value inside a JSON-able structure by
  ``***``. :func:`pypeline.core.jsonio.canonical_json` applies it, so no JSON
  file PYpeline writes (manifest, checkpoint, build outputs) can hold a
  marked value;
* ``source`` remembers the reference it came from (``secret/app/db#password``)
  so that a global holding the unchanged secret can be sent to a remote
  backend as the reference, never as the value.

A template that embeds a secret in a longer string
(``"postgresql://app:{{vault.secret/db#pw}}@db/app"``) renders to a
:class:`SecretStr` too (without a ``source``): the whole string is secret.

Marks do not survive every transformation (``value.upper()`` or slicing give
a plain ``str``), and free text such as an exception message built with
``f"... {password}"`` has lost the mark. For those the resolver also feeds a
per-run :class:`SecretRegistry` with each value it hands out, and every exit
of the run (log lines, manifest, span attributes and events, checkpoint
files, progress lines, the CLI's stdout and stderr) redacts text through it
(:meth:`SecretRegistry.redact_text`): the value-based backstop. It finds the
raw value and its escaped, JSON, URL-encoded, base64 and truncated forms
(:mod:`pypeline.core.secret.forms` states the rule). Redaction follows what
was actually resolved in this run, never a guess about what looks like a
password.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from pypeline.core.secret.forms import SecretMatcher, secret_forms

MASK = "***"
"""What a secret value is replaced with."""


class SecretStr(str):
    """A string whose value is a secret (see the module docstring).

    Args:
        value: the secret text.
        source: the reference it was read from (``PATH#KEY``), or ``None``
            when the string only contains a secret.
    """

    source: str | None

    def __new__(cls, value: str, source: str | None = None) -> SecretStr:
        obj = super().__new__(cls, value)
        obj.source = source
        return obj

    def __repr__(self) -> str:
        return repr(MASK)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SecretStr, (str(self), self.source))


def is_secret(value: Any) -> bool:
    """True for a marked secret value."""
    return isinstance(value, SecretStr)


def mask(obj: Any) -> Any:
    """``obj`` with every :class:`SecretStr` (at any depth, keys included) replaced by ``***``.

    Returns ``obj`` itself when it holds no secret, so callers pay no copy.
    """
    if isinstance(obj, SecretStr):
        return MASK
    if isinstance(obj, dict):
        items = [(mask(k), mask(v)) for k, v in obj.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, obj.items(), strict=True)):
            return obj
        return dict(items)
    if isinstance(obj, (list, tuple)):
        values = [mask(v) for v in obj]
        if all(v is v0 for v, v0 in zip(values, obj, strict=True)):
            return obj
        return type(obj)(values) if isinstance(obj, list) else tuple(values)
    return obj


class SecretRegistry:
    """The secret values resolved in one run; redacts every form of them from structures and text.

    The forms and the matching rule are those of :mod:`pypeline.core.secret.forms`
    (raw, escaped, JSON, URL-encoded, base64 and runs of 8+ characters of any
    of them). The matcher is built once after a new value was added, on the
    next use; a registry that holds nothing costs one attribute test per call.

    A value added with its ``source`` (``secret/app/db#password``) can also be
    *referenced*: :meth:`split_sources` cuts text into literal pieces and the
    sources of the raw values it holds, which is how a checkpoint stores a value
    built from secrets without storing them (``pypeline/secrets/transport.py``).

    Thread-safe: the resolver adds values from worker threads while the log
    redacts lines from others.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[str, str | None] = {}
        self._forms: dict[str, set[str]] = {}
        self._matcher: SecretMatcher | None = None
        self._sourced_re: re.Pattern[str] | None = None
        self._stale = False

    def add(self, value: Any, source: str | None = None) -> None:
        """Remember ``value`` (its text form) as secret for the rest of the run.

        Args:
            value: the secret.
            source: the reference it was read from (``PATH#KEY``), when it is one secret whole.
        """
        text = str(value)
        if not text:
            return
        with self._lock:
            known = self._sources.get(text, _UNKNOWN)
            if known is _UNKNOWN:
                self._forms[text] = secret_forms(text)
                self._stale = True
            elif known is not None or source is None:
                return
            self._sources[text] = source
            self._sourced_re = None

    @property
    def count(self) -> int:
        """How many distinct values are registered."""
        return len(self._sources)

    def _current(self) -> SecretMatcher | None:
        if not self._stale:
            return self._matcher
        with self._lock:
            if self._stale:
                self._matcher = SecretMatcher(set().union(*self._forms.values()))
                self._stale = False
            return self._matcher

    def contains_secret(self, text: str) -> bool:
        """True when ``text`` holds any form of a registered value."""
        matcher = self._current()
        return matcher is not None and matcher.search(text)

    def redact_text(self, text: str) -> str:
        """``text`` with every form of every registered value replaced by ``***``."""
        matcher = self._current()
        return text if matcher is None else matcher.redact(text, MASK)

    def redact(self, obj: Any) -> Any:
        """A copy of ``obj`` safe to write: marked values masked, registered values cut from strings.

        Walks dicts (keys and values), lists and tuples; other objects are
        returned unchanged (serialisers turn them into text later, which the
        caller redacts with :meth:`redact_text`).
        """
        if isinstance(obj, SecretStr):
            return MASK
        if isinstance(obj, str):
            return self.redact_text(obj) if self._sources else obj
        if isinstance(obj, dict):
            return {self.redact(k): self.redact(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.redact(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.redact(v) for v in obj)
        return obj

    def split_sources(self, text: str) -> list[str | SecretSource]:
        """``text`` cut into literal pieces and the sources of the registered raw values it holds.

        Longer values are taken first. Only values added with a ``source``
        are cut out; whether a literal piece still holds some other form of a
        secret is for the caller to check (:meth:`contains_secret`).
        """
        pattern = self._sourced_re
        if pattern is None:
            with self._lock:
                sourced = sorted((v for v, s in self._sources.items() if s), key=lambda v: (-len(v), v))
                pattern = re.compile("|".join(map(re.escape, sourced))) if sourced else re.compile(r"(?!)")
                self._sourced_re = pattern
        pieces: list[str | SecretSource] = []
        last = 0
        for match in pattern.finditer(text):
            if match.start() > last:
                pieces.append(text[last : match.start()])
            pieces.append(SecretSource(str(self._sources[match.group(0)])))
            last = match.end()
        if last < len(text):
            pieces.append(text[last:])
        return pieces


class SecretSource(str):
    """The reference (``PATH#KEY``) of a secret inside :meth:`SecretRegistry.split_sources`'s result."""


_UNKNOWN: Any = object()
