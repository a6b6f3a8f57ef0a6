"""The values a control connection's condition reads, seen from one iteration.

A condition (``load__row_count > 0 and context.env == "prod"``) names
context variables, globals set by modules (the latest value visible from the
firing instance's iteration) and the current iteration's ``iter.item`` /
``iter.index``. The scheduler parses each condition once and evaluates it
with :meth:`ConditionValues.lookup` when its connection fires; a name
without a value is an :class:`ExpressionError` (the target is skipped, as
for any condition that cannot be evaluated).

A secret known only by its references after a resume (``UnreadSecret``) is
read again here: a condition never compares ``***``.
"""

from __future__ import annotations

from typing import Any

from pypeline.core.errors import SecretError
from pypeline.core.expressions import ExpressionError
from pypeline.core.references import Reference
from pypeline.modules.sdk.globals import GlobalStore
from pypeline.run.templater.templater import Scope, Templater
from pypeline.secrets.transport import UnreadSecret, from_wire


class ConditionValues:
    """Looks up the names of conditions (see the module docstring)."""

    def __init__(self, context_vars: dict[str, Any], globals_store: GlobalStore, templater: Templater) -> None:
        self._context = context_vars
        self._globals = globals_store
        self._templater = templater

    def lookup(self, ref: Reference, path: tuple[int, ...], items: tuple[Any, ...]) -> Any:
        """The value of a name in a condition, seen from iteration ``path``.

        Raises:
            ExpressionError: for a name that has no value (passed through by ``evaluate``).
        """
        if ref.kind == "context":
            if ref.name not in self._context:
                raise ExpressionError(f"unknown context variable '{ref.name}'")
            return self._context[ref.name]
        if ref.kind == "iter":
            if not path:
                raise ExpressionError(f"'{ref}' is used outside an iteration")
            return self._readable(ref, items[-1]) if ref.name == "item" else path[-1]
        try:
            return self._readable(ref, self._globals.get(ref.module, ref.name, path))
        except KeyError:
            raise ExpressionError(
                f"the global '{ref}' was not set (module '{ref.module}' has not set '{ref.name}')"
            ) from None

    def _readable(self, ref: Reference, value: Any) -> Any:
        """``value``, or, for a secret known only by its references (``UnreadSecret``), the secret read again.

        Raises:
            ExpressionError: naming the secret when it still cannot be read.
        """
        if not isinstance(value, UnreadSecret):
            return value
        resolver = self._templater.resolvers.get("secret")
        try:
            if resolver is None:
                raise SecretError(value.references[0], "no Vault is configured in this run")
            scope = Scope(module_id=ref.module or "-")
            return from_wire(value.wire, lambda name: resolver.resolve(Reference(kind="secret", name=name), scope))
        except SecretError as exc:
            raise ExpressionError(f"'{ref}' holds a secret that cannot be read: {exc.format_message()}") from None
