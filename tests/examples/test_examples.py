"""Every flow under examples/ builds and runs from a copy of the repository layout, and writes what it says.

The examples' paths are relative to the repository root, so each test copies
``examples/`` and ``modules/`` into a fresh folder, makes it the current
directory and runs the README's commands there (in process; the custom module
example through the real ``pype`` executable, as a user registers a module).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import invoke
from tests.examples.module_example_checks import CHECKS as MODULE_EXAMPLE_CHECKS

REPO = Path(__file__).parents[2]
EXAMPLE_FLOWS = sorted(
    p for p in (REPO / "examples").glob("*/*.yaml")
    # lambda_s3 needs a Lambda function and a bucket: tests/backends/test_lambda_backend.py runs it
    # against serverless-offline and moto
    if p.name != "flow_as_printed.yaml" and p.parent.name != "lambda_s3"
)


@pytest.fixture
def checkout(project: Path) -> Path:
    """The project folder with the repository's examples/ and modules/ copied in."""
    shutil.copytree(REPO / "examples", project / "examples")
    ignore = shutil.ignore_patterns("ModRegistry.json", "__pycache__")
    shutil.copytree(REPO / "modules", project / "modules", ignore=ignore, dirs_exist_ok=True)
    return project


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def last_manifest(root: Path, job: str) -> dict[str, Any]:
    """The manifest of the run that started last (a folder's mtime is no guide: a resumed run's
    success marks the run it resumed)."""
    manifests = [json.loads(p.read_text()) for p in (root / "jobs" / job / "runs").glob("*/manifest.json")]
    return max(manifests, key=lambda m: (m["started"], m["run_id"]))


def check_noop(root: Path, manifest: dict[str, Any]) -> None:
    modules = manifest["modules"]
    assert [modules[m]["status"] for m in ("empty", "passthrough", "discard")] == ["success"] * 3
    assert modules["passthrough"]["rows_in"] == 0 and modules["discard"]["globals"] == {"row_count": 0}


def check_regex_filter(root: Path, manifest: dict[str, Any]) -> None:
    got = lines(root / "out/regex_filter/errors.log")
    assert len(got) == 3 and all(" ERROR " in line for line in got)
    assert manifest["modules"]["reader"]["rows_out"] == 10


def check_fan_out(root: Path, manifest: dict[str, Any]) -> None:
    for name, level, count in (("errors", "ERROR", 3), ("warnings", "WARN", 2), ("info", "INFO", 4)):
        got = lines(root / f"out/fan_out/{name}.log")
        assert len(got) == count and all(f" {level} " in line for line in got), name
    assert manifest["modules"]["reader"]["attempts"] == 1  # computed once for three consumers


def check_merge(root: Path, manifest: dict[str, Any]) -> None:
    got = lines(root / "out/merge/all_orders.txt")
    assert [line.split(":")[0] for line in got] == ["east"] * 3 + ["west"] * 2


def check_custom_module(root: Path, manifest: dict[str, Any]) -> None:
    got = lines(root / "out/custom_module/stamped.txt")
    assert len(got) == 3
    for line, text in zip(got, ["backup finished", "cache warmed", "report sent to finance"], strict=True):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 - " + text, line), line
    assert manifest["modules"]["stamp"]["globals"]["stamped_at"] == got[0].split(" - ")[0]


def check_file_iterate(root: Path, manifest: dict[str, Any]) -> None:
    out = root / "out/file_iterate"
    assert [len(rows(out / f"clean_{i}.csv")) for i in range(3)] == [2, 2, 3]
    total = rows(out / "all_clean.csv")
    assert len(total) == 7 and all(float(r["amount"]) > 0 for r in total)
    assert [s["instance"] for s in manifest["subflows"] if s["subflow"] == "load"] == ["load#0", "load#1", "load#2"]
    assert manifest["modules"]["load#2"]["files_read"][0].endswith("sales_2025-01-15.csv")


def check_conditional_branch(root: Path, manifest: dict[str, Any]) -> None:
    out = root / "out/conditional_branch"
    assert [r["customer"] for r in rows(out / "late_orders.csv")] == ["ben", "dee"]
    assert lines(out / "ALERT.txt")[0].startswith("ALERT: some orders are late")
    assert not (out / "ALL_CLEAR.txt").exists()
    skipped = {s["instance"]: s["reason"] for s in manifest["subflows"] if s["status"] == "skipped"}
    assert skipped == {"all_clear_text": "condition 'write_late__row_count == 0' was false"}


