"""In-memory artifacts: the run's handles to the data that flows on data connections.

Every value an output port produces is registered with the
:class:`ArtifactManager` and handed to consumers from there; nothing else in
the runtime holds frames. Frames become :class:`MemoryArtifact`; other
values (lists for iterate, scalars) become :class:`ValueArtifact`.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Protocol, runtime_checkable

import pandas as pd


@runtime_checkable
class DataArtifact(Protocol):
    """Opaque handle to tabular data with materialisation helpers."""

    def to_pandas(self) -> pd.DataFrame: ...

    def to_dask(self) -> Any: ...

    @property
    def n_rows(self) -> int | None: ...

    @property
    def uri(self) -> str: ...


def is_frame(value: Any) -> bool:
    """True for pandas and dask DataFrames."""
    if isinstance(value, pd.DataFrame):
        return True
    return type(value).__module__.startswith("dask") and hasattr(value, "npartitions") and hasattr(value, "columns")


class MemoryArtifact:
    """A pandas or dask frame held in RAM."""

    def __init__(self, frame: Any) -> None:
        self._frame = frame
        self._uri = f"memory://{uuid.uuid4().hex[:12]}"

    def to_pandas(self) -> pd.DataFrame:
        if isinstance(self._frame, pd.DataFrame):
            return self._frame
        return self._frame.compute()

    def to_dask(self) -> Any:
        if isinstance(self._frame, pd.DataFrame):
            from pypeline.modules.frames import to_dask

            return to_dask(self._frame)
        return self._frame

    @property
    def n_rows(self) -> int | None:
        return len(self._frame) if isinstance(self._frame, pd.DataFrame) else None

    @property
    def uri(self) -> str:
        return self._uri


class ValueArtifact:
    """A non-tabular port value (a list of files for iterate, a scalar)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    @property
    def n_rows(self) -> int | None:
        return len(self.value) if isinstance(self.value, list) else None

    @property
    def uri(self) -> str:
        return "value://"


class ArtifactManager:
    """Registers port values and hands them to consumers; thread-safe."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})
        self._lock = threading.Lock()
        self.spills: list[dict[str, Any]] = []

    def register(self, obj: Any) -> MemoryArtifact | ValueArtifact:
        """Wrap ``obj`` in an artifact (frames in RAM, anything else as a value)."""
        if is_frame(obj):
            return MemoryArtifact(obj)
        return ValueArtifact(obj)

    def adopt(self, art: Any) -> Any:
        """Return ``art`` unchanged; helper for symmetric caller code."""
        return art

    def materialize(self, art: Any, execution_mode: str) -> Any:
        """The value a module receives: a frame of the mode's kind, or the plain value."""
        if isinstance(art, ValueArtifact):
            return art.value
        return art.to_dask() if execution_mode == "dask" else art.to_pandas()

    def release(self, art: Any) -> None:
        """Forget an artifact nobody will read again (frees memory)."""

    def close(self) -> None:
        """Remove everything the manager created on disk (nothing for RAM artifacts)."""
