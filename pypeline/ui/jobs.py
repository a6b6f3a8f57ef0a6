"""Job folders as the UI shows them: the jobs table, a job's graph and one module's details.

A job folder is read with the build's own reader (:mod:`pypeline.ui.sources`)
and never imports a module class, so a job whose custom module went missing
still shows (a run of it would refuse to start). A folder that cannot be
read is listed with its error rather than hidden.

Warnings on a job:

* the flow file it was built from (``flow_path``, recorded at build time)
  differs from the copy in the folder: the job runs the old flow until it is
  rebuilt;
* the folder's own flow YAML or dag.json no longer give the recorded flow
  hash (edited by hand): ``pype run`` refuses such a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypeline.ui.cache import FileCache
from pypeline.ui.paths import JobsRoot, NotFound, source_changed
from pypeline.ui.runs import RunReader
from pypeline.ui.sources import (
    JobError,
    JobPlan,
    control_label,
    folder_matches_hash,
    read_job,
    read_json,
    render_for_context,
)


class JobReader:
    """Reads the job folders under one :class:`JobsRoot`."""

    def __init__(self, root: JobsRoot, cache: FileCache | None = None) -> None:
        self.root = root
        self.cache = cache or FileCache()
        self.runs = RunReader(root, self.cache)

    # -- folders -----------------------------------------------------------------------------

    def job(self, name: str) -> JobPlan:
        """The parsed job folder ``name``.

        Raises:
            NotFound: no such job folder under ``JOBS_DIR``.
            JobError: a folder that is not a readable job folder.
        """
        folder = self.root.job_dir(name)
        if not self.root.job_files_inside(folder):
            raise JobError(f"{name}: a file of this job folder links outside the jobs folder; not read")
        stamps = tuple(sorted(folder.glob("*_execution_metadata.json"))) + tuple(sorted(folder.glob("*_dag.json")))
        if not stamps:
            return read_job(folder)  # raises the reader's own "not a job folder" message
        plan: JobPlan = self.cache.get("job", folder, read_job, stamp_of=stamps)
        return plan

    # -- the jobs table ----------------------------------------------------------------------

    def jobs(self) -> list[dict[str, Any]]:
        """Every job folder under ``JOBS_DIR`` (folders without execution metadata are not jobs)."""
        rows = []
        for folder in self.root.job_dirs():
            if not any(folder.glob("*_execution_metadata.json")):
                continue
            rows.append(self.summary(folder.name))
        return rows

    def summary(self, name: str) -> dict[str, Any]:
        """One job: what the jobs table and the job pages' headers show."""
        try:
            job = self.job(name)
        except JobError as exc:
            return {"name": name, "valid": False, "error": exc.format_message(), "warnings": [], "last_run": None}
        meta = job.meta
        runs = self.runs.runs(job_folder_of(job), sink_ids(job))
        return {
            "name": name,
            "valid": True,
            "error": None,
            "flow": job.name,
            "version": job.version,
            "description": str(meta.get("description") or ""),
            "modules": len(job.modules),
            "subflows": len(job.subflows),
            "environments": list(job.environments),
            "flow_hash": job.flow_hash,
            "flow_path": job.flow_path,
            "settings": job.settings,
            "warnings": self.warnings(job),
            "runs": len(runs),
            "last_run": runs[0] if runs else None,
        }

    def warnings(self, job: JobPlan) -> list[str]:
        """What may surprise whoever runs this job now (see the module docstring)."""
        found = []
        if source_changed(job.flow_path, job_folder_of(job) / f"{job.name}.yaml"):
            found.append(
                f"the flow file {job.flow_path} changed since this job was built; "
                f"rebuild it with 'pype build {job.flow_path}'"
            )
        if not folder_matches_hash(job):
            found.append(
                "the job folder was edited since it was built (its flow hash no longer matches); "
                "'pype run' refuses it until it is rebuilt with 'pype build <flow.yaml>'"
            )
        return found

    # -- the graph ---------------------------------------------------------------------------

    def graph(self, name: str) -> dict[str, Any]:
        """The job's DAG for drawing: modules, sub flows, data and control connections."""
        view = self.job(name)
        wave_of = {m: i for sf in view.subflows.values() for i, wave in enumerate(sf.waves) for m in wave}
        depth = view.depth_of()
        modules = [
            {
                "id": spec.id,
                "name": spec.name,
                "type": spec.type,
                "category": spec.category,
                "subflow": view.subflow_of.get(spec.id),
                "wave": wave_of.get(spec.id, 0),
                "backend": str(spec.execution.get("backend", "local")),
                "inputs": list(spec.input_ports),
                "outputs": list(spec.output_ports),
            }
            for spec in view.modules.values()
        ]
        subflows = [
            {
                "id": sf_id,
                "modules": [m for wave in view.subflows[sf_id].waves for m in wave],
                "depth": depth.get(sf_id, 0),
                "root": sf_id in view.root_subflows,
            }
            for sf_id in view.subflow_order()
        ]
        data = [
            {"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
            for e in sorted(view.data_edges, key=lambda e: (e.src, e.src_port, e.dst, e.dst_port))
        ]
        control = [
            {
                "index": e.index, "src": e.src, "dst": e.dst, "order": e.order, "condition": e.condition,
                "type": e.type, "port": e.port, "label": control_label(e),
            }
            for e in sorted(view.control_edges, key=lambda e: e.index)
        ]
        return {
            "name": view.name, "version": view.version, "modules": modules, "subflows": subflows,
            "data": data, "control": control,
        }

    # -- one module --------------------------------------------------------------------------

    def module(self, name: str, module_id: str, env: str | None) -> dict[str, Any]:
        """One module: its spec, its configs as written and as rendered for context ``env``.

        Raises:
            NotFound: no such job, module or environment.
        """
        job = self.job(name)
        spec = job.modules.get(module_id)
        environments = list(job.environments)
        env = env or ("default" if "default" in environments else environments[0])
        if spec is None or env not in environments:
            raise NotFound(module_id)
        context_vars = self._context(job, env)
        try:
            rendered = render_for_context(spec.configs, context_vars)
        except ValueError as exc:  # a template the build would refuse (a folder edited by hand)
            rendered = {"(cannot render)": str(exc)}
        return {
            "id": spec.id,
            "name": spec.name,
            "module_path": spec.module_path,
            "type": spec.type,
            "version": spec.version,
            "category": spec.category,
            "description": spec.description,
            "subflow": job.subflow_of.get(spec.id),
            "inputs": list(spec.input_ports),
            "optional_inputs": list(spec.optional_inputs),
            "outputs": list(spec.output_ports),
            "list_outputs": list(spec.list_outputs),
            "globals": None if spec.globals is None else list(spec.globals),
            "execution": spec.execution,
            "retries": spec.retries,
            "timeout": spec.timeout,
            "line": spec.line,
            "context": env,
            "environments": environments,
            "configs": spec.configs,
            "rendered": rendered,
            "data_in": [f"{e.src}.{e.src_port} -> {e.dst_port}" for e in job.data_edges if e.dst == module_id],
            "data_out": [f"{e.src_port} -> {e.dst}.{e.dst_port}" for e in job.data_edges if e.src == module_id],
        }

    def _context(self, job: JobPlan, env: str) -> dict[str, Any]:
        path = job.context_path(env)
        try:
            values = read_json(self.root.file(path))
        except (NotFound, JobError):
            return {}
        return values if isinstance(values, dict) else {}

    # -- runs --------------------------------------------------------------------------------

    def modules_info(self, job: JobPlan) -> dict[str, dict[str, Any]]:
        """Module id -> its name and type (for the run pages)."""
        return {
            module_id: {"name": spec.name, "type": spec.type, "category": spec.category}
            for module_id, spec in job.modules.items()
        }

    def run_dir(self, name: str, run_id: str) -> tuple[JobPlan, Path]:
        """The parsed job and the folder of one of its runs.

        Raises:
            NotFound: no such job or run.
        """
        job = self.job(name)
        return job, self.root.run_dir(job_folder_of(job), run_id)


def sink_ids(job: JobPlan) -> frozenset[str]:
    """The ids of the job's sink modules (their rows in are the rows a run wrote)."""
    return frozenset(module_id for module_id, spec in job.modules.items() if spec.type == "sink")


def job_folder_of(job: JobPlan) -> Path:
    """The folder a plan read by this view came from (always set: plans here come from job folders)."""
    if job.folder is None:
        raise JobError(f"the plan of '{job.name}' was not read from a job folder")
    return job.folder