def check_sample_etl(root: Path, manifest: dict[str, Any]) -> None:
    import pandas as pd

    frame = pd.read_parquet(root / "out/sample_etl/output.parquet")
    assert len(frame) > 0 and bool((frame["age"] > 18).all())


def check_resume_demo(root: Path, manifest: dict[str, Any]) -> None:
    assert manifest["resumed_from"]
    attempts = {node: (m["status"], m["attempts"]) for node, m in manifest["modules"].items()}
    assert {n: a for n, a in attempts.items() if a != ("restored", 0)} == {
        "check": ("success", 1), "combine": ("success", 1), "total": ("success", 1)
    }
    assert [r["id"] for r in rows(root / "out/resume/all_clean.csv")] == ["11", "13", "21", "23", "31", "33"]


def check_hybrid_dask(root: Path, manifest: dict[str, Any]) -> None:
    got = rows(root / "out/hybrid_dask/big_orders.csv")
    assert [r["order_id"] for r in got] == ["E1", "E3", "E5", "W1", "W3", "W5"]
    backends = {m: r["backend"] for m, r in manifest["modules"].items()}
    assert backends == {"east": "local", "west": "local", "big_east": "dask", "big_west": "dask",
                        "merged": "local", "writer": "local"}
    assert manifest["modules"]["big_west"]["globals"] == {"row_count": 3, "rows_dropped": 2}  # set on a worker


def check_container_demo(root: Path, manifest: dict[str, Any]) -> None:
    assert [r["sensor"] for r in rows(root / "out/container/valid_readings.csv")] == ["S1", "S2", "S4", "S6"]
    clean = manifest["modules"]["clean"]
    assert clean["backend"] == "container" and clean["globals"] == {"row_count": 4, "rows_dropped": 2}
    assert clean["stats"]["container"]["exit_code"] == 0
    assert clean["stats"]["container"]["image_digest"].startswith("sha256:")


def check_child_jobs(root: Path, manifest: dict[str, Any]) -> None:
    out = root / "out/child_jobs"
    assert [r["order_id"] for r in rows(out / "orders.csv")] == ["1", "3", "4", "5", "7"]
    assert [(r["store"], r["orders"], r["total"]) for r in rows(out / "summary.csv")] == [
        ("lyon", "1", "19.9"), ("nice", "1", "42.0"), ("paris", "3", "215.5")]
    assert manifest["modules"]["done"]["globals"] == {"message": "5 orders from 3 stores"}
    assert [c["job"] for c in manifest["child_runs"]] == ["load_orders", "summarize_orders"]
    for link in manifest["child_runs"]:  # each child run names this run as its parent
        child = json.loads((root / "jobs" / link["job"] / "runs" / link["run_id"] / "manifest.json").read_text())
        assert child["parent_run"]["run_id"] == manifest["run_id"] and child["status"] == "success"
    assert not (out / "ALERT.txt").exists()


def check_include_params(root: Path, manifest: dict[str, Any]) -> None:
    out = root / "out/include_params"
    assert [r["order_id"] for r in rows(out / "east.csv")] == ["E1", "E3", "E5"]
    assert [r["order_id"] for r in rows(out / "west.csv")] == ["W2", "W3"]
    assert [r["order_id"] for r in rows(out / "all.csv")] == ["E1", "E3", "E5", "W2", "W3"]
    assert manifest["modules"]["summary"]["globals"] == {"east": 3, "west": 2}


def check_parallel_iterate(root: Path, manifest: dict[str, Any]) -> None:
    out = root / "out/parallel_iterate"
    days = [rows(out / f"day_{i}.csv") for i in range(8)]
    assert all(days) and all(float(r["total"]) > 0 for day in days for r in day)
    assert len(rows(out / "all_days.csv")) == sum(len(day) for day in days)
    assert manifest["modules"]["load#7"]["files_read"][0].endswith("sales_2025-02-08.csv")


CHECKS: dict[str, Callable[[Path, dict[str, Any]], None]] = {
    "noop": check_noop,
    "regex_filter": check_regex_filter,
    "fan_out": check_fan_out,
    "merge": check_merge,
    "custom_module": check_custom_module,
    "file_iterate": check_file_iterate,
    "conditional_branch": check_conditional_branch,
    "sample_etl": check_sample_etl,
    "resume_demo": check_resume_demo,
    **MODULE_EXAMPLE_CHECKS,
    "hybrid_dask": check_hybrid_dask,
    "container_demo": check_container_demo,
    "child_jobs": check_child_jobs,
    "include_params": check_include_params,
    "parallel_iterate": check_parallel_iterate,
}
EXAMPLE_IMAGE = "localhost/pypeline-example:latest"
"""The image examples/container/flow.yaml names; its README line builds it with `pype package container`."""


