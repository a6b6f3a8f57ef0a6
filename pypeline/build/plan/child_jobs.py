"""Child jobs that call back: a flow whose ``run_job`` modules lead back to itself is refused.

A ``run_job`` module whose ``job`` config is a plain path (no template) names
a child flow the build can read: a flow YAML, or a job folder (its flow is
the file it was built from, else the copy inside it). The build follows
those files, and their own ``run_job`` modules with plain paths, and refuses
a chain that comes back to a flow already on it (``a -> b -> a``): that job
would start itself until the run's depth limit stops it. A child that cannot
be read here is left to its own build (and to the depth limit at run time,
as is a path built from templates).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pypeline.build.load.flow_spec import FlowSpec
from pypeline.build.load.yaml_source import read_yaml_file
from pypeline.core.errors import FlowError, PlanError
from pypeline.job.spec import ModuleSpec

RUN_JOB = "pypeline.modules.solo.run_job.RunJob"
RUN_JOB_NAMES = ("run_job", RUN_JOB)
MAX_FILES = 200


def check_child_jobs(flow: FlowSpec, modules: dict[str, ModuleSpec]) -> None:
    """Raise for a ``run_job`` module whose child jobs call back into a flow on the chain.

    Raises:
        PlanError: naming the module, its ``job`` line and the chain of flow files.
    """
    if not flow.path:
        return
    top = Path(flow.path).resolve()
    for spec in modules.values():
        job = spec.configs.get("job") if spec.module_path == RUN_JOB else None
        child = _flow_file(job)
        if child is None:
            continue
        loop = _loop(child, [top], set())
        if loop:
            shown = " -> ".join(_shown(p) for p in loop)
            raise PlanError(
                f"module '{spec.id}': the child job {job!r} calls back into a job on its own chain ({shown}); "
                "it would start itself again and again",
                **flow.module_at(spec.id, flow.config_lines.get((spec.id, "job"), spec.line)),
                expected="child jobs that do not call their callers",
            )


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is under it (as the user wrote paths)."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _loop(file: Path, chain: list[Path], seen: set[Path]) -> list[Path] | None:
    """The chain ending where ``file`` comes back into ``chain``, following ``file``'s own child jobs."""
    if file in chain:
        return [*chain, file]
    if file in seen or len(seen) >= MAX_FILES:
        return None
    seen.add(file)
    for job in _child_jobs(file):
        child = _flow_file(job)
        if child is not None:
            loop = _loop(child, [*chain, file], seen)
            if loop:
                return loop
    return None


def _child_jobs(file: Path) -> Iterator[Any]:
    """The ``job`` configs of the ``run_job`` modules of flow ``file`` (nothing when it does not read)."""
    try:
        data = read_yaml_file(file).data
    except FlowError:
        return
    for item in data.get("modules") or [] if isinstance(data, dict) else []:
        if isinstance(item, dict) and item.get("name") in RUN_JOB_NAMES:
            configs = item.get("configs") or {}
            for section in ("required", "optional"):
                values = configs.get(section) if isinstance(configs, dict) else None
                if isinstance(values, dict) and "job" in values:
                    yield values["job"]


def _flow_file(job: Any) -> Path | None:
    """The flow file a plain ``job`` path names (a YAML, or a job folder's source), else ``None``."""
    if not isinstance(job, str) or "{{" in job:
        return None
    path = Path(job)
    if path.suffix.lower() in (".yaml", ".yml"):
        return path.resolve() if path.is_file() else None
    for metadata in sorted(path.glob("*_execution_metadata.json")) if path.is_dir() else []:
        try:
            source = json.loads(metadata.read_text(encoding="utf-8")).get("flow_path")
        except (OSError, ValueError):
            return None
        if isinstance(source, str) and Path(source).is_file():
            return Path(source).resolve()
        copy = metadata.with_name(metadata.name.removesuffix("_execution_metadata.json") + ".yaml")
        return copy.resolve() if copy.is_file() else None
    return None
