"""Resolve ``{{...}}`` templates in module configs when the module starts.

A :class:`Templater` holds one :class:`Resolver` per reference kind
(``context``, ``global``, ``iter``, ``secret``). The run registers the first
three; the Vault integration registers a ``secret`` resolver. Resolution
happens when a module instance starts, so a config may use a global set by an
earlier sub flow, and inside an iteration it sees that iteration's values.

Every unknown name is a :class:`TemplateError` that names the module, the
config key and the name; a secret that cannot be read is a
:class:`SecretError` naming the module, the key and the secret's path.

Secrets (``pypeline/secrets/``, docs/secrets.md) come back marked
(:class:`~pypeline.core.secret.SecretStr`). A remote backend gets its configs
rendered with ``resolve_secrets=False``: ``{{vault...}}`` stays as written,
and a global that holds an unchanged secret is sent as that secret's
``{{vault...}}`` template, so no value is ever put into a payload. A global
holding a string that merely *contains* a secret cannot be sent that way and
is an error. A global or iteration item known only by its references (an
:class:`~pypeline.secrets.transport.UnreadSecret`: a resumed run could not
read it when it restored the checkpoint) is read again when a local module's
config uses it, and fails that module with the secret's path if it still
cannot be read: a module never gets ``***`` as data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pypeline.core.errors import PypelineError, SecretError, TemplateError
from pypeline.core.expr.literals import TemplateValueError
from pypeline.core.references import Reference
from pypeline.core.secret import SecretStr
from pypeline.core.templates import KeepTemplate, find_templates, render
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.secrets.transport import UnreadSecret, from_wire


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a template is resolved: which module, in which iteration."""

    module_id: str
    iter_path: tuple[int, ...] = ()
    iter_items: tuple[Any, ...] = ()


class Resolver(Protocol):
    """Gives the value of one kind of reference. Raises ``KeyError`` for an unknown name."""

    def resolve(self, ref: Reference, scope: Scope) -> Any: ...

    def known_names(self, scope: Scope) -> list[str]: ...


class ContextResolver:
    """``{{context.x}}`` from the selected environment and ``--set`` overrides."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def resolve(self, ref: Reference, scope: Scope) -> Any:
        return self.values[ref.name]

    def known_names(self, scope: Scope) -> list[str]:
        return [f"context.{k}" for k in self.values]


class GlobalResolver:
    """``{{module__var}}`` from the run's global store, seen from the current iteration."""

    def __init__(self, store: GlobalStore) -> None:
        self.store = store

    def resolve(self, ref: Reference, scope: Scope) -> Any:
        return self.store.get(ref.module, ref.name, scope.iter_path)

    def known_names(self, scope: Scope) -> list[str]:
        return [key.split("#")[0].replace(".", "__", 1) for key in self.store.snapshot()]


class IterResolver:
    """``{{iter.item}}`` / ``{{iter.index}}``: the innermost iteration."""

    def resolve(self, ref: Reference, scope: Scope) -> Any:
        if not scope.iter_path:
            raise KeyError(str(ref))
        return scope.iter_items[-1] if ref.name == "item" else scope.iter_path[-1]

    def known_names(self, scope: Scope) -> list[str]:
        return ["iter.item", "iter.index"] if scope.iter_path else []


