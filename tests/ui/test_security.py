"""``pype ui`` reads only inside JOBS_DIR, never writes, never shows a secret, and guards every request."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pypeline.ui.app import create_app
from tests.ui.conftest import UiJobs

TOKEN = "s3cret-token-for-tests-0123"


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


class TestPathTraversal:
    @pytest.mark.parametrize(
        "path",
        [
            "/api/jobs/..",
            "/api/jobs/%2e%2e",
            "/api/jobs/..%2f..%2fetc",
            "/api/jobs/%2e%2e%2f%2e%2e%2fetc%2fpasswd/graph",
            "/api/jobs/file_iterate/runs/..%2f..%2f..",
            "/api/jobs/file_iterate/runs/%2e%2e/log",
            "/api/jobs/.hidden",
            "/api/jobs/file_iterate%00/graph",
            "/static/../app.py",
            "/static/%2e%2e/app.py",
            "/static/..%2f..%2f__init__.py",
            "/jobs/..%2f..",
            "/jobs/file_iterate/runs/%2e%2e",
        ],
    )
    def test_names_that_leave_the_jobs_folder_are_not_found(self, client: TestClient, path: str) -> None:
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code, response.text[:200])
        assert "root:" not in response.text and "import" not in response.text

    def test_a_job_folder_linking_outside_is_not_read(self, ui_jobs: UiJobs, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        shutil.copytree(ui_jobs.jobs / "file_iterate", outside / "file_iterate")
        jobs = tmp_path / "jobs"
        jobs.mkdir()
        os.symlink(outside / "file_iterate", jobs / "linked")
        shutil.copytree(ui_jobs.jobs / "file_iterate", jobs / "file_iterate")
        manifest = jobs / "file_iterate" / "runs" / ui_jobs.ok_run / "manifest.json"
        manifest.unlink()
        os.symlink(outside / "file_iterate" / "runs" / ui_jobs.ok_run / "manifest.json", manifest)
        context = jobs / "file_iterate" / "context" / "file_iterate_default.json"
        context.unlink()
        os.symlink(outside / "file_iterate" / "context" / "file_iterate_default.json", context)
        with TestClient(create_app(jobs), base_url="http://127.0.0.1") as client:
            listed = client.get("/api/jobs").json()
            assert [j["name"] for j in listed] == ["file_iterate"]  # 'linked' leads outside: not a job here
            assert not listed[0]["valid"] and "links outside" in listed[0]["error"]
            assert client.get("/api/jobs/linked/graph").status_code == 404
            assert client.get("/api/jobs/file_iterate/graph").status_code == 422

    def test_a_run_file_linking_outside_is_not_read(self, ui_jobs: UiJobs, tmp_path: Path) -> None:
        jobs = tmp_path / "jobs"
        shutil.copytree(ui_jobs.jobs / "file_iterate", jobs / "file_iterate")
        secret = tmp_path / "private.txt"
        secret.write_text('{"event": "private", "level": "info", "node_id": "-"}\n', encoding="utf-8")
        log = jobs / "file_iterate" / "runs" / ui_jobs.ok_run / "log.jsonl"
        log.unlink()
        os.symlink(secret, log)
        with TestClient(create_app(jobs), base_url="http://127.0.0.1") as client:
            answer = client.get(f"/api/jobs/file_iterate/runs/{ui_jobs.ok_run}/log").json()
            assert answer == {"lines": [], "next": 0, "more": False, "size": 0, "skipped": 0}


class TestReadOnly:
    @pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    @pytest.mark.parametrize("path", ["/", "/api/jobs", "/api/jobs/file_iterate/runs", "/static/css/app.css"])
    def test_only_get_and_head(self, client: TestClient, method: str, path: str) -> None:
        response = client.request(method, path)
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"

    def test_browsing_everything_writes_nothing(self, client: TestClient, ui_jobs: UiJobs) -> None:
        before = snapshot(ui_jobs.project)
        urls = ["/", "/api/jobs"]
        for job in ("file_iterate", "resume_demo", "conditional_branch", "secret_job"):
            urls += [f"/jobs/{job}", f"/api/jobs/{job}", f"/api/jobs/{job}/graph", f"/api/jobs/{job}/runs"]
            for run in client.get(f"/api/jobs/{job}/runs").json():
                urls += [f"/api/jobs/{job}/runs/{run['run_id']}", f"/api/jobs/{job}/runs/{run['run_id']}/log"]
        for url in urls:
            assert client.get(url).status_code == 200, url
        assert snapshot(ui_jobs.project) == before


class TestSecrets:
    def test_no_endpoint_returns_a_resolved_secret(self, client: TestClient) -> None:
        """The secret job's configs are references; every rendering shows *** (nothing asks Vault)."""
        for env in ("default", "prod"):
            text = client.get(f"/api/jobs/secret_job/modules/creds?context={env}").text
            assert "{{vault.secret/app/db#password}}" in text and "***" in text
        graph = client.get("/api/jobs/secret_job/graph").text
        assert "vault" not in graph  # the graph carries no configs at all


