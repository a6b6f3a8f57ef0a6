"""In-memory artifacts: a frame held in RAM, or a plain value.

:class:`MemoryArtifact` holds a pandas or dask frame and converts it on
demand (``to_pandas`` computes a dask frame, ``to_dask`` partitions a pandas
frame). :class:`ValueArtifact` holds what is not a frame: the lists that
drive iterate connections, scalars.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from pypeline.run.artifacts.artifact import DataArtifact, is_dask, is_frame
from pypeline.run.artifacts.sizeof import estimate

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataArtifact", "MemoryArtifact", "ValueArtifact", "is_frame"]

_NUMBERS = itertools.count(1)


class MemoryArtifact:
    """A pandas or dask frame held in RAM."""

    def __init__(self, frame: Any, rows: int | None = None) -> None:
        self._frame: Any = frame
        self._rows = rows
        self._number = next(_NUMBERS)

    def to_pandas(self) -> pd.DataFrame:
        """The frame itself, or a dask frame computed."""
        frame = self._require()
        return frame.compute() if is_dask(frame) else frame

    def to_dask(self) -> Any:
        """The frame itself, or a pandas frame split into partitions."""
        frame = self._require()
        if is_dask(frame):
            return frame
        from pypeline.modules.frames import to_dask

        return to_dask(frame)

    @property
    def n_rows(self) -> int | None:
        """``len`` of a pandas frame; ``None`` for a lazy dask frame."""
        if self._rows is None and self._frame is not None and not is_dask(self._frame):
            self._rows = len(self._frame)
        return self._rows

    @property
    def uri(self) -> str:
        """``memory://<n>``: the n-th frame this process held in memory."""
        return f"memory://{self._number}"

    @property
    def holds_dask(self) -> bool:
        """True when the frame held is a dask frame."""
        return is_dask(self._require())

    def delete(self) -> None:
        """Drop the reference to the frame (the artifact is unusable afterwards)."""
        self._frame = None

    def _require(self) -> Any:
        if self._frame is None:
            raise RuntimeError(f"artifact {self.uri} was released and cannot be read again")
        return self._frame


class ValueArtifact:
    """A non-tabular port value (a list of files for iterate, a scalar)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    @property
    def n_rows(self) -> int | None:
        """The length of a list value."""
        return estimate(self.value).rows

    @property
    def uri(self) -> str:
        """``value://``."""
        return "value://"

    def delete(self) -> None:
        """Drop the value."""
        self.value = None
