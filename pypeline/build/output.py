"""Write the job folder of DESIGN.md §9, deterministically.

::

    jobs/<name>/
      <name>.yaml                     the flow as given
      <name>_dag.json                 nodes (module path, category, version, ports, configs, execution), edges
      <name>_execution_metadata.json  settings, sub flows, control graph, planned order, waves, flow hash and path
      context/<name>_<env>.json       context variables, one file per environment (never secrets)

Every JSON file is canonical (sorted keys, fixed indent), so the same flow
gives the same bytes. Files are replaced atomically one by one; a ``runs/``
folder from earlier runs is kept.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pypeline.build.spec import Plan
from pypeline.core.errors import FlowError, JobError
from pypeline.core.jsonio import atomic_write_text, canonical_json

SCHEMA_VERSION = 1
DEFAULT_ENV = "default"


def dag_document(plan: Plan) -> dict[str, Any]:
    """The ``<name>_dag.json`` content."""
    return {
        "schema_version": SCHEMA_VERSION,
        "flow": plan.flow.meta,
        "nodes": [plan.modules[m].to_dict() for m in sorted(plan.modules)],
        "edges": {
            "data": sorted((e.to_dict() for e in plan.data_edges), key=lambda d: (d["to"], d["to_port"])),
            "control": [e.to_dict() for e in plan.control_edges],
        },
    }


def metadata_document(plan: Plan, flow_hash: str) -> dict[str, Any]:
    """The ``<name>_execution_metadata.json`` content."""
    return {
        "schema_version": SCHEMA_VERSION,
        "flow_name": plan.flow.name,
        "flow_hash": flow_hash,
        # where the flow came from, so a reader (``pype ui``) can tell that it changed since this build
        "flow_path": str(Path(plan.flow.path).resolve()) if plan.flow.path else None,
        "settings": plan.flow.settings,
        "environments": sorted(context_files(plan)),
        "subflows": [sf.to_dict() for sf in plan.subflows.values()],
        "subflow_of": dict(sorted(plan.subflow_of.items())),
        "control_graph": [
            {
                "edge": e.index,
                "from_subflow": plan.subflow_of[e.src],
                "to_subflow": plan.subflow_of[e.dst],
                "order": e.order,
                "type": e.type,
            }
            for e in plan.control_edges
        ],
        "root_subflows": list(plan.root_subflows),
        "planned_order": list(plan.planned_order),
    }


def context_files(plan: Plan) -> dict[str, dict[str, Any]]:
    """Environment -> variables; ``default`` always exists."""
    envs = {env: dict(sorted(values.items())) for env, values in plan.flow.context.items()}
    envs.setdefault(DEFAULT_ENV, {})
    return envs


def compute_flow_hash(yaml_text: str, dag_json: str) -> str:
    """sha256 over the flow as given and the dag (module paths, versions, resolved configs)."""
    digest = hashlib.sha256()
    digest.update(yaml_text.encode("utf-8"))
    digest.update(b"\0")
    digest.update(dag_json.encode("utf-8"))
    return "sha256:" + digest.hexdigest()


def render_job(plan: Plan) -> dict[str, str]:
    """Relative path -> file text of the whole job folder (nothing written)."""
    name = plan.flow.name
    dag_json = canonical_json(dag_document(plan))
    flow_hash = compute_flow_hash(plan.flow.source_text, dag_json)
    files = {
        f"{name}.yaml": plan.flow.source_text,
        f"{name}_dag.json": dag_json,
        f"{name}_execution_metadata.json": canonical_json(metadata_document(plan, flow_hash)),
    }
    for env, values in context_files(plan).items():
        files[f"context/{name}_{env}.json"] = canonical_json(values)
    return files


def job_folder(out_dir: str | Path, name: str, flow_path: str | None = None) -> Path:
    """``out_dir/name``, refusing names that would escape ``out_dir``.

    Raises:
        FlowError: for a name with separators, ``..`` or an absolute path.
    """
    base = Path(out_dir).resolve()
    target = (base / name).resolve()
    if name in ("", ".", "..") or "/" in name or "\\" in name or target.parent != base:
        raise FlowError(
            f"flow name {name!r} would write outside {out_dir}", path=flow_path, expected="a plain folder name"
        )
    return target


def write_job(plan: Plan, out_dir: str | Path) -> Path:
    """Write the job folder under ``out_dir`` and return its path.

    Raises:
        JobError: when the folder cannot be written (a file in the way, no permission, ...).
    """
    folder = job_folder(out_dir, plan.flow.name, plan.flow.path)
    files = render_job(plan)
    try:
        for relative, text in files.items():
            atomic_write_text(folder / relative, text)
        context_dir = folder / "context"
        for stale in context_dir.glob(f"{plan.flow.name}_*.json"):
            if f"context/{stale.name}" not in files:
                stale.unlink()
    except OSError as exc:
        where = exc.filename or folder
        raise JobError(f"{where}: cannot write the job folder: {exc.strerror or exc}") from exc
    return folder