class TestToken:
    def app(self, ui_jobs: UiJobs) -> TestClient:
        return TestClient(create_app(ui_jobs.jobs, token=TOKEN, loopback_only=False), base_url="http://10.1.2.3:8321")

    @pytest.mark.parametrize("path", ["/", "/api/jobs", "/static/js/common.js", "/jobs/file_iterate"])
    def test_every_request_needs_the_token(self, ui_jobs: UiJobs, path: str) -> None:
        with self.app(ui_jobs) as client:
            response = client.get(path)
            assert response.status_code == 401 and "token required" in response.text
            assert client.get(path, headers={"authorization": "Bearer wrong-token-0000000000"}).status_code == 401
            assert client.get(path, headers={"cookie": "pype_ui_token=wrong"}).status_code == 401
            assert client.get(path, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200

    def test_token_in_the_address_becomes_a_cookie(self, ui_jobs: UiJobs) -> None:
        with self.app(ui_jobs) as client:
            first = client.get(f"/jobs/file_iterate?token={TOKEN}", follow_redirects=False)
            assert first.status_code == 303 and first.headers["location"] == "/jobs/file_iterate"
            cookie = first.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=strict" in cookie
            assert client.get("/api/jobs").status_code == 200  # the client keeps the cookie
            assert client.get("/api/jobs", headers={"cookie": "pype_ui_token=" + TOKEN[:-1]}).status_code == 401

    def test_malformed_cookie_header_is_a_missing_token(self, ui_jobs: UiJobs) -> None:
        with self.app(ui_jobs) as client:
            assert client.get("/api/jobs", headers={"cookie": 'a="\\'}).status_code == 401


class TestHost:
    @pytest.mark.parametrize("host", ["evil.example", "evil.example:8321", "127.0.0.1.evil.example"])
    def test_loopback_server_refuses_other_host_names(self, ui_jobs: UiJobs, host: str) -> None:
        """A page elsewhere that points its own name at 127.0.0.1 (DNS rebinding) gets nothing."""
        with TestClient(create_app(ui_jobs.jobs), base_url="http://127.0.0.1:8321") as client:
            response = client.get("/api/jobs", headers={"host": host})
            assert response.status_code == 400

    @pytest.mark.parametrize("host", ["127.0.0.1:8321", "localhost:8321", "[::1]:8321", "localhost"])
    def test_loopback_names_pass(self, ui_jobs: UiJobs, host: str) -> None:
        with TestClient(create_app(ui_jobs.jobs), base_url="http://127.0.0.1:8321") as client:
            assert client.get("/api/jobs", headers={"host": host}).status_code == 200

    def test_security_headers(self, client: TestClient) -> None:
        headers = client.get("/").headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
