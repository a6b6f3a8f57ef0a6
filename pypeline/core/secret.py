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
per-run :class:`SecretRegistry` with each value it hands out, and the run
redacts free text through it (:meth:`SecretRegistry.redact_text`): log
lines, exception messages, span attributes, manifest errors. Redaction
follows what was actually resolved in this run, never a guess about what
looks like a password.
"""

from __future__ import annotations

import threading
from typing import Any

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
    """The secret values resolved in one run; redacts them from structures and text.

    Thread-safe: the resolver adds values from worker threads while the log
    redacts lines from others.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._ordered: tuple[str, ...] = ()

    def add(self, value: Any) -> None:
        """Remember ``value`` (its text form) as secret for the rest of the run."""
        text = str(value)
        if not text:
            return
        with self._lock:
            if text not in self._values:
                self._values.add(text)
                # longest first, so a secret containing another is replaced whole
                self._ordered = tuple(sorted(self._values, key=lambda s: (-len(s), s)))

    @property
    def count(self) -> int:
        """How many distinct values are registered."""
        return len(self._ordered)

    def contains_secret(self, text: str) -> bool:
        """True when ``text`` holds a registered value."""
        return any(secret in text for secret in self._ordered)

    def redact_text(self, text: str) -> str:
        """``text`` with every registered value replaced by ``***``."""
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def redact(self, obj: Any) -> Any:
        """A copy of ``obj`` safe to write: marked values masked, registered values cut from strings.

        Walks dicts (keys and values), lists and tuples; other objects are
        returned unchanged (serialisers turn them into text later, which the
        caller redacts with :meth:`redact_text`).
        """
        if isinstance(obj, SecretStr):
            return MASK
        if isinstance(obj, str):
            return self.redact_text(obj) if self._ordered else obj
        if isinstance(obj, dict):
            return {self.redact(k): self.redact(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.redact(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.redact(v) for v in obj)
        return obj
