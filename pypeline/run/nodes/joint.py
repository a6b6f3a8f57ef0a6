"""Joint computes: the sinks of one sub flow instance computed in one ``dask.compute`` (dask mode).

A dask-mode sink awaits ``ctx.compute(collections)`` (``modules/sdk/joint.py``)
instead of computing on its own. :class:`SubflowComputes`, one per sub flow
instance, collects these requests and computes them together, so that work
the sinks share (reading and parsing the sources, the transforms before a
fan-out) runs once: the reference job parses each CSV byte once instead of
once per sink.

**When a batch starts.** Requests wait until no other module of the instance
may still ask: every module has finished, waits for a module that has not,
or asks too. A module that may still ask is one whose inputs are all ready
and that has not finished: a transform still building its graph, a sink on
its way to ``ctx.compute``, a sink that retries. A module that waits for an
input does not count: its producer does (if that producer is itself waiting
in the batch, the module cannot go on before the batch anyway). Nor does a
module on another backend that feeds nothing: modules on other backends
never join (a sink on the dask backend computes on its cluster). Example::

    read -> keep -> derive -> write_rows                 write_rows asks first and waits,
                        \\--> totals -> write_totals       totals (building its graph) may still ask;
                                                          write_totals asks: nobody else may -> one batch

**What each module gets.** The results of its own collections; the batch's
modules are recorded in its stats (``joint_compute``). A batch is
one attempt of each of its modules, under their own timeouts.

**When a batch fails.** dask reports the first error of a computation, not
which module's collections raised it. When the batch held one module, the
error is that module's. Otherwise its modules are computed again one at a
time, in the sub flow's order, until one fails: that one gets its own error
(for a bad row of a shared source: the first sink in the flow that reads
it), those before it succeeded and get their results, those after it wait
for the next batch (with the failing module's retry, if it retries; if it
does not, the sub flow fails and they are cancelled). This costs a second
pass, on the error path only. With a dask.distributed client (no local
scheduler to stop and wait for, ``dask_run.py``) every module of a failed
batch gets the error.

**When a module is cancelled** (its timeout, a halting run) while its batch
computes, the computation is stopped and the other modules wait for the
next batch. A retry is a new attempt: it asks again and joins the modules
still waiting. Outputs stay atomic throughout: a sink publishes only after
its own results came back (``sdk/lazy_outputs.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pypeline.job.plan import JobPlan
from pypeline.run.nodes.dask_run import ComputeRun, Outcome


@dataclass(eq=False)
class _Request:
    """One module's ``ctx.compute`` call."""

    ctx: Any
    collections: tuple[Any, ...]
    future: asyncio.Future[tuple[Any, ...]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def member(self) -> str:
        return str(self.ctx.module_id)


@dataclass(eq=False)
class _Running:
    requests: list[_Request]
    run: ComputeRun


class SubflowComputes:
    """The joint computes of one sub flow instance (see the module docstring)."""

    def __init__(
        self, order: list[str], producers: Mapping[str, tuple[str, ...]], remote: frozenset[str] = frozenset()
    ) -> None:
        self._rank = {module_id: index for index, module_id in enumerate(order)}
        self._producers = producers
        self._remote = remote
        feeding = {src for sources in producers.values() for src in sources}
        self._passive = frozenset(m for m in remote if m not in feeding)
        """Modules that never ask and feed nothing: nobody waits for them."""
        self._finished: set[str] = set()
        """Modules of the instance that have ended (success, failure or cancelled): they ask no more."""
        self._waiting: list[_Request] = []
        self._running: _Running | None = None
        """The computation under way (a batch, or one module of a failed batch computed alone)."""
        self._busy = False
        """A batch is being settled: no other starts before it is done."""
        self._batches: set[asyncio.Task[None]] = set()

    @classmethod
    def for_subflow(cls, plan: JobPlan, subflow_id: str) -> SubflowComputes:
        """The joint computes of an instance of ``subflow_id``."""
        subflow = plan.subflows[subflow_id]
        order = [m for wave in subflow.waves for m in wave]
        producers = {m: tuple(sorted({e.src for e in plan.inputs_of.get(m, ())})) for m in order}
        remote = frozenset(m for m in order if str(plan.modules[m].execution.get("backend", "local")) != "local")
        return cls(order, producers, remote)

    def for_module(self, module_id: str) -> SubflowComputes | None:
        """What ``ctx.compute`` of ``module_id`` goes through: ``None`` (compute alone) on another backend.

        A module on the dask backend computes on its cluster (its own scheduler), one on a remote
        backend on the far side: neither shares this process's computation.
        """
        return None if module_id in self._remote else self

    def finished(self, module_id: str) -> None:
        """``module_id`` has ended (whatever its outcome): the requests waiting for it may start a batch."""
        self._finished.add(module_id)
        self.poke()

    async def compute(self, ctx: Any, collections: tuple[Any, ...]) -> tuple[Any, ...]:
        """The results of ``collections`` for the module of ``ctx``, computed in a batch (module docstring)."""
        request = _Request(ctx, tuple(collections))
        self._waiting.append(request)
        self.poke()
        try:
            return await request.future
        except asyncio.CancelledError:
            self._withdraw(request)
            raise

    def poke(self) -> None:
        """Start a batch of the waiting requests when no other module may still ask."""
        if self._busy or not self._waiting or not self._nobody_else():
            return
        requests = sorted(self._waiting, key=lambda r: self._rank.get(r.member, len(self._rank)))
        self._waiting = []
        self._busy = True
        batch = asyncio.get_running_loop().create_task(self._batch(requests), name="joint-compute")
        self._batches.add(batch)  # a strong reference until it is done
        batch.add_done_callback(self._batches.discard)

    def _nobody_else(self) -> bool:
        """True when no module but those waiting may still ask (see the module docstring)."""
        asking = {r.member for r in self._waiting}
        finished = self._finished
        for module_id, producers in self._producers.items():
            if module_id in finished or module_id in asking or module_id in self._passive:
                continue
            if all(p in finished for p in producers):
                return False
        return True

    def _withdraw(self, request: _Request) -> None:
        if request in self._waiting:
            self._waiting.remove(request)
        elif self._running is not None and request in self._running.requests:
            self._running.run.stop()

    async def _batch(self, requests: list[_Request]) -> None:
        try:
            await self._settle(requests)
        except asyncio.CancelledError:  # the loop is shutting down: nobody will wait for the results
            for request in requests:
                request.future.cancel()
            raise
        except Exception as exc:  # a fault of ours: never leave a module waiting forever
            for request in requests:
                if not request.future.done():
                    request.future.set_exception(exc)
        finally:
            self._running = None
            self._busy = False
        self.poke()

    async def _settle(self, requests: list[_Request]) -> None:
        """Compute a batch and give each module its results or its error (see the module docstring)."""
        outcome, exact = await self._compute(requests)
        live = [r for r in requests if not r.future.done()]
        if outcome.stopped:
            self._waiting.extend(live)
        elif outcome.results is not None:
            self._deliver(requests, outcome)
        elif len(live) <= 1 or not exact:
            for request in live:
                request.future.set_exception(_error(outcome))
        else:
            await self._one_by_one(live, outcome)

    async def _compute(self, requests: list[_Request]) -> tuple[Outcome, bool]:
        run = ComputeRun([c for r in requests for c in r.collections])
        self._running = _Running(requests, run)
        try:
            return await run.outcome(), run.exact
        except asyncio.CancelledError:
            run.stop()
            raise
        finally:
            self._running = None

    @staticmethod
    def _deliver(requests: list[_Request], outcome: Outcome) -> None:
        """Each request its share of the results (a request withdrawn meanwhile: its share is dropped)."""
        results = list(outcome.results or [])
        members = [r.member for r in requests]
        live = [r for r in requests if not r.future.done()]
        for request in requests:
            mine, results = results[: len(request.collections)], results[len(request.collections):]
            if not request.future.done():
                request.ctx.add_stat("joint_compute", {"modules": members, "seconds": outcome.seconds})
                request.future.set_result(tuple(mine))
        if live:
            live[0].ctx.logger.info("joint_compute", modules=members, seconds=outcome.seconds)

    async def _one_by_one(self, live: list[_Request], failed: Outcome) -> None:
        """After a failed batch: each module alone, in order, until one fails (see the module docstring)."""
        live[0].ctx.logger.warning(
            "joint_compute_failed", modules=[r.member for r in live], error=_one_line(_error(failed)),
            then="computing the modules one at a time to find the one whose data fails",
        )
        for index, request in enumerate(live):
            if request.future.done():
                continue
            outcome, _ = await self._compute([request])
            if outcome.stopped:
                self._waiting.extend(r for r in live[index:] if not r.future.done())
                return
            if outcome.results is not None:
                self._deliver([request], outcome)
                continue
            request.future.set_exception(_error(outcome))
            self._waiting.extend(r for r in live[index + 1:] if not r.future.done())
            return


def _error(outcome: Outcome) -> BaseException:
    return outcome.error if outcome.error is not None else RuntimeError("the joint compute ended without a result")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
