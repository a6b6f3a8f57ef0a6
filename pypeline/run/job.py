"""Open a job folder for a run: its plan, its module classes, its context.

The folder format and the plan live in :mod:`pypeline.job`; what a run adds
is refusing a folder whose module classes no longer import (a moved or broken
module file stops the run before anything starts) and choosing the context
environment with ``--set`` overrides. Problems are :class:`JobError` (exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypeline.core.errors import JobError
from pypeline.core.text import did_you_mean
from pypeline.job.folder import read_job_folder, read_json_file
from pypeline.job.plan import JobPlan
from pypeline.job.spec import ModuleSpec
from pypeline.modules.loader import ModuleImportError, load_module_class


def load_job(folder: str | Path) -> JobPlan:
    """Load and check a job folder for a run.

    Raises:
        JobError: missing, invalid or stale folder, or a module class that no longer loads.
    """
    job = read_job_folder(folder, check_hash=True)
    _check_module_classes(Path(folder), job.modules)
    return job


def _check_module_classes(root: Path, modules: dict[str, ModuleSpec]) -> None:
    """Every module class still imports, so a moved or broken module file stops the run before it starts."""
    for module_id, spec in modules.items():
        try:
            load_module_class(spec.module_path)
        except ModuleImportError as exc:
            raise JobError(
                f"{root}: module '{module_id}' uses {spec.module_path}, which cannot be loaded: {exc} "
                "(restore the module file, or fix the flow and rebuild it with 'pype build <flow.yaml>')"
            ) from None


def load_context(job: JobPlan, env: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The context variables of ``env`` with ``--set`` overrides applied.

    Raises:
        JobError: for an unknown environment or an override of an undefined variable.
    """
    if env not in job.environments:
        raise JobError(
            f"unknown context environment '{env}'{did_you_mean(env, job.environments)} "
            f"(the job defines: {', '.join(job.environments)})"
        )
    contexts = {e: read_json_file(job.context_path(e)) for e in job.environments}
    for e, content in contexts.items():
        if not isinstance(content, dict):
            raise JobError(
                f"{job.context_path(e)}: expected a JSON object of context variables, got "
                f"{type(content).__name__}; rebuild it with 'pype build <flow.yaml>'"
            )
    values: dict[str, Any] = contexts[env]
    known = {k for content in contexts.values() for k in content}
    for key in overrides:
        if key not in known:
            raise JobError(
                f"--set {key}=...: unknown context variable '{key}'{did_you_mean(key, known)} "
                f"(defined: {', '.join(sorted(known)) or 'none'})"
            )
    return {**values, **overrides}
