"""The module registry: names users write in flows -> module classes.

Resolution of a flow's ``name:`` goes, in order, through

1. the project's registry file (``ModRegistry.json``, see :func:`registry_path`),
   which ``pype register-module`` / ``pype auto-register`` write;
2. the built-in table (:data:`~pypeline.modules.builtins.BUILTIN_MODULES`);
3. plugin packages' entry points in the group ``pypeline.modules``;
4. a dotted import path (``my_pkg.modules.score`` or ``...score.Score``).

The registry serves discovery and validation only: ``dag.json`` records the
exact class path and the runtime imports that, never the registry.

Plugins are loaded lazily and forgivingly: one that fails to import is logged
as a warning and skipped, so a broken plugin cannot break unrelated flows.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pypeline.core.errors import RegistryError
from pypeline.core.jsonio import atomic_write_json
from pypeline.core.text import did_you_mean
from pypeline.modules.builtins import BUILTIN_MODULES
from pypeline.modules.loader import ModuleImportError, class_path, load_module_class
from pypeline.modules.sdk.base import MODULE_TYPES, BaseModule
from pypeline.modules.sdk.config import check_config_schema

log = logging.getLogger(__name__)

MODULE_ENTRY_POINT_GROUP = "pypeline.modules"
REGISTRY_ENV = "PYPELINE_REGISTRY"
REGISTRY_FILE = "ModRegistry.json"
PROJECT_MODULES_DIR = "modules"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def registry_path(project_dir: str | os.PathLike[str] | None = None) -> Path:
    """``$PYPELINE_REGISTRY``, else ``<project>/modules/ModRegistry.json`` (project = cwd)."""
    env = os.environ.get(REGISTRY_ENV)
    if env:
        return Path(env)
    return Path(project_dir or Path.cwd()) / PROJECT_MODULES_DIR / REGISTRY_FILE


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """A resolved module: the name used, where it came from and its class."""

    name: str
    module_path: str
    source: str
    cls: type[BaseModule]


class ModuleNotFound(LookupError):
    """No module of that name; ``candidates`` feeds "did you mean"."""

    def __init__(self, name: str, reason: str, candidates: list[str], *, kind: str = "unknown") -> None:
        super().__init__(reason)
        self.name = name
        self.reason = reason
        self.candidates = candidates
        self.kind = kind
        """``unknown`` (no such name), ``import`` (the path does not import) or ``invalid`` (bad declarations)."""


def validate_module_class(cls: type[BaseModule]) -> list[str]:
    """Problems with a module class's declarations (empty when it is usable)."""
    problems = []
    if cls.TYPE not in MODULE_TYPES:
        problems.append(f"TYPE is {cls.TYPE!r}, expected one of {', '.join(MODULE_TYPES)}")
    problems.extend(check_config_schema(cls.CONFIG_SCHEMA))
    for attr in ("INPUT_PORTS", "OUTPUT_PORTS", "LIST_OUTPUTS", "GLOBALS"):
        value = getattr(cls, attr)
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            problems.append(f"{attr} must be a list of strings")
    if not set(cls.LIST_OUTPUTS) <= set(cls.OUTPUT_PORTS):
        problems.append("LIST_OUTPUTS must name output ports")
    if cls.TYPE in ("source", "solo") and cls.INPUT_PORTS:
        problems.append(f"a {cls.TYPE} module has no input ports")
    if cls.TYPE in ("sink", "solo") and cls.OUTPUT_PORTS and cls.TYPE == "solo":
        problems.append("a solo module has no output ports")
    if cls.TYPE == "sink" and set(cls.OUTPUT_PORTS) - set(cls.LIST_OUTPUTS):
        problems.append("a sink has no data output ports")
    if cls.run is BaseModule.run:
        problems.append("it does not define 'async def run(self, inputs, ctx)'")
    for hook in ("run", "setup", "teardown"):
        if not inspect.iscoroutinefunction(getattr(cls, hook)):
            problems.append(f"{hook}() must be a coroutine ('async def {hook}(...)')")
    return problems


