"""The artifact protocol: one opaque handle for the data on a data connection.

A module's output port value is registered with the run's
:class:`~pypeline.run.artifacts.manager.ArtifactManager`, which decides
where it lives (RAM or a Parquet spill file) and hands back a
:class:`DataArtifact`. Consumers get the data back through the manager in the
kind each one takes (:mod:`pypeline.modules.kinds`): ``to_pandas()``,
``to_dask()``, ``to_arrow()``, or ``native()``, the value as the producing
module gave it (a built-in module in ``arrow`` / ``stream`` mode works on
what it gets). ``n_rows`` is the row count when it is known without
computing (``None`` for a lazy dask frame nobody counted), ``uri`` says where
the data lives (``memory://<id>`` or ``file:///...``).

Implementations: :class:`~pypeline.run.artifacts.memory.MemoryArtifact`,
:class:`~pypeline.run.artifacts.parquet.ParquetArtifact`; non-tabular values
(the lists behind iterate connections, scalars) are held by
:class:`~pypeline.run.artifacts.memory.ValueArtifact`, outside the protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pypeline.modules.kinds import is_frame_value

if TYPE_CHECKING:
    import pandas as pd


@runtime_checkable
class DataArtifact(Protocol):
    """Opaque handle to tabular data with materialisation helpers."""

    def to_pandas(self) -> pd.DataFrame:
        """The data as a pandas frame (computes a dask frame, reads a spill file)."""
        ...

    def to_dask(self) -> Any:
        """The data as a dask frame (lazy: a spill file is read partition by partition)."""
        ...

    def to_arrow(self) -> Any:
        """The data as a ``pyarrow.Table`` (converts a pandas frame, computes a dask frame, collects a stream)."""
        ...

    def native(self) -> Any:
        """The data as the producing module gave it (a spill reads back as the kind it was written from)."""
        ...

    @property
    def n_rows(self) -> int | None:
        """Row count when known without computing, else ``None``."""
        ...

    @property
    def uri(self) -> str:
        """Where the data lives."""
        ...


_FRAME_TYPES: dict[type, bool] = {}
"""Type -> whether it is a frame: the answer depends on the type alone, and the run asks for every port value."""


def is_frame(value: Any) -> bool:
    """True for a frame of any kind (:func:`~pypeline.modules.kinds.is_frame_value`), answered once per type."""
    kind = type(value)
    known = _FRAME_TYPES.get(kind)
    if known is None:
        known = _FRAME_TYPES[kind] = is_frame_value(value)
    return known
