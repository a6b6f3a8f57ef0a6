"""What ``pype list-modules`` shows: every resolvable module with its description."""

from __future__ import annotations

import logging
from typing import Any

from pypeline.modules.registry import ModuleNotFound, Registry

log = logging.getLogger(__name__)


def module_catalog(registry: Registry) -> dict[str, dict[str, Any]]:
    """Name -> registry entry plus ``source`` (registry, builtin, plugin); broken ones are skipped."""
    catalog: dict[str, dict[str, Any]] = {}
    for name in registry.known_names():
        try:
            info = registry.resolve(name)
        except ModuleNotFound as exc:
            log.warning("skipping module '%s': %s", name, exc.reason)
            continue
        catalog[name] = {**info.cls.describe(), "source": info.source}
    return catalog
