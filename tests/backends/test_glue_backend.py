"""The glue backend: moto serves the Glue control plane and S3; the test runs the shipped script for real.

moto never runs a Glue script. A :class:`GlueWorker` thread plays the Glue
service: it freezes moto's job-run state machine (manual progression), waits
for each run the executor starts, downloads the script the executor uploaded,
runs it in a subprocess with the run's own arguments, and steps the run
STARTING -> RUNNING -> SUCCEEDED around it, so the executor's polling sees
those states. Hooks let a test break things in between.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
import requests

from tests.backends.conftest import Bao, read_log, staged_keys
from tests.backends.flows import M, block, pipeline, single, write_values
from tests.backends.servers import BUCKET, python_env
from tests.conftest import FlowHarness

pytestmark = pytest.mark.slow

ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::123456789012:role/pypeline-glue"


class GlueWorker:
    """Runs the uploaded Glue script for every job run of ``job`` (see the module docstring)."""

    def __init__(self, endpoint: str, job: str, workdir: Path) -> None:
        self.endpoint, self.job, self.workdir = endpoint, job, workdir
        self.before: Callable[[dict[str, str]], None] | None = None
        self.after: Callable[[dict[str, str]], None] | None = None
        self.run_script = True
        self.exit_codes: list[int] = []
        self.stderr: list[str] = []
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")

    def __enter__(self) -> GlueWorker:
        response = requests.post(
            f"{self.endpoint}/moto-api/state-manager/set-transition",
            json={"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 10**9}},
            timeout=5,
        )
        response.raise_for_status()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _runs(self) -> list[Any]:
        from moto.glue.models import glue_backends

        job = glue_backends[ACCOUNT]["us-east-1"].jobs.get(self.job)
        return list(job.job_runs) if job is not None else []

    def _loop(self) -> None:
        while not self._stop.is_set():
            for run in self._runs():
                if run.job_run_id not in self._seen:
                    self._seen.add(run.job_run_id)
                    self._serve(run)
            time.sleep(0.05)

    def _serve(self, run: Any) -> None:
        args = dict(run.arguments)
        if not self.run_script:
            return
        time.sleep(0.3)  # let the executor poll STARTING at least once
        run.status = "RUNNING"
        if self.before:
            self.before(args)
        script = self.workdir / f"glue_entry_{run.job_run_id[:12]}.py"
        self.s3.download_file(BUCKET, "glue/_pypeline/glue_entry.py", str(script))
        command = [sys.executable, str(script)]
        for name, value in args.items():
            command += [name, value]
        done = subprocess.run(
            [*command, "--JOB_ID", "j_1", "--JOB_RUN_ID", run.job_run_id],
            env=python_env(AWS_ENDPOINT_URL_S3=self.endpoint), capture_output=True, text=True, timeout=120,
            cwd=self.workdir,
        )
        self.exit_codes.append(done.returncode)
        self.stderr.append(done.stderr)
        if self.after:
            self.after(args)
        run.status = "SUCCEEDED" if done.returncode == 0 else "FAILED"


def glue(moto: str, job: str, **options: object) -> str:
    return block(
        "glue", job_name=job, role=ROLE, endpoint_url=moto, s3_endpoint_url=moto, region="us-east-1",
        staging=f"s3://{BUCKET}/glue", poll_interval=0.05, poll_max_interval=0.2, **options,
    )


@pytest.fixture
def worker(moto_endpoint: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[GlueWorker]:
    job = f"pypeline-{request.node.name.replace('_', '-')[:40]}"
    with GlueWorker(moto_endpoint, job, tmp_path) as running:
        yield running


async def test_glue_module_runs_the_shipped_script_and_matches_local(
    flows: FlowHarness, moto_endpoint: str, worker: GlueWorker
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    local = await flows.run(pipeline("all_local", data, flows.root / "out" / "local.csv"))
    out = flows.root / "out" / "glue.csv"
    result = await flows.run(pipeline("on_glue", data, out, shift=glue(moto_endpoint, worker.job)))
    assert result.status == "success", (result.manifest, worker.stderr)
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(flows.root / "out" / "local.csv"))
    assert result.manifest["modules"]["shift"]["globals"] == local.manifest["modules"]["shift"]["globals"]
    assert worker.exit_codes == [0]
    lines = read_log(result.run_dir)
    states = [line["state"] for line in lines if line["event"] == "glue_job_state"]
    assert states == ["STARTING", "RUNNING", "SUCCEEDED"]
    assert any(line["event"] == "scaled" and line.get("remote") for line in lines)
    job = boto3.client("glue", endpoint_url=moto_endpoint, region_name="us-east-1").get_job(JobName=worker.job)["Job"]
    assert job["Command"]["ScriptLocation"] == f"s3://{BUCKET}/glue/_pypeline/glue_entry.py"
    assert job["ExecutionProperty"]["MaxConcurrentRuns"] == 10
    assert staged_keys(moto_endpoint, f"glue/{result.run_id}/") == []


async def test_remote_error_is_a_module_error_and_retried(
    flows: FlowHarness, moto_endpoint: str, worker: GlueWorker
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("glue_boom", data, f"{M}.Boom", "{optional: {message: glue kaput}}", glue(moto_endpoint, worker.job),
               settings="{retries: 1, retry_delay: 0}")
    )
    assert result.status == "failed"
    record = result.manifest["modules"]["remote"]
    assert record["attempts"] == 2 and worker.exit_codes == [1, 1]
    assert record["error"] == f"glue job '{worker.job}' reported ValueError: glue kaput (12 rows)"
    tracebacks = [line["traceback"] for line in read_log(result.run_dir) if line["event"] == "remote_error"]
    assert "ValueError: glue kaput" in tracebacks[0]


async def test_missing_output_object_is_a_module_error(
    flows: FlowHarness, moto_endpoint: str, worker: GlueWorker
) -> None:
    def delete_outputs(args: dict[str, str]) -> None:
        prefix = args["--pypeline_result"].removeprefix(f"s3://{BUCKET}/").rsplit("/", 1)[0] + "/out/"
        for key in staged_keys(moto_endpoint, prefix):
            worker.s3.delete_object(Bucket=BUCKET, Key=key)

    worker.after = delete_outputs
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("glue_lost", data, f"{M}.Scale", "{required: {factor: 3}}", glue(moto_endpoint, worker.job),
               settings="{retries: 1, retry_delay: 0}")
    )
    assert result.status == "failed"
    assert result.manifest["modules"]["remote"]["attempts"] == 2 and worker.exit_codes == [0, 0]
    error = result.manifest["modules"]["remote"]["error"]
    assert error.startswith(f"glue job '{worker.job}' answered, but output 'output' s3://{BUCKET}/glue/")
    assert error.endswith("/remote/attempt-2/out/output.parquet does not exist")


async def test_malformed_payload_is_a_module_error(
    flows: FlowHarness, moto_endpoint: str, worker: GlueWorker
) -> None:
    def corrupt(args: dict[str, str]) -> None:
        key = args["--pypeline_payload"].removeprefix(f"s3://{BUCKET}/")
        worker.s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"pypeline_payload": 1, "run_id": 7}')

    worker.before = corrupt
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("glue_bad", data, f"{M}.Scale", "{required: {factor: 3}}", glue(moto_endpoint, worker.job),
               settings="{retries: 1, retry_delay: 0}")
    )
    assert result.status == "failed"
    assert result.manifest["modules"]["remote"]["attempts"] == 2 and worker.exit_codes == [1, 1]
    assert result.manifest["modules"]["remote"]["error"] == (
        f"glue job '{worker.job}' reported BoundaryError: malformed payload: field 'run_id' is int, "
        "expected <class 'str'>"
    )


async def test_run_without_result_and_timeout(flows: FlowHarness, moto_endpoint: str, worker: GlueWorker) -> None:
    worker.run_script = False  # the run stays STARTING: the module timeout ends the wait
    data = write_values(flows.root / "data" / "values.csv")
    text = single("glue_slow", data, f"{M}.Scale", "{required: {factor: 3}}", glue(moto_endpoint, worker.job),
                  settings="{retries: 1, retry_delay: 0}")
    result = await flows.run(text.replace("    execution:", "    timeout: 1\n    execution:"))
    assert result.status == "failed"
    record = result.manifest["modules"]["remote"]
    assert record["attempts"] == 2 and record["error"] == "timed out after 1s"
    stops = [line for line in read_log(result.run_dir) if line["event"].startswith("glue_job_run_stop")]
    # the executor asked Glue to stop each abandoned run: moto does not implement BatchStopJobRun and answers 500,
    # so each attempt ends stop_failed, but a well-formed request for each run id reached the server
    assert sorted(line["job_run_id"] for line in stops) == sorted(worker._seen), stops
    assert all("when calling the BatchStopJobRun operation" in line.get("error", "") for line in stops), stops


async def test_succeeded_run_without_result_document(
    flows: FlowHarness, moto_endpoint: str, worker: GlueWorker
) -> None:
    def drop_result(args: dict[str, str]) -> None:
        worker.s3.delete_object(Bucket=BUCKET, Key=args["--pypeline_result"].removeprefix(f"s3://{BUCKET}/"))

    worker.after = drop_result
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("glue_nores", data, f"{M}.Scale", "{required: {factor: 3}}", glue(moto_endpoint, worker.job))
    )
    assert result.status == "failed"
    error = result.manifest["modules"]["remote"]["error"]
    assert error.startswith(f"glue job '{worker.job}' run jr_") and " ended SUCCEEDED, and its result s3://" in error
    assert error.endswith("/result.json does not exist")


async def test_missing_job_without_role_is_a_clear_error(flows: FlowHarness, moto_endpoint: str) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    execution = glue(moto_endpoint, "no-such-job").replace(f'"role": "{ROLE}", ', "")
    result = await flows.run(single("glue_nojob", data, f"{M}.Scale", "{required: {factor: 3}}", execution))
    assert result.status == "failed"
    assert result.manifest["modules"]["remote"]["error"] == (
        f"glue job 'no-such-job' does not exist; create it with script location "
        f"s3://{BUCKET}/glue/_pypeline/glue_entry.py (docs/executors.md) or give the execution option 'role' "
        "so PYpeline creates it"
    )


async def test_far_side_without_vault_names_the_secret_not_its_value(
    flows: FlowHarness, moto_endpoint: str, worker: GlueWorker, vault_env: Bao
) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("glue_secret", data, f"{M}.Secretive", '{required: {password: "{{vault.secret/app/db#password}}"}}',
               glue(moto_endpoint, worker.job))
    )
    assert result.status == "failed"
    assert result.manifest["modules"]["remote"]["error"] == (
        f"glue job '{worker.job}' reported SecretError: module 'remote': secret "
        "'vault.secret/app/db#password': no Vault is configured on this backend: set VAULT_ADDR and VAULT_TOKEN "
        "(or VAULT_ROLE_ID and VAULT_SECRET_ID) in its environment"
    )
    assert vault_env.password not in (result.run_dir / "log.jsonl").read_text()


async def test_an_existing_job_is_used_as_it_is(flows: FlowHarness, moto_endpoint: str, worker: GlueWorker) -> None:
    glue_client = boto3.client("glue", endpoint_url=moto_endpoint, region_name="us-east-1")
    glue_client.create_job(
        Name=worker.job, Role="arn:aws:iam::123456789012:role/made-by-hand",
        Command={"Name": "pythonshell", "ScriptLocation": f"s3://{BUCKET}/glue/_pypeline/glue_entry.py"},
        ExecutionProperty={"MaxConcurrentRuns": 3},
    )
    data = write_values(flows.root / "data" / "values.csv")
    execution = glue(moto_endpoint, worker.job).replace(f'"role": "{ROLE}", ', "")
    result = await flows.run(single("glue_existing", data, f"{M}.Scale", "{required: {factor: 3}}", execution))
    assert result.status == "success", (result.manifest, worker.stderr)
    assert result.manifest["modules"]["remote"]["globals"] == {"total": 234.0}  # 3 * (1 + ... + 12)
    job = glue_client.get_job(JobName=worker.job)["Job"]
    assert job["Role"].endswith("/made-by-hand") and job["Command"]["Name"] == "pythonshell"
