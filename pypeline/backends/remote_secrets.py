"""Far-side secret resolution: ``{{vault.PATH#KEY}}`` templates left in a payload's configs.

A payload never carries a secret value: the local side leaves secret
templates as written, and the far side (Lambda, Glue, a dask worker) resolves
them against Vault with its own ``VAULT_ADDR`` / ``VAULT_TOKEN`` through
:func:`pypeline.secrets.resolve_secret_templates`. When ``pypeline.secrets``
cannot be imported here (PYpeline installed without the ``vault`` extra), a
payload that holds a secret template fails with a message naming the config
key and the secret's path, never a value.
"""

from __future__ import annotations

from typing import Any

from pypeline.core.errors import SecretError
from pypeline.core.references import Reference
from pypeline.core.secret import is_secret
from pypeline.core.templates import find_templates


def secret_templates(configs: dict[str, Any]) -> list[tuple[str, Reference]]:
    """``(config_key, reference)`` for every secret template in ``configs``."""
    return [(key, ref) for key, _, ref in find_templates(configs) if ref.kind == "secret"]


def _marked(value: Any) -> list[str]:
    if is_secret(value):
        return [str(value)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _marked(item)]
    if isinstance(value, list):
        return [text for item in value for text in _marked(item)]
    return []


def resolve_far_side_secrets(configs: dict[str, Any], module_id: str) -> tuple[dict[str, Any], list[str]]:
    """``configs`` with secret templates resolved here, and the secret values (for log redaction).

    Raises:
        SecretError: when a secret template is present but cannot be resolved here; the
            message names the module, key and path only.
    """
    found = secret_templates(configs)
    if not found:
        return configs, []
    try:
        from pypeline.secrets import resolve_secret_templates
    except ImportError as exc:
        key, ref = found[0]
        raise SecretError(
            ref.name,
            f"this far side cannot resolve secrets ({exc}); install PYpeline with the 'vault' extra here "
            "and set VAULT_ADDR and VAULT_TOKEN",
            module_id=module_id,
            key=key,
        ) from None
    resolved = resolve_secret_templates(configs, module_id)
    return resolved, _marked(resolved)
