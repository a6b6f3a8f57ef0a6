"""``manifest.json``: the auditable record of one run (docs/observability.md).

Written atomically when the run starts (status ``running``) and when it ends,
as canonical JSON (sorted keys, two-space indent), each module on one line:
its record's compact JSON, encoded once for the checkpoint and the manifest.
Per module (node): status (``success``, ``failed``, ``timed_out``, ``cancelled``,
``restored``), attempts, rows in/out, duration, files read and
written, events, stats, globals, error. Per sub flow instance: status,
iteration path, reason when skipped, ``handled_by`` for a failure an
``on_error`` handler handled. Run level: status, timings, spills, errors
(handled failures are listed apart, in ``handled_failures``), the run that
started this one (``parent_run``) and the child runs its ``run_job`` modules
started (``child_runs``), and, after a failure, the exact command that
resumes the run, or, when the failure is a mistake of the flow that a resume
would meet again (a template, a config a template filled in), the modules
that met it (``flow_mistakes``) and no resume command.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring as encode_string
from pathlib import Path
from typing import Any

from pypeline.core.jsonio import atomic_write_json, atomic_write_text, canonical_json
from pypeline.core.secret import SecretRegistry
from pypeline.run.state.records import FAILED, NodeRecord, RunState, utc_now

MANIFEST_VERSION = 1


def manifest_document(
    *,
    run_id: str,
    job_name: str,
    flow_hash: str,
    status: str,
    started: str,
    ended: str | None,
    duration_ms: float | None,
    env: str,
    execution_mode: str,
    state: RunState,
    spills: list[dict[str, Any]],
    resume_command: str | None,
    resumed_from: str | None = None,
    redact: Any = None,
    parent_run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest content (plain JSON data)."""
    nodes = {node_id: record.to_dict() for node_id, record in sorted(state.nodes.items())}
    subflows = [record.to_dict() for _key, record in sorted(state.subflows.items(), key=lambda kv: kv[0])]
    handled = state.handled()
    errors = list(state.errors) + [
        _named(r["node_id"], r["error"]) for r in nodes.values()
        if r["status"] in FAILED and r["error"] and (r["subflow"], tuple(r["iter_path"])) not in handled
    ]
    document = {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "flow": job_name,
        "flow_hash": flow_hash,
        "status": status,
        "started": started,
        "ended": ended,
        "duration_ms": duration_ms,
        "context": env,
        "execution_mode": execution_mode,
        "resumed_from": resumed_from,
        "modules": nodes,
        "subflows": subflows,
        "skipped_subflows": [s["instance"] for s in subflows if s["status"] in ("skipped", "not_run")],
        "failed_modules": sorted(n for n, r in nodes.items() if r["status"] in FAILED),
        "spills": spills,
        "errors": errors,
        "handled_failures": [
            {"instance": s["instance"], "error": s["error"], "handled_by": s["handled_by"]}
            for s in subflows if s.get("handled_by")
        ],
        "parent_run": parent_run,
        "child_runs": [
            {"node_id": node_id, **r["stats"]["child_run"]}
            for node_id, r in nodes.items() if isinstance(r.get("stats", {}).get("child_run"), dict)
        ],
        "resume_command": resume_command,
        "flow_mistakes": sorted(state.flow_mistakes),
    }
    return redact(document) if redact is not None else document


@dataclass(slots=True, kw_only=True)
class ManifestWriter:
    """Writes one run's manifest: what is fixed when the run starts, plus its state at each write."""

    path: Path
    run_id: str
    job_name: str
    flow_hash: str
    env: str
    execution_mode: str
    state: RunState
    spills: Callable[[], list[dict[str, Any]]]
    secrets: SecretRegistry | None = None
    """The run's resolved secrets, cut out of the whole document (nothing to walk while there are none)."""
    resumed_from: str | None = None
    parent_run: dict[str, Any] | None = None
    """The run (and node) that started this one with ``run_job`` (``None`` for a run of its own)."""
    started: str = field(default_factory=utc_now)
    _t0: float = field(default_factory=time.perf_counter)

    def write(self, status: str, *, ended: bool = False, resume_command: str | None = None) -> dict[str, Any]:
        """Write the manifest with ``status`` (atomically) and return its content."""
        document = manifest_document(
            run_id=self.run_id,
            job_name=self.job_name,
            flow_hash=self.flow_hash,
            status=status,
            started=self.started,
            ended=utc_now() if ended else None,
            duration_ms=round((time.perf_counter() - self._t0) * 1000, 3) if ended else None,
            env=self.env,
            execution_mode=self.execution_mode,
            state=self.state,
            spills=self.spills(),
            resume_command=resume_command,
            resumed_from=self.resumed_from,
            parent_run=self.parent_run,
            redact=self.secrets.redact if self.secrets is not None and self.secrets.count else None,
        )
        if self.secrets is not None and not self.secrets.count:
            atomic_write_text(self.path, manifest_text(document, self.state.nodes))
        else:  # redacted as a whole, or secret-marked values to mask: the document as it is
            atomic_write_json(self.path, document)
        return document


def manifest_text(document: dict[str, Any], records: Mapping[str, NodeRecord]) -> str:
    """``canonical_json(document)``, except that each module is one line: its record's own compact JSON.

    The records are encoded once for the checkpoint and the manifest (``NodeRecord.to_json``);
    only for a run that resolved no secret (nothing to mask or redact). ``document["modules"]``
    must be the records' :meth:`~NodeRecord.to_dict` forms.
    """
    text = canonical_json({**document, "modules": {}})
    if not records:
        return text
    lines = ",\n".join(f"    {encode_string(n)}: {records[n].to_json()}" for n in sorted(records))
    # top-level keys are the only lines indented by exactly two spaces (strings hold no newline)
    return text.replace('\n  "modules": {}', '\n  "modules": {\n' + lines + "\n  }", 1)


def _named(node_id: str, error: str) -> str:
    """``module '<id>': <error>``, unless the error already starts by naming the module."""
    return error if error.startswith(f"module '{node_id}'") else f"module '{node_id}': {error}"