class Registry:
    """Reads, resolves and writes the registry (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else registry_path()
        self._cache: dict[str, ModuleInfo] = {}
        self.warnings: list[str] = []
        """Modules or plugins skipped because they fail to load (the CLI prints them)."""

    @cached_property
    def entries(self) -> dict[str, dict[str, Any]]:
        """The registry file's entries (empty when the file does not exist)."""
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RegistryError(f"{self.path}: cannot read the module registry: {exc}") from exc
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("module_path"), str) for v in data.values()
        ):
            raise RegistryError(
                f"{self.path}: the module registry must map names to entries with a 'module_path'"
            )
        return data

    @cached_property
    def plugin_entry_points(self) -> dict[str, str]:
        """Entry points of the ``pypeline.modules`` group: name -> ``pkg.mod:Class``."""
        return {ep.name: ep.value for ep in entry_points(group=MODULE_ENTRY_POINT_GROUP)}

    def known_names(self) -> list[str]:
        """Every name resolvable without an import path."""
        return sorted({*self.entries, *BUILTIN_MODULES, *self.plugin_entry_points})

    def resolve(self, name: str) -> ModuleInfo:
        """Resolve a flow's ``name:`` to a module class (cached).

        Raises:
            ModuleNotFound: with the reason and the known names.
        """
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        info = self._resolve(name)
        self._cache[name] = info
        return info

    def _resolve(self, name: str) -> ModuleInfo:
        if name in self.entries:
            return self._load(name, self.entries[name]["module_path"], "registry")
        if name in BUILTIN_MODULES:
            return self._load(name, BUILTIN_MODULES[name], "builtin")
        if name in self.plugin_entry_points:
            return self._load(name, self.plugin_entry_points[name].replace(":", "."), "plugin")
        if "." in name:
            return self._load(name, name, "import")
        reason = f"unknown module '{name}'"
        local = Path(PROJECT_MODULES_DIR) / f"{name}.py"
        if _NAME_RE.match(name) and local.is_file():
            reason += (
                f"; {local} exists: register it ('pype register-module {PROJECT_MODULES_DIR}.{name}') "
                f"or write its path ('name: {PROJECT_MODULES_DIR}.{name}')"
            )
        raise ModuleNotFound(name, reason, self.known_names())

    def _load(self, name: str, path: str, source: str) -> ModuleInfo:
        try:
            cls = load_module_class(path)
        except ModuleImportError as exc:
            if source == "import":
                reason = str(exc) if f"'{path}'" in str(exc) else f"cannot import '{path}': {exc}"
            else:
                reason = f"module '{name}' ({source}) cannot be loaded from '{path}': {exc}"
            raise ModuleNotFound(name, reason, [], kind="import" if exc.missing else "invalid") from exc
        problems = validate_module_class(cls)
        if problems:
            raise ModuleNotFound(
                name, f"module class {class_path(cls)} is not valid: " + "; ".join(problems), [], kind="invalid"
            )
        return ModuleInfo(name=name, module_path=class_path(cls), source=source, cls=cls)

    # -- writing -----------------------------------------------------------------------------

    def register(self, name_or_path: str) -> tuple[str, dict[str, Any]]:
        """Add one module to the registry file and return its name and entry.

        Raises:
            RegistryError: when the module cannot be resolved or is invalid.
        """
        try:
            info = self.resolve(name_or_path)
        except ModuleNotFound as exc:
            hint = did_you_mean(name_or_path, exc.candidates)
            expected = (
                "a built-in or plugin module name (see 'pype list-modules') or a dotted import path"
                if exc.kind == "unknown"
                else "a BaseModule subclass that imports and follows the SDK"
            )
            raise RegistryError(f"cannot register '{name_or_path}': {exc.reason}{hint} (expected {expected})") from exc
        name = registry_name(info)
        entries = dict(self.entries)
        entries[name] = info.cls.describe()
        self._write(entries)
        return name, entries[name]

    def auto_register(self, project_dir: str | os.PathLike[str] | None = None) -> list[str]:
        """Register built-ins, ``<project>/modules/*.py`` and plugins; return the names written.

        Files or plugins that fail to import are logged as warnings and skipped.
        """
        entries: dict[str, dict[str, Any]] = {}
        for name, path in sorted(BUILTIN_MODULES.items()):
            entries[name] = load_module_class(path).describe()
        for path in _project_module_paths(Path(project_dir or Path.cwd())):
            self._add_safely(entries, path, origin="project module")
        for name, value in sorted(self.plugin_entry_points.items()):
            self._add_safely(entries, value.replace(":", "."), origin="plugin", name=name)
        self._write(entries)
        return sorted(entries)

    def _add_safely(
        self, entries: dict[str, dict[str, Any]], path: str, *, origin: str, name: str | None = None
    ) -> None:
        try:
            cls = load_module_class(path)
        except ModuleImportError as exc:
            self.warn(f"skipping {origin} {_shown(name, path)}: {exc}")
            return
        problems = validate_module_class(cls)
        if problems:
            self.warn(f"skipping {origin} {_shown(name, path)}: " + "; ".join(problems))
            return
        entry_name = name or getattr(cls, "NAME", None) or path.rsplit(".", 1)[-1]
        entries[entry_name] = cls.describe()

    def warn(self, message: str) -> None:
        """Record (and log) that something was skipped; loading goes on."""
        self.warnings.append(message)
        log.debug(message)

    def clear(self) -> None:
        """Empty the registry file (built-ins stay resolvable)."""
        self._write({})

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        try:
            atomic_write_json(self.path, entries)
        except OSError as exc:
            raise RegistryError(f"{self.path}: cannot write the module registry: {exc}") from exc
        self.__dict__.pop("entries", None)
        self._cache.clear()


def registry_name(info: ModuleInfo) -> str:
    """The name a module is registered under: its built-in name, its ``NAME``, or its file name."""
    if info.source in ("builtin", "registry", "plugin"):
        return info.name
    explicit = getattr(info.cls, "NAME", None)
    if isinstance(explicit, str) and _NAME_RE.match(explicit):
        return explicit
    module_name = info.cls.__module__.rsplit(".", 1)[-1]
    return module_name if _NAME_RE.match(module_name) else info.cls.__name__


def _project_module_paths(project_dir: Path) -> list[str]:
    folder = project_dir / PROJECT_MODULES_DIR
    if not folder.is_dir():
        return []
    return [
        f"{PROJECT_MODULES_DIR}.{p.stem}"
        for p in sorted(folder.glob("*.py"))
        if p.stem != "__init__" and _NAME_RE.match(p.stem)
    ]


def _shown(name: str | None, path: str) -> str:
    return f"'{name}' ({path})" if name else f"'{path}'"
