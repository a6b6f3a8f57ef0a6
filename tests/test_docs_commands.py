"""Every shell command shown in README.md and docs/ runs as shown, so the docs cannot drift from the code.

Each page's ``bash`` blocks are split into commands (a ``\\`` continuation and
a heredoc belong to their command) and run in order, in a fresh copy of the
repository's examples (one project folder per page, so a later block sees what
an earlier one built), with this test run's ``pype`` first on ``PATH``. A
command must exit 0 unless :data:`EXPECTED_EXIT` says otherwise (a command the
page itself says fails).

A command that cannot run here is listed in :data:`NOT_RUN` with the reason:
it needs a cloud account or several hosts, installs packages, serves until
stopped, or is a template with placeholders. The list is checked too: every
entry must still match a command on its page, and every command that is not
run must be on it. The flows shown on the pages are built and run by their
own tests (``tests/modules/test_modules_doc.py``, ``tests/build/test_flow_format_doc.py``,
``tests/backends/test_docs.py``); the flows written by a command here (a
heredoc) run with it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "examples" / "README.md"]
BIN = Path(sys.executable).parent

NOT_RUN: dict[tuple[str, str], str] = {
    ("README.md", "./scripts/demo.sh"): "sets up .venv from PyPI: the suite already runs in it",
    ("README.md", "./scripts/test.sh"): "the test suite itself",
    ("README.md", ". .venv/bin/activate"): "this run's virtualenv is first on PATH already",
    ("README.md", "pype ui"): "serves until stopped; tests/ui/ drive it in a browser",
    ("executors.md", "dask scheduler"): "needs a scheduler host",
    ("executors.md", "pip install /shared/wheels/"): "installs packages on worker hosts",
    ("executors.md", "dask worker tcp://scheduler-host:8786"): "needs the scheduler host",
    ("executors.md", "PYPELINE_DASK_ADDRESS=tcp://scheduler-host:8786"): "needs the scheduler host",
    ("executors.md", "pype package lambda"): "downloads wheels from PyPI; tests/cli/test_package.py builds one",
    ("executors.md", "aws lambda create-function"): "needs an AWS account",
    ("executors.md", "aws glue create-job"): "needs an AWS account",
    ("executors.md", "podman run --rm -i --name pypeline-<run>"): "a template of what the backend runs",
    ("executors.md", "pype package container"): "builds an image; tests/backends/test_container_backend.py does",
    ("observability.md", "pip install 'pypeline[otel]'"): "installs packages (the test extras have them)",
    ("observability.md", "export OTEL_EXPORTER_OTLP_ENDPOINT="): "needs a collector; the page's last block runs one",
    ("observability.md", "pype run jobs/file_iterate --otel"): "needs a collector",
    ("secrets.md", ". .venv/bin/activate"): "this run's virtualenv is first on PATH already",
    ("secrets.md", "BAO=$("): "starts a Vault server on a fixed port; tests/secrets/ run this flow against OpenBao",
    ("secrets.md", "$BAO "): "needs the server of the line before",
    ("secrets.md", "export VAULT_ADDR="): "needs the server",
    ("secrets.md", "cat > /tmp/secret_flow.yaml"): "writes outside the project; needs the server",
    ("secrets.md", "pype build /tmp/secret_flow.yaml"): "needs the server",
    ("secrets.md", "grep -r s3cr3t"): "needs the run before",
    ("cache.md", "pype build daily_report.yaml"): "needs the page's data files; tests/run/test_storage_cache_docs.py "
    "writes them and runs this walk-through",
    ("cache.md", "pype run jobs/daily_report"): "the walk-through above (tests/run/test_storage_cache_docs.py)",
    ("cache.md", "touch data/people.csv"): "the walk-through above (tests/run/test_storage_cache_docs.py)",
    ("cache.md", "pype cache ls [--store"): "a synopsis with placeholders; tests/run/test_cache.py runs the command",
    ("cache.md", "pype cache clear [--store"): "a synopsis with placeholders; tests/run/test_cache.py runs the command",
    ("storage.md", "moto_server -H 127.0.0.1 -p 5000 &"): "serves until stopped, on a fixed port; "
    "tests/modules/test_storage_s3.py reads and writes a bucket of moto's server the same way",
    ("storage.md", "export AWS_ENDPOINT_URL="): "needs the server of the line before",
    ("storage.md", "python -c \"import boto3; s3 = boto3"): "needs the server",
    ("storage.md", "s3.put_object("): "needs the server",
    ("storage.md", "cat > s3_demo.yaml"): "needs the server",
    ("storage.md", "pype build s3_demo.yaml"): "needs the server",
    ("storage.md", "python -c \"import boto3; print("): "needs the server",
    ("ui.md", "pip install 'pypeline[ui]'"): "installs packages (the test extras have them)",
    ("ui.md", "pype ui"): "serves until stopped; tests/ui/ drive it in a browser",
}
"""``(page, start of a command) -> why it is not run here``."""

EXPECTED_EXIT: dict[tuple[str, str], int] = {
    ("README.md", "pype run jobs/resume_demo  "): 1,  # "fails at 'check'"
    ("graph.md", "pype run jobs/typed --dry-run --set n=ten"): 1,  # "exits 1: a problem is listed"
    ("python-api.md", "python -m examples.python_api.functions_flow  "): 1,  # "failed: 'approved'"
}

NEEDS_PROGRAM = {"| dot ": "dot"}
"""A command piping into a program that may not be installed runs only where it is."""


@dataclass(frozen=True, slots=True)
class Command:
    page: str
    line: int
    text: str


def commands_of(page: Path) -> list[Command]:
    """The page's shell commands in order (see the module docstring)."""
    text = page.read_text(encoding="utf-8")
    found: list[Command] = []
    for block in re.finditer(r"^( *)```(?:bash|sh|shell)\n(.*?)^ *```", text, flags=re.S | re.M):
        first_line = text[: block.start(2)].count("\n") + 1
        body = textwrap.dedent(block.group(2)) if block.group(1) else block.group(2)  # a block inside a list
        found.extend(Command(page.name, first_line + offset, command) for offset, command in _split(body))
    return found


