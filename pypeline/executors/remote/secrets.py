"""Far-side secret resolution: ``{{vault.PATH#KEY}}`` templates left in a payload's configs.

A payload never carries a secret value: the local side leaves secret
templates as written, and the far side (Lambda, Glue, a dask worker) resolves
them against Vault with its own ``VAULT_ADDR`` / ``VAULT_TOKEN``. The Vault
client lives in ``pypeline.secrets``; when that package is not importable
here, a payload that still holds a secret template fails with a message that
names the config key and the secret's path, never a value.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from pypeline.core.errors import SecretError
from pypeline.core.references import Reference
from pypeline.core.templates import KeepTemplate, find_templates, render


def secret_templates(configs: dict[str, Any]) -> list[tuple[str, Reference]]:
    """``(config_key, reference)`` for every secret template in ``configs``."""
    return [(key, ref) for key, _, ref in find_templates(configs) if ref.kind == "secret"]


def _secret_lookup() -> Any:
    """A callable ``lookup(ref) -> value`` backed by ``pypeline.secrets``, or ``None`` when absent."""
    try:
        secrets = import_module("pypeline.secrets")
    except ImportError:
        return None
    factory = getattr(secrets, "far_side_lookup", None)
    return factory() if callable(factory) else None


def resolve_far_side_secrets(configs: dict[str, Any], module_id: str) -> tuple[dict[str, Any], list[str]]:
    """``configs`` with secret templates resolved here, and the secret values (for log redaction).

    Raises:
        SecretError: when a secret template is present but no secret store can resolve it
            (or the store refuses); the message names the key and path only.
    """
    found = secret_templates(configs)
    if not found:
        return configs, []
    lookup = _secret_lookup()
    if lookup is None:
        key, ref = found[0]
        raise SecretError(
            f"module '{module_id}', config '{key}': the payload holds the secret template "
            f"'{{{{{ref}}}}}' but this far side cannot resolve secrets (the pypeline.secrets Vault "
            "resolver is not available here); install PYpeline with the 'vault' extra on the far side "
            "and set VAULT_ADDR and VAULT_TOKEN"
        )
    values: list[str] = []

    def resolve(key: str, ref: Reference) -> Any:
        if ref.kind != "secret":
            raise KeepTemplate
        value = lookup(ref)
        values.append(str(value))
        return value

    resolved: dict[str, Any] = render(configs, resolve)
    return resolved, values
