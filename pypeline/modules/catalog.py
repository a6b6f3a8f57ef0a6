"""What ``pype list-modules`` shows: every resolvable module with its description."""

from __future__ import annotations

from typing import Any

from pypeline.modules.registry import ModuleNotFound, Registry


def module_catalog(registry: Registry) -> dict[str, dict[str, Any]]:
    """Name -> registry entry plus ``source`` (registry, builtin, plugin); broken ones are skipped."""
    catalog: dict[str, dict[str, Any]] = {}
    for name in registry.known_names():
        try:
            info = registry.resolve(name)
        except ModuleNotFound as exc:
            registry.warn(f"skipping module '{name}': {exc.reason}")
            continue
        catalog[name] = {**info.cls.describe(), "source": info.source}
    return catalog