def _split(block: str) -> list[tuple[int, str]]:
    """``(line offset, command)``: continuation lines and heredoc bodies joined to their command."""
    lines = block.splitlines()
    commands: list[tuple[int, str]] = []
    index = 0
    while index < len(lines):
        start, line = index, lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [line]
        while parts[-1].rstrip().endswith("\\") and index < len(lines):
            parts.append(lines[index])
            index += 1
        heredoc = re.search(r"<<-?\s*'?(\w+)'?", parts[0])
        if heredoc:
            while index < len(lines):
                parts.append(lines[index])
                index += 1
                if parts[-1].strip() == heredoc.group(1):
                    break
        commands.append((start, "\n".join(parts) + ("\n" if heredoc else "")))
    return commands


def not_run_reason(command: Command) -> str | None:
    for (page, start), reason in NOT_RUN.items():
        if page == command.page and command.text.lstrip().startswith(start):
            return reason
    for pipe, program in NEEDS_PROGRAM.items():
        if pipe in command.text and shutil.which(program) is None:
            return f"needs '{program}', not installed here"
    return None


def expected_exit(command: Command) -> int:
    for (page, start), code in EXPECTED_EXIT.items():
        if page == command.page and command.text.lstrip().startswith(start):
            return code
    return 0


ALL = [command for page in PAGES for command in commands_of(page)]
PAGES_WITH_COMMANDS = sorted({command.page for command in ALL})


def test_the_pages_show_commands() -> None:
    assert len(ALL) > 40
    assert {"README.md", "running.md", "graph.md", "observability.md", "executors.md"} <= set(PAGES_WITH_COMMANDS)


def test_every_not_run_entry_still_matches_a_command() -> None:
    stale = [key for key in [*NOT_RUN, *EXPECTED_EXIT]
             if not any(c.page == key[0] and c.text.lstrip().startswith(key[1]) for c in ALL)]
    assert stale == []


def test_the_splitter_keeps_continuations_and_heredocs() -> None:
    block = "a \\\n  b\n# note\ncat > f <<'EOF'\nx: 1\nEOF\nc  # done\n"
    assert _split(block) == [(0, "a \\\n  b"), (3, "cat > f <<'EOF'\nx: 1\nEOF\n"), (6, "c  # done")]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of what the pages' commands read: the examples, the project modules, the OTLP test receiver."""
    for folder in ("examples", "modules"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tests").mkdir()
    shutil.copy(REPO / "tests" / "otlp_receiver.py", tmp_path / "tests" / "otlp_receiver.py")
    return tmp_path


def environment(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYPELINE_", "VAULT_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYPELINE_REGISTRY"] = str(project / "modules" / "ModRegistry.json")
    return env


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES_WITH_COMMANDS)
def test_every_command_on_the_page_runs(page: str, project: Path) -> None:
    env = environment(project)
    ran = 0
    for command in (c for c in ALL if c.page == page):
        if not_run_reason(command) is not None:
            continue
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command.text], cwd=project, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == expected_exit(command), (
            f"{page}:{command.line}: {command.text!r} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
        ran += 1
    # these pages' commands need servers, clouds or data files; their own tests run them (see NOT_RUN)
    assert ran or page in ("executors.md", "secrets.md", "storage.md", "cache.md"), f"{page}: no command ran"
