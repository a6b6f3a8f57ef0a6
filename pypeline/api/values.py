"""Values a flow can hold: what YAML and JSON write and read back unchanged.

A flow built in Python must mean what its YAML means, so a config, a setting
or a context variable may only hold text, a number, true/false, null, a list
or a mapping with text keys. Tuples become lists; anything else (a ``Path``,
a ``datetime``, a frame) is refused at the call that passed it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pypeline.api.sites import Site
from pypeline.core.errors import FlowError

EXPECTED = "text, a number, true/false, None, a list or a dict with text keys"


class NotPlain(ValueError):
    """A value a flow cannot hold; ``where`` is its place inside the value (``[2].name``)."""

    def __init__(self, where: str, value: Any) -> None:
        super().__init__(where)
        self.where = where
        self.value = value


def plain(value: Any, where: str = "") -> Any:
    """``value`` as plain data (tuples become lists, mappings dicts).

    Raises:
        NotPlain: at the first part that is not plain data.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):  # JSON (dag.json) has no NaN or infinity
            raise NotPlain(where, value)
        return value
    if isinstance(value, (list, tuple)):
        return [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotPlain(f"{where}[{key!r}]", key)
            result[key] = plain(item, f"{where}.{key}" if where else key)
        return result
    raise NotPlain(where, value)


def checked(value: Any, what: str, site: Site) -> Any:
    """:func:`plain` of ``value``, or a :class:`FlowError` at ``site`` naming ``what`` and the bad part.

    Raises:
        FlowError: when part of ``value`` is not plain data.
    """
    try:
        return plain(value)
    except NotPlain as exc:
        inside = f" (at {exc.where})" if exc.where else ""
        raise FlowError(
            f"{what} holds {_kind(exc.value)}{inside}, which a flow cannot hold",
            path=site.path, line=site.line, expected=EXPECTED,
        ) from None


def _kind(value: Any) -> str:
    if isinstance(value, float):
        return f"the float {value!r}"
    return f"a {type(value).__name__} ({value!r})" if len(repr(value)) <= 40 else f"a {type(value).__name__}"
