"""``RunState``: the mutable bookkeeping of one run, owned by the scheduler.

Specs (the job plan) never change during a run; everything that does lives
here, typed:

* ``subflows``: one :class:`SubflowRecord` per sub flow *instance*, keyed by
  ``(sub flow id, iteration path)``; status ``running``, ``success``,
  ``failed``, ``skipped``, ``cancelled`` (``restored`` for instances a resumed
  run did not repeat);
* ``nodes``: one :class:`NodeRecord` per node id (``module`` or ``module#i``); status
  ``running``, ``success``, ``cached`` (its outputs came from the cache, docs/cache.md),
  ``failed``, ``timed_out`` (failed: its last attempt hit its
  timeout), ``cancelled`` (``restored`` after a resume);
* ``lists``: the list outputs that drive iterate connections, keyed by
  ``(node id, port)`` (they cross sub flow boundaries, so checkpoints keep them);
* ``errors``: run-level problems (a condition that cannot be evaluated, a timeout).

A failed instance whose ``on_error`` handler (``handled: true``) ran to
success keeps its status ``failed`` and names that connection in
``handled_by``; it does not make the run fail (:attr:`RunState.failed`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring as encode_string
from typing import Any

from pypeline.core.jsonio import compact_json, finite_compact_json, has_nonfinite
from pypeline.modules.sdk.context import full_facts

SubflowKey = tuple[str, tuple[int, ...]]

FAILED = ("failed", "timed_out")
"""Node statuses of a module that failed; ``timed_out``: its last attempt was stopped at its timeout."""
OVER = ("success", "failed", "timed_out", "cancelled", "restored")
"""Node statuses after which the record does not change any more."""


_SECOND: tuple[int, str] = (-1, "")
"""The last whole second :func:`utc_now` formatted and its text (``strftime`` is the slow part)."""
_MILLI: tuple[int, str] = (-1, "")
"""The last millisecond :func:`utc_now` returned and its text: a run of small modules asks several
times a millisecond. Tuples, so that threads always read a pair that belongs together."""


def utc_now() -> str:
    """ISO-8601 UTC timestamp with milliseconds (``2026-11-23T11:22:33.456Z``)."""
    global _SECOND, _MILLI
    milli = int(time.time() * 1000)
    last = _MILLI
    if last[0] == milli:
        return last[1]
    second, rest = divmod(milli, 1000)
    whole = _SECOND
    if whole[0] != second:
        whole = _SECOND = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    text = f"{whole[1]}.{rest:03d}Z"
    _MILLI = (milli, text)
    return text


def subflow_key_str(key: SubflowKey) -> str:
    """``load`` or ``load#0#2`` (stable text form for manifests and checkpoints)."""
    return key[0] + "".join(f"#{i}" for i in key[1])


@dataclass(slots=True)
class NodeRecord:
    """What happened to one node (a module in one iteration)."""

    node_id: str
    module_id: str
    subflow: str
    iter_path: tuple[int, ...]
    backend: str = "local"
    status: str = "pending"
    attempts: int = 0
    rows_in: int | None = None
    rows_out: int | None = None
    started: str | None = None
    ended: str | None = None
    duration_ms: float | None = None
    error: str | None = None
    globals: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    _json: str | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> str:
        """:meth:`to_dict` as compact JSON with sorted keys, encoded once when the node is over.

        The checkpoint record and the manifest both hold it; they use it only while the
        run has resolved no secret (nothing to mask or redact), and encode the dict otherwise.
        """
        if self._json is not None:
            return self._json
        if has_nonfinite(self.globals) or has_nonfinite(self.facts):  # the only values that may be NaN
            text = compact_json(self.to_dict(), masked=False)
        else:
            text = finite_compact_json(self.to_dict())
        if self.status in OVER and self.ended is not None:
            self._json = text
        return text

    def to_dict(self) -> dict[str, Any]:
        """The manifest entry."""
        return {
            "node_id": self.node_id,
            "module_id": self.module_id,
            "subflow": self.subflow,
            "iter_path": list(self.iter_path),
            "backend": self.backend,
            "status": self.status,
            "attempts": self.attempts,
            "retries": max(0, self.attempts - 1),
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "started": self.started,
            "ended": self.ended,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "globals": self.globals,
            **full_facts(self.facts),  # a record keeps only what its module reported (NodeStats.compact)
        }


def nodes_json(records: Mapping[str, NodeRecord]) -> str:
    """``{node_id: record.to_dict()}`` as compact JSON, sorted, from each record's :meth:`~NodeRecord.to_json`."""
    return "{" + ",".join(f"{encode_string(n)}:{records[n].to_json()}" for n in sorted(records)) + "}"


@dataclass(slots=True)
class SubflowRecord:
    """What happened to one sub flow instance."""

    subflow: str
    iter_path: tuple[int, ...]
    status: str = "pending"
    started: str | None = None
    ended: str | None = None
    error: str | None = None
    reason: str | None = None
    handled_by: str | None = None
    """The ``on_error`` connection (``handled: true``) whose handler ran for this failed instance."""

    def to_dict(self) -> dict[str, Any]:
        """The manifest entry."""
        return {
            "instance": subflow_key_str((self.subflow, self.iter_path)),
            "subflow": self.subflow,
            "iter_path": list(self.iter_path),
            "status": self.status,
            "started": self.started,
            "ended": self.ended,
            "error": self.error,
            "reason": self.reason,
            **({"handled_by": self.handled_by} if self.handled_by else {}),
        }


@dataclass(slots=True)
class RunState:
    """All mutable state of a run (see the module docstring)."""

    subflows: dict[SubflowKey, SubflowRecord] = field(default_factory=dict)
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    lists: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    restored: set[SubflowKey] = field(default_factory=set)
    halted: bool = False
    flow_mistakes: list[str] = field(default_factory=list)
    """Nodes that failed on a mistake of the flow (a template, a rendered config): a resume cannot help."""

    def add_node(self, record: NodeRecord) -> None:
        """Add (or replace) a node record."""
        self.nodes[record.node_id] = record

    def subflow(self, key: SubflowKey) -> SubflowRecord:
        """The record of ``key``, created on first use."""
        record = self.subflows.get(key)
        if record is None:
            record = SubflowRecord(subflow=key[0], iter_path=key[1])
            self.subflows[key] = record
        return record

    @property
    def failed(self) -> bool:
        """True when anything failed that no ``on_error`` handler handled."""
        return bool(self.errors) or any(
            r.status == "failed" and not r.handled_by for r in self.subflows.values()
        )

    def handled(self) -> set[SubflowKey]:
        """The failed instances an ``on_error`` handler handled (``handled: true``)."""
        return {key for key, r in self.subflows.items() if r.status == "failed" and r.handled_by}
