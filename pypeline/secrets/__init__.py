"""Secrets from HashiCorp Vault (or OpenBao) for ``{{vault.PATH#KEY}}`` templates.

This package sits between the backends and the modules layers, so both the
run (near side) and the far side of a remote backend can resolve secrets:

* :mod:`pypeline.secrets.vault`: the hvac client, settings from ``VAULT_*``
  environment variables, KV v1 and v2;
* :mod:`pypeline.secrets.resolver`: the templater's ``secret`` resolver, one
  read per path per run, values marked as secret and registered for redaction;
* :mod:`pypeline.secrets.transport`: secrets across process and file
  boundaries (references instead of values);
* :mod:`pypeline.secrets.env`: a resolver for the Vault this process's
  environment names (either side of a remote backend).

The marked value type and the redaction registry live in
:mod:`pypeline.core.secret`, below every layer that carries values.
"""

from __future__ import annotations

from pypeline.secrets.env import far_side_lookup, resolver_from_env
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