def job_name(flow_file: Path) -> str:
    match = re.search(r"^\s+name:\s*(\S+)", flow_file.read_text(), flags=re.M)
    assert match, flow_file
    return match.group(1)


@pytest.mark.parametrize(
    "flow_file",
    [pytest.param(p, id=p.parent.name, marks=[pytest.mark.slow] if p.parent.name == "container" else [])
     for p in EXAMPLE_FLOWS],
)
def test_example_builds_runs_and_writes_its_outputs(
    checkout: Path, cli: CliRunner, flow_file: Path, request: pytest.FixtureRequest
) -> None:
    relative = flow_file.relative_to(REPO).as_posix()
    name = job_name(flow_file)
    assert name in CHECKS, f"{relative}: add a check of its outputs to CHECKS"
    if name == "custom_module":
        pype = str(Path(sys.executable).parent / "pype")
        for args in (["register-module", "modules.timestamp_appender"], ["build", relative],
                     ["run", f"jobs/{name}", "--quiet", "--progress", "none"]):
            done = subprocess.run([pype, *args], cwd=checkout, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, (args, done.stdout, done.stderr)
    elif name == "resume_demo":  # the README's steps: fail, fix the cause, resume
        assert invoke(cli, "build", relative).exit_code == 0
        failed = invoke(cli, "run", f"jobs/{name}", "--quiet", "--progress", "none")
        assert failed.exit_code == 1 and f"resume with: pype run jobs/{name} --resume " in failed.output
        (checkout / "out/resume/ready").touch()
        ran = invoke(cli, "run", f"jobs/{name}", "--resume", "--quiet", "--progress", "none")
        assert ran.exit_code == 0, ran.output
    else:
        if name == "container_demo":  # the image the README builds; here on a local base (no pulls on this machine)
            podman = request.getfixturevalue("podman")
            subprocess.run([podman, "tag", request.getfixturevalue("worker_image"), EXAMPLE_IMAGE], check=True)
            request.addfinalizer(lambda: subprocess.run([podman, "rmi", EXAMPLE_IMAGE], capture_output=True))
        built = invoke(cli, "build", relative)
        assert built.exit_code == 0, built.output
        ran = invoke(cli, "run", f"jobs/{name}", "--quiet", "--progress", "none")
        assert ran.exit_code == 0, ran.output
    manifest = last_manifest(checkout, name)
    assert manifest["status"] == "success"
    CHECKS[name](checkout, manifest)


def test_conditional_branch_other_context_takes_the_other_branch(checkout: Path, cli: CliRunner) -> None:
    assert invoke(cli, "build", "examples/conditional_branch/flow.yaml").exit_code == 0
    ran = invoke(cli, "run", "jobs/conditional_branch", "--context", "on_time", "--quiet", "--progress", "none")
    assert ran.exit_code == 0, ran.output
    out = checkout / "out/conditional_branch"
    assert rows(out / "late_orders.csv") == []
    assert lines(out / "ALL_CLEAR.txt") == ["All orders are on time."]
    assert not (out / "ALERT.txt").exists()


def test_spec_sample_as_printed_fails_to_build(checkout: Path, cli: CliRunner) -> None:
    result = invoke(cli, "build", "examples/spec_sample/flow_as_printed.yaml")
    assert result.exit_code == 2
    assert "are in the same sub flow" in result.stderr
    assert not (checkout / "jobs" / "sample_etl").exists()


def test_child_jobs_alert_branch_runs_when_a_child_fails(checkout: Path, cli: CliRunner) -> None:
    assert invoke(cli, "build", "examples/child_jobs/flow.yaml").exit_code == 0
    ran = invoke(cli, "run", "jobs/child_jobs", "--context", "broken", "--quiet", "--progress", "none")
    assert ran.exit_code == 1
    alert = lines(checkout / "out/child_jobs/ALERT.txt")
    assert len(alert) == 1 and alert[0].startswith("ALERT: the order summary failed (ChildJobError): ")
    assert "no file matches 'out/child_jobs/no_such_file.csv'" in alert[0]
    manifest = last_manifest(checkout, "child_jobs")
    assert [c["status"] for c in manifest["child_runs"]] == ["success", "failed"]
    assert {s["instance"]: s["status"] for s in manifest["subflows"]}["done"] == "not_run"
