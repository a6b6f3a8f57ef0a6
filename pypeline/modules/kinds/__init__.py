"""The kinds of frames on data connections (pandas, dask, Arrow tables, Arrow streams) behind one interface.

Built-in modules ask :func:`kind_of` for the kind of an input and use the
:class:`~pypeline.modules.kinds.base.FrameKind` it returns (see
:mod:`pypeline.modules.kinds.base` for the interface and the table of kinds)::

    kind = kind_of(frame)
    result = await kind.work(ctx, kind.map_rows, frame, keep_rows, keep_rows_arrow, condition)
    kind.report_rows(frame, result, lambda rows_in, rows_out: ctx.set_global("row_count", rows_out))

A fifth kind is one more class with the same methods, added to :data:`KINDS`.
"""

from __future__ import annotations

from typing import Any

from pypeline.modules.kinds.arrow_kind import ArrowKind
from pypeline.modules.kinds.base import FrameKind
from pypeline.modules.kinds.dask_kind import DaskKind
from pypeline.modules.kinds.pandas_kind import PandasKind
from pypeline.modules.kinds.stream import BatchStream, is_stream
from pypeline.modules.kinds.stream_kind import StreamKind

PANDAS = PandasKind()
DASK = DaskKind()
ARROW = ArrowKind()
STREAM = StreamKind()
KINDS: tuple[FrameKind, ...] = (PANDAS, ARROW, STREAM, DASK)
"""Every kind, in the order :func:`kind_of` asks them."""
MODES = ("pandas", "arrow", "stream", "dask")
"""The execution modes; each names the kind of frame its sources produce."""

__all__ = [
    "ARROW",
    "DASK",
    "KINDS",
    "MODES",
    "PANDAS",
    "STREAM",
    "BatchStream",
    "FrameKind",
    "is_frame_value",
    "is_stream",
    "kind_named",
    "kind_of",
]


_KIND_OF_TYPE: dict[type, FrameKind] = {}
"""Type -> its kind: every kind tells its frames by their type, and modules ask for every input."""


def kind_of(frame: Any) -> FrameKind:
    """The kind of ``frame``.

    Raises:
        TypeError: ``frame`` is no frame of a known kind (a module got a list, ``None``, ...).
    """
    known = _KIND_OF_TYPE.get(type(frame))
    if known is not None:
        return known
    for kind in KINDS:
        if kind.owns(frame):
            _KIND_OF_TYPE[type(frame)] = kind
            return kind
    raise TypeError(f"expected a frame (pandas, dask, Arrow table or stream), got {type(frame).__name__}")


def kind_named(name: str) -> FrameKind:
    """The kind whose ``name`` is ``name`` (an execution mode names the kind its sources produce).

    Raises:
        KeyError: for an unknown name.
    """
    for kind in KINDS:
        if kind.name == name:
            return kind
    raise KeyError(name)


def is_frame_value(value: Any) -> bool:
    """True for a frame of any kind (a dask Series is not one)."""
    if DASK.owns(value):
        return type(value).__name__ == "DataFrame"
    return any(kind.owns(value) for kind in (PANDAS, ARROW, STREAM))
