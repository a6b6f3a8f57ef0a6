"""Secrets from HashiCorp Vault (or OpenBao) for ``{{vault.PATH#KEY}}`` templates.

This package sits between the executors and the modules layers, so both the
run (near side) and the far side of a remote backend can resolve secrets:

* :mod:`pypeline.secrets.vault`: the hvac client, settings from ``VAULT_*``
  environment variables, KV v1 and v2;
* :mod:`pypeline.secrets.resolver`: the templater's ``secret`` resolver, one
  read per path per run, values marked as secret and registered for redaction;
* :mod:`pypeline.secrets.transport`: secrets across process and file
  boundaries (references instead of values).

The marked value type and the redaction registry live in
:mod:`pypeline.core.secret`, below every layer that carries values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pypeline.core.errors import SecretError
from pypeline.core.references import Reference
from pypeline.core.secret import SecretRegistry, SecretStr
from pypeline.secrets.resolver import SecretResolver
from pypeline.secrets.transport import from_wire, lookup_from_env, resolve_secret_templates, to_wire, uses_secrets
from pypeline.secrets.vault import VaultClient, VaultProblem, VaultSettings

__all__ = [
    "SecretResolver",
    "VaultClient",
    "VaultProblem",
    "VaultSettings",
    "far_side_lookup",
    "from_wire",
    "lookup_from_env",
    "resolve_secret_templates",
    "resolver_from_env",
    "to_wire",
    "uses_secrets",
]


def resolver_from_env(
    registry: SecretRegistry | None = None, env: Mapping[str, str] | None = None
) -> SecretResolver | None:
    """A resolver reading from the Vault that ``VAULT_ADDR`` names; ``None`` when it is not set.

    Raises:
        SecretError: ``VAULT_ADDR`` set but no credentials, or a bad ``VAULT_KV_VERSION``.
    """
    try:
        settings = VaultSettings.from_env(env)
    except VaultProblem as exc:
        raise SecretError("", exc.reason) from None
    if settings is None:
        return None
    return SecretResolver(VaultClient(settings), registry)


def far_side_lookup(registry: SecretRegistry | None = None) -> Callable[[Reference], SecretStr]:
    """For a remote backend's far side: ``lookup(ref)`` resolving ``{{vault...}}`` from this process's Vault.

    One resolver (one read per path) serves every call of the returned
    function. When this process has no ``VAULT_ADDR``, each call raises a
    :class:`SecretError` that says what to set.
    """
    resolver = resolver_from_env(registry)

    def lookup(ref: Reference) -> SecretStr:
        if resolver is None:
            raise SecretError(
                ref.name, "no Vault is configured on this backend: set VAULT_ADDR and VAULT_TOKEN "
                "(or VAULT_ROLE_ID and VAULT_SECRET_ID) in its environment"
            )
        return resolver.resolve(ref, None)

    return lookup
