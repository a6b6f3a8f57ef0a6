"""The store of global variables modules set at run time.

A module sets ``row_count``; the store keeps it under ``{node_id}.{var}``
where ``node_id`` is ``module`` outside iterations and ``module#i`` (or
``module#i#j`` nested) inside them (docs/secrets.md). Look-up is
case-insensitive and sees the *current* iteration: a reader at iteration path
``(1, 2)`` asking for ``mod__row_count`` gets ``mod#1#2``'s value, else
``mod#1``'s, else ``mod``'s, else the value ``mod`` set last in any iteration.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

_MISSING = object()


def node_id_for(module_id: str, iter_path: Iterable[int]) -> str:
    """``module`` or ``module#i#j`` for an iteration path."""
    if not iter_path:
        return module_id
    return module_id + "".join(f"#{i}" for i in iter_path)


class GlobalStore:
    """Thread-safe map of ``node_id.var`` -> value with iteration-aware look-up."""

    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}
        self._latest: dict[str, Any] = {}
        for key, value in (initial or {}).items():
            node_id, var = key.rsplit(".", 1)
            self.set(node_id, var, value)

    def set(self, node_id: str, var: str, value: Any) -> None:
        """Store ``value`` as ``node_id.var`` (names are case-insensitive)."""
        node_key = f"{node_id}.{var}".lower()
        module_id = node_id.partition("#")[0]
        latest_key = node_key if len(module_id) == len(node_id) else f"{module_id}.{var}".lower()
        with self._lock:
            self._values[node_key] = value
            self._latest[latest_key] = value

    def get(self, module_id: str, var: str, iter_path: tuple[int, ...] = (), default: Any = _MISSING) -> Any:
        """Look ``module_id__var`` up from iteration ``iter_path`` (see the module docstring).

        Raises:
            KeyError: when the module never set that global and no default is given.
        """
        module_id, var = module_id.lower(), var.lower()
        with self._lock:
            for depth in range(len(iter_path), -1, -1):
                key = f"{node_id_for(module_id, iter_path[:depth])}.{var}"
                if key in self._values:
                    return self._values[key]
            latest = self._latest.get(f"{module_id}.{var}", _MISSING)
        if latest is not _MISSING:
            return latest
        if default is not _MISSING:
            return default
        raise KeyError(f"{module_id}__{var}")

    def snapshot(self) -> dict[str, Any]:
        """A copy of every stored ``node_id.var`` -> value (for manifests and checkpoints)."""
        with self._lock:
            return dict(sorted(self._values.items()))
