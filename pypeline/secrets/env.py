"""A secret resolver for the Vault that this process's environment names (``VAULT_ADDR``, ...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pypeline.core.errors import SecretError
from pypeline.core.references import Reference
from pypeline.core.secret import SecretRegistry, SecretStr
from pypeline.secrets.resolver import SecretResolver
from pypeline.secrets.vault import VaultClient, VaultProblem, VaultSettings


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
