"""The secret resolver: ``{{vault.PATH#KEY}}`` -> a marked value, one read per path per run.

The templater asks a resolver per reference kind; this one serves kind
``secret``. For ``{{vault.secret/app/db#password}}`` it reads the secret at
``secret/app/db`` once (the data of every key is cached for the rest of the
run, in memory only, and thrown away with the resolver), takes ``password``
and returns it as a :class:`~pypeline.core.secret.SecretStr` whose ``source``
is ``secret/app/db#password``. Every value it hands out is also added to the
run's :class:`~pypeline.core.secret.SecretRegistry`, which redacts free text.

Values are strings: a KV value that is a number, a boolean or JSON data is
given as its JSON text (``5432`` -> ``"5432"``).

Concurrency: modules start on the event loop while reads block, so the node
runner first calls :meth:`SecretResolver.prefetch` in a worker thread; the
later :meth:`SecretResolver.resolve` calls are cache hits. Each path has its
own lock, so two modules that need the same path at the same time cause one
read, and different paths are read in parallel.

Failures (not found, permission denied, bad key) are remembered like values:
every module that uses the path gets the same clear error without another
round trip. A server that could not be reached is not remembered.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any, Protocol

from pypeline.core.errors import SecretError
from pypeline.core.references import Reference
from pypeline.core.secret import SecretRegistry, SecretStr
from pypeline.core.text import did_you_mean
from pypeline.secrets.vault import VaultProblem


class SecretSource(Protocol):
    """Reads the key -> value data of one secret path (the Vault client)."""

    def read(self, path: str) -> dict[str, Any]: ...

    def close(self) -> None: ...


def split_reference(name: str) -> tuple[str, str]:
    """``"secret/app/db#password"`` -> ``("secret/app/db", "password")``."""
    path, _, key = name.partition("#")
    return path.strip("/"), key


class SecretResolver:
    """Resolves ``secret`` references for one run (see the module docstring)."""

    def __init__(self, source: SecretSource, registry: SecretRegistry | None = None) -> None:
        self.source = source
        self.registry = registry if registry is not None else SecretRegistry()
        self._lock = threading.Lock()
        self._path_locks: dict[str, threading.Lock] = {}
        self._cache: dict[str, dict[str, Any] | VaultProblem] = {}
        self.reads = 0
        """How many times the source was asked (tests check one read per path)."""

    def _read(self, path: str) -> dict[str, Any]:
        with self._lock:
            lock = self._path_locks.setdefault(path, threading.Lock())
        with lock:
            cached = self._cache.get(path)
            if cached is None:
                self.reads += 1
                try:
                    cached = self.source.read(path)
                except VaultProblem as exc:
                    if exc.transient:
                        raise
                    cached = exc
                self._cache[path] = cached
        if isinstance(cached, VaultProblem):
            raise cached
        return cached

    def value(self, name: str) -> SecretStr:
        """The secret ``PATH#KEY`` as a marked string.

        Raises:
            SecretError: naming the secret (never a value); the templater adds module and key.
        """
        path, key = split_reference(name)
        try:
            data = self._read(path)
        except VaultProblem as exc:
            raise SecretError(name, exc.reason) from None
        if key not in data:
            keys = sorted(str(k) for k in data)
            raise SecretError(
                name,
                f"the secret at '{path}' has no key '{key}'{did_you_mean(key, keys)} "
                f"(its keys: {', '.join(keys) or 'none'})",
            )
        raw = data[key]
        text = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, ensure_ascii=False)
        self._register(raw)
        self.registry.add(text, source=name)
        return SecretStr(text, source=name)

    def _register(self, raw: Any) -> None:
        """Register the leaves of a JSON value too: a module may pick one out."""
        if isinstance(raw, dict):
            for item in raw.values():
                self._register(item)
        elif isinstance(raw, list):
            for item in raw:
                self._register(item)
        elif isinstance(raw, str):
            self.registry.add(raw)

    # -- the templater's Resolver protocol --------------------------------------------------------

    def resolve(self, ref: Reference, scope: Any) -> SecretStr:
        """The value of ``{{vault.PATH#KEY}}`` (``scope`` is not needed: secrets are run-wide)."""
        return self.value(ref.name)

    def known_names(self, scope: Any) -> list[str]:
        """Secrets are not listed (their names are not suggestions a user can pick from)."""
        return []

    def prefetch(self, refs: Iterable[Reference]) -> None:
        """Read the paths of ``refs`` now (blocking; call it in a worker thread).

        Errors are kept for :meth:`resolve`, which raises them with module and key.
        """
        for path in sorted({split_reference(r.name)[0] for r in refs if r.kind == "secret"}):
            try:
                self._read(path)
            except VaultProblem:
                pass

    def close(self) -> None:
        """Forget every value and close the source."""
        with self._lock:
            self._cache.clear()
        self.source.close()
