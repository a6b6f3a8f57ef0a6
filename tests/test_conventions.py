"""House rules CI enforces: ruff, the import-linter layer contract, mypy on the package, and the public API."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import pypeline
import pypeline.modules.sdk as sdk

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "pypeline", "tests", "benchmarks"], ["lint-imports"], ["mypy"]],
    ids=["ruff", "import-linter", "mypy"],
)
def test_tool_passes(command: list[str]) -> None:
    tool = BIN / command[0]
    assert tool.exists(), f"{tool} is missing: install the test extras ('.[test]')"
    done = subprocess.run([str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


class TestPublicApi:
    """Pin what module authors import; changing it is a decision, not an accident."""

    def test_package(self) -> None:
        assert pypeline.__all__ == ["BaseModule", "RunContext", "__version__"]
        assert pypeline.BaseModule is sdk.BaseModule
        assert isinstance(pypeline.__version__, str)

    def test_sdk(self) -> None:
        assert sdk.__all__ == [
            "MODULE_TYPES",
            "BaseModule",
            "DataError",
            "GlobalStore",
            "RunContext",
            "ThreadRunner",
            "atomic_output_path",
        ]
        assert sdk.MODULE_TYPES == ("source", "mod", "sink", "solo")

    def test_base_module_contract(self) -> None:
        """The spec's BaseModule: class attributes and three coroutines."""
        for attr in ("TYPE", "VERSION", "DESCRIPTION", "CATEGORY", "INPUT_PORTS", "OUTPUT_PORTS", "GLOBALS",
                     "PACKAGES", "CONFIG_SCHEMA"):
            assert hasattr(sdk.BaseModule, attr), attr
        for method in ("setup", "run", "teardown"):
            assert inspect.iscoroutinefunction(getattr(sdk.BaseModule, method)), method
        assert list(inspect.signature(sdk.BaseModule.run).parameters) == ["self", "inputs", "ctx"]
