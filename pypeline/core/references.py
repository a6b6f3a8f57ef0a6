"""Names a flow can refer to: context variables, module globals, the iteration, secrets.

Both control conditions (``source_csv__row_count > 0 and context.env == "prod"``)
and config templates (``"{{context.input_dir}}/a.csv"``) name values that only
exist at run time. The build checks these names; the run looks them up. Both
sides share the :class:`Reference` type defined here.

Spelling:

=========================  ===========================================
``context.NAME``           a context variable (docs/secrets.md)
``MODULE__VAR``            a global set by module ``MODULE`` (case-insensitive); the ids of
                           an included flow's modules hold dots (``east.load__row_count``)
``iter.item``, ``iter.index``  the innermost iteration's item and index
``vault.PATH#KEY``         a secret (templates only; resolved by the Vault resolver)
``params.NAME``            a parameter of a flow meant to be included (replaced by the build)
=========================  ===========================================

A module id never holds ``__`` (the flow schema refuses it), so the first
``__`` of a name always ends its module part, dotted or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ReferenceKind = Literal["context", "global", "iter", "secret", "param"]

ITER_FIELDS = ("item", "index")


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    """One name used by a template or a condition."""

    kind: ReferenceKind
    name: str
    module: str = ""

    def __str__(self) -> str:
        if self.kind == "global":
            return f"{self.module}__{self.name}"
        if self.kind == "secret":
            return f"vault.{self.name}"
        if self.kind == "param":
            return f"params.{self.name}"
        return f"{self.kind}.{self.name}"


class ReferenceSyntaxError(ValueError):
    """A name that is none of the spellings above."""


def parse_reference(text: str) -> Reference:
    """Parse the inside of a template (``context.x``, ``mod__var``, ``iter.item``, ``vault.p#k``).

    Raises:
        ReferenceSyntaxError: for any other spelling.
    """
    name = text.strip()
    if name.startswith("vault."):
        path = name[len("vault.") :]
        if "#" not in path or not path.split("#", 1)[0] or not path.split("#", 1)[1]:
            raise ReferenceSyntaxError(f"secret reference '{name}' must look like 'vault.<path>#<key>'")
        return Reference(kind="secret", name=path)
    if name.startswith("context."):
        var = name[len("context.") :]
        if not var.isidentifier():
            raise ReferenceSyntaxError(f"'{name}' is not a valid context variable name")
        return Reference(kind="context", name=var)
    if name.startswith("iter."):
        field = name[len("iter.") :]
        if field not in ITER_FIELDS:
            raise ReferenceSyntaxError(f"'{name}' is not an iteration field (expected iter.item or iter.index)")
        return Reference(kind="iter", name=field)
    if name.startswith("params."):
        param = name[len("params.") :]
        if not param.isidentifier():
            raise ReferenceSyntaxError(f"'{name}' is not a valid parameter name")
        return Reference(kind="param", name=param)
    if "__" in name:
        module, var = name.split("__", 1)
        if module and var and all(_is_id(part) for part in module.split(".")) and var.isidentifier():
            return Reference(kind="global", module=module, name=var)
    raise ReferenceSyntaxError(
        f"'{name}' is not a known name (expected context.NAME, MODULE__VAR, iter.item, iter.index "
        "or vault.PATH#KEY)"
    )


def _is_id(part: str) -> bool:
    """One part of a module id: letters, digits and ``_`` (ids of included modules join parts with dots)."""
    return bool(part) and part.replace("_", "a").isalnum()
