"""``pype run --dry-run``: what a run would do, without doing any of it.

A dry run loads the job folder and the chosen context (``--context``,
``--set``) exactly like a run, then prints, in the planned priority-DFS order
of sub flows, every module with its configs as they would be rendered and the
files it would read and write. Nothing runs: no module is imported for
execution (a module class is imported only to read its
CONFIG_SCHEMA), no run folder is written, no secret is fetched.

Templates are resolved as far as they can be before the run:

=============================  ====================================
``{{context.x}}``              its value in the chosen context
``{{vault.PATH#KEY}}``         ``***`` (never fetched, never shown)
``{{module__var}}``            ``<module__var>`` (set at run time)
``{{iter.item}}`` / ``index``  ``<iter.item>`` / ``<iter.index>``
=============================  ====================================

Which configs are files: :mod:`pypeline.modules.file_configs` says.

Problems a user wants to see before running (:mod:`pypeline.run.dryrun_checks`:
a config a context template made the wrong type, an input that is missing now
and that no module of the job writes, a sink output that is a folder the sink
would refuse to replace) are listed in a ``problems:`` section at the end;
``pype run --dry-run`` then exits 1 (0 without problems).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pypeline.core.expr.literals import TemplateValueError
from pypeline.core.references import Reference
from pypeline.core.templates import context_configs, has_templates, render
from pypeline.core.text import relative_hint
from pypeline.job.plan import JobPlan
from pypeline.modules.file_configs import file_configs
from pypeline.modules.loader import ModuleImportError, load_module_class
from pypeline.modules.sdk.config import expression_keys
from pypeline.run.dryrun_cache import cache_notes
from pypeline.run.dryrun_checks import (
    column_problems,
    config_problems,
    exists_now,
    input_sources,
    output_problem,
)


@dataclass(slots=True)
class PlannedModule:
    """One module as the dry run shows it."""

    id: str
    name: str
    type: str
    wave: int
    configs: dict[str, Any]
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    backend: str = "local"
    resolved_reads: list[str] = field(default_factory=list)
    """``reads`` with only context templates resolved (run-time ones kept as ``{{...}}``)."""
    resolved_writes: list[str] = field(default_factory=list)
    config_problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DryRun:
    """What ``pype run --dry-run`` prints, and the problems in it (exit 1 when there are any)."""

    text: str
    problems: tuple[str, ...]


def dry_lookup(context_vars: dict[str, Any]) -> Any:
    """The template lookup of a dry run (see the module docstring)."""

    def lookup(key: str, ref: Reference) -> Any:
        if ref.kind == "context":
            return context_vars.get(ref.name, f"<context.{ref.name}: undefined>")
        if ref.kind == "secret":
            return "***"
        return f"<{ref}>"

    return lookup


def plan_modules(job: JobPlan, context_vars: dict[str, Any]) -> dict[str, list[PlannedModule]]:
    """Sub flow id -> its modules in wave order, configs rendered for a dry run."""
    lookup = dry_lookup(context_vars)
    result: dict[str, list[PlannedModule]] = {}
    for subflow_id, subflow in job.subflows.items():
        planned: list[PlannedModule] = []
        for wave_index, wave in enumerate(subflow.waves, start=1):
            for module_id in wave:
                spec = job.modules[module_id]
                configs = _shown_configs(spec.configs, spec.module_path, lookup)
                reads, writes = file_configs(spec.type, configs)
                resolved = context_configs(spec.configs, context_vars)
                resolved_reads, resolved_writes = file_configs(spec.type, resolved)
                planned.append(
                    PlannedModule(
                        id=module_id, name=spec.name, type=spec.type, wave=wave_index, configs=configs,
                        reads=reads, writes=writes, backend=str(spec.execution.get("backend", "local")),
                        resolved_reads=resolved_reads, resolved_writes=resolved_writes,
                        config_problems=config_problems(spec, resolved),
                    )
                )
        result[subflow_id] = planned
    return result


def _shown_configs(configs: dict[str, Any], module_path: str, lookup: Any) -> dict[str, Any]:
    """``configs`` rendered as the run will (expressions get literals); plain text where a value cannot."""
    try:
        expressions = expression_keys(load_module_class(module_path).CONFIG_SCHEMA)
    except ModuleImportError:
        expressions = frozenset()
    try:
        shown: dict[str, Any] = render(configs, lookup, expressions=expressions)
    except TemplateValueError:  # the run fails on it with a message naming the module and key
        shown = render(configs, lookup)
    return shown


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _read_notes(
    planned: PlannedModule, all_writes: list[tuple[str, str]], problems: list[str]
) -> list[str]:
    """A note per read path (``(written by MODULE)``, ``(missing now)`` or ``''``); adds to ``problems``."""
    notes = []
    for path in planned.resolved_reads:
        if has_templates(path):
            notes.append("")
            continue
        writers = input_sources(path, planned.id, all_writes)
        if writers:
            notes.append(f" (written by {', '.join(writers)})")
        elif exists_now(path):
            notes.append("")
        else:
            notes.append(" (missing now)")
            hint = "; " + relative_hint(path) if relative_hint(path) else ""
            problems.append(f"{planned.id}: missing now: {path} (no module of this job writes it{hint})")
    return notes


def _write_notes(planned: PlannedModule, job_name: str, problems: list[str]) -> list[str]:
    """A note per written path (``(refused)`` or ``''``); adds to ``problems``."""
    notes = []
    allowed = planned.configs.get("replace_output_of")
    allowed = [str(a) for a in allowed] if isinstance(allowed, list) else []
    for path in planned.resolved_writes:
        problem = output_problem(planned.id, path, job_name, allowed) if planned.type == "sink" else None
        notes.append(" (refused)" if problem else "")
        if problem:
            problems.append(problem)
    return notes


def dry_run_report(job: JobPlan, env: str, context_vars: dict[str, Any]) -> DryRun:
    """The text ``pype run --dry-run`` prints and its problems."""
    modules = plan_modules(job, context_vars)
    all_writes = [(m.id, p) for ms in modules.values() for m in ms for p in m.resolved_writes]
    problems: list[str] = []
    version = job.meta.get("version")
    lines = [
        f"dry run of job '{job.name}'" + (f" (version {version})" if version else "") + f", context '{env}'",
        "nothing runs: no module is executed, no run folder is written, no secret is fetched",
        "",
        "planned order (priority DFS over sub flows; modules by wave):",
    ]
    seen: set[str] = set()
    cached = cache_notes(job, context_vars)
    for step, entry in enumerate(job.planned_order, start=1):
        subflow_id = entry["subflow"]
        seen.add(subflow_id)
        indent = "  " * (entry.get("depth") or 0)
        via = f"  via {entry['via']}" if entry.get("via") else "  (root)"
        lines.append(f"{step:>3}. {indent}sub flow {subflow_id}{via}")
        for planned in modules[subflow_id]:
            pad = "       " + indent
            backend = "" if planned.backend == "local" else f" on {planned.backend}"
            note = f"  [{cached[planned.id]}]" if planned.id in cached else ""
            lines.append(f"{pad}[wave {planned.wave}] {planned.id}: {planned.name} ({planned.type}){backend}{note}")
            for key in sorted(planned.configs):
                lines.append(f"{pad}    {key} = {_value(planned.configs[key])}")
            problems.extend(planned.config_problems)
            for path, note in zip(planned.reads, _read_notes(planned, all_writes, problems), strict=True):
                lines.append(f"{pad}    reads  {path}{note}")
            for path, note in zip(planned.writes, _write_notes(planned, job.name, problems), strict=True):
                lines.append(f"{pad}    writes {path}{note}")
    problems.extend(column_problems(job, context_vars))
    unreached = [sf for sf in job.subflows if sf not in seen]
    if unreached:
        lines.append("")
        lines.append("never reached by the planned order: " + ", ".join(unreached))
    reads = sorted({p for ms in modules.values() for m in ms for p in m.reads})
    writes = sorted({p for ms in modules.values() for m in ms for p in m.writes})
    lines.append("")
    lines.append(f"reads  ({len(reads)}): " + (", ".join(reads) or "-"))
    lines.append(f"writes ({len(writes)}): " + (", ".join(writes) or "-"))
    if problems:
        lines.append("")
        lines.append(f"problems: {len(problems)} (pype run --dry-run exits 1)")
        lines.extend(f"  - {problem}" for problem in problems)
    return DryRun(text="\n".join(lines) + "\n", problems=tuple(problems))


def dry_run(job_dir: Any, env: str = "default", overrides: dict[str, Any] | None = None) -> DryRun:
    """Load ``job_dir`` and the context like ``pype run`` would, and return :func:`dry_run_report`.

    Raises:
        JobError: missing, stale or invalid job folder, unknown context or override.
    """
    from pypeline.run.job import load_context, load_job

    job = load_job(job_dir)
    context_vars = load_context(job, env, overrides or {})
    return dry_run_report(job, env, context_vars)
