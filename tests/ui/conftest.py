"""A jobs folder with real jobs and real runs for the UI tests, built once per session.

The examples are copied into a fresh project folder (their paths are relative
to the repository root) and built and run there in process, as a user would:
``file_iterate`` succeeds, ``resume_demo`` fails at ``check`` and is then
resumed successfully, ``conditional_branch`` runs with a false condition (a
skipped sub flow), and ``secret_job`` names a Vault secret (built, never run:
the UI must show its reference and never a value).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pypeline.build.build import build_flow
from pypeline.run.run import RunOptions, run_job_sync
from pypeline.ui.app import create_app

REPO = Path(__file__).parents[2]

SECRET_FLOW = """\
flow: {name: secret_job, version: 1.2.0, description: reads a password from Vault}
context:
  default: {db_host: localhost}
  prod: {db_host: db.prod.internal}
modules:
  - id: creds
    name: set_globals
    configs:
      required:
        values:
          pw: "{{vault.secret/app/db#password}}"
          dsn: "postgresql://etl:{{vault.secret/app/db#password}}@{{context.db_host}}/app"
"""


@dataclass(frozen=True)
class UiJobs:
    """The project folder, its jobs folder and the run ids the tests look at."""

    project: Path
    jobs: Path
    ok_run: str
    failed_run: str
    resumed_run: str
    branch_run: str


@contextlib.contextmanager
def _in(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    saved = os.environ.get("PYPELINE_REGISTRY")
    os.chdir(folder)
    os.environ["PYPELINE_REGISTRY"] = str(folder / "modules" / "ModRegistry.json")
    try:
        yield
    finally:
        os.chdir(before)
        if saved is None:
            os.environ.pop("PYPELINE_REGISTRY", None)
        else:
            os.environ["PYPELINE_REGISTRY"] = saved


def _run(job: Path, run_id: str, resume: str | None = None) -> str:
    return run_job_sync(job, RunOptions(run_id=run_id, resume=resume, progress="none", echo_logs=False)).status


@pytest.fixture(scope="session")
def ui_jobs(tmp_path_factory: pytest.TempPathFactory) -> UiJobs:
    project = tmp_path_factory.mktemp("ui_project")
    shutil.copytree(REPO / "examples", project / "examples")
    (project / "secret_flow.yaml").write_text(SECRET_FLOW, encoding="utf-8")
    with _in(project):
        jobs = project / "jobs"
        file_iterate = build_flow("examples/file_iterate/flow.yaml", jobs)
        resume = build_flow("examples/resume/flow.yaml", jobs)
        branch = build_flow("examples/conditional_branch/flow.yaml", jobs)
        build_flow("secret_flow.yaml", jobs)
        assert _run(file_iterate, "20260101T000001-aaaaaa") == "success"
        assert _run(resume, "20260101T000002-bbbbbb") == "failed"
        (project / "out" / "resume").mkdir(parents=True, exist_ok=True)
        (project / "out" / "resume" / "ready").touch()
        assert _run(resume, "20260101T000003-cccccc", resume="20260101T000002-bbbbbb") == "success"
        assert _run(branch, "20260101T000004-dddddd") == "success"
    (jobs / "not_a_job").mkdir()  # a folder without execution metadata: not listed
    return UiJobs(project, jobs, "20260101T000001-aaaaaa", "20260101T000002-bbbbbb", "20260101T000003-cccccc",
                  "20260101T000004-dddddd")


@pytest.fixture
def client(ui_jobs: UiJobs) -> Iterator[TestClient]:
    """The app over the session's jobs folder, as a browser on this machine reaches it."""
    with TestClient(create_app(ui_jobs.jobs), base_url="http://127.0.0.1:8321") as test_client:
        yield test_client
