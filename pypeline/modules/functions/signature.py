"""How a function module's parameters are bound, and the config schema they imply.

Parameters are matched by name, in this order:

* ``ctx``: the :class:`~pypeline.modules.sdk.context.RunContext`;
* an input port: that port's data (an optional input left unconnected is
  omitted when the parameter has a default, else ``None``);
* an output port: the port's name, as Trakt passes its output bindings
  (``def run(ctx, input, output)``); a function may ignore it;
* anything else: the config of that name. Without a default it is a
  required config, with one an optional config whose default the schema
  records when it is a plain value (text, number, true/false, null). The
  annotation gives the config's type (``int``, ``str``, ``list[str]``,
  ``float | None``, ...); anything else, or none, is ``any``.

A ``**kwargs`` parameter receives the input ports no parameter names.
Positional-only parameters and ``*args`` cannot be bound by name and are
refused, as are input ports no parameter receives.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pypeline.modules.functions.declare import FunctionDeclaration

CTX_PARAMETER = "ctx"
_SIMPLE = {str: "str", int: "int", float: "float", bool: "bool", type(None): "null"}


class SignatureProblem(ValueError):
    """The function's parameters cannot be bound to its declaration; the message says why."""


@dataclass(frozen=True, slots=True)
class Binding:
    """Which parameter receives what (see the module docstring)."""

    wants_ctx: bool
    inputs: tuple[str, ...]
    """Input ports with a parameter of their name."""
    defaulted_inputs: frozenset[str]
    outputs: tuple[str, ...]
    """Output ports with a parameter of their name (they receive the port's name)."""
    configs: tuple[str, ...]
    extra_inputs: tuple[str, ...]
    """Input ports passed through ``**kwargs``."""

    def arguments(self, inputs: Mapping[str, Any], configs: Mapping[str, Any], ctx: Any) -> dict[str, Any]:
        """The keyword arguments of one call."""
        kwargs: dict[str, Any] = {}
        if self.wants_ctx:
            kwargs[CTX_PARAMETER] = ctx
        for port in (*self.inputs, *self.extra_inputs):
            if port in inputs:
                kwargs[port] = inputs[port]
            elif port not in self.defaulted_inputs:
                kwargs[port] = None
        for port in self.outputs:
            kwargs[port] = port
        for key in self.configs:
            if key in configs:
                kwargs[key] = configs[key]
        return kwargs


def bind(fn: Callable[..., Any], declaration: FunctionDeclaration) -> tuple[Binding, dict[str, dict[str, Any]]]:
    """The binding of ``fn``'s parameters and its ``CONFIG_SCHEMA``.

    Raises:
        SignatureProblem: naming the parameter or port that cannot be bound.
    """
    parameters = inspect.signature(fn).parameters
    hints = _type_hints(fn)
    inputs, outputs, configs, defaulted = [], [], [], set()
    schema: dict[str, dict[str, Any]] = {"required": {}, "optional": {}}
    var_keyword = False
    for name, parameter in parameters.items():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.VAR_POSITIONAL):
            raise SignatureProblem(
                f"parameter '{name}' cannot be passed by name (module functions receive ports and configs by name)"
            )
        if parameter.kind is parameter.VAR_KEYWORD:
            var_keyword = True
        elif name == CTX_PARAMETER:
            continue
        elif name in declaration.inputs:
            inputs.append(name)
            if parameter.default is not parameter.empty:
                defaulted.add(name)
        elif name in declaration.outputs:
            outputs.append(name)
        else:
            configs.append(name)
            _add_config(schema, name, parameter, hints.get(name, parameter.empty))
    unbound = [port for port in declaration.inputs if port not in inputs]
    if unbound and not var_keyword:
        raise SignatureProblem(
            "no parameter receives the input port" + ("s " if len(unbound) > 1 else " ")
            + ", ".join(f"'{p}'" for p in unbound) + " (add a parameter of that name, or **kwargs)"
        )
    binding = Binding(
        wants_ctx=CTX_PARAMETER in parameters, inputs=tuple(inputs), defaulted_inputs=frozenset(defaulted),
        outputs=tuple(outputs), configs=tuple(configs), extra_inputs=tuple(unbound),
    )
    return binding, schema


def _add_config(schema: dict[str, dict[str, Any]], name: str, parameter: inspect.Parameter, hint: Any) -> None:
    spec: dict[str, Any] = {"type": type_spec(hint)}
    if parameter.default is parameter.empty:
        schema["required"][name] = spec
        return
    if _plain(parameter.default):
        spec["default"] = parameter.default
    schema["optional"][name] = spec


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The function's annotations, evaluated in its own module; none when they do not evaluate."""
    try:
        return typing.get_type_hints(fn)
    except Exception:  # a name only imported under TYPE_CHECKING, a forward reference: type 'any'
        return {}


def type_spec(hint: Any) -> str:
    """The CONFIG_SCHEMA type of an annotation (``int``, ``list[str]``, ``str|null``, ``any``)."""
    if hint in _SIMPLE:
        return _SIMPLE[hint]
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        parts = list(dict.fromkeys(type_spec(a) for a in args))
        return "any" if "any" in parts else "|".join(parts)
    if hint is list or origin is list:
        inner = type_spec(args[0]) if len(args) == 1 else "any"
        return f"list[{inner}]" if inner in ("str", "int", "float", "bool") else "list"
    if hint is dict or origin is dict:
        inner = type_spec(args[1]) if len(args) == 2 else "any"
        return f"dict[{inner}]" if inner in ("str", "int", "float", "bool") else "dict"
    return "any"


def _plain(value: Any) -> bool:
    """A default the schema can record: text, a whole or finite number, true/false or null."""
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))
