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
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
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
    """Run a job in process; in a thread of its own, since a session's Playwright holds the main thread's loop."""
    options = RunOptions(run_id=run_id, resume=resume, progress="none", echo_logs=False)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run_job_sync, job, options).result().status


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


# -- a real browser ------------------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def chromium_path() -> str:
    """Debian's ``chromium``, installed with apt-get when missing (Playwright cannot download its own here)."""
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True, timeout=900)
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("the browser tests need Debian's chromium: apt-get install -y chromium (as root)")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Playwright's sync API holds an asyncio loop on the main thread while it
    lives, so it must be gone before any later module's async tests start their own loops."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@contextlib.contextmanager
def ui_server(jobs: Path) -> Iterator[str]:
    """``pype ui JOBS --port 0`` in its own process; yields its address (without the trailing slash)."""
    pype = Path(sys.executable).with_name("pype")
    with subprocess.Popen([str(pype), "ui", str(jobs), "--port", "0"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            line = process.stdout.readline()
            assert " at http://" in line, line + (process.stderr.read() if process.poll() is not None else "")
            yield line.split(" at ", 1)[1].split(" ", 1)[0].rstrip("/")
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def ui_address(ui_jobs: UiJobs) -> Iterator[str]:
    with ui_server(ui_jobs.jobs) as address:
        yield address


@dataclass
class Console:
    """What the page said on its console, and the errors it raised."""

    messages: list[str]

    def problems(self) -> list[str]:
        return [m for m in self.messages if m.startswith(("error", "warning", "pageerror"))]


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Console]]:
    """A fresh page (own context) whose console must stay free of errors and warnings."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    console = Console([])
    tab.on("console", lambda m: console.messages.append(f"{m.type}: {m.text}"))
    tab.on("pageerror", lambda e: console.messages.append(f"pageerror: {e}"))
    yield tab, console
    context.close()
    assert console.problems() == [], console.problems()
