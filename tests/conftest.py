"""Shared fixtures: a project folder per test, and helpers to build and run flows for real."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import settings

from pypeline.build.build import build_flow, validate_flow
from pypeline.cli.cli import main
from pypeline.job.plan import JobPlan
from pypeline.run.run import RunOptions, RunResult, run_job
from tests.backends.container_images import podman, worker_image

__all__ = ["podman", "worker_image"]  # session fixtures of the container backend tests and the container example

RESOURCES = Path(__file__).parent / "resources"

# The generated-input tests (hypothesis) draw the same inputs on every run, so the suite
# gives the same answer twice; PYPELINE_HYPOTHESIS=explore draws new ones (a search for bugs).
settings.register_profile("fixed", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("PYPELINE_HYPOTHESIS", "fixed"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh project folder as the current directory, with its own registry file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYPELINE_REGISTRY", str(tmp_path / "modules" / "ModRegistry.json"))
    monkeypatch.delenv("PYPELINE_THREADS", raising=False)
    yield tmp_path


@dataclass
class FlowHarness:
    """Write flow YAML into the project, build it and run it in process."""

    root: Path

    def write(self, text: str, name: str = "flow.yaml") -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def validate(self, text: str) -> JobPlan:
        return validate_flow(self.write(text))

    def build(self, text: str) -> Path:
        return build_flow(self.write(text), self.root / "jobs")

    async def run(self, text: str, **options: Any) -> RunResult:
        job = self.build(text)
        options.setdefault("progress", "none")
        options.setdefault("echo_logs", False)
        return await run_job(job, RunOptions(**options))


@pytest.fixture
def flows(project: Path) -> FlowHarness:
    """Build and run flows written inline in a test."""
    return FlowHarness(project)


@pytest.fixture
def cli() -> CliRunner:
    """A click runner for ``pype`` commands."""
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> Any:
    """Run ``pype ARGS`` in process and return the click result."""
    return runner.invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def data_dir(project: Path) -> Path:
    """``<project>/data`` (created)."""
    folder = project / "data"
    folder.mkdir()
    return folder


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    """Write a small CSV file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


os.environ.setdefault("PYPELINE_TEST", "1")
