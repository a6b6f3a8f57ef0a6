"""Which execution backends exist, and checking a module's ``execution`` block.

Built-in backends are listed explicitly; plugin packages add backends through
the entry-point group ``pypeline.backends`` (``name = "pkg.mod:BackendClass"``;
the group's earlier name, ``pypeline.executors``, is read too).
The build validates every module's ``execution`` block here, so an unknown
backend or a bad option is a build error, not a run-time surprise.
"""

from __future__ import annotations

import logging
from functools import cache, lru_cache
from importlib import import_module
from typing import Any

from pypeline.backends.base import Backend
from pypeline.core.text import did_you_mean

log = logging.getLogger(__name__)

BACKEND_ENTRY_POINT_GROUP = "pypeline.backends"
LEGACY_ENTRY_POINT_GROUP = "pypeline.executors"

BUILTIN_BACKENDS: dict[str, str] = {
    "local": "pypeline.backends.local:LocalBackend",
    "dask": "pypeline.backends.dask_backend:DaskBackend",
    "lambda": "pypeline.backends.lambda_backend:LambdaBackend",
    "glue": "pypeline.backends.glue_backend:GlueBackend",
    "container": "pypeline.backends.container_backend:ContainerBackend",
    "docker": "pypeline.backends.container_backend:DockerBackend",
}


@lru_cache(maxsize=1)
def available_backends() -> dict[str, str]:
    """Backend name -> ``module:Class`` for built-ins and plugins (built-ins win)."""
    from importlib.metadata import entry_points

    found = {
        ep.name: ep.value
        for group in (LEGACY_ENTRY_POINT_GROUP, BACKEND_ENTRY_POINT_GROUP)  # the current name wins
        for ep in entry_points(group=group)
    }
    return {**found, **BUILTIN_BACKENDS}


@cache
def backend_class(name: str) -> type[Backend]:
    """Import the backend class of backend ``name``.

    Raises:
        KeyError: for an unknown backend (message lists the known ones).
        ImportError: when the backend cannot be imported.
    """
    # built-ins win over plugins, so a built-in name needs no scan of the installed packages
    backends = BUILTIN_BACKENDS if name in BUILTIN_BACKENDS else available_backends()
    if name not in backends:
        raise KeyError(
            f"unknown execution backend '{name}'{did_you_mean(name, backends)} "
            f"(known: {', '.join(sorted(backends))})"
        )
    module_name, _, attr = backends[name].partition(":")
    cls = getattr(import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise ImportError(f"backend '{name}' ({backends[name]}) is not a Backend subclass")
    return cls


def check_execution_block(block: dict[str, Any], defaults: dict[str, Any] | None = None) -> str | None:
    """A problem with an ``execution`` block, or ``None`` when it is valid.

    ``defaults`` are the settings' options for that backend (``settings.backends.<name>``).
    """
    name = block.get("backend", "local")
    try:
        cls = backend_class(name)
    except KeyError as exc:
        return str(exc.args[0])
    except Exception as exc:  # a plugin that fails to import
        log.warning("backend %s failed to load: %s", name, exc)
        return f"execution backend '{name}' cannot be loaded: {exc}"
    options = {**(defaults or {}), **{k: v for k, v in block.items() if k != "backend"}}
    import jsonschema  # only the build validates blocks; a run does not pay for the import

    validator = jsonschema.Draft202012Validator(cls.OPTIONS_SCHEMA)
    errors = sorted(validator.iter_errors(options), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.path)
        if err.validator == "additionalProperties":
            allowed = sorted(cls.OPTIONS_SCHEMA.get("properties", {}))
            extra = sorted(set(options) - set(allowed))
            hint = did_you_mean(extra[0], allowed) if extra else ""
            return (
                f"backend '{name}' has no option '{extra[0] if extra else '?'}'{hint} "
                f"(options: {', '.join(allowed) or 'none'})"
            )
        return f"backend '{name}' option {where or '(block)'}: {err.message}"
    return None
