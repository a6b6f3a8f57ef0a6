"""Names of a flow's modules and ports in Python: ``ModuleRef`` and ``Port``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Port:
    """One port of one module: ``flow_module["data"]``, written ``module.port`` in YAML."""

    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


class ModuleRef:
    """A module of a :class:`Flow`, as :meth:`Flow.module` returns it; ``ref["port"]`` is one of its ports."""

    __slots__ = ("id",)

    def __init__(self, module_id: str) -> None:
        self.id = module_id

    def __getitem__(self, port: str) -> Port:
        return Port(self.id, port)

    def __str__(self) -> str:
        return self.id

    def __repr__(self) -> str:
        return f"ModuleRef({self.id!r})"


PortLike = Port | ModuleRef | str
"""A port: ``ref["data"]``, ``"read.data"``, or a module (``ref`` / ``"read"``) that has only one such port."""


