"""docs/flow-format.md: its complete example builds and runs as the page says; its links exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pypeline.build.build import validate_flow
from tests.conftest import FlowHarness, write_csv

DOCS = Path(__file__).parents[2] / "docs"
README = Path(__file__).parents[2] / "README.md"


def yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)


def complete_example() -> str:
    text = (DOCS / "flow-format.md").read_text()
    section = text.split("## A complete example", 1)[1]
    return yaml_blocks(section)[0]


async def test_complete_example_builds_and_runs(flows: FlowHarness) -> None:
    write_csv(flows.root / "data" / "orders" / "a.csv", "id,amount,country", ["1,120,FR", "2,5,NO"])
    write_csv(flows.root / "data" / "orders" / "b.csv", "id,amount,country", ["3,300,FR"])
    result = await flows.run(complete_example())
    assert result.status == "success", result.manifest["errors"]
    out = flows.root / "out" / "orders_daily"
    assert (out / "big_0.csv").read_text() == "id,amount,country\n1,120,FR\n"
    assert (out / "big_1.csv").read_text() == "id,amount,country\n3,300,FR\n"
    assert result.manifest["modules"]["note"]["status"] == "success"
    alert = next(sf for sf in result.manifest["subflows"] if sf["subflow"] == "alert")
    assert alert["status"] == "skipped"
    assert alert["reason"] == "condition 'list_files__file_count == 0' was false"


def test_complete_example_uses_every_section(flows: FlowHarness) -> None:
    text = complete_example()
    for needle in ("settings:", "spill:", "checkpoint:", "dask:", "backends:", "context:", "retries: 3",
                   "timeout: 120", "execution:", "type: iterate", "order: Last", "condition:", "(2|"):
        assert needle in text, needle
    plan = validate_flow(flows.write(text))
    assert [e.order for e in plan.control_edges] == [1, 2, 3]


WHOLE_FLOWS = [b for b in yaml_blocks((DOCS / "flow-format.md").read_text()) if b.startswith("flow:")]


def test_the_page_has_whole_flows() -> None:
    assert len(WHOLE_FLOWS) == 2  # the small flow and the complete example; the rest are fragments


@pytest.mark.parametrize("text", WHOLE_FLOWS, ids=["small", "complete"])
def test_every_whole_flow_on_the_page_validates(text: str, flows: FlowHarness) -> None:
    validate_flow(flows.write(text))


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_relative_links_exist(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