class Templater:
    """Renders configs with the registered resolvers (see the module docstring)."""

    def __init__(self, resolvers: Mapping[str, Resolver] | None = None) -> None:
        self.resolvers: dict[str, Resolver] = dict(resolvers or {})

    def register(self, kind: str, resolver: Resolver) -> None:
        """Add or replace the resolver of ``kind`` (``secret`` for Vault)."""
        self.resolvers[kind] = resolver

    def lookup(self, ref: Reference, scope: Scope, key: str = "") -> Any:
        """The value of one reference.

        Raises:
            TemplateError: for an unknown name or kind.
        """
        resolver = self.resolvers.get(ref.kind)
        if resolver is None:
            if ref.kind == "secret":
                raise SecretError(
                    ref.name, "no Vault is configured: set VAULT_ADDR and VAULT_TOKEN (or VAULT_ROLE_ID and "
                    "VAULT_SECRET_ID) in the environment of 'pype run'", module_id=scope.module_id, key=key,
                )
            raise TemplateError(scope.module_id, key, str(ref))
        try:
            return resolver.resolve(ref, scope)
        except SecretError as exc:
            raise exc.located(scope.module_id, key) from None
        except KeyError:
            if ref.kind == "iter":
                reason = f"{ref} (the module does not run inside an iteration)"
                raise TemplateError(scope.module_id, key, reason) from None
            raise TemplateError(scope.module_id, key, str(ref), known=resolver.known_names(scope)) from None
        except PypelineError:
            raise

    def render(
        self, configs: dict[str, Any], scope: Scope, *, resolve_secrets: bool = True,
        expressions: Collection[str] = (),
    ) -> dict[str, Any]:
        """A copy of ``configs`` with every template resolved.

        With ``resolve_secrets=False`` secret templates stay as written: that is
        the form a remote backend receives, resolving secrets on its own side.
        Configs named in ``expressions`` hold expressions: each template there
        becomes a literal of its value (:mod:`pypeline.core.expr.literals`).

        Raises:
            TemplateError: an unknown name, or a value that cannot enter an expression.
        """

        def lookup(key: str, ref: Reference) -> Any:
            if ref.kind == "secret" and not resolve_secrets:
                raise KeepTemplate
            value = self.lookup(ref, scope, key)
            if not resolve_secrets and isinstance(value, SecretStr):
                if key.split(".")[0].split("[")[0] in expressions:
                    return value  # refused as an expression literal below, as on the local backend
                return _as_reference(value, ref, scope, key)
            if isinstance(value, UnreadSecret):
                return self._read_again(value, scope, key)
            return value

        try:
            result: dict[str, Any] = render(configs, lookup, expressions=expressions)
        except TemplateValueError as exc:
            raise TemplateError(scope.module_id, exc.key, exc.ref, problem=exc.message) from None
        return result

    def _read_again(self, value: UnreadSecret, scope: Scope, key: str) -> Any:
        """A secret known only by its references (restored by a resume, or set remotely): read it now.

        Raises:
            SecretError: naming the module, the key and the secret when it still cannot be read.
        """
        for name in value.references:
            self.lookup(Reference(kind="secret", name=name), scope, key)
        return from_wire(value.wire, lambda name: self.lookup(Reference(kind="secret", name=name), scope, key))

    async def prepare(self, configs: dict[str, Any], run_in_thread: Any = None) -> None:
        """Let resolvers fetch what ``configs`` needs before :meth:`render`, in a worker thread.

        Resolvers with a ``prefetch(refs)`` method (the secret resolver) do
        their blocking reads here, off the event loop; ``render`` then hits
        their cache. Errors are left for ``render`` to raise with the module
        and config key. ``run_in_thread`` is the run's
        ``ThreadRunner.run_in_thread`` (default: :func:`asyncio.to_thread`).
        """
        wanted: dict[str, list[Reference]] = {}
        for _key, _raw, ref in find_templates(configs):
            wanted.setdefault(ref.kind, []).append(ref)
        for kind, refs in wanted.items():
            prefetch = getattr(self.resolvers.get(kind), "prefetch", None)
            if prefetch is not None:
                await (run_in_thread or asyncio.to_thread)(prefetch, refs)


def _as_reference(value: SecretStr, ref: Reference, scope: Scope, key: str) -> str:
    """The ``{{vault...}}`` template that stands for a secret-valued global in a remote payload."""
    if value.source:
        return "{{vault." + value.source + "}}"
    raise SecretError(
        "", f"'{{{{{ref}}}}}' holds a value built from a secret, which cannot be sent to a remote backend; "
        "use the {{vault.PATH#KEY}} template in this config instead", module_id=scope.module_id, key=key,
    )
