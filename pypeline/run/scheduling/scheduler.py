"""The priority-DFS scheduler: which sub flow instance runs when.

Selection policy
----------------
The control graph links sub flows. The scheduler starts every *root* sub
flow (no incoming control connection) at once, in declaration order. When a
sub flow instance ends it *fires* its outgoing control connections group by
group in ascending ``order``: the connections of one order fire
concurrently, and the whole downstream of order *k* finishes before order
*k+1* fires (depth first). Which connections fire depends on how it ended:
on success ``normal``, ``iterate``, ``start`` and ``always``; on failure
``on_error`` and ``always`` (the others are skipped, and so are ``on_error``
targets after a success). A connection's condition is evaluated when it
fires; false marks the target ``skipped``.

Connection types
----------------
``normal``   run the target instance, then its downstream, and wait for all of it.
``iterate``  for each item of the *from* module's list output, run the target
             and its iteration scope (below) with the iteration path extended
             by the item's index; one item after the other, or up to
             ``parallel`` items at once (``items.py``; each item's scope depth first).
``start``    spawn the target as a background task and go on at once; the
             run waits for every spawned task before it ends.
``on_error`` run the target (a handler) when the instance failed; it reads
             ``{{from__error_message}}`` and friends (``failures.py``).
``always``   run the target when the instance ended, success or failure.

Instances and the once rule
---------------------------
A sub flow *instance* is ``(sub flow id, iteration path)``. An instance runs
at most once per run: a second connection that reaches an instance already
started waits for that run instead of starting another (it does not wait
for the instance's other incoming connections: the first trigger starts it).
So a sub flow runs once per iteration where an iterate connection says so,
and otherwise once, however many paths lead to it.

The iteration scope of an iterate connection is its target and everything
reachable only through it (``scopes.py``); a sub flow reached both from
inside and from outside a scope is not repeated per item.

State
-----
``_instances``  key -> the task running that instance and its downstream
``_spawned``    tasks of ``start`` connections still to be awaited
``_protected``  tasks running handlers of a failure, which a halt does not cancel
``_scopes``     iterate connection index -> the sub flows it repeats (from the plan)
``state``       the :class:`RunState` (records, list outputs, errors, halted)

Each instance also carries its *frames*: for every element of its iteration
path, the iterate connection that produced it (see ``scopes.py``).

Failure
-------
``fail_strategy: halt``: the first failure sets ``state.halted``, cancels
every running task once (modules' ``teardown`` still runs; a task is never
cancelled twice, so a teardown in progress is not interrupted) and starts
nothing new. ``continue``: the failed instance's downstream is skipped (with
a reason in the manifest), every other branch runs, and the run reports
failure at the end. A condition that cannot be evaluated counts as a
failure of the connection: its target is skipped and, under ``halt``, the
run halts.

Handlers (``on_error`` and ``always`` targets and their downstream) of a
failed instance run even under ``halt``: the failed instance's task and
every task a handler starts are *protected* (``_protected``): a halt does
not cancel them, and the run waits for them before it ends. A handler that
fails is a failure like any other. An instance with an ``on_error``
connection marked ``handled: true`` does not halt the run at once: when
that handler ran to success the failure is *handled* (``handled_by`` in its
record; the run can end ``success``), else the run halts then.

When the run ends, instances that were triggered but never started are
recorded as ``not_run``, and sub flows the run never reached as well.

Example
-------
::

    list_files ──iterate──▶ load_one ─(1)─▶ report
         └────────(2)──────────────────────▶ summary

    list_files; load_one#0; report#0; load_one#1; report#1; ...; summary

Every instance runs in its own task, so deep chains of control connections
never nest Python stack frames.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from pypeline.core.errors import PypelineError
from pypeline.core.expressions import ExpressionError, evaluate, parse_expression
from pypeline.job.plan import JobPlan
from pypeline.job.scopes import frames_for
from pypeline.job.spec import ON_FAILURE, ON_SUCCESS, ControlEdge
from pypeline.modules.sdk.globals import GlobalStore, node_id_for
from pypeline.run.observe.events import ObserverList
from pypeline.run.scheduling.conditions import ConditionValues
from pypeline.run.scheduling.failures import NO_ERROR, ErrorFacts, error_facts, handled_by_edge, publish
from pypeline.run.scheduling.items import run_items
from pypeline.run.state.records import RunState, SubflowKey, SubflowRecord, utc_now

SubflowRunner = Callable[[str, tuple[int, ...], tuple[Any, ...]], Awaitable[None]]
"""Runs the data nodes of one sub flow instance: ``(sub flow id, iteration path, iteration items)``."""
SubflowDone = Callable[[SubflowRecord], Awaitable[None]]
"""Called after each successful sub flow instance (the checkpoint hooks in here)."""
Frames = tuple[int, ...]
SUCCESS_ONLY = ON_SUCCESS - ON_FAILURE
"""The connection types a failed instance skips (``always`` fires either way)."""


class Scheduler:
    """Walks the control graph of one run (see the module docstring)."""

    def __init__(
        self,
        plan: JobPlan,
        state: RunState,
        run_subflow: SubflowRunner,
        *,
        values: ConditionValues,
        events: ObserverList,
        logger: Any,
        on_subflow_done: SubflowDone | None = None,
        globals_store: GlobalStore | None = None,
        redact: Callable[[str], str] = str,
    ) -> None:
        self.job = plan
        self.state = state
        self._run_subflow = run_subflow
        self._values = values
        self._events = events
        self._on_done = on_subflow_done
        self._halt = plan.settings.get("fail_strategy", "halt") == "halt"
        self._instances: dict[SubflowKey, asyncio.Task[bool]] = {}
        self._spawned: set[asyncio.Task[Any]] = set()
        self._protected: set[asyncio.Task[Any]] = set()
        self._conditions = {
            e.index: parse_expression(e.condition) for e in self.job.control_edges if e.condition
        }
        self._scopes = self.job.scopes
        self._handlers = {
            subflow: tuple(e for _order, edges in groups for e in edges if e.type in ON_FAILURE)
            for subflow, groups in self.job.outgoing.items()
        }
        self._logger = logger
        self._globals = globals_store if globals_store is not None else GlobalStore()
        self._redact = redact

    async def run(self) -> None:
        """Run every root sub flow and everything downstream; returns when all is done or halted."""
        try:
            try:
                roots = [self._visit(sf, (), (), ()) for sf in self.job.root_subflows]
                await asyncio.gather(*roots)
                while self._spawned:
                    pending = list(self._spawned)
                    await asyncio.gather(*pending)
                    self._spawned.difference_update(pending)
            except asyncio.CancelledError:
                if not self.state.halted or _cancelled_from_outside():
                    raise
            await self._await_protected()
        finally:
            try:
                await self._cancel_all()
            finally:
                self._mark_unreached()

    # -- instances ------------------------------------------------------------------------------

    async def _visit(self, subflow_id: str, path: tuple[int, ...], items: tuple[Any, ...], frames: Frames) -> bool:
        """Run instance ``(subflow_id, path)`` and its downstream once; True on success."""
        key = (subflow_id, path)
        task = self._instances.get(key)
        if task is None:
            if self._stopped():
                return False
            self.state.subflow(key)
            task = self._task(self._instance(key, items, frames), f"subflow:{subflow_id}{path}")
            self._instances[key] = task
        return await asyncio.shield(task) if not task.done() else task.result()

    async def _instance(self, key: SubflowKey, items: tuple[Any, ...], frames: Frames) -> bool:
        subflow_id, path = key
        record = self.state.subflow(key)
        if key in self.state.restored:
            record.status = "restored"
        else:
            record.status = "running"
            record.reason = None
            record.started = utc_now()
            self._events.emit("subflow_started", record)
            try:
                await self._run_subflow(subflow_id, path, items)
            except asyncio.CancelledError:
                record.status = "cancelled"
                record.reason = "the run halted" if self.state.halted else "the run was cancelled or timed out"
                record.ended = utc_now()
                self._events.emit("subflow_finished", record)
                raise
            except Exception as exc:  # a PypelineError, or a bug below us: still a failed sub flow, not a crash
                return await self._failure(key, items, frames, exc)
            record.status = "success"
            record.ended = utc_now()
            self._events.emit("subflow_finished", record)
            if self._on_done is not None:
                try:
                    await self._on_done(record)
                except PypelineError as exc:
                    return await self._failure(key, items, frames, exc)
        return await self._fire_groups(key, items, frames, None)

    async def _fire_groups(
        self, key: SubflowKey, items: tuple[Any, ...], frames: Frames, failure: ErrorFacts | None
    ) -> bool:
        """Fire the connections of an ended instance, group by group (success or ``failure`` ones)."""
        subflow_id, path = key
        wanted = ON_SUCCESS if failure is None else ON_FAILURE
        handlers = self._handlers.get(subflow_id, ())
        if handlers and (failure is not None or any(e.type == "always" for e in handlers)):
            publish(self._globals, [e for e in handlers if failure or e.type == "always"], path, failure or NO_ERROR)
        ok = True
        for _order, edges in self.job.outgoing.get(subflow_id, ()):
            chosen = [edge for edge in edges if edge.type in wanted]
            if failure is None:
                for edge in edges:
                    if edge.type == "on_error":
                        self._skip_edge(edge, path, frames, f"'{_instance_name(key)}' did not fail")
            if not chosen:
                continue
            if self._stopped():
                return False
            if len(chosen) == 1:
                ok = await self._fire(chosen[0], path, items, frames) and ok
            else:
                fired = [self._task(self._fire(edge, path, items, frames), f"fire:{edge}") for edge in chosen]
                ok = ok and all(await asyncio.gather(*fired))
        return ok

    async def _failure(self, key: SubflowKey, items: tuple[Any, ...], frames: Frames, exc: BaseException) -> bool:
        """Record a failed instance, run its handlers, and halt or skip as the strategy and handlers say."""
        facts = error_facts(exc, self._redact)
        record = self._failed(key, facts.message)
        handlers = self._handlers.get(key[0], ())
        may_handle = any(edge.handled for edge in handlers)
        if self._halt and not may_handle:
            self._start_halt()
        else:
            self._skip_downstream(key, frames, f"upstream sub flow '{_instance_name(key)}' failed", SUCCESS_ONLY)
        if not handlers:
            return False
        current = asyncio.current_task()
        if current is not None:
            self._protected.add(current)
        await self._fire_groups(key, items, frames, facts)
        handled_by = handled_by_edge(self.job, self.state, key, frames, handlers)
        if handled_by is not None:
            record.handled_by = str(handled_by)
            self._logger.warning("failure_handled", subflow=key[0], iter_path=list(key[1]), by=record.handled_by)
            return True
        if self._halt:
            self._start_halt()
        return False

    def _failed(self, key: SubflowKey, error: str) -> SubflowRecord:
        record = self.state.subflow(key)
        record.status = "failed"
        record.error = error
        record.ended = utc_now()
        self._events.emit("subflow_finished", record)
        self._logger.error("subflow_failed", subflow=key[0], iter_path=list(key[1]), error=error)
        return record

    def _stopped(self) -> bool:
        """True when the run halted and the current task is not running a failure's handlers."""
        return self.state.halted and asyncio.current_task() not in self._protected

    def _task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """A task for ``coro``, protected when started from a protected task (a handler's downstream)."""
        task = asyncio.create_task(coro, name=name)
        if asyncio.current_task() in self._protected:
            self._protected.add(task)
        return task

    def _start_halt(self) -> None:
        if self.state.halted:
            return
        self.state.halted = True
        self._logger.warning("run_halting", reason="a sub flow failed and fail_strategy is halt")
        current = asyncio.current_task()
        for task in [*self._instances.values(), *self._spawned]:
            if task is not current and task not in self._protected:
                _cancel_once(task)

    async def _await_protected(self) -> None:
        """Wait for the handlers of failures (they may start more protected tasks meanwhile)."""
        while pending := [task for task in self._protected if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _cancel_all(self) -> None:
        pending = [t for t in [*self._instances.values(), *self._spawned] if not t.done()]
        for task in pending:
            _cancel_once(task)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    # -- control connections --------------------------------------------------------------------

    async def _fire(self, edge: ControlEdge, path: tuple[int, ...], items: tuple[Any, ...], frames: Frames) -> bool:
        target = self.job.subflow_of[edge.dst]
        t_path, t_items, t_frames = frames_for(target, path, items, frames, self._scopes)
        if edge.condition:
            try:
                passed = evaluate(self._conditions[edge.index], lambda ref: self._values.lookup(ref, path, items))
            except ExpressionError as exc:
                message = f"control connection '{edge}': condition cannot be evaluated: {exc}"
                self.state.errors.append(message)
                self._logger.error("condition_failed", edge=str(edge), error=str(exc))
                self._skip(target, t_path, t_frames, f"the condition of '{edge}' could not be evaluated")
                if self._halt:
                    self._start_halt()
                return False
            if not passed:
                self._logger.info("condition_false", edge=str(edge), target=target, iter_path=list(path))
                self._skip(target, t_path, t_frames, f"condition {edge.condition!r} was false")
                return True
        if edge.type == "start":
            task = self._task(self._visit(target, t_path, t_items, t_frames), f"start:{target}")
            self._spawned.add(task)
            return True
        if edge.type == "iterate":
            values = self.state.lists.get((node_id_for(edge.src, path), edge.port or ""), [])

            def item(index: int, value: Any) -> Awaitable[bool]:
                return self._visit(target, (*t_path, index), (*t_items, value), (*t_frames, edge.index))

            return await run_items(
                values, item, parallel=edge.parallel, stopped=self._stopped,
                spawn=lambda worker: self._task(worker, f"iterate:{target}"),
            )
        return await self._visit(target, t_path, t_items, t_frames)

    # -- skipped and unreached instances --------------------------------------------------------

    def _skip(self, subflow_id: str, path: tuple[int, ...], frames: Frames, reason: str) -> None:
        key = (subflow_id, path)
        record = self.state.subflow(key)
        if record.status == "pending" and key not in self._instances:
            if key in self.state.restored:  # it ran in a run this one resumes; not triggered in this one
                record.status, record.reason = "restored", f"ran in an earlier run; not triggered now: {reason}"
                return
            record.status = "skipped"
            record.reason = reason
            self._events.emit("subflow_skipped", record)
            self._skip_downstream(key, frames, f"upstream sub flow '{_instance_name(key)}' was skipped")

    def _skip_edge(self, edge: ControlEdge, path: tuple[int, ...], frames: Frames, reason: str) -> None:
        target = self.job.subflow_of[edge.dst]
        t_path, _items, t_frames = frames_for(target, path, path, frames, self._scopes)
        self._skip(target, t_path, t_frames, reason)

    def _skip_downstream(
        self, key: SubflowKey, frames: Frames, reason: str, types: frozenset[str] | None = None
    ) -> None:
        """Skip what ``key``'s connections (of ``types``, default all) would have triggered (an iterate
        target is recorded once, at the trigger's level: its per-item instances never exist)."""
        for edge in self.job.control_out(key[0]):
            if types is None or edge.type in types:
                self._skip_edge(edge, key[1], frames, reason)

    def _mark_unreached(self) -> None:
        """Record instances triggered but never started, and sub flows never reached, as not run."""
        halted = "the run halted before it started" if self.state.halted else "the run ended before it started"
        for key, record in self.state.subflows.items():
            if record.status == "pending" and key in self._instances:
                record.status = "not_run"
                record.reason = halted
        reached = {key[0] for key in self.state.subflows}
        for subflow_id in self.job.subflows:
            if subflow_id not in reached:
                record = self.state.subflow((subflow_id, ()))
                record.status = "not_run"
                record.reason = "the run halted before reaching it" if self.state.halted else "never triggered"


def _cancel_once(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` unless it is done or already being cancelled (a second cancel would
    interrupt the teardowns the first one started)."""
    if not task.done() and not task.cancelling():
        task.cancel()


def _cancelled_from_outside() -> bool:
    """True when the scheduler's own task is being cancelled (a timeout, Ctrl-C), not just a halt."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _instance_name(key: SubflowKey) -> str:
    return key[0] + "".join(f"#{i}" for i in key[1])
