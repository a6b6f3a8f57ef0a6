"""What ``Flow.module(id, module, ...)`` writes under ``name:``, and how its configs split.

``module`` is a registry name or dotted path (``"csv_source"``), a function
that declares its ports (:mod:`pypeline.modules.functions`) or a
:class:`~pypeline.BaseModule` subclass. The job folder records a module by its
dotted path and ``pype run`` (and every backend's far side) imports that path,
so a function or a class must be importable by it: defined at the top level of
an importable module. Code in the script being run (``__main__``) is
importable only when the script runs as ``python -m package.script``; anything
else is refused here, at the call that added it.

The YAML splits configs into ``required`` and ``optional``; the builder takes
them as one dict and splits them by the module's ``CONFIG_SCHEMA``.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import dataclass
from typing import Any

from pypeline.api.sites import Site
from pypeline.core.errors import ModuleResolutionError
from pypeline.modules.functions import declaration_of, function_module_class
from pypeline.modules.functions.adapter import FunctionDeclarationError
from pypeline.modules.registry import ModuleNotFound, Registry
from pypeline.modules.sdk.base import BaseModule

_IMPORTABLE = "a function or class defined at the top level of an importable module (docs/python-api.md)"


@dataclass(frozen=True, slots=True)
class ResolvedModule:
    """The ``name:`` of a module and its class (``None`` when it does not resolve: the build says why)."""

    name: str
    cls: type[BaseModule] | None


def resolve_module(module: object, module_id: str, registry: Registry, site: Site) -> ResolvedModule:
    """The name and class of ``module`` (see the module docstring).

    Raises:
        ModuleResolutionError: at ``site``, for a function or class that cannot be a module or cannot be imported.
    """
    if isinstance(module, str):
        return ResolvedModule(module, registered_class(module, registry))
    if inspect.isfunction(module):
        if declaration_of(module) is None:
            raise _refused(module_id, f"function '{module.__qualname__}' declares no ports", site,
                           "@pypeline.module(inputs=[...], outputs=[...]) on it, or its declared_inputs / "
                           "declared_outputs")
        try:
            function_module_class(module)
        except FunctionDeclarationError as exc:
            raise _refused(module_id, str(exc), site, "a function whose parameters match its ports") from None
    elif not (inspect.isclass(module) and issubclass(module, BaseModule)):
        raise _refused(module_id, f"{module!r} is not a module", site,
                       "a module name, a function declared with @pypeline.module or a BaseModule subclass")
    path = importable_path(module, module_id, site)
    return ResolvedModule(path, registered_class(path, registry))


def registered_class(name: str, registry: Registry) -> type[BaseModule] | None:
    """The class ``name`` resolves to, or ``None`` (the build then says why, at the module's line)."""
    try:
        return registry.resolve(name).cls
    except ModuleNotFound:
        return None


def importable_path(obj: Any, module_id: str, site: Site) -> str:
    """The dotted path ``pype run`` imports ``obj`` by.

    Raises:
        ModuleResolutionError: when ``obj`` is not importable by a path.
    """
    qualname: str = obj.__qualname__
    python_module: str = obj.__module__
    if "." in qualname:
        where = "a function" if "<locals>" in qualname else "a class"
        raise _refused(module_id, f"'{qualname}' is defined inside {where}; the job folder could not import it",
                       site, _IMPORTABLE)
    if python_module == "__main__":
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        if spec is None or not spec.name or spec.name == "__main__":
            raise _refused(
                module_id,
                f"'{qualname}' is defined in the script being run (__main__), which 'pype run' cannot import",
                site, "the function in a module the script imports, or the script run as 'python -m package.script'",
            )
        python_module = spec.name
    path = f"{python_module}.{qualname}"
    try:
        found = getattr(importlib.import_module(python_module), qualname, None)
    except Exception as exc:
        raise _refused(module_id, f"'{path}' does not import: {type(exc).__name__}: {exc}", site, _IMPORTABLE) from None
    if found is None:
        raise _refused(module_id, f"'{path}' is not found when its module is imported", site, _IMPORTABLE)
    return path


def _refused(module_id: str, what: str, site: Site, expected: str) -> ModuleResolutionError:
    return ModuleResolutionError(f"module '{module_id}': {what}", path=site.path, line=site.line, expected=expected)


def split_configs(configs: dict[str, Any], cls: type[BaseModule] | None) -> dict[str, dict[str, Any]]:
    """``{"required": ..., "optional": ...}`` by ``cls``'s schema (keys it does not know go to ``optional``,
    where the build names them; all under ``required`` when the class is unknown)."""
    if not configs:
        return {}
    if cls is None:
        return {"required": dict(configs)}
    required = set(cls.CONFIG_SCHEMA.get("required") or {})
    sections: dict[str, dict[str, Any]] = {}
    for key, value in configs.items():
        sections.setdefault("required" if key in required else "optional", {})[key] = value
    return {section: sections[section] for section in ("required", "optional") if section in sections}
