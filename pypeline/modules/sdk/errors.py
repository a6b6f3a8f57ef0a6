"""Errors a module raises when its input data or its configs do not fit.

A module may raise any exception; the run wraps it in a
:class:`~pypeline.core.errors.ModuleError` naming the module and attempt,
and shows ``TypeName: message``. A :class:`DataError` is a
:class:`~pypeline.core.errors.PypelineError`, so the run shows its message
as written: use it for mistakes the user can fix (a missing column, a
malformed row, a value that does not convert), with a message naming the
file and line or the column, what was found and what was expected.
"""

from __future__ import annotations

from pypeline.core.errors import RunError


class DataError(RunError, ValueError):
    """The data (or a config that only run time can check) does not fit the module.

    Also a :class:`ValueError`, so code that guards a module call with ``except ValueError`` keeps working.
    """
