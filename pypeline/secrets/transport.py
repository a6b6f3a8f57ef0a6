"""Secrets across a boundary: remote payloads, results coming back, checkpoints.

A resolved secret never crosses a process or file boundary as its value.
Where a structure holding secrets must be serialised (globals a remote
module set, globals and iterate lists in a checkpoint), :func:`to_wire`
replaces each :class:`~pypeline.core.secret.SecretStr` that is an unchanged
secret by a reference object ``{"$vault": "secret/app/db#password"}``.

Given the run's :class:`~pypeline.core.secret.SecretRegistry` (checkpoints
do), it also writes a string that merely *contains* secrets as the recipe
that rebuilds it: ``"x:S:h"`` becomes
``{"$vault_text": ["x:", {"$vault": "secret/app/db#password"}, ":h"]}``, and
a file path under a secret folder ``data/S/a.csv`` likewise, marked or not.
A string holding a secret in some other form (transformed, encoded, cut
short, or a secret read on another backend) has no such recipe:
:class:`NotWirable` says so, and the caller decides (a checkpoint then does
not record that instance, which runs again on resume). Without a registry a
marked value that is not an unchanged secret becomes ``***`` (remote
payloads; a global built from a secret cannot be sent there anyway).

:func:`from_wire` on the other side turns references back into marked
values by resolving them again (one read per path per run, as everywhere),
so a resumed run or the near side of a remote call sees the secret without
it ever being written down. A reference that cannot be resolved there
becomes an :class:`UnreadSecret`: its text is ``***``, it keeps the
references, a remote payload still carries them, and rendering it into a
local module's config reads them again, failing with a clear error instead
of handing the module ``***`` as data.

Configs sent to a remote backend need nothing from here: the templater
leaves ``{{vault...}}`` templates as written, and a global that holds a
secret is sent as its ``{{vault...}}`` template (see
``Templater.render(resolve_secrets=False)``). The far side renders them with
:func:`resolve_secret_templates`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from pypeline.core.errors import SecretError
from pypeline.core.references import Reference
from pypeline.core.secret import MASK, SecretRegistry, SecretSource, SecretStr
from pypeline.core.templates import KeepTemplate, find_templates, render

WIRE_KEY = "$vault"
TEXT_KEY = "$vault_text"


class NotWirable(Exception):
    """A value holds a secret that cannot be written as references (see the module docstring)."""


class UnreadSecret(SecretStr):
    """A secret known here only by its references (resolving them failed); its text is ``***``.

    Args:
        wire: its wire form (``{"$vault": ...}`` or ``{"$vault_text": [...]}``).
    """

    wire: dict[str, Any]

    def __new__(cls, wire: dict[str, Any]) -> UnreadSecret:
        source = wire.get(WIRE_KEY) if isinstance(wire.get(WIRE_KEY), str) else None
        obj = cast(UnreadSecret, super().__new__(cls, MASK, source))
        obj.wire = wire
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (UnreadSecret, (self.wire,))

    @property
    def references(self) -> list[str]:
        """The ``PATH#KEY`` names it needs."""
        if self.source:
            return [self.source]
        return [part[WIRE_KEY] for part in self.wire.get(TEXT_KEY, []) if isinstance(part, dict)]


def to_wire(obj: Any, registry: SecretRegistry | None = None) -> Any:
    """``obj`` with secrets replaced by references, JSON-safe for secrets (see the module docstring).

    Raises:
        NotWirable: with ``registry``, for a string holding a secret no reference rebuilds.
    """
    if isinstance(obj, SecretStr):
        if obj.source:
            return {WIRE_KEY: obj.source}
        if isinstance(obj, UnreadSecret):
            return obj.wire
        return MASK if registry is None else _text_to_wire(obj, registry)
    if isinstance(obj, str):
        return obj if registry is None or not registry.count else _text_to_wire(obj, registry)
    if isinstance(obj, dict):
        return {k: to_wire(v, registry) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_wire(v, registry) for v in obj]
    return obj


def _text_to_wire(text: str, registry: SecretRegistry) -> Any:
    if not registry.contains_secret(text):
        if isinstance(text, SecretStr):
            raise NotWirable("a value marked secret that holds no secret read in this run")
        return text
    parts: list[Any] = []
    for piece in registry.split_sources(str(text)):
        if isinstance(piece, SecretSource):
            parts.append({WIRE_KEY: str(piece)})
        elif registry.contains_secret(piece):
            raise NotWirable("a value derived from a secret (transformed, encoded or cut short)")
        else:
            parts.append(piece)
    if len(parts) == 1 and isinstance(parts[0], dict):
        return parts[0]
    return {TEXT_KEY: parts}


