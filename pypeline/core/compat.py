"""Work-arounds for the Python versions PYpeline supports.

``functools.cached_property`` on Python 3.11 computes every value under one
``RLock`` per *descriptor*, shared by all instances of the class. dask's
expression classes use many cached properties, so two threads that build or
optimise dask graphs at the same time (two sinks of one wave in
``execution_mode: dask``, each calling ``to_delayed()`` in the thread pool)
can take those locks in opposite orders and deadlock (CPython gh-87634).
Python 3.12 removed the lock: a value may then be computed twice by racing
threads, which is harmless for the pure computations cached properties hold.
:func:`lock_free_cached_property` gives Python 3.11 the 3.12 behaviour.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

_NOT_FOUND = object()


def _get_without_lock(self: Any, instance: Any, owner: type | None = None) -> Any:
    if instance is None:
        return self
    if self.attrname is None:
        raise TypeError("Cannot use cached_property instance without calling __set_name__ on it.")
    try:
        cache = instance.__dict__
    except AttributeError:
        raise TypeError(
            f"No '__dict__' attribute on {type(instance).__name__!r} instance to cache {self.attrname!r} property."
        ) from None
    value = cache.get(self.attrname, _NOT_FOUND)
    if value is _NOT_FOUND:
        value = self.func(instance)
        try:
            cache[self.attrname] = value
        except TypeError:
            raise TypeError(
                f"The '__dict__' attribute on {type(instance).__name__!r} instance does not support item "
                f"assignment for caching {self.attrname!r} property."
            ) from None
    return value


def lock_free_cached_property() -> None:
    """On Python < 3.12, make ``functools.cached_property`` lock-free as in 3.12 (idempotent)."""
    if sys.version_info < (3, 12) and functools.cached_property.__get__ is not _get_without_lock:
        functools.cached_property.__get__ = _get_without_lock  # type: ignore[method-assign]
