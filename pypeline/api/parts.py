"""What a :class:`~pypeline.api.flow.Flow` holds, each part with the site that added it, and its YAML data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pypeline.api.sites import Site
from pypeline.build.load.yaml_source import pointer_join
from pypeline.modules.sdk.base import BaseModule


@dataclass(slots=True)
class ModulePart:
    """One module: its YAML mapping, the site that added it, its class (``None`` when it does not resolve)."""

    data: dict[str, Any]
    site: Site
    cls: type[BaseModule] | None


@dataclass(slots=True)
class Parts:
    """Everything a flow holds (see the module docstring)."""

    meta: dict[str, Any]
    origin: Site
    settings: dict[str, Any] = field(default_factory=dict)
    setting_sites: dict[str, Site] = field(default_factory=dict)
    context: dict[str, dict[str, Any]] = field(default_factory=dict)
    context_sites: dict[str, Site] = field(default_factory=dict)
    """``env`` and ``env/variable`` -> site."""
    modules: dict[str, ModulePart] = field(default_factory=dict)
    data: list[tuple[str, Site]] = field(default_factory=list)
    control: list[tuple[str | dict[str, Any], Site]] = field(default_factory=list)
    finer_sites: dict[str, Site] = field(default_factory=dict)
    """Sites of parts inside the above, by JSON pointer (a loaded flow's config keys, ...)."""

    def data_and_sites(self) -> tuple[dict[str, Any], dict[str, Site]]:
        """The flow's YAML data and the site of each JSON pointer in it."""
        sites = dict(self.finer_sites)
        sites.setdefault("", self.origin)
        sites.setdefault("/flow", self.origin)
        data: dict[str, Any] = {"flow": dict(self.meta)}
        if self.settings:
            data["settings"] = dict(self.settings)
            sites["/settings"] = next(iter(self.setting_sites.values()), self.origin)
            sites.update({pointer_join("/settings", k): s for k, s in self.setting_sites.items()})
        if self.context:
            data["context"] = {env: dict(values) for env, values in self.context.items()}
            sites["/context"] = next(iter(self.context_sites.values()), self.origin)
            for key, site in self.context_sites.items():
                env, _, var = key.partition("/")
                pointer = pointer_join("/context", env)
                sites[pointer_join(pointer, var) if var else pointer] = site
        data["modules"] = [m.data for m in self.modules.values()]
        for index, module in enumerate(self.modules.values()):
            sites[f"/modules/{index}"] = module.site
        connections: dict[str, Any] = {}
        for kind, items in (("data", self.data), ("control", self.control)):
            if items:
                connections[kind] = [item for item, _site in items]
                sites.update({f"/connections/{kind}/{i}": site for i, (_item, site) in enumerate(items)})
        if connections:
            data["connections"] = connections
        return data, sites
