"""The ``glue`` backend: run a module as an AWS Glue job run.

::

    execution: {backend: glue, job_name: pypeline-worker, staging: s3://my-bucket/pypeline,
                role: arn:aws:iam::123456789012:role/pypeline-glue}

One attempt:

1. upload the job script PYpeline ships (:mod:`pypeline.backends.glue_entry`)
   to ``<staging>/_pypeline/glue_entry.py`` (once per run);
2. make sure the Glue job exists: use it when it does, create it (pointing
   at that script) when it does not and a ``role`` is given, else fail with
   a message saying how to create it;
3. write the payload to ``<attempt prefix>/payload.json`` and start a job run
   with ``--pypeline_payload`` and ``--pypeline_result`` arguments;
4. poll ``GetJobRun`` with backoff (``poll_interval`` seconds, times 1.5 each
   poll, at most ``poll_max_interval``), logging every state change, until
   the run ends;
5. read ``result.json`` back. A run that ended without writing one is an
   error naming its final state and Glue's error message.

A module ``timeout:`` (or the run halting) cancels the wait; the job run is
then stopped (best effort).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pypeline.backends.base import ModuleTask
from pypeline.backends.glue_entry import PAYLOAD_ARG, RESULT_ARG
from pypeline.backends.remote_client import STAGING_OPTIONS, RemoteBackend
from pypeline.backends.remote_staging import S3Stage, S3Uri, StagingError
from pypeline.core.errors import BackendError

TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "ERROR", "TIMEOUT", "STOPPED", "EXPIRED"})
SCRIPT_KEY = "_pypeline/glue_entry.py"


def glue_script_text() -> str:
    """The source of the shipped Glue entry script."""
    return (Path(__file__).parent / "glue_entry.py").read_text(encoding="utf-8")


class GlueBackend(RemoteBackend):
    """Starts one Glue job run per module attempt and polls it to the end."""

    name = "glue"
    OPTIONS_SCHEMA = {
        "type": "object",
        "additionalProperties": False,
        "required": ["job_name", "staging"],
        "properties": {
            "job_name": {"type": "string", "minLength": 1},
            "role": {"type": "string", "minLength": 1, "description": "IAM role to create the job with"},
            "command": {"enum": ["glueetl", "pythonshell"], "description": "job type when PYpeline creates it"},
            "glue_version": {"type": "string", "minLength": 1},
            "worker_type": {"type": "string", "minLength": 1},
            "number_of_workers": {"type": "integer", "minimum": 1},
            "python_modules": {
                "type": "string",
                "description": "--additional-python-modules of a job PYpeline creates (default: pypeline)",
            },
            "max_concurrent_runs": {
                "type": "integer",
                "minimum": 1,
                "description": "concurrent runs of a job PYpeline creates (iterations run at once; default 10)",
            },
            "poll_interval": {"type": "number", "exclusiveMinimum": 0},
            "poll_max_interval": {"type": "number", "exclusiveMinimum": 0},
            **STAGING_OPTIONS,
        },
    }

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._ready: dict[tuple[str, str], asyncio.Task[None]] = {}

    def where(self, task: ModuleTask) -> str:
        return f"glue job '{task.options.get('job_name')}'"

    def _client(self, options: dict[str, Any]) -> Any:
        import boto3

        key = (options.get("endpoint_url"), options.get("region"))
        if key not in self._clients:
            self._clients[key] = boto3.client("glue", endpoint_url=key[0], region_name=key[1])
        return self._clients[key]

    async def _prepare(self, options: dict[str, Any], stage: S3Stage) -> None:
        """Upload the script and ensure the job (once per job and staging prefix, shared by tasks)."""
        key = (str(options["job_name"]), str(options["staging"]))
        if key not in self._ready or (self._ready[key].done() and self._ready[key].exception()):
            self._ready[key] = asyncio.ensure_future(self.blocking(self._prepare_sync, options, stage))
        await asyncio.shield(self._ready[key])

    def _prepare_sync(self, options: dict[str, Any], stage: S3Stage) -> None:
        script = S3Uri.parse(str(options["staging"])).join(SCRIPT_KEY)
        stage.put_text(script, glue_script_text())
        client = self._client(options)
        name = str(options["job_name"])
        try:
            client.get_job(JobName=name)
            return
        except client.exceptions.EntityNotFoundException:
            pass
        if not options.get("role"):
            raise BackendError(
                f"glue job '{name}' does not exist; create it with script location {script} "
                "(docs/executors.md) or give the execution option 'role' so PYpeline creates it"
            )
        command = str(options.get("command", "glueetl"))
        job: dict[str, Any] = {
            "Name": name,
            "Role": options["role"],
            "Command": {
                "Name": command,
                "ScriptLocation": str(script),
                "PythonVersion": "3.9" if command == "pythonshell" else "3",
            },
            "DefaultArguments": {"--additional-python-modules": str(options.get("python_modules", "pypeline"))},
            "Description": "PYpeline remote module runner (pypeline.backends.glue_entry)",
            "ExecutionProperty": {"MaxConcurrentRuns": int(options.get("max_concurrent_runs", 10))},
        }
        if options.get("glue_version"):
            job["GlueVersion"] = options["glue_version"]
        if options.get("worker_type"):
            job["WorkerType"] = options["worker_type"]
            job["NumberOfWorkers"] = int(options.get("number_of_workers", 2))
        client.create_job(**job)

    async def dispatch(self, task: ModuleTask, payload: dict[str, Any], prefix: S3Uri, stage: S3Stage) -> Any:
        options = task.options
        where = self.where(task)
        try:
            await self._prepare(options, stage)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"{where} could not be prepared: {exc}") from None
        payload_uri, result_uri = prefix.join("payload.json"), prefix.join("result.json")
        await self.blocking(stage.put_json, payload_uri, payload)
        client = self._client(options)
        try:
            started = await self.blocking(
                client.start_job_run,
                JobName=options["job_name"],
                Arguments={PAYLOAD_ARG: str(payload_uri), RESULT_ARG: str(result_uri)},
            )
        except Exception as exc:
            raise BackendError(f"{where}: the job run could not be started: {exc}") from None
        run_id = started["JobRunId"]
        task.ctx.logger.info("glue_job_run_started", job=options["job_name"], job_run_id=run_id)
        try:
            state, message = await self._poll(task, client, run_id)
        except asyncio.CancelledError:
            await asyncio.shield(self.blocking(_stop_run, client, options["job_name"], run_id, task.ctx.logger))
            raise
        try:
            return await self.blocking(stage.get_json, result_uri, "result")
        except StagingError as exc:
            detail = f": {message}" if message else ""
            raise BackendError(
                f"{where} run {run_id} ended {state}{detail}, and its {exc}"
            ) from None

    async def _poll(self, task: ModuleTask, client: Any, run_id: str) -> tuple[str, str]:
        options = task.options
        interval = float(options.get("poll_interval", 5.0))
        ceiling = float(options.get("poll_max_interval", 60.0))
        last = ""
        while True:
            try:
                run = (await self.blocking(client.get_job_run, JobName=options["job_name"], RunId=run_id))["JobRun"]
            except Exception as exc:
                raise BackendError(f"{self.where(task)}: polling run {run_id} failed: {exc}") from None
            state = str(run.get("JobRunState", "UNKNOWN"))
            if state != last:
                task.ctx.logger.info("glue_job_state", job_run_id=run_id, state=state)
                last = state
            if state in TERMINAL_STATES:
                return state, str(run.get("ErrorMessage", ""))
            await asyncio.sleep(interval)
            interval = min(ceiling, interval * 1.5)


def _stop_run(client: Any, job_name: str, run_id: str, logger: Any) -> None:
    try:
        client.batch_stop_job_run(JobName=job_name, JobRunIds=[run_id])
        logger.warning("glue_job_run_stopped", job_run_id=run_id)
    except Exception as exc:  # best effort: the wait is over either way
        logger.warning("glue_job_run_stop_failed", job_run_id=run_id, error=str(exc))
