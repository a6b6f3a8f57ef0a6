"""Read the files of a job folder that ``pype build`` wrote (DESIGN.md §9).

Two readers need them: the run (``pypeline/run/job.py``), which must refuse a
stale folder, and ``pype graph`` (``pypeline/build/render/view.py``), which
draws whatever the folder holds. Both go through :func:`read_job_folder`, so
a job folder is located, parsed and turned into spec objects in one place.

A folder is *stale* when its flow YAML or dag.json no longer match the flow
hash recorded at build time (edited by hand), and *invalid* when a file is
missing or unreadable: both are :class:`JobError` with a rebuild hint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pypeline.build.output import SCHEMA_VERSION, compute_flow_hash
from pypeline.build.spec import ControlEdge, DataEdge, ModuleSpec, SubFlow
from pypeline.core.errors import JobError

REBUILD_HINT = "rebuild it with 'pype build <flow.yaml>'"


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


@dataclass(frozen=True)
class JobFolder:
    """The parsed files of a job folder (typed views are computed on demand)."""

    root: Path
    name: str
    metadata: dict[str, Any]
    dag: dict[str, Any]

    @property
    def version(self) -> str:
        """The flow's ``version`` (empty when absent)."""
        return str((self.dag.get("flow") or {}).get("version") or "")

    @cached_property
    def modules(self) -> dict[str, ModuleSpec]:
        """Module id -> spec, from dag.json."""
        return {n["id"]: ModuleSpec.from_dict(n) for n in self.dag["nodes"]}

    @cached_property
    def data_edges(self) -> tuple[DataEdge, ...]:
        """The data connections, from dag.json."""
        return tuple(DataEdge.from_dict(e) for e in self.dag["edges"]["data"])

    @cached_property
    def control_edges(self) -> tuple[ControlEdge, ...]:
        """The control connections, from dag.json."""
        return tuple(ControlEdge.from_dict(e) for e in self.dag["edges"]["control"])

    @cached_property
    def subflows(self) -> dict[str, SubFlow]:
        """Sub flow id -> sub flow with its waves, from the execution metadata."""
        return {sf["id"]: SubFlow.from_dict(sf) for sf in self.metadata["subflows"]}


def read_job_folder(folder: str | Path, *, check_hash: bool, hint: str = "") -> JobFolder:
    """Locate and parse a job folder.

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
    if not check_hash:
        return JobFolder(root=root, name=name, metadata=metadata, dag=read_json_file(dag_path))
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
        dag = json.loads(dag_text)
    except json.JSONDecodeError as exc:
        raise JobError(f"{dag_path}: unreadable ({exc}); {REBUILD_HINT}") from None
    return JobFolder(root=root, name=name, metadata=metadata, dag=dag)
