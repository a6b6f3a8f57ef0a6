"""Plug the Vault resolver into a run's templater when the job uses secrets.

A job uses secrets when any module config holds ``{{vault.PATH#KEY}}``. Then,
if ``VAULT_ADDR`` is set, the run registers a
:class:`~pypeline.secrets.resolver.SecretResolver` for kind ``secret`` that
feeds the run's :class:`~pypeline.core.secret.SecretRegistry`, and closes it
(forgetting every cached value) when the run ends. Without ``VAULT_ADDR``
nothing is registered: a module that runs here and needs a secret fails with
a message that says which variables to set, while modules on remote backends
(which resolve secrets on their own side) are unaffected.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pypeline.core.secret import SecretRegistry
from pypeline.run.templater.templater import Templater
from pypeline.secrets import resolver_from_env, uses_secrets


def job_uses_secrets(modules: dict[str, Any]) -> bool:
    """True when a module spec's configs hold a ``{{vault...}}`` template."""
    return any(uses_secrets(spec.configs) for spec in modules.values())


def install_secret_resolver(
    modules: dict[str, Any], templater: Templater, registry: SecretRegistry, stack: contextlib.ExitStack | Any
) -> bool:
    """Register the Vault resolver when needed and configured; True when one was registered.

    Raises:
        SecretError: ``VAULT_ADDR`` is set but the other settings are unusable.
    """
    if not job_uses_secrets(modules):
        return False
    resolver = resolver_from_env(registry)
    if resolver is None:
        return False
    templater.register("secret", resolver)
    stack.callback(resolver.close)
    return True
