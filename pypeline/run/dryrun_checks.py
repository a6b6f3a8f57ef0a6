"""The problems ``pype run --dry-run`` flags before anything runs.

A dry run renders every module's configs with the chosen context only
(:func:`~pypeline.core.templates.context_configs`): ``{{context.x}}`` is replaced, any run-time
template (``{{module__var}}``, ``{{iter.item}}``, ``{{vault...}}``) stays as
written, so a secret is never fetched and a value that still holds one is
never judged. On those configs it checks three things:

* **config types**: a value a context template filled in is checked against
  the module's ``CONFIG_SCHEMA`` with :func:`~pypeline.modules.sdk.config.check_values`,
  the check the run does after rendering (``limit: "{{context.n}}"`` with
  ``n = "ten"`` for an int config);
* **inputs**: a path the module reads (no run-time template left) that
  matches no file now (globs expanded) is a problem unless a module of the job
  writes it (:func:`input_sources`): the same path after normalising, a path
  under a folder another module writes, a folder another module writes into,
  or a glob matching a write (a write that holds run-time templates matches
  as if each template were ``*``);
* **outputs**: a sink's output path that holds something the sink would
  refuse to replace (:func:`~pypeline.modules.sdk.ownership.replace_refusal`,
  the run's own rule: a folder without this job's ``_PYPELINE`` marker, a
  device, a link, a system folder, ...);
* **columns**: a column a config names (a condition, keys, ``select``
  lists, ...) that does not reach its module, now that the sources' columns
  are read from their files (CSV headers, Parquet schemas) as well as their
  configs (:func:`column_problems`, :mod:`pypeline.modules.column_check`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pypeline.core.templates import TEMPLATE_RE, context_configs, find_templates, has_templates
from pypeline.job.plan import JobPlan
from pypeline.job.spec import ModuleSpec
from pypeline.modules.column_check import check_columns, module_order
from pypeline.modules.loader import ModuleImportError, load_module_class
from pypeline.modules.sdk.config import ConfigProblem, check_values
from pypeline.modules.sdk.ownership import OutputOwner, replace_refusal
from pypeline.modules.storage import is_url

GLOB_CHARS = ("*", "?", "[")


def config_problems(spec: ModuleSpec, rendered: dict[str, Any]) -> list[str]:
    """Problems with the configs a context template filled in; ``rendered``: from ``core.templates.context_configs``."""
    keys = sorted(
        key for key in {k.split(".")[0].split("[")[0] for k, _, _ in find_templates(spec.configs)}
        if key in rendered and not has_templates(rendered[key])
    )
    if not keys:
        return []
    try:
        schema = load_module_class(spec.module_path).CONFIG_SCHEMA
    except ModuleImportError as exc:
        return [f"{spec.id}: its configs cannot be checked: {exc}"]
    known = {**schema.get("optional", {}), **schema.get("required", {})}
    problems = []
    for key in keys:
        if key not in known:
            continue
        try:
            check_values(known, {key: rendered[key]})
        except ConfigProblem as exc:
            problems.append(f"{spec.id}: after templates were resolved, {exc.message} (expected {exc.expected})")
    return problems


def _norm(path: str) -> str:
    return os.path.abspath(path)


def _as_pattern(path: str) -> str:
    """A written path as a pattern: each run-time template matches anything."""
    return TEMPLATE_RE.sub("*", path)


def _produces(read: str, write: str) -> bool:
    """True when writing ``write`` makes ``read`` exist (see the module docstring)."""
    templated = has_templates(write)
    written = _norm(_as_pattern(write) if templated else write)
    wanted = _norm(read)
    if templated or any(c in write for c in GLOB_CHARS):
        return fnmatchcase(wanted, written) or fnmatchcase(wanted, written + os.sep + "*")
    if wanted == written or wanted.startswith(written + os.sep) or written.startswith(wanted + os.sep):
        return True
    return any(c in read for c in GLOB_CHARS) and fnmatchcase(written, wanted)


def input_sources(read: str, reader: str, writes: Iterable[tuple[str, str]]) -> list[str]:
    """Ids of the modules other than ``reader`` whose writes (``(module_id, path)``) produce ``read``."""
    return sorted({module_id for module_id, path in writes if module_id != reader and _produces(read, path)})


def exists_now(path: str) -> bool:
    """True when ``path`` names an existing file or folder (a glob: matches at least one).

    A URL (``s3://...``, docs/storage.md) counts as there: the dry run does not list stores.
    """
    if is_url(path):
        return True
    if any(c in path for c in GLOB_CHARS):
        return bool(glob.glob(path, recursive=True))
    return os.path.exists(path)


def output_problem(module_id: str, path: str, job_name: str, replace_output_of: Iterable[str] = ()) -> str | None:
    """The sink's refusal to replace what is at ``path`` now (None when it would not refuse)."""
    if has_templates(path) or is_url(path):  # the dry run does not list stores (the run checks ownership)
        return None
    owner = OutputOwner(job=job_name, module=module_id, replace_output_of=tuple(replace_output_of))
    refusal = replace_refusal(Path(path), owner, path)
    return f"{module_id}: {refusal}" if refusal else None


def column_problems(job: JobPlan, context_vars: dict[str, Any]) -> list[str]:
    """Unknown columns, with the sources' columns read from their data (see the module docstring)."""
    found = check_columns(
        job.modules, job.data_edges, module_order(sf.waves for sf in job.subflows.values()),
        configs_of=lambda spec: context_configs(spec.configs, context_vars),
        data_columns=lambda _spec, cls, configs: cls.data_columns(configs),
    )
    return [problem.message for problem in found.problems]
