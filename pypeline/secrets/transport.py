"""Secrets across a boundary: remote payloads, results coming back, checkpoints.

A resolved secret never crosses a process or file boundary as its value.
Where a structure holding secret-marked values must be serialised (globals a
remote module set, globals and iterate lists in a checkpoint), :func:`to_wire` replaces each
:class:`~pypeline.core.secret.SecretStr` that is an unchanged secret by a
reference object ``{"$vault": "secret/app/db#password"}`` and any other
marked value by ``***``. :func:`from_wire` on the other side turns the
references back into marked values by resolving them again (one read per
path per run, as everywhere), so a resumed run or the near side of a remote
call sees the secret without it ever being written down.

Configs sent to a remote backend need nothing from here: the templater
leaves ``{{vault...}}`` templates as written, and a global that holds a
secret is sent as its ``{{vault...}}`` template (see
``Templater.render(resolve_secrets=False)``). The far side renders them with
:func:`resolve_secret_templates`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pypeline.core.errors import SecretError
from pypeline.core.references import Reference
from pypeline.core.secret import MASK, SecretRegistry, SecretStr
from pypeline.core.templates import KeepTemplate, find_templates, render

WIRE_KEY = "$vault"


def to_wire(obj: Any) -> Any:
    """``obj`` with secret-marked values replaced by references (or ``***``); JSON-safe for secrets."""
    if isinstance(obj, SecretStr):
        return {WIRE_KEY: obj.source} if obj.source else MASK
    if isinstance(obj, dict):
        return {k: to_wire(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_wire(v) for v in obj]
    return obj


def from_wire(obj: Any, resolve: Callable[[str], SecretStr] | None) -> Any:
    """Inverse of :func:`to_wire`: references become marked values through ``resolve``.

    Without a resolver a reference becomes a marked ``***`` that keeps its source
    (the value is unknown here, the reference is not lost).
    """
    if isinstance(obj, dict):
        if set(obj) == {WIRE_KEY} and isinstance(obj[WIRE_KEY], str):
            return resolve(obj[WIRE_KEY]) if resolve is not None else SecretStr(MASK, source=obj[WIRE_KEY])
        return {k: from_wire(v, resolve) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_wire(v, resolve) for v in obj]
    return obj


def lookup_from_env(registry: SecretRegistry | None = None) -> Callable[[str], SecretStr]:
    """A forgiving ``resolve`` for :func:`from_wire` that reads from this process's Vault.

    The resolver is built on first use (one read per path for all calls). A
    reference that cannot be resolved here (no Vault configured, not allowed,
    not found) becomes a marked ``***`` that keeps its ``source``: a module
    that never reads that global is not failed by it, and sending it on to
    another backend still sends the reference.
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

    A reference that cannot be resolved becomes a marked ``***`` keeping its
    source, as in :func:`lookup_from_env`.
    """

    def resolve(name: str) -> SecretStr:
        if resolver is not None:
            try:
                value: SecretStr = resolver.value(name)
                return value
            except SecretError:
                pass
        return SecretStr(MASK, source=name)

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
