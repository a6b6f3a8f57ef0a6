"""What a function module declares: ports, kind, globals, version.

Two spellings give the same :class:`FunctionDeclaration`:

* the decorator :func:`module` (``@pypeline.module(inputs=[...], outputs=[...])``),
  which stores it on the function as ``__pypeline_module__`` and returns the
  function unchanged, so it can still be called (and unit-tested) directly;
* Trakt's attributes, ``fn.declared_inputs`` and ``fn.declared_outputs``,
  read by :func:`declaration_of` when there is no decorator.

The module's kind follows the table of docs/flow-format.md unless given: a
function with inputs and outputs is a ``mod``, outputs only a ``source``,
inputs only a ``sink``, neither a ``solo`` module.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pypeline.modules.sdk.base import MODULE_TYPES

F = TypeVar("F", bound=Callable[..., Any])

DECLARATION_ATTRIBUTE = "__pypeline_module__"
TRAKT_ATTRIBUTES = ("declared_inputs", "declared_outputs")
FUNCTION_CATEGORY = "Functions"


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionDeclaration:
    """The ports and facts a function module declares (see the module docstring)."""

    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    kind: str | None = None
    """``source``, ``mod``, ``sink`` or ``solo``; ``None``: follow from the ports."""
    optional_inputs: tuple[str, ...] = ()
    list_outputs: tuple[str, ...] = ()
    globals: tuple[str, ...] = ()
    version: str = "1.0.0"
    description: str | None = None
    category: str = FUNCTION_CATEGORY
    supports_dask: bool = False
    """Whether the function accepts dask frames (``execution_mode: dask``); pandas code usually does not."""

    @property
    def module_type(self) -> str:
        """The declared kind, or the one the ports imply."""
        if self.kind is not None:
            return self.kind
        if self.inputs:
            return "mod" if self.outputs else "sink"
        return "source" if self.outputs else "solo"

    def problems(self) -> list[str]:
        """What is wrong with the declaration (empty when it is usable)."""
        found = []
        for field_name in ("inputs", "outputs", "optional_inputs", "list_outputs", "globals"):
            names = getattr(self, field_name)
            if not all(isinstance(n, str) and n.isidentifier() for n in names):
                found.append(f"{field_name} must be a list of names (letters, digits, '_')")
            elif len(set(names)) != len(names):
                found.append(f"{field_name} names a port twice")
        if not set(self.optional_inputs) <= set(self.inputs):
            found.append("optional_inputs must name input ports")
        if not set(self.list_outputs) <= set(self.outputs):
            found.append("list_outputs must name output ports")
        if self.kind is not None and self.kind not in MODULE_TYPES:
            found.append(f"type {self.kind!r} is not one of {', '.join(MODULE_TYPES)}")
        if self.module_type in ("source", "solo") and self.inputs:
            found.append(f"a {self.module_type} module has no inputs")
        if self.module_type == "solo" and self.outputs:
            found.append("a solo module has no outputs")
        if self.module_type == "sink" and set(self.outputs) - set(self.list_outputs):
            found.append("a sink's outputs can only be list outputs")
        return found


def _names(value: Any) -> tuple[Any, ...]:
    if isinstance(value, str):  # inputs="input" means one port, not five
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return () if value is None else (value,)  # not a list: problems() names it


def module(
    *,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    type: str | None = None,
    optional_inputs: Sequence[str] = (),
    list_outputs: Sequence[str] = (),
    globals: Sequence[str] = (),
    version: str = "1.0.0",
    description: str | None = None,
    category: str = FUNCTION_CATEGORY,
    supports_dask: bool = False,
) -> Callable[[F], F]:
    """Declare a plain function (sync or ``async``) as a PYpeline module.

    The function is called with its parameters bound by name: each input port
    to its data, ``ctx`` to the :class:`~pypeline.modules.sdk.context.RunContext`,
    every other parameter to the config of that name (required when it has no
    default; its annotation gives the config's type). It returns the value of
    its one output port, or a dict of output port -> value. See
    docs/python-api.md, 'Functions as modules'.

    Args:
        inputs: the input ports.
        outputs: the output ports.
        type: ``source``, ``mod``, ``sink`` or ``solo``; by default it follows from the ports.
        optional_inputs: input ports that may stay unconnected.
        list_outputs: output ports that carry a list (they can drive an ``iterate`` connection).
        globals: the globals the function sets with ``ctx.set_global``.
        version: recorded in ``dag.json``.
        description: shown by ``pype list-modules``; the docstring's first line by default.
        category: a grouping for listings.
        supports_dask: whether the function accepts dask frames (``execution_mode: dask``).

    Returns:
        A decorator that returns the function itself, unchanged but for the declaration.

    Raises:
        TypeError: when the declaration does not hold together (a port both input and output, ...).
    """
    declaration = FunctionDeclaration(
        inputs=_names(inputs), outputs=_names(outputs), kind=type, optional_inputs=_names(optional_inputs),
        list_outputs=_names(list_outputs), globals=_names(globals), version=version, description=description,
        category=category, supports_dask=supports_dask,
    )
    problems = declaration.problems()

    def decorate(fn: F) -> F:
        if problems:
            raise TypeError(f"@pypeline.module on {getattr(fn, '__qualname__', fn)!r}: " + "; ".join(problems))
        if not inspect.isfunction(fn):
            raise TypeError(f"@pypeline.module decorates a function (def or async def), not {fn!r}")
        setattr(fn, DECLARATION_ATTRIBUTE, declaration)
        return fn

    return decorate


def is_function_module(obj: object) -> bool:
    """True for a function that declares ports (by the decorator or Trakt's attributes)."""
    return inspect.isfunction(obj) and (
        hasattr(obj, DECLARATION_ATTRIBUTE) or any(hasattr(obj, a) for a in TRAKT_ATTRIBUTES)
    )


def declaration_of(fn: Callable[..., Any]) -> FunctionDeclaration | None:
    """The declaration of a function module, or ``None`` when ``fn`` declares nothing."""
    declared = getattr(fn, DECLARATION_ATTRIBUTE, None)
    if isinstance(declared, FunctionDeclaration):
        return declared
    if not any(hasattr(fn, a) for a in TRAKT_ATTRIBUTES):
        return None
    return FunctionDeclaration(
        inputs=_names(getattr(fn, "declared_inputs", ())),
        outputs=_names(getattr(fn, "declared_outputs", ())),
    )
