"""``BatchStream``: what travels on a data connection in ``execution_mode: stream``.

A stream is a lazy, single-pass sequence of :class:`pyarrow.RecordBatch` of
one set of columns. Nothing is read when a module returns one: a source
returns a stream that *will* read its files, a transform returns a stage on
top of its input stream, and the data moves when a sink iterates the last
stage, one batch at a time, in the sink's thread. So the memory a stream
holds is a few batches, whatever the size of the input; a blocking stage
(:meth:`BatchStream.then`: a grouped aggregation, a sort, the build side of
a join) holds what its step needs (the groups, the rows to sort).

Life cycle: a stream can be iterated once (a second iteration raises
:class:`StreamUsed`: one module output read by two modules goes through a
tee, :mod:`pypeline.modules.kinds.tee`). ``rows`` counts the rows it yielded;
when it has yielded its last batch it is *ended* and runs its ``on_end``
callbacks (modules set their row globals there). A stage that fails raises
a :class:`~pypeline.modules.sdk.DataError` naming the module the stage
belongs to (``module 'keep': condition ... failed``), because the error
surfaces in the module that reads the stream, usually a sink.

Chains: row-local stages (:meth:`BatchStream.map`) read by the next stage
alone are run as one loop when read: the last stage pulls a batch from the
first stream that is no such stage and applies every step in turn, keeping
each stage's row count, types, ``on_end`` callbacks and error naming. A
chain of 2,000 filters is then one generator, not 2,000 nested ones (which
would exceed Python's recursion limit, and costs a frame switch per stage
and batch).

Schemas: ``schema`` is known when the stream is made (a stage computes its
own by running its step on an empty table). A step written only for pandas
cannot tell its column types from no rows (pandas makes an empty column
``float64`` or ``object``): such a stage (``map(..., typed=False)``) takes
the types of its first batch with rows, and every later batch is cast to
them (:func:`~.convert.conform`); a column with no value yet (``null``)
takes the type of the first batch that has one.

Example::

    stream = BatchStream(schema, lambda: iter(table.to_batches()), origin="read")
    kept = stream.map(lambda t: t.filter(pc.field("amount") > 50), origin="keep")
    for batch in kept:       # reads, filters, one batch at a time
        writer.write_batch(batch)
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

from pypeline.modules.kinds.convert import as_table, conform
from pypeline.modules.sdk.errors import DataError

BATCH_ROWS = 131_072
"""Rows per batch when a table is cut into a stream."""

Producer = Callable[[], Iterable[pa.RecordBatch]]
TableStep = Callable[[pa.Table], pa.Table]
BlockingStep = Callable[["BatchStream"], "pa.Table | Iterable[pa.RecordBatch]"]


class StreamUsed(RuntimeError):
    """A stream was iterated a second time (a module bug: a stream is read once)."""


class BatchStream:
    """A lazy single-pass stream of record batches (see the module docstring)."""

    def __init__(
        self, schema: pa.Schema, produce: Producer, *, origin: str = "", upstream: BatchStream | None = None
    ) -> None:
        self.schema = schema
        self.origin = origin
        """The module the stream comes from (named in its errors; see :meth:`claim`)."""
        self.upstream = upstream
        """The stream this stage reads (``None`` for a source)."""
        self.rows = 0
        """Rows yielded so far (all of them once :attr:`ended`)."""
        self._produce = produce
        self._step: _Step | None = None
        """A row-local stage's step (:meth:`map`), run by the chain that reads it."""
        self._started = False
        self._ended = False
        self._lock = threading.Lock()
        self._on_end: list[Callable[[], None]] = []

    # -- facts ------------------------------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        """The column names (known without reading)."""
        return [str(name) for name in self.schema.names]

    @property
    def started(self) -> bool:
        """True once something began to iterate the stream."""
        return self._started

    @property
    def ended(self) -> bool:
        """True once the stream yielded its last batch."""
        return self._ended

    def claim(self, origin: str) -> None:
        """Name ``origin`` as the module of this stream and of the stages below it that have none yet.

        The run calls it with the module id on every stream a module returns, so a module's
        stages need not know their module; the streams a module received are named already.
        """
        stage: BatchStream | None = self
        while stage is not None and not stage.origin:
            stage.origin = origin
            stage = stage.upstream

    def on_end(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the stream has yielded its last batch (at once if it has)."""
        with self._lock:
            if not self._ended:
                self._on_end.append(callback)
                return
        callback()

    # -- reading ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        with self._lock:
            if self._started:
                raise StreamUsed(f"the stream of module '{self.origin}' was already read (a stream is read once)")
            self._started = True
        return self._iterate()

    def _iterate(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self._produce() if self._step is None else self._run_chain():
                if batch.num_rows == 0:
                    continue
                self.rows += batch.num_rows
                yield batch
        except DataError as exc:
            raise stage_error(self.origin, exc) from exc.__cause__
        self._end()

    def _end(self) -> None:
        with self._lock:
            self._ended = True
            callbacks, self._on_end = self._on_end, []
        for callback in callbacks:
            callback()

    def _run_chain(self) -> Iterator[pa.RecordBatch]:
        """This map stage and the unread map stages under it, as one loop (see the module docstring)."""
        chain: list[tuple[BatchStream, _Step]] = []
        stage: BatchStream | None = self
        while stage is not None and stage._step is not None and (stage is self or stage._take()):
            chain.append((stage, stage._step))
            stage = stage.upstream
        if stage is None:  # a map stage has an upstream: only a broken stream gets here
            raise RuntimeError(f"the stream stage of module '{self.origin}' has no input")
        chain.reverse()
        for batch in stage:
            table = as_table(batch)
            for inner, step in chain:
                try:
                    table = step.apply(inner, table)
                except DataError as exc:
                    raise stage_error(inner.origin, exc) from exc.__cause__
                if table.num_rows == 0:
                    break
                if inner is not self:  # this stage counts what it yields (_iterate)
                    inner.rows += table.num_rows
            else:
                yield from table.to_batches()
        for inner, _step in chain[:-1]:
            inner._end()

    def _take(self) -> bool:
        """Mark this stream read by a chain above it; False when it was read already."""
        with self._lock:
            if self._started:
                return False
            self._started = True
            return True

    def reader(self) -> pa.RecordBatchReader:
        """The stream as a :class:`pyarrow.RecordBatchReader` (for Acero and writers)."""
        return pa.RecordBatchReader.from_batches(self.schema, self._typed())

    def _typed(self) -> Iterator[pa.RecordBatch]:
        for batch in self:
            yield from conform(as_table(batch), self.schema).to_batches()

    def collect(self) -> pa.Table:
        """Every batch as one table (the whole stream in memory: for modules that cannot stream)."""
        batches = [conform(as_table(b), self.schema) for b in self]
        if not batches:
            return self.schema.empty_table()
        return pa.concat_tables(batches)

    # -- stages -----------------------------------------------------------------------------

    def map(
        self, step: TableStep, *, origin: str = "", schema: pa.Schema | None = None, typed: bool = True
    ) -> BatchStream:
        """A stream of ``step(batch)`` for each batch (a row-local step: filter, new columns, ...).

        ``schema``: the step's output schema, when known; else the step runs once on no rows to
        tell it. ``typed=False``: the types it tells are a guess (a pandas step): the first batch
        with rows settles them.
        """
        if schema is None:  # a step that fails here fails the module that adds it, as in the eager kinds
            schema = step(empty_table(self.schema)).schema
        stage = BatchStream(schema, _no_producer, origin=origin, upstream=self)
        stage._step = _Step(step, typed, any(f.type == pa.null() for f in schema))
        return stage

    def then(self, step: BlockingStep, *, schema: pa.Schema, origin: str = "") -> BatchStream:
        """A stream of what ``step(self)`` gives: a blocking step that reads its input first (aggregate, sort).

        ``step`` runs when the result is first read, in the reading thread; it returns a table,
        or batches (a step that can start giving results before its input ends).
        """
        upstream = self

        def produce() -> Iterable[pa.RecordBatch]:
            result = step(upstream)
            return result.to_batches() if isinstance(result, pa.Table) else result

        return BatchStream(schema, produce, origin=origin, upstream=upstream)

    @classmethod
    def from_table(cls, table: pa.Table, *, origin: str = "", batch_rows: int = BATCH_ROWS) -> BatchStream:
        """A stream over the batches of an in-memory table (a module that does not stream gave it)."""
        return cls(table.schema, lambda: table.to_batches(max_chunksize=batch_rows), origin=origin)


@functools.lru_cache(maxsize=256)
def empty_table(schema: pa.Schema) -> pa.Table:
    """``schema.empty_table()``, built once per schema (a table never changes, so stages share it).

    Each stage asks its step for its output types on one; building it cost about 12 µs,
    as much as a filter on a 5,000-row batch, once per stage of a long chain.
    """
    return schema.empty_table()


def _no_producer() -> Iterable[pa.RecordBatch]:
    raise RuntimeError("a map stage is read through its chain")  # never called: _iterate runs the chain


class _Step:
    """A row-local stage's step and what it knows of its output types (see :meth:`BatchStream.map`)."""

    __slots__ = ("provisional", "step", "typed")

    def __init__(self, step: TableStep, typed: bool, provisional: bool) -> None:
        self.step = step
        self.typed = typed
        self.provisional = provisional

    def apply(self, stage: BatchStream, table: pa.Table) -> pa.Table:
        """``step(table)`` in ``stage``'s types (the first batch with rows settles guessed ones)."""
        result = self.step(table)
        if result.num_rows == 0:
            return result
        if not self.typed:  # the types a pandas step gave for no rows were a guess: the first batch tells
            stage.schema = result.schema
            self.typed = True
        elif self.provisional:  # a column with no value yet: the first batch that has one tells
            stage.schema = _fix_types(stage.schema, result.schema)
            self.provisional = any(f.type == pa.null() for f in stage.schema)
        try:
            return conform(result, stage.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"a batch does not keep the column types of the first batch: {exc}") from None


def _fix_types(declared: pa.Schema, seen: pa.Schema) -> pa.Schema:
    if declared.names != seen.names:
        return declared
    fields = [seen.field(i) if f.type == pa.null() else f for i, f in enumerate(declared)]
    return pa.schema(fields, metadata=declared.metadata)


def stage_error(origin: str, exc: Exception) -> DataError:
    """``exc`` raised inside the stream stage of module ``origin``, as the error its reader reports."""
    if getattr(exc, "stream_origin", None) is not None or not origin:
        return exc if isinstance(exc, DataError) else DataError(str(exc))
    error = DataError(f"module '{origin}': {exc}")
    error.stream_origin = origin  # type: ignore[attr-defined]
    return error


def is_stream(value: Any) -> bool:
    """True for a :class:`BatchStream`."""
    return isinstance(value, BatchStream)
