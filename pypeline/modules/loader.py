"""Import a module class from a dotted path.

Two spellings are accepted, both as the runtime finds them in ``dag.json``:

* ``package.module.ClassName``: the class itself;
* ``package.module``: a Python module that defines exactly one
  :class:`BaseModule` subclass (or names one in a ``MODULE`` attribute), the
  spelling of the spec's registry example (``pypeline.modules.source.csv_source``).

``package.module.function`` may also name a function that declares its ports
(:mod:`pypeline.modules.functions`): its module class is made from it.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache
from types import ModuleType

from pypeline.modules.functions.adapter import FunctionDeclarationError, function_module_class
from pypeline.modules.sdk.base import BaseModule


class ModuleImportError(ImportError):
    """The dotted path does not lead to a BaseModule subclass; the message says why.

    ``missing`` is True when nothing importable is at the path (as opposed to
    something that imports but is not a module class).
    """

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


@cache
def load_module_class(path: str) -> type[BaseModule]:
    """Import and return the module class at ``path`` (cached).

    Raises:
        ModuleImportError: when nothing importable is there or it is not a BaseModule.
    """
    if not path or any(not part.isidentifier() for part in path.split(".")):
        raise ModuleImportError(f"'{path}' is not a dotted Python path")
    python_module = _try_import(path)
    if python_module is not None:
        return _class_in(python_module, path)
    if "." not in path:
        raise ModuleImportError(f"no Python module named '{path}'", missing=True)
    module_name, attr = path.rsplit(".", 1)
    python_module = _try_import(module_name)
    if python_module is None:
        raise ModuleImportError(f"no Python module named '{module_name}'", missing=True)
    obj = getattr(python_module, attr, None)
    if obj is None:
        raise ModuleImportError(f"'{module_name}' has no attribute '{attr}'", missing=True)
    if inspect.isfunction(obj):  # a function module, or a function that forgot to declare its ports
        try:
            return function_module_class(obj)
        except FunctionDeclarationError as exc:
            raise ModuleImportError(str(exc)) from None
    if not (inspect.isclass(obj) and issubclass(obj, BaseModule)):
        raise ModuleImportError(f"'{path}' is not a BaseModule subclass (module classes extend pypeline.BaseModule)")
    return obj


def _try_import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only "this very module does not exist" means: try another spelling.
        # A module that exists but fails to import its own dependencies is an error to show.
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise ModuleImportError(f"importing '{name}' failed: {exc}", missing=True) from exc
    except Exception as exc:
        raise ModuleImportError(f"importing '{name}' failed: {type(exc).__name__}: {exc}", missing=True) from exc


def _class_in(python_module: ModuleType, path: str) -> type[BaseModule]:
    named = getattr(python_module, "MODULE", None)
    if inspect.isclass(named) and issubclass(named, BaseModule):
        return named
    found = [
        obj
        for obj in vars(python_module).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseModule)
        and obj is not BaseModule
        and obj.__module__ == python_module.__name__
        and not inspect.isabstract(obj)
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ModuleImportError(f"'{path}' defines no BaseModule subclass (module classes extend pypeline.BaseModule)")
    names = ", ".join(sorted(c.__name__ for c in found))
    raise ModuleImportError(
        f"'{path}' defines several BaseModule subclasses ({names}); name one as '{path}.ClassName'"
    )


def class_path(cls: type) -> str:
    """The dotted path that :func:`load_module_class` turns back into ``cls``."""
    return f"{cls.__module__}.{cls.__qualname__}"
