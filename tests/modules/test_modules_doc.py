"""docs/modules.md stays true: generated tables match the code, every built-in is documented and
listed by ``pype list-modules``, every config is described, and every example flow builds and runs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pypeline.modules.builtins import BUILTIN_MODULES
from pypeline.modules.loader import load_module_class
from pypeline.modules.reference import documented_modules, render_document
from tests.conftest import FlowHarness, invoke

REPO = Path(__file__).parents[2]
DOC = REPO / "docs" / "modules.md"
EXAMPLES = re.findall(r"```yaml\n(flow: \{name: (doc_\w+)\}.*?)```", DOC.read_text(), flags=re.S)


def test_generated_blocks_are_up_to_date() -> None:
    text = DOC.read_text()
    assert render_document(text) == text, "docs/modules.md is out of date: run python scripts/gen_modules_doc.py"


def test_every_builtin_is_documented_once_with_an_example() -> None:
    documented = documented_modules(DOC.read_text())
    assert sorted(documented) == sorted(BUILTIN_MODULES)
    assert sorted(name for _, name in EXAMPLES) == sorted(f"doc_{name}" for name in BUILTIN_MODULES)


@pytest.mark.parametrize("name", sorted(BUILTIN_MODULES))
def test_every_config_has_a_description_and_every_optional_one_a_default(name: str) -> None:
    cls = load_module_class(BUILTIN_MODULES[name])
    assert cls.DESCRIPTION
    for section in ("required", "optional"):
        for key, spec in cls.CONFIG_SCHEMA.get(section, {}).items():
            assert spec.get("description"), f"{name}.{key} has no description"
            assert section == "required" or "default" in spec, f"{name}.{key} has no default"
    assert "row_count" in cls.GLOBALS or name in ("set_globals", "wait_for_file", "fail_mod", "noop_mod", "run_job")


def test_list_modules_shows_every_builtin_with_its_description(project: Path, cli: CliRunner) -> None:
    listed = json.loads(invoke(cli, "list-modules", "--json").stdout)
    for name in BUILTIN_MODULES:
        cls = load_module_class(BUILTIN_MODULES[name])
        assert listed[name]["description"] == cls.DESCRIPTION and listed[name]["source"] == "builtin"
    table = invoke(cli, "list-modules").stdout
    for name in BUILTIN_MODULES:
        assert re.search(rf"│ {name}\s", table), name


@pytest.mark.parametrize("text", [t for t, _ in EXAMPLES], ids=[n for _, n in EXAMPLES])
async def test_example_flow_runs(flows: FlowHarness, text: str) -> None:
    shutil.copytree(REPO / "examples", flows.root / "examples")
    result = await flows.run(text)
    assert result.status == "success", result.manifest["errors"]