def from_wire(obj: Any, resolve: Callable[[str], SecretStr] | None) -> Any:
    """Inverse of :func:`to_wire`: references become marked values through ``resolve``.

    Without a resolver, or where it gives an :class:`UnreadSecret`, the value is an
    :class:`UnreadSecret` (the value is unknown here, the references are not lost).
    """
    if isinstance(obj, dict):
        if set(obj) == {WIRE_KEY} and isinstance(obj[WIRE_KEY], str):
            return resolve(obj[WIRE_KEY]) if resolve is not None else UnreadSecret(obj)
        if set(obj) == {TEXT_KEY} and isinstance(obj[TEXT_KEY], list):
            return _join(obj, resolve)
        return {k: from_wire(v, resolve) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_wire(v, resolve) for v in obj]
    return obj


def _join(wire: dict[str, Any], resolve: Callable[[str], SecretStr] | None) -> SecretStr:
    texts = []
    for part in wire[TEXT_KEY]:
        if isinstance(part, str):
            texts.append(part)
            continue
        value = from_wire(part, resolve)
        if isinstance(value, UnreadSecret) or not isinstance(value, str):
            return UnreadSecret(wire)
        texts.append(str(value))
    return SecretStr("".join(texts))


def lookup_from_env(registry: SecretRegistry | None = None) -> Callable[[str], SecretStr]:
    """A forgiving ``resolve`` for :func:`from_wire` that reads from this process's Vault.

    The resolver is built on first use (one read per path for all calls). A
    reference that cannot be resolved here (no Vault configured, not allowed,
    not found) becomes an :class:`UnreadSecret`: a module that never reads that
    global is not failed by it, and sending it on to another backend still
    sends the reference.
    """
    state: dict[str, Any] = {}

    def resolve(name: str) -> SecretStr:
        if "resolver" not in state:
            from pypeline.secrets.env import resolver_from_env

            try:
                state["resolver"] = resolver_from_env(registry)
            except SecretError:
                state["resolver"] = None
        return forgiving(state["resolver"])(name)

    return resolve


def forgiving(resolver: Any) -> Callable[[str], SecretStr]:
    """``resolve`` for :func:`from_wire` over a run's secret resolver (or ``None``).

    A reference that cannot be resolved becomes an :class:`UnreadSecret`, as in
    :func:`lookup_from_env`.
    """

    def resolve(name: str) -> SecretStr:
        if resolver is not None:
            try:
                value: SecretStr = resolver.value(name)
                return value
            except SecretError:
                pass
        return UnreadSecret({WIRE_KEY: name})

    return resolve


def uses_secrets(configs: Any) -> bool:
    """True when ``configs`` holds a ``{{vault...}}`` template."""
    return any(ref.kind == "secret" for _key, _raw, ref in find_templates(configs))


def resolve_secret_templates(
    configs: Mapping[str, Any], module_id: str, resolver: Any = None, registry: SecretRegistry | None = None
) -> dict[str, Any]:
    """Far side of a remote backend: render the ``{{vault...}}`` templates left in ``configs``.

    Every other template was resolved on the near side. ``resolver`` defaults
    to one built from this process's environment (``VAULT_ADDR``, ...).

    Raises:
        SecretError: naming the module, config key and secret; or when no Vault is configured here.
    """
    configs = dict(configs)
    if not uses_secrets(configs):
        return configs
    if resolver is None:
        from pypeline.secrets.env import resolver_from_env

        resolver = resolver_from_env(registry)
        if resolver is None:
            first = next(r for _k, _raw, r in find_templates(configs) if r.kind == "secret")
            raise SecretError(
                first.name, "no Vault is configured on this backend: set VAULT_ADDR and VAULT_TOKEN "
                "(or VAULT_ROLE_ID and VAULT_SECRET_ID) in its environment", module_id=module_id
            )

    def lookup(key: str, ref: Reference) -> Any:
        if ref.kind != "secret":
            raise KeepTemplate
        try:
            return resolver.resolve(ref, None)
        except SecretError as exc:
            raise exc.located(module_id, key) from None

    result: dict[str, Any] = render(configs, lookup)
    return result
