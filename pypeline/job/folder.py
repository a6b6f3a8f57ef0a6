"""The job folder: what ``pype build`` writes and ``pype run`` / ``pype graph`` read.

::

    jobs/<name>/
      <name>.yaml                     the flow as given
      <name>_dag.json                 nodes (module path, category, version, ports, configs, execution), edges
      <name>_execution_metadata.json  settings, sub flows, control graph, planned order, waves, flow hash and path
      context/<name>_<env>.json       context variables, one file per environment (never secrets)
      runs/<run_id>/                  one folder per run (written by the run, kept by rebuilds)

Every JSON file is canonical (sorted keys, fixed indent), so the same flow
gives the same bytes; files are replaced atomically one by one.

Reading turns the files back into a :class:`~pypeline.job.plan.JobPlan`. A
folder is *stale* when its flow YAML or dag.json no longer match the flow
hash recorded at build time (edited by hand), and *invalid* when a file is
missing or unreadable: both are :class:`JobError` with a rebuild hint.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pypeline.core.errors import FlowError, JobError
from pypeline.core.jsonio import atomic_write_text, canonical_json
from pypeline.job.plan import DEFAULT_ENV, JobPlan
from pypeline.job.spec import ControlEdge, DataEdge, ModuleSpec, SubFlow

SCHEMA_VERSION = 1
REBUILD_HINT = "rebuild it with 'pype build <flow.yaml>'"


# -- writing --------------------------------------------------------------------------------------


def dag_document(plan: JobPlan) -> dict[str, Any]:
    """The ``<name>_dag.json`` content."""
    return {
        "schema_version": SCHEMA_VERSION,
        "flow": plan.meta,
        "nodes": [plan.modules[m].to_dict() for m in sorted(plan.modules)],
        "edges": {
            "data": sorted((e.to_dict() for e in plan.data_edges), key=lambda d: (d["to"], d["to_port"])),
            "control": [e.to_dict() for e in plan.control_edges],
        },
        # only when the flow has includes, so the dag.json of any other flow keeps its bytes
        **({"includes": [dict(i) for i in plan.includes]} if plan.includes else {}),
    }


def metadata_document(plan: JobPlan, flow_hash: str) -> dict[str, Any]:
    """The ``<name>_execution_metadata.json`` content."""
    return {
        "schema_version": SCHEMA_VERSION,
        "flow_name": plan.name,
        "flow_hash": flow_hash,
        # where the flow came from, so a reader (``pype ui``, ``pype run``) can tell it changed since this build
        "flow_path": plan.flow_path,
        "settings": plan.settings,
        "environments": sorted(plan.environments),
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


def context_files(contexts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Environment -> variables, sorted; ``default`` always exists."""
    envs = {env: dict(sorted(values.items())) for env, values in contexts.items()}
    envs.setdefault(DEFAULT_ENV, {})
    return envs


def compute_flow_hash(yaml_text: str, dag_json: str) -> str:
    """sha256 over the flow and the dag (module paths, versions, resolved configs).

    The one definition of a job folder's flow hash: the build records it, the run
    recomputes it from the folder's files to refuse a stale folder, and resume
    compares it with a checkpoint's. Both texts are hashed as YAML and JSON read
    them (:func:`hashed_text`), so a flow saved with CRLF line ends or a byte
    order mark, or a job folder checked out by a tool that rewrites line ends,
    is the same flow; any other change to either file makes the folder stale.
    """
    digest = hashlib.sha256()
    digest.update(hashed_text(yaml_text).encode("utf-8"))
    digest.update(b"\0")
    digest.update(hashed_text(dag_json).encode("utf-8"))
    return "sha256:" + digest.hexdigest()


def hashed_text(text: str) -> str:
    """``text`` without a leading byte order mark and with ``\\n`` for every CRLF or CR line end.

    YAML and JSON parsers read these forms alike (a YAML line break is LF, CRLF or
    CR), so they never change what a file means; a reader decoding with Python's
    universal newlines sees the same text as one reading the bytes.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def render_job(plan: JobPlan, source_text: str, contexts: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Relative path -> file text of the whole job folder (nothing written)."""
    name = plan.name
    dag_json = canonical_json(dag_document(plan))
    flow_hash = compute_flow_hash(source_text, dag_json)
    files = {
        f"{name}.yaml": source_text,
        f"{name}_dag.json": dag_json,
        f"{name}_execution_metadata.json": canonical_json(metadata_document(plan, flow_hash)),
    }
    for env, values in context_files(contexts).items():
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


