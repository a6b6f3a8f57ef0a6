"""Turn a declared function into a :class:`~pypeline.modules.sdk.base.BaseModule` subclass.

The class carries the function's dotted path as its own (``__module__`` and
``__qualname__``), so :func:`~pypeline.modules.loader.class_path` of the class
is the function's path and importing that path gives the same class back
(:func:`function_module_class` is cached per function). Each attempt calls
the function once: an ``async def`` function is awaited on the run's event
loop, any other is called on the run's thread pool (``ctx.executor``) so its
blocking work never stalls other modules.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, ClassVar

from pypeline.modules.functions.declare import declaration_of
from pypeline.modules.functions.signature import Binding, SignatureProblem, bind
from pypeline.modules.sdk.base import BaseModule
from pypeline.modules.sdk.context import RunContext


class FunctionDeclarationError(ValueError):
    """A function that cannot be a module; the message names the function and the reason."""


class FunctionModule(BaseModule):
    """Base of the classes :func:`function_module_class` makes: calls ``FUNCTION`` as bound by ``BINDING``."""

    FUNCTION: ClassVar[Callable[..., Any]]
    BINDING: ClassVar[Binding]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        """Call the function with its ports, configs and ``ctx``; map what it returns to the output ports."""
        cls = type(self)
        function = cls.__dict__["FUNCTION"]
        kwargs = cls.BINDING.arguments(inputs, self.configs, ctx)
        if inspect.iscoroutinefunction(function):
            result = await function(**kwargs)
        else:
            result = await ctx.executor.run_in_thread(function, **kwargs)
        return output_values(result, cls.OUTPUT_PORTS, function.__qualname__)


def output_values(result: Any, ports: list[str], name: str) -> dict[str, Any]:
    """The function's result as output port -> value.

    One output port: the result is its value (a dict holding exactly that port is
    read as port -> value, Trakt's ``return {"output": frame}``). Several: the
    result must be a dict naming each of them. No output port: the result is ignored.

    Raises:
        TypeError: naming the function, what it returned and what was expected.
    """
    if not ports:
        return {}
    if len(ports) == 1:
        if isinstance(result, Mapping) and set(result) == {ports[0]}:
            return dict(result)
        return {ports[0]: result}
    if not isinstance(result, Mapping):
        raise TypeError(
            f"function '{name}' returned {type(result).__name__}, expected a dict of its output ports "
            f"({', '.join(ports)}) -> value"
        )
    missing = [p for p in ports if p not in result]
    unknown = sorted(str(k) for k in result if k not in ports)
    if missing or unknown:
        raise TypeError(
            f"function '{name}' returned the ports {sorted(map(str, result))}, expected exactly {sorted(ports)}"
        )
    return dict(result)


@cache
def function_module_class(fn: Callable[..., Any]) -> type[BaseModule]:
    """The module class of a declared function (one class per function).

    Raises:
        FunctionDeclarationError: when ``fn`` declares no ports, or its declaration
            or its parameters do not hold together.
    """
    name = getattr(fn, "__qualname__", repr(fn))
    declaration = declaration_of(fn)
    if declaration is None:
        raise FunctionDeclarationError(
            f"function '{name}' declares no ports: decorate it with @pypeline.module(inputs=[...], outputs=[...]) "
            f"or set {fn.__name__}.declared_inputs and .declared_outputs"
        )
    problems = declaration.problems()
    try:
        binding, schema = bind(fn, declaration)
    except SignatureProblem as exc:
        problems.append(str(exc))
    if problems:
        raise FunctionDeclarationError(f"function '{name}' is not a valid module: " + "; ".join(problems))
    doc = inspect.getdoc(fn) or ""
    attributes: dict[str, Any] = {
        "__module__": fn.__module__,
        "__qualname__": fn.__qualname__,
        "__doc__": doc or None,
        "TYPE": declaration.module_type,
        "VERSION": declaration.version,
        "DESCRIPTION": declaration.description if declaration.description is not None else doc.split("\n")[0],
        "CATEGORY": declaration.category,
        "INPUT_PORTS": list(declaration.inputs),
        "OPTIONAL_INPUTS": list(declaration.optional_inputs),
        "OUTPUT_PORTS": list(declaration.outputs),
        "LIST_OUTPUTS": list(declaration.list_outputs),
        "GLOBALS": list(declaration.globals),
        "CONFIG_SCHEMA": schema,
        "SUPPORTS_DASK": declaration.supports_dask,
        "FUNCTION": fn,
        "BINDING": binding,
    }
    return type(fn.__name__, (FunctionModule,), attributes)
