"""Every page and JSON endpoint of ``pype ui`` over real job folders and real runs (Starlette's TestClient)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pypeline.ui.app import create_app
from pypeline.ui.cache import FileCache
from pypeline.ui.paths import JobsRoot
from pypeline.ui.runs import RunReader
from tests.ui.conftest import UiJobs


class TestPages:
    @pytest.mark.parametrize(
        ("path", "page", "scripts"),
        [
            ("/", "jobs", ["js/jobs.js"]),
            ("/jobs/file_iterate", "graph", ["vendor/cytoscape.min.js", "vendor/dagre.min.js", "js/graph.js"]),
            ("/jobs/file_iterate/runs", "runs", ["js/runs.js"]),
            ("/jobs/file_iterate/runs/20260101T000001-aaaaaa", "run", ["js/gantt.js", "js/log.js", "js/run.js"]),
        ],
        ids=["jobs", "graph", "runs", "run"],
    )
    def test_page_is_a_shell_loading_its_scripts_from_the_package(
        self, client: TestClient, path: str, page: str, scripts: list[str]
    ) -> None:
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert f'data-page="{page}"' in response.text
        sources = re.findall(r'<script src="([^"]+)"', response.text)
        assert all(s.startswith("/static/") for s in sources), sources  # nothing from elsewhere
        for script in scripts:
            assert f"/static/{script}" in sources
        for source in sources:
            assert client.get(source).status_code == 200, source
        assert "default-src 'self'" in response.headers["content-security-policy"]

    @pytest.mark.parametrize(
        "path",
        ["/jobs/nope", "/jobs/nope/runs", "/jobs/file_iterate/runs/20990101T000000-zzzzzz", "/jobs/not_a_job/x"],
    )
    def test_unknown_job_or_run_is_404(self, client: TestClient, path: str) -> None:
        assert client.get(path).status_code == 404

    def test_static_assets_ship_with_the_package(self, client: TestClient) -> None:
        for asset in ("css/app.css", "img/favicon.svg", "vendor/cytoscape.LICENSE.txt", "vendor/dagre.LICENSE.txt"):
            assert client.get(f"/static/{asset}").status_code == 200, asset
        cytoscape = client.get("/static/vendor/cytoscape.min.js").text
        assert "cytoscape" in cytoscape[:2000].lower()


class TestJobsApi:
    def test_lists_every_job_folder_with_version_and_last_run(self, client: TestClient, ui_jobs: UiJobs) -> None:
        jobs = {j["name"]: j for j in client.get("/api/jobs").json()}
        assert sorted(jobs) == ["conditional_branch", "file_iterate", "resume_demo", "secret_job"]  # not not_a_job
        assert jobs["secret_job"]["version"] == "1.2.0" and jobs["secret_job"]["last_run"] is None
        last = jobs["resume_demo"]["last_run"]
        assert (last["run_id"], last["status"]) == (ui_jobs.resumed_run, "success")
        assert last["resumed_from"] == ui_jobs.failed_run
        assert jobs["file_iterate"]["last_run"]["rows_written"] == 14  # 7 cleaned rows, then the same 7 combined
        assert jobs["file_iterate"]["flow_path"] == str(ui_jobs.project / "examples" / "file_iterate" / "flow.yaml")
        assert all(j["warnings"] == [] for j in jobs.values())

    def test_one_job(self, client: TestClient) -> None:
        job = client.get("/api/jobs/conditional_branch").json()
        assert job["environments"] == ["default", "on_time"] and job["modules"] == 7 and job["runs"] == 1

    def test_not_a_job_folder_is_404(self, client: TestClient) -> None:
        assert client.get("/api/jobs/not_a_job").status_code == 404
        assert client.get("/api/jobs/missing").status_code == 404


class TestGraphApi:
    def test_modules_subflows_and_connections(self, client: TestClient) -> None:
        graph = client.get("/api/jobs/file_iterate/graph").json()
        assert {m["id"]: m["type"] for m in graph["modules"]} == {
            "list_files": "source", "load": "source", "positive": "mod", "save": "sink", "combine": "source",
            "total": "sink",
        }
        assert [s["id"] for s in graph["subflows"]] == ["list_files", "load", "combine"]  # planned order
        assert {"src": "load", "src_port": "data", "dst": "positive", "dst_port": "input"} in graph["data"]
        iterate, conditional = graph["control"]
        assert (iterate["type"], iterate["src"], iterate["dst"], iterate["label"]) == (
            "iterate", "list_files", "load", "(1|) iterate files"
        )
        assert conditional["condition"] == "list_files__file_count > 0" and conditional["order"] == 2


class TestModuleApi:
    def test_configs_as_written_and_rendered_for_a_context(self, client: TestClient) -> None:
        module = client.get("/api/jobs/conditional_branch/modules/read_orders?context=on_time").json()
        assert module["type"] == "source" and module["name"] == "csv_source" and module["version"]
        assert module["configs"]["file_path"] == "{{context.orders}}"
        assert module["rendered"]["file_path"] == "examples/conditional_branch/data/orders_all_on_time.csv"
        assert module["outputs"] == ["data"] and module["data_out"] == ["data -> late.input"]
        default = client.get("/api/jobs/conditional_branch/modules/read_orders").json()
        assert default["context"] == "default" and default["rendered"]["file_path"].endswith("/orders.csv")

    def test_secrets_stay_references_and_render_as_stars(self, client: TestClient) -> None:
        module = client.get("/api/jobs/secret_job/modules/creds?context=prod").json()
        values = module["configs"]["values"]
        assert values["pw"] == "{{vault.secret/app/db#password}}"  # the reference, never a value
        assert module["rendered"]["values"] == {"pw": "***", "dsn": "postgresql://etl:***@db.prod.internal/app"}

    def test_run_time_names_stay_names(self, client: TestClient) -> None:
        module = client.get("/api/jobs/file_iterate/modules/save").json()
        assert module["rendered"]["output_path"] == "out/file_iterate/clean_<iter.index>.csv"

    @pytest.mark.parametrize(
        "path", ["/api/jobs/file_iterate/modules/nope", "/api/jobs/file_iterate/modules/save?context=prod"],
        ids=["module", "context"],
    )
    def test_unknown_module_or_context_is_404(self, client: TestClient, path: str) -> None:
        assert client.get(path).status_code == 404


class TestRunsApi:
    def test_newest_first_with_resume_links(self, client: TestClient, ui_jobs: UiJobs) -> None:
        runs = client.get("/api/jobs/resume_demo/runs").json()
        assert [r["run_id"] for r in runs] == [ui_jobs.resumed_run, ui_jobs.failed_run]
        resumed, failed = runs
        assert resumed["resumed_from"] == ui_jobs.failed_run and resumed["status"] == "success"
        assert resumed["rows_written"] == 6  # total's 6 rows; the restored saves wrote theirs in the failed run
        assert failed["resumed_by"] == ui_jobs.resumed_run and failed["failed_modules"] == ["check"]
        assert failed["duration_ms"] > 0 and failed["rows_written"] == 6

    def test_limit(self, client: TestClient) -> None:
        assert len(client.get("/api/jobs/resume_demo/runs?limit=1").json()) == 1

    def test_failed_run_names_its_module_and_error(self, client: TestClient, ui_jobs: UiJobs) -> None:
        run = client.get(f"/api/jobs/resume_demo/runs/{ui_jobs.failed_run}").json()
        assert run["status"] == "failed" and run["failed_modules"] == ["check"]
        check = next(m for m in run["modules"] if m["node_id"] == "check")
        assert check["error"] == "RuntimeError: out/resume/ready is missing" and check["type"] == "solo"
        assert any("out/resume/ready is missing" in e for e in run["errors"])
        assert run["skipped"] == [
            {"instance": "combine", "subflow": "combine", "iter_path": [], "status": "not_run", "started": None,
             "ended": None, "error": None, "reason": "the run halted before reaching it"}
        ]
        assert "--resume" in run["resume_command"]
        loads = [m for m in run["modules"] if m["module_id"] == "load"]
        assert [m["iter_path"] for m in loads] == [[0], [1], [2]] and all(m["rows_out"] == 3 for m in loads)
        assert [m["started"] for m in run["modules"]] == sorted(m["started"] for m in run["modules"])

    def test_skipped_subflow_has_its_reason(self, client: TestClient, ui_jobs: UiJobs) -> None:
        run = client.get(f"/api/jobs/conditional_branch/runs/{ui_jobs.branch_run}").json()
        (skipped,) = run["skipped"]
        assert skipped["status"] == "skipped" and "write_late__row_count" in skipped["reason"]

    def test_resumed_run_shows_restored_modules(self, client: TestClient, ui_jobs: UiJobs) -> None:
        run = client.get(f"/api/jobs/resume_demo/runs/{ui_jobs.resumed_run}").json()
        restored = {m["node_id"] for m in run["modules"] if m["status"] == "restored"}
        assert "load#0" in restored and "check" not in restored


class TestLogApi:
    def test_whole_log_then_nothing_new(self, client: TestClient, ui_jobs: UiJobs) -> None:
        url = f"/api/jobs/resume_demo/runs/{ui_jobs.failed_run}/log"
        first = client.get(url).json()
        events = [line["event"] for line in first["lines"]]
        assert events[0] == "run_started" and "module_failed" in events and not first["more"]
        again = client.get(url, params={"after": first["next"]}).json()
        assert again["lines"] == [] and again["next"] == first["next"]

    def test_filter_by_module_and_level(self, client: TestClient, ui_jobs: UiJobs) -> None:
        url = f"/api/jobs/resume_demo/runs/{ui_jobs.failed_run}/log"
        errors = client.get(url, params={"level": "error"}).json()["lines"]
        assert errors and all(line["level"] == "error" for line in errors)
        assert any(line["node_id"] == "check" and line["event"] == "module_failed" for line in errors)
        loads = client.get(url, params={"module": "load"}).json()["lines"]
        assert sorted(line["node_id"] for line in loads) == ["load#0", "load#1", "load#2"]

    def test_only_whole_lines_from_an_offset(self, ui_jobs: UiJobs, tmp_path: Path) -> None:
        """A line still being written is not served; it comes with the next answer, whole."""
        jobs = tmp_path / "jobs"
        shutil.copytree(ui_jobs.jobs / "file_iterate", jobs / "file_iterate")
        log = jobs / "file_iterate" / "runs" / ui_jobs.ok_run / "log.jsonl"
        text = log.read_text(encoding="utf-8")
        cut = text.index("\n") + 10
        log.write_text(text[:cut], encoding="utf-8")
        with TestClient(create_app(jobs), base_url="http://127.0.0.1") as client:
            url = f"/api/jobs/file_iterate/runs/{ui_jobs.ok_run}/log"
            first = client.get(url).json()
            assert len(first["lines"]) == 1 and first["next"] == text.index("\n") + 1
            log.write_text(text, encoding="utf-8")
            rest = client.get(url, params={"after": first["next"]}).json()
            assert [json.dumps(x, sort_keys=True) for x in first["lines"] + rest["lines"]] == [
                json.dumps(json.loads(line), sort_keys=True) for line in text.splitlines()
            ]


    def test_a_line_longer_than_a_chunk_is_stepped_over(self, ui_jobs: UiJobs, tmp_path: Path) -> None:
        jobs = tmp_path / "jobs"
        shutil.copytree(ui_jobs.jobs / "file_iterate", jobs / "file_iterate")
        run_dir = jobs / "file_iterate" / "runs" / ui_jobs.ok_run
        log = run_dir / "log.jsonl"
        huge = json.dumps({"event": "huge", "level": "info", "node_id": "-", "text": "x" * 300})
        log.write_text(huge + "\n" + '{"event": "after", "level": "info", "node_id": "-"}\n', encoding="utf-8")
        reader = RunReader(JobsRoot.at(jobs), FileCache())
        first = reader.read_log(run_dir, limit=100)
        assert first["lines"] == [] and first["skipped"] == 1 and first["next"] == len(huge) + 1 and first["more"]
        rest = reader.read_log(run_dir, after=first["next"], limit=100)
        assert [line["event"] for line in rest["lines"]] == ["after"] and not rest["more"]


class TestWarnings:
    def test_flow_file_changed_since_the_build(self, ui_jobs: UiJobs, tmp_path: Path) -> None:
        jobs = tmp_path / "jobs"
        shutil.copytree(ui_jobs.jobs / "file_iterate", jobs / "file_iterate")
        flow = tmp_path / "flow.yaml"
        copy = jobs / "file_iterate" / "file_iterate.yaml"
        flow.write_text(copy.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
        meta_path = jobs / "file_iterate" / "file_iterate_execution_metadata.json"
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps({**meta, "flow_path": str(flow)}))
        with TestClient(create_app(jobs), base_url="http://127.0.0.1") as client:
            (job,) = client.get("/api/jobs").json()
            assert job["warnings"] == [
                f"the flow file {flow} changed since this job was built; rebuild it with 'pype build {flow}'"
            ]
            flow.write_text(copy.read_text(encoding="utf-8"), encoding="utf-8")
            assert client.get("/api/jobs").json()[0]["warnings"] == []

    def test_job_folder_edited_by_hand(self, ui_jobs: UiJobs, tmp_path: Path) -> None:
        jobs = tmp_path / "jobs"
        shutil.copytree(ui_jobs.jobs / "file_iterate", jobs / "file_iterate")
        with open(jobs / "file_iterate" / "file_iterate.yaml", "a", encoding="utf-8") as fh:
            fh.write("# hand edit\n")
        with TestClient(create_app(jobs), base_url="http://127.0.0.1") as client:
            changed, edited = client.get("/api/jobs").json()[0]["warnings"]
            assert "changed since this job was built" in changed  # the source no longer matches the copy either
            assert "edited since it was built" in edited and "'pype run' refuses it" in edited

    def test_unreadable_job_folder_is_listed_with_its_error(self, ui_jobs: UiJobs, tmp_path: Path) -> None:
        jobs = tmp_path / "jobs"
        shutil.copytree(ui_jobs.jobs / "file_iterate", jobs / "file_iterate")
        (jobs / "file_iterate" / "file_iterate_dag.json").write_text("{not json", encoding="utf-8")
        with TestClient(create_app(jobs), base_url="http://127.0.0.1") as client:
            (job,) = client.get("/api/jobs").json()
            assert not job["valid"] and "file_iterate_dag.json: unreadable" in job["error"]
            graph = client.get("/api/jobs/file_iterate/graph")
            assert graph.status_code == 422 and "unreadable" in graph.json()["error"]
