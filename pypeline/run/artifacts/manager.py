"""``ArtifactManager``: where the data on data connections lives during a run.

Every value a module puts on a connected output port goes through
:meth:`ArtifactManager.store` (or its synchronous twin
:meth:`~ArtifactManager.register`), and every consumer gets its input back
through :meth:`~ArtifactManager.fetch`; nothing else in the runtime holds
frames. The sub flow runner counts the consumers of each output and calls
:meth:`~ArtifactManager.release` after the last one ran, which drops the
frame or deletes its spill file at once.

Spill policy (settings ``spill.*``, defaults in ``job/spec.py``)
------------------------------------------------------------------
Spilling frees memory while a frame *waits* for its readers: the sub flow
runner says, for each output, whether one of its readers still waits for
another input (``waiting=True``; a join whose other side is slow). A frame
whose readers all start at once is kept in RAM whatever its size: writing it
out only to read it straight back costs time and, measured, more memory
(the reference job of ``benchmarks/reference_job.py``, 10M rows, spilled at
every step of its chain: 3.4x the time and 1.2x the peak memory of the same
run keeping them). A waiting
frame (and anything given to :meth:`register` without that knowledge) is kept
in RAM (:class:`MemoryArtifact`) unless

* it holds more than ``spill.threshold_rows`` rows in memory, or
* the process's resident memory is at least ``spill.max_ram_share`` of the
  machine's total memory (``psutil``) and the frame holds at least 1 MiB;

then it is written to Parquet (:class:`ParquetArtifact`) under a folder made
with ``tempfile.mkdtemp(prefix="pypeline_")`` inside ``spill.dir`` (the
system temporary folder when unset). "Holds in memory" comes from
``sizeof.estimate``: a lazy dask frame that reads files holds nothing and is
never spilled (spilling it would compute it, and free nothing); a dask frame
built from pandas partitions is spilled with ``to_parquet`` and read back
lazily. A frame pyarrow cannot store (an object column of mixed types) stays
in RAM with a warning.

Every spill writes one INFO log line (``artifact_spilled``: "spill to parquet
at <path>") and appends an entry to :attr:`ArtifactManager.spills`, which
the run copies into ``manifest.json``.

Life cycle: the spill folder is created on the first spill and removed by
:meth:`~ArtifactManager.close`, which the run calls when it ends, success or
failure. A folder left behind by a process killed with ``kill -9`` carries
an owner marker; the next manager that spills into the same place removes
folders whose owner process is gone.

Streams (``execution_mode: stream``) are never spilled: they hold a few
batches, not the data. One read by several modules is registered with
:meth:`ArtifactManager.store_stream`, which puts a tee in front of it
(:mod:`pypeline.modules.kinds.tee`): each reader gets a branch, the input is
read once, and a branch whose reader lags is spilled to Arrow IPC files in
the spill folder (logged as ``stream_spilled``).

All methods are safe to call from several threads (the run's pool).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypeline.modules.frames import is_dask
from pypeline.modules.kinds import is_stream
from pypeline.run.artifacts.artifact import DataArtifact, is_frame
from pypeline.run.artifacts.memory import MemoryArtifact, StreamArtifact, ValueArtifact
from pypeline.run.artifacts.parquet import ParquetArtifact
from pypeline.run.artifacts.sizeof import SizeEstimate, estimate

MIN_MEMORY_SPILL_BYTES = 1 << 20
"""Under memory pressure, frames smaller than this stay in RAM (spilling them frees nothing worth a write)."""
OWNER_MARKER = ".pypeline-spill-owner"

Artifact = MemoryArtifact | ParquetArtifact | ValueArtifact | StreamArtifact
WANTS = ("pandas", "dask", "arrow", "native")
"""What a reader may ask :meth:`ArtifactManager.fetch` for: a kind of frame, or the value as it was given."""


@dataclass(frozen=True, slots=True)
class _SpillDecision:
    size: SizeEstimate
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SpillPolicy:
    """The ``spill`` settings block."""

    threshold_rows: int = 5_000_000
    max_ram_share: float = 0.6
    dir: str | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> SpillPolicy:
        """Read a ``spill`` settings block (missing keys take the defaults)."""
        config = config or {}
        defaults = cls()
        return cls(
            threshold_rows=int(config.get("threshold_rows", defaults.threshold_rows)),
            max_ram_share=float(config.get("max_ram_share", defaults.max_ram_share)),
            dir=config.get("dir") or None,
        )

    def reason(self, size: SizeEstimate, ram_share: float) -> str | None:
        """Why a frame of ``size`` must be spilled (``rows`` or ``memory``), or ``None`` to keep it."""
        if size.rows is not None and size.rows > self.threshold_rows:
            return "rows"
        if ram_share >= self.max_ram_share and (size.nbytes or 0) >= MIN_MEMORY_SPILL_BYTES:
            return "memory"
        return None


NOT_AT_HAND = object()
""":meth:`ArtifactManager.at_hand`: the value needs work to be handed out (await ``fetch``)."""


class ArtifactManager:
    """Registers port values, spills them by policy and hands them to consumers (see module docstring)."""

    def __init__(self, config: dict[str, Any] | None = None, *, logger: Any = None) -> None:
        self.policy = SpillPolicy.from_config(config)
        self.logger = logger
        self.spills: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._spill_dir: Path | None = None
        self._seq = itertools.count(1)
        self._closed = False
        self._process: Any = None
        self._total = 1

    # -- storing -------------------------------------------------------------------------------

    def register(self, obj: Any, *, name: str | None = None, waiting: bool = True) -> Artifact:
        """Wrap ``obj`` in an artifact, spilling it now if the policy says so (blocking).

        ``waiting=False`` says its readers take it at once: it stays in RAM.
        """
        kept = self._keep(obj, waiting)
        if isinstance(kept, _SpillDecision):
            return self._spill(obj, kept.size, kept.reason, name)
        return kept

    async def store(self, obj: Any, *, name: str | None = None, waiting: bool = True) -> Artifact:
        """:meth:`register` for the event loop: a spill is written on the thread pool."""
        kept = self._keep(obj, waiting)
        if isinstance(kept, _SpillDecision):
            return await asyncio.to_thread(self._spill, obj, kept.size, kept.reason, name)
        return kept

    def kept_in_memory(self, obj: Any, *, waiting: bool) -> Artifact | None:
        """The in-memory artifact :meth:`store` would return, or ``None`` when the policy spills ``obj``.

        Most outputs stay in memory: the sub flow runner registers them without awaiting
        :meth:`store` (a coroutine per output, which a chain of small modules pays per module).
        """
        kept = self._keep(obj, waiting)
        return None if isinstance(kept, _SpillDecision) else kept

    def _keep(self, obj: Any, waiting: bool) -> Artifact | _SpillDecision:
        """The in-memory artifact for ``obj``, or why and how big it is when the policy spills it."""
        if not is_frame(obj):
            return ValueArtifact(obj)
        if is_stream(obj):
            return StreamArtifact(obj)
        if not waiting:
            return MemoryArtifact(obj)
        size = estimate(obj)
        reason = self.policy.reason(size, self.ram_share())
        if reason is None:
            return MemoryArtifact(obj, rows=None if is_dask(obj) else size.rows)
        return _SpillDecision(size, reason)

    def store_stream(self, stream: Any, *, readers: int) -> StreamArtifact:
        """Register a stream that ``readers`` modules read: through a tee when there are several."""
        if readers <= 1:
            return StreamArtifact(stream)
        from pypeline.modules.kinds.tee import StreamTee

        def spill_folder() -> Path:
            with self._lock:
                return self._ensure_dir()

        return StreamArtifact(stream, tee=StreamTee(stream, readers, spill_folder))

    # -- reading -------------------------------------------------------------------------------

    def materialize(self, art: Any, want: str) -> Any:
        """The value a module receives: a frame of the kind ``want`` names (:data:`WANTS`), or the plain value.

        Blocking: a conversion, a computation or a spill read happens here.
        """
        if isinstance(art, ValueArtifact):
            return art.value
        if want == "native":
            return art.native()
        if want == "arrow":
            return art.to_arrow()
        return art.to_dask() if want == "dask" else art.to_pandas()

    async def fetch(self, art: Any, want: str) -> Any:
        """:meth:`materialize` for the event loop: reads, conversions and computations run on the thread pool."""
        value = self.at_hand(art, want)
        if value is NOT_AT_HAND:
            return await asyncio.to_thread(self.materialize, art, want)
        return value

    def at_hand(self, art: Any, want: str) -> Any:
        """What :meth:`fetch` returns when handing it out needs no work (no read, conversion or
        computation), else :data:`NOT_AT_HAND`: the sub flow runner then awaits :meth:`fetch`."""
        if isinstance(art, ValueArtifact):
            return art.value
        if (isinstance(art, MemoryArtifact) and art.holds(want)) or (isinstance(art, StreamArtifact)
                                                                      and want == "native"):
            return self.materialize(art, want)
        return NOT_AT_HAND

    def release(self, art: Any, *, final: bool = False) -> None:
        """Forget an artifact its consumers are done with: drop the frame, delete the spill file.

        A spill handed out as a lazy dask frame may still be read by frames derived from
        it (downstream in the same sub flow, until a sink computes them), so its files are
        kept until the sub flow instance ends: the sub flow runner calls ``release(art,
        final=True)`` for everything it produced then.
        """
        if isinstance(art, ParquetArtifact) and art.read_lazily and not final:
            return
        if isinstance(art, StreamArtifact):
            if final:
                self._log_tee(art)
                art.delete()
            return  # a stream is read by stages that may still run: the sub flow's end releases it
        delete = getattr(art, "delete", None)
        if delete is not None:
            delete()

    # -- memory and the spill folder -----------------------------------------------------------

    def ram_share(self) -> float:
        """This process's resident memory as a share of the memory it may use.

        That is the machine's total memory (``psutil``), or the cgroup's limit when the
        process runs in a container with a smaller one.
        """
        import psutil

        if self._process is None:
            self._process = psutil.Process()
            self._total = min(psutil.virtual_memory().total, _cgroup_limit() or 1 << 62)
        return float(self._process.memory_info().rss / self._total)

    @property
    def spill_dir(self) -> Path | None:
        """The spill folder, once the first spill created it."""
        return self._spill_dir

    def scratch_dir(self, prefix: str) -> Path:
        """A new empty folder inside the spill folder, for a module's own temporary files.

        It goes when the run ends, with the spill folder; if the process is killed
        first, the next run's orphan sweep removes it (a ``tempfile`` folder would stay).
        """
        with self._lock:
            folder = self._ensure_dir()
        return Path(tempfile.mkdtemp(prefix=prefix, dir=folder))

    def close(self) -> None:
        """Remove the spill folder and everything in it; the manager spills no more."""
        with self._lock:
            self._closed = True
            folder, self._spill_dir = self._spill_dir, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def _spill(self, obj: Any, size: SizeEstimate, reason: str, name: str | None) -> Artifact:
        label = name or "artifact"
        with self._lock:
            folder = self._ensure_dir()
            seq = next(self._seq)
        path = folder / f"{seq:05d}-{_safe(label)}.parquet"
        started = time.perf_counter()
        try:
            art = ParquetArtifact.write(obj, path)
        except Exception as exc:
            self._log("warning", "spill_failed", artifact=label, reason=reason, error=f"{type(exc).__name__}: {exc}")
            return MemoryArtifact(obj, rows=None if is_dask(obj) else size.rows)
        entry = {
            "artifact": label,
            "reason": reason,
            "rows": art.n_rows,
            "bytes_in_memory": size.nbytes,
            "bytes_on_disk": art.nbytes,
            "path": str(path),
            "kind": "dask" if art.from_dask else "arrow" if art.from_arrow else "pandas",
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        with self._lock:
            self.spills.append(entry)
        self._log("info", "artifact_spilled", message=f"spill to parquet at {path}", **entry)
        return art

    def _ensure_dir(self) -> Path:
        """Create the spill folder on first use (caller holds the lock)."""
        if self._closed:
            raise RuntimeError("the artifact manager is closed")
        if self._spill_dir is None:
            base = Path(self.policy.dir).resolve() if self.policy.dir else None
            if base is not None:
                base.mkdir(parents=True, exist_ok=True)
            _remove_orphans(base or Path(tempfile.gettempdir()))
            folder = Path(tempfile.mkdtemp(prefix="pypeline_", dir=base))
            owner = {"pid": os.getpid(), "host": socket.gethostname()}
            (folder / OWNER_MARKER).write_text(json.dumps(owner), encoding="utf-8")
            self._spill_dir = folder
        return self._spill_dir

    def _log_tee(self, art: StreamArtifact) -> None:
        if art.tee is not None and art.tee.spilled_rows:
            entry = {"artifact": art.tee.upstream.origin, "reason": "stream reader lagging",
                     "rows": art.tee.spilled_rows, "kind": "stream"}
            with self._lock:
                self.spills.append(entry)
            self._log("info", "stream_spilled", message="a lagging reader's batches went to the spill folder", **entry)

    def _log(self, level: str, event: str, **fields: Any) -> None:
        if self.logger is not None:
            getattr(self.logger, level)(event, **fields)


def _cgroup_limit() -> int | None:
    """The cgroup v2 memory limit of this process, if any."""
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:80]


def _remove_orphans(base: Path) -> None:
    """Remove spill folders under ``base`` whose owner process (on this host) is gone."""
    import psutil

    host = socket.gethostname()
    try:
        candidates = list(base.glob("pypeline_*"))
    except OSError:
        return
    for folder in candidates:
        try:
            owner = json.loads((folder / OWNER_MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if owner.get("host") == host and not psutil.pid_exists(int(owner.get("pid", 0))):
            shutil.rmtree(folder, ignore_errors=True)


__all__ = [
    "ArtifactManager", "DataArtifact", "MemoryArtifact", "ParquetArtifact", "SpillPolicy", "StreamArtifact",
    "ValueArtifact",
]
