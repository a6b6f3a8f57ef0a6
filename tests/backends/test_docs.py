"""docs/executors.md: its flows validate, and the options it lists are the backends' options."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pypeline.backends.registry import backend_class
from tests.conftest import FlowHarness

PAGE = Path(__file__).parents[2] / "docs" / "executors.md"
FLOWS = [b for b in re.findall(r"```yaml\n(.*?)```", PAGE.read_text(), flags=re.S) if b.startswith("flow:")]


def test_the_page_has_a_flow() -> None:
    assert FLOWS


@pytest.mark.parametrize("text", FLOWS, ids=lambda t: t.split("\n")[0])
def test_flows_on_the_page_validate(text: str, flows: FlowHarness) -> None:
    plan = flows.validate(text)
    assert {m.execution.get("backend", "local") for m in plan.modules.values()} - {"local"}


def test_the_flows_show_the_backends(flows: FlowHarness) -> None:
    shown = {m.execution.get("backend") for text in FLOWS for m in flows.validate(text).modules.values()}
    assert shown >= {"dask", "lambda", "container"}


@pytest.mark.parametrize("backend", ["dask", "lambda", "glue", "container"])
def test_every_option_is_documented(backend: str) -> None:
    text = PAGE.read_text()
    for option in backend_class(backend).OPTIONS_SCHEMA["properties"]:
        assert f"`{option}`" in text, (backend, option)