def write_job(
    plan: JobPlan, source_text: str, contexts: dict[str, dict[str, Any]], out_dir: str | Path,
    flow_path: str | None = None,
) -> Path:
    """Write the job folder of ``plan`` under ``out_dir`` and return its path.

    Raises:
        FlowError: for a flow name that would write outside ``out_dir``.
        JobError: when the folder cannot be written (a file in the way, no permission, ...).
    """
    folder = job_folder(out_dir, plan.name, flow_path)
    files = render_job(plan, source_text, contexts)
    try:
        for relative, text in files.items():
            atomic_write_text(folder / relative, text)
        context_dir = folder / "context"
        for stale in context_dir.glob(f"{plan.name}_*.json"):
            if f"context/{stale.name}" not in files:
                stale.unlink()
    except OSError as exc:
        where = exc.filename or folder
        raise JobError(f"{where}: cannot write the job folder: {exc.strerror or exc}") from exc
    return folder


# -- reading --------------------------------------------------------------------------------------


def read_json_file(path: Path) -> Any:
    """Parse one JSON file of a job folder.

    Raises:
        JobError: when it is missing or unreadable.
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JobError(f"{path}: missing from the job folder; {REBUILD_HINT}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JobError(f"{path}: unreadable ({exc}); {REBUILD_HINT}") from None


def read_job_folder(folder: str | Path, *, check_hash: bool, hint: str = "") -> JobPlan:
    """Locate a job folder and read its plan.

    Args:
        folder: the job folder (``jobs/<name>``).
        check_hash: refuse a folder whose flow or dag.json changed since the build.
        hint: appended to the "not a job folder" message.

    Raises:
        JobError: missing, invalid or (with ``check_hash``) stale folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise JobError(f"{root}: no such job folder (build one with 'pype build <flow.yaml>'){hint}")
    found = sorted(root.glob("*_execution_metadata.json"))
    if len(found) != 1:
        raise JobError(f"{root}: not a job folder (expected one *_execution_metadata.json, found {len(found)}){hint}")
    metadata = read_json_file(found[0])
    name = metadata.get("flow_name")
    if metadata.get("schema_version") != SCHEMA_VERSION or not isinstance(name, str):
        raise JobError(f"{found[0]}: unsupported job format; rebuild with this version of pype")
    dag_path = root / f"{name}_dag.json"
    if check_hash:
        dag = _read_checked_dag(root, name, dag_path, metadata)
    else:
        dag = read_json_file(dag_path)
    return JobPlan(
        name=name,
        meta=dict(dag.get("flow") or {}),
        settings=metadata["settings"],
        modules={n["id"]: ModuleSpec.from_dict(n) for n in dag["nodes"]},
        data_edges=tuple(DataEdge.from_dict(e) for e in dag["edges"]["data"]),
        control_edges=tuple(ControlEdge.from_dict(e) for e in dag["edges"]["control"]),
        subflows={sf["id"]: SubFlow.from_dict(sf) for sf in metadata["subflows"]},
        subflow_of=dict(metadata["subflow_of"]),
        root_subflows=tuple(metadata["root_subflows"]),
        environments=tuple(metadata.get("environments", [DEFAULT_ENV])),
        flow_hash=metadata["flow_hash"],
        flow_path=metadata.get("flow_path"),
        folder=root,
        includes=tuple(dag.get("includes") or ()),
    )


def _read_checked_dag(root: Path, name: str, dag_path: Path, metadata: dict[str, Any]) -> Any:
    try:
        dag_text = dag_path.read_text(encoding="utf-8")
        yaml_text = (root / f"{name}.yaml").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise JobError(f"{exc.filename}: missing from the job folder; {REBUILD_HINT}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(f"{root}: a file of the job folder is unreadable ({exc}); {REBUILD_HINT}") from None
    if compute_flow_hash(yaml_text, dag_text) != metadata.get("flow_hash"):
        raise JobError(
            f"{root}: the job folder is stale: its flow or dag.json changed since it was built; {REBUILD_HINT}"
        )
    try:
        return json.loads(dag_text)
    except json.JSONDecodeError as exc:
        raise JobError(f"{dag_path}: unreadable ({exc}); {REBUILD_HINT}") from None
