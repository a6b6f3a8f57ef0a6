"""What kind of frame each module receives: the mode's own, or a conversion at the module's boundary.

The execution mode names the kind of frame sources produce (:mod:`pypeline.modules.kinds`);
what a module *receives* also depends on what its class declares:

==========  ==========================================  ===================================
mode        a module that declares it                   any other module
==========  ==========================================  ===================================
``pandas``  pandas frames                               pandas frames
``dask``    dask frames                                 dask frames
``arrow``   frames as they come (``ACCEPTS_ARROW``)     pandas frames
``stream``  streams as they come (``STREAMS``)          the stream collected whole: an Arrow
                                                        table (``ACCEPTS_ARROW``) or a pandas
                                                        frame, with a ``stream_collected``
                                                        warning (its memory is the whole input)
==========  ==========================================  ===================================

A module on a remote backend gets pandas frames in the Arrow modes (frames
cross the boundary as Parquet anyway, and the far side runs in pandas mode).
"""

from __future__ import annotations

from typing import Any

from pypeline.job.spec import ModuleSpec
from pypeline.modules.loader import load_module_class
from pypeline.modules.sdk.base import BaseModule

ARROW_MODES = ("arrow", "stream")


class FrameBoundary:
    """Says what each module receives in one run's execution mode (see the module docstring)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._wants: dict[str, str] = {}

    def want(self, spec: ModuleSpec) -> str:
        """What ``spec`` receives: ``pandas``, ``dask``, ``arrow`` (a table) or ``native`` (as it comes)."""
        want = self._wants.get(spec.id)
        if want is None:
            want = self._wants[spec.id] = self._decide(spec)
        return want

    def collects(self, spec: ModuleSpec) -> bool:
        """True when a stream reaching ``spec`` is read whole first (a module that does not stream)."""
        return self.mode == "stream" and self.want(spec) != "native"

    def _decide(self, spec: ModuleSpec) -> str:
        if self.mode not in ARROW_MODES:
            return self.mode
        cls = _class(spec)
        if cls is None or not _local(spec):
            return "pandas"
        if self.mode == "stream" and cls.STREAMS:
            return "native"
        if cls.ACCEPTS_ARROW:
            return "native" if self.mode == "arrow" else "arrow"
        return "pandas"


def context_mode(mode: str, spec: ModuleSpec) -> str:
    """The ``execution_mode`` a module's context says: ``pandas`` for a remote module in an Arrow mode."""
    if mode in ARROW_MODES and not _local(spec):
        return "pandas"
    return mode


def _local(spec: ModuleSpec) -> bool:
    return str(spec.execution.get("backend", "local")) == "local"


def _class(spec: ModuleSpec) -> type[BaseModule] | None:
    try:
        return load_module_class(spec.module_path)
    except ImportError:
        return None  # the backend reports it when the module runs


def collected_reason(spec: ModuleSpec, want: str, **facts: Any) -> dict[str, Any]:
    """The fields of the ``stream_collected`` warning for ``spec``."""
    kind = "an Arrow table" if want == "arrow" else "a pandas frame"
    return {
        "module": spec.id,
        "reason": f"module '{spec.id}' ({spec.name}) does not stream: its input is read whole into {kind} "
        "first, so its memory grows with the input (docs/performance.md, stream mode)",
        **facts,
    }
