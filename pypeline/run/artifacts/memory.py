"""In-memory artifacts: a frame held in RAM, or a plain value.

:class:`MemoryArtifact` holds a frame of any kind (:mod:`pypeline.modules.kinds`)
and converts it on demand (``to_pandas`` computes a dask frame or converts a
table, ``to_dask`` partitions a pandas frame, ``to_arrow`` converts a pandas
frame); a stream is handed out as it is (the sub flow runner gives each
reader a branch of a tee when several read it). :class:`ValueArtifact` holds what is not a frame: the lists that
drive iterate connections, scalars.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from pypeline.modules.frames import is_dask
from pypeline.modules.kinds import kind_of
from pypeline.run.artifacts.artifact import DataArtifact, is_frame
from pypeline.run.artifacts.sizeof import estimate

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataArtifact", "MemoryArtifact", "StreamArtifact", "ValueArtifact", "is_frame"]

_NUMBERS = itertools.count(1)


class MemoryArtifact:
    """A pandas or dask frame held in RAM."""

    def __init__(self, frame: Any, rows: int | None = None) -> None:
        self._frame: Any = frame
        self._rows = rows
        self._number = next(_NUMBERS)

    def to_pandas(self) -> pd.DataFrame:
        """The frame itself, or the frame converted (a dask frame computed, a stream collected)."""
        frame = self._require()
        return kind_of(frame).to_pandas(frame)

    def to_dask(self) -> Any:
        """The frame itself, or a pandas frame split into partitions."""
        frame = self._require()
        if is_dask(frame):
            return frame
        from pypeline.modules.frames import to_dask

        return to_dask(self.to_pandas())

    def to_arrow(self) -> Any:
        """The frame as a ``pyarrow.Table`` (itself, or converted)."""
        frame = self._require()
        return kind_of(frame).to_arrow(frame)

    def native(self) -> Any:
        """The frame as it was registered."""
        return self._require()

    @property
    def n_rows(self) -> int | None:
        """Rows of an eager frame; ``None`` for a lazy one (dask, stream)."""
        if self._rows is None and self._frame is not None and not is_dask(self._frame):
            self._rows = estimate(self._frame).rows
        return self._rows

    @property
    def uri(self) -> str:
        """``memory://<n>``: the n-th frame this process held in memory."""
        return f"memory://{self._number}"

    @property
    def holds_dask(self) -> bool:
        """True when the frame held is a dask frame."""
        return is_dask(self._require())

    def holds(self, want: str) -> bool:
        """True when handing the frame out as ``want`` (``pandas``, ``dask``, ``arrow``, ``native``) needs no work."""
        frame = self._require()
        return want == "native" or kind_of(frame).name == want  # the kinds are named after the wants

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


class StreamArtifact:
    """A stream of record batches (``execution_mode: stream``): each reader gets it once, or a tee branch.

    Converting it (``to_pandas``, ``to_arrow``) reads it whole: what a module that does not
    stream receives (docs/performance.md).
    """

    def __init__(self, stream: Any, tee: Any = None) -> None:
        self.stream = stream
        self.tee = tee
        self._handed = False

    def native(self) -> Any:
        """The stream for one reader: the stream itself, or the next branch of the tee."""
        if self.tee is not None:
            return self.tee.branch()
        if self._handed:
            raise RuntimeError(f"the stream of module '{self.stream.origin}' has one reader and was handed out")
        self._handed = True
        return self.stream

    def to_arrow(self) -> Any:
        """One reader's stream, read whole into a ``pyarrow.Table``."""
        return self.native().collect()

    def to_pandas(self) -> pd.DataFrame:
        """One reader's stream, read whole into a pandas frame."""
        from pypeline.modules.kinds.convert import to_pandas

        return to_pandas(self.to_arrow())

    def to_dask(self) -> Any:
        """One reader's stream as a dask frame (read whole first)."""
        from pypeline.modules.frames import to_dask

        return to_dask(self.to_pandas())

    @property
    def n_rows(self) -> int | None:
        """Rows the stream yielded, once it ended; ``None`` before."""
        return int(self.stream.rows) if self.stream.ended else None

    @property
    def uri(self) -> str:
        """``stream://<module>``."""
        return f"stream://{self.stream.origin}"

    def delete(self) -> None:
        """Release every branch still held (their buffers and spill files go)."""
        if self.tee is not None:
            for index in range(len(self.tee.branches)):
                self.tee.release(index)
