"""Facts the docs state about the code: the log events they name exist, numbered rules are in order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
DOCS = REPO / "docs"
SOURCE = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "pypeline").rglob("*.py")))
LOGGED = set(re.findall(
    r"""(?:\.(?:debug|info|warning|error|exception)\(|(?:_log|\.line)\(\s*"\w+",)\s*"(\w+)\"""", SOURCE
))
"""Event names the code logs: the first argument of a logger call, or the second of the artifact
manager's ``_log`` and of ``RunLog.line`` (the engine's per-node lines)."""


def events_named_on(page: str, lead: str) -> list[str]:
    """The backquoted names in the paragraph of ``page`` that starts with ``lead``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    paragraph = text.split(lead, 1)[1].split("\n\n", 1)[0]
    return re.findall(r"`([a-z_]+)`", paragraph)


def test_the_code_logs_the_events_the_reader_finds() -> None:
    assert {"run_started", "module_failed", "artifact_spilled", "subflow_failed"} <= LOGGED


@pytest.mark.parametrize("event", events_named_on("observability.md", "Events you will meet:"))
def test_every_event_observability_md_names_is_logged(event: str) -> None:
    if event in ("error", "traceback", "info", "warning"):  # fields and levels, named in passing
        return
    assert event in LOGGED, f"docs/observability.md names '{event}', which no logger call emits"


def test_observability_md_names_the_spill_event_by_its_name() -> None:
    assert "artifact_spilled" in events_named_on("observability.md", "Events you will meet:")


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_numbered_lists_count_up(page: str) -> None:
    """Top-level numbered lists run 1, 2, 3, ... (a rule cited by number must be the one meant)."""
    text = (DOCS / page).read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks are not lists
    for block in re.split(r"\n(?=#)", text):  # each section on its own
        numbers = [int(n) for n in re.findall(r"^(\d+)\. ", block, flags=re.M)]
        runs: list[list[int]] = []
        for number in numbers:
            if number == 1 or not runs:
                runs.append([number])
            else:
                runs[-1].append(number)
        for run in runs:
            assert run == list(range(1, len(run) + 1)), f"docs/{page}: a list numbered {run}"
