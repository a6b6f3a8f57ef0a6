"""``pype ui``: one clear message and exit 2 for what cannot be served; a real uvicorn server otherwise."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import invoke
from tests.ui.conftest import UiJobs

PYPE = Path(sys.executable).with_name("pype")


class TestRefusals:
    def test_missing_jobs_folder(self, cli: CliRunner, project: Path) -> None:
        result = invoke(cli, "ui")
        assert result.exit_code == 2
        assert result.stderr == (
            "error: jobs: no such jobs folder (build a job with 'pype build <flow.yaml>', which writes "
            "jobs/<name>/, or give the folder: pype ui JOBS_DIR)\n"
        )

    def test_jobs_folder_is_a_file(self, cli: CliRunner, project: Path) -> None:
        (project / "jobs.txt").write_text("x")
        result = invoke(cli, "ui", "jobs.txt")
        assert result.exit_code == 2 and "jobs.txt: not a folder" in result.stderr

    def test_other_host_needs_a_token(self, cli: CliRunner, project: Path) -> None:
        (project / "jobs").mkdir()
        result = invoke(cli, "ui", "--host", "0.0.0.0")
        assert result.exit_code == 2
        assert "--host 0.0.0.0 serves the UI beyond this machine: give a token with --token or PYPE_UI_TOKEN" in (
            result.stderr
        )
        assert "Traceback" not in result.stderr

    def test_short_token(self, cli: CliRunner, project: Path) -> None:
        (project / "jobs").mkdir()
        result = invoke(cli, "ui", "--token", "abc")
        assert result.exit_code == 2 and "the token is 3 characters long; use at least 16" in result.stderr

    def test_token_from_the_environment_is_checked_too(self, cli: CliRunner, project: Path) -> None:
        (project / "jobs").mkdir()
        result = cli.invoke(__import__("pypeline.cli.cli", fromlist=["main"]).main, ["ui"],
                            env={"PYPE_UI_TOKEN": "short"}, catch_exceptions=False)
        assert result.exit_code == 2 and "the token is 5 characters long" in result.stderr

    def test_port_in_use(self, cli: CliRunner, project: Path) -> None:
        (project / "jobs").mkdir()
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            result = invoke(cli, "ui", "--port", str(port))
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: cannot listen on 127.0.0.1:{port}: the port is in use (choose another with --port)\n"
        )

    def test_host_that_does_not_resolve(self, cli: CliRunner, project: Path) -> None:
        (project / "jobs").mkdir()
        result = invoke(cli, "ui", "--host", "no-such-host.invalid", "--token", "x" * 20)
        assert result.exit_code == 2 and "--host no-such-host.invalid: not an address of this machine" in result.stderr

    def test_without_the_ui_extra(self, cli: CliRunner, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (project / "jobs").mkdir()
        monkeypatch.setitem(sys.modules, "uvicorn", None)  # what 'import uvicorn' meets when it is not installed
        result = invoke(cli, "ui")
        assert result.exit_code == 2
        assert result.stderr == (
            "error: pype ui needs the 'ui' extra (uvicorn is not installed): pip install 'pypeline[ui]'\n"
        )

    def test_bad_port(self, cli: CliRunner, project: Path) -> None:
        (project / "jobs").mkdir()
        result = invoke(cli, "ui", "--port", "70000")
        assert result.exit_code == 2 and "--port 70000: expected a port number from 0 to 65535" in result.stderr


@contextmanager
def served(jobs: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``pype ui JOBS --port 0 ARGS`` in its own process; yields the address it printed."""
    with subprocess.Popen(
        [str(PYPE), "ui", str(jobs), "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            line = process.stdout.readline()
            assert "pype ui: serving" in line, line + (process.stderr.read() if process.poll() is not None else "")
            yield line.split(" at ", 1)[1].split(" ", 1)[0], process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
class TestServing:
    def test_serves_the_jobs_over_real_http_and_stops_on_ctrl_c(self, ui_jobs: UiJobs) -> None:
        with served(ui_jobs.jobs) as (address, process):
            assert address.startswith("http://127.0.0.1:")
            status, body = get(address + "api/jobs")
            assert status == 200 and "file_iterate" in [j["name"] for j in json.loads(body)]
            status, page = get(address + "jobs/file_iterate")
            assert status == 200 and 'data-page="graph"' in page
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=15) == 0

    def test_token_is_checked_on_every_request(self, ui_jobs: UiJobs) -> None:
        token = "a-token-long-enough-1234"
        with served(ui_jobs.jobs, "--token", token) as (address, _process):
            assert address.endswith(f"/?token={token}")
            base = address.split("?", 1)[0]
            assert get(base + "api/jobs")[0] == 401
            assert get(base + "static/css/app.css")[0] == 401
            assert get(base + "api/jobs", {"Authorization": f"Bearer {token}"})[0] == 200
