"""One stream read by several modules, its input read once: a tee with bounded buffers.

When a module's output feeds several inputs (fan-out: ``derive -> parquet_sink``
and ``derive -> aggregate``), each reader gets a *branch* of one
:class:`StreamTee`. The branches pull from the one upstream stream: the
branch that needs a batch and has none buffered reads the next batch
upstream (under a lock, in its own thread) and appends it to the buffers of
the other branches. So the input is read once, and each branch sees every
batch in order.

Memory stays bounded when the readers go at different speeds:

* a branch whose reader is reading (it has started, has not finished, and
  took a batch within the last ``wait_s`` seconds) and is behind by more
  than ``buffer_bytes`` makes the branch ahead *wait* for it (backpressure):
  a slow reader slows the others down, it does not make them use memory;
* a branch whose reader has not started (it waits for another input, a join
  whose other side comes later), or has taken nothing for ``wait_s`` seconds
  (it is stuck behind something else), gets the batches *spilled*: written to
  an Arrow IPC file in the run's spill folder and read back, in order, when
  its reader gets there.

A failure upstream is raised in every branch (each reader reports it). A
branch whose reader is done without reading to the end (a module that
failed) is released: its buffer is dropped and it no longer holds the
others back.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from pypeline.modules.kinds.stream import BatchStream

BUFFER_BYTES = 32 << 20
"""Bytes a branch may lag behind in memory before the branch ahead waits or spills."""
WAIT_S = 5.0
"""Seconds a reader may take no batch before the branch ahead stops waiting for it and spills instead."""

_END = object()


class _Spill:
    """Batches of one branch written to an IPC file, read back in order."""

    def __init__(self, folder: Path, schema: pa.Schema) -> None:
        handle = tempfile.NamedTemporaryFile(dir=folder, prefix="tee_", suffix=".arrow", delete=False)
        handle.close()
        self.path = Path(handle.name)
        self._sink = pa.OSFile(str(self.path), "wb")
        self._writer: Any = pa.ipc.new_stream(self._sink, schema)
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None

    def read(self) -> Iterator[pa.RecordBatch]:
        self.close()
        try:  # read, not mapped: a mapped file would count in the process's resident memory
            with pa.OSFile(str(self.path), "rb") as source:
                yield from pa.ipc.open_stream(source)
        finally:
            self.path.unlink(missing_ok=True)

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


class _Branch:
    def __init__(self) -> None:
        self.queue: deque[Any] = deque()
        """Batches, or a :class:`_Spill` holding the batches that came while it was open."""
        self.bytes = 0
        self.reading = False
        self.last_read = 0.0
        """When the reader last took a batch (``time.monotonic``)."""
        self.released = False
        self.spill: _Spill | None = None
        """The spill batches go to now (the last entry of the queue)."""


class StreamTee:
    """Branches of one upstream stream (see the module docstring)."""

    def __init__(
        self,
        upstream: BatchStream,
        branches: int,
        spill_dir: Callable[[], Path],
        *,
        buffer_bytes: int = BUFFER_BYTES,
        wait_s: float = WAIT_S,
    ) -> None:
        self.upstream = upstream
        self._source: Iterator[pa.RecordBatch] | None = None
        self.branches = [_Branch() for _ in range(branches)]
        self._handed = 0
        self._spill_dir = spill_dir
        self._buffer_bytes = buffer_bytes
        self._wait_s = wait_s
        self._lock = threading.Lock()
        self._moved = threading.Condition(self._lock)
        self._pulling = threading.Lock()
        self._done = False
        self._error: BaseException | None = None
        self.spilled_rows = 0

    def branch(self) -> BatchStream:
        """The next branch (one per reader)."""
        with self._lock:
            index = self._handed
            self._handed += 1
        if index >= len(self.branches):
            raise RuntimeError(f"stream tee of module '{self.upstream.origin}' has only {len(self.branches)} branches")
        return BatchStream(self.upstream.schema, lambda: self._read(index), origin=self.upstream.origin)

    def release(self, index: int) -> None:
        """Forget branch ``index`` (its reader is done): drop its buffer, stop holding the others."""
        with self._lock:
            branch = self.branches[index]
            branch.released = True
            branch.reading = False
            self._clear(branch)
            self._moved.notify_all()

    # -- reading -------------------------------------------------------------------------------

    def _read(self, index: int) -> Iterator[pa.RecordBatch]:
        branch = self.branches[index]
        with self._lock:
            if branch.released:
                raise RuntimeError(f"a branch of the stream of module '{self.upstream.origin}' was released")
            branch.reading = True
            branch.last_read = time.monotonic()
        try:
            while True:
                item = self._next(index)
                if item is _END:
                    return
                if isinstance(item, _Spill):
                    yield from item.read()
                else:
                    yield item
        finally:
            self.release(index)

    def _next(self, index: int) -> Any:
        branch = self.branches[index]
        while True:
            with self._lock:
                if branch.queue:
                    item = branch.queue.popleft()
                    branch.last_read = time.monotonic()
                    if isinstance(item, _Spill):
                        if branch.spill is item:
                            branch.spill = None
                    else:
                        branch.bytes -= item.nbytes
                    self._moved.notify_all()
                    return item
                if self._error is not None:
                    raise self._error
                if self._done:
                    return _END
            if self._pulling.acquire(timeout=0.05):
                try:
                    self._pull(index)
                finally:
                    self._pulling.release()

    def _pull(self, index: int) -> None:
        """Read one batch upstream into every other branch's buffer and this one's (caller holds ``_pulling``)."""
        with self._lock:
            if self._done or self._error is not None or self.branches[index].queue:
                return
        self._wait_for_laggards(index)
        try:
            if self._source is None:
                self._source = iter(self.upstream)
            batch = next(self._source, None)
        except BaseException as exc:
            with self._lock:
                self._error = exc
                self._moved.notify_all()
            raise
        with self._lock:
            if batch is None:
                self._done = True
            else:
                for number, branch in enumerate(self.branches):
                    if not branch.released:
                        self._add(branch, batch, own=number == index)
            self._moved.notify_all()

    def _wait_for_laggards(self, index: int) -> None:
        """Wait while a branch that is being read lags by more than the buffer (see the module docstring)."""
        with self._lock:
            while True:
                now = time.monotonic()
                moving = [
                    b for n, b in enumerate(self.branches)
                    if n != index and not b.released and b.spill is None and b.bytes > self._buffer_bytes
                    and b.reading and now - b.last_read < self._wait_s
                ]
                if not moving:
                    break
                self._moved.wait(min(self._wait_s - (now - b.last_read) for b in moving))

    def _add(self, branch: _Branch, batch: pa.RecordBatch, *, own: bool) -> None:
        if own and branch.spill is not None:
            branch.spill = None  # batches after this one queue behind the spill, never inside it
        if own or (branch.spill is None and branch.bytes + batch.nbytes <= self._buffer_bytes):
            branch.queue.append(batch)
            branch.bytes += batch.nbytes
            return
        if branch.spill is None:
            branch.spill = _Spill(self._spill_dir(), self.upstream.schema)
            branch.queue.append(branch.spill)
        branch.spill.write(batch)
        self.spilled_rows += batch.num_rows

    def _clear(self, branch: _Branch) -> None:
        for item in branch.queue:
            if isinstance(item, _Spill):
                item.discard()
        branch.queue.clear()
        branch.bytes = 0
        branch.spill = None
