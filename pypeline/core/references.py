"""Names a flow can refer to: context variables, module globals, the iteration, secrets.

Both control conditions (``source_csv__row_count > 0 and context.env == "prod"``)
and config templates (``"{{context.input_dir}}/a.csv"``) name values that only
exist at run time. The build checks these names; the run looks them up. Both
sides share the :class:`Reference` type defined here.

Spelling:

=========================  ===========================================
``context.NAME``           a context variable (docs/secrets.md)
``MODULE__VAR``            a global set by module ``MODULE`` (case-insensitive)
``iter.item``, ``iter.index``  the innermost iteration's item and index
``vault.PATH#KEY``         a secret (templates only; resolved by the Vault resolver)
=========================  ===========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ReferenceKind = Literal["context", "global", "iter", "secret"]

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
    if "__" in name:
        module, var = name.split("__", 1)
        if module and var and module.replace("_", "a").isalnum() and var.isidentifier():
            return Reference(kind="global", module=module, name=var)
    raise ReferenceSyntaxError(
        f"'{name}' is not a known name (expected context.NAME, MODULE__VAR, iter.item, iter.index "
        "or vault.PATH#KEY)"
    )
