"""House rules CI enforces: ruff, import contracts, mypy (examples too), vulture, short functions, no cycles, API."""

from __future__ import annotations

import ast
import graphlib
import inspect
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

import pypeline
import pypeline.modules.sdk as sdk

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "pypeline", "tests", "benchmarks", "examples"],
        ["lint-imports"],
        ["mypy"],
        ["vulture", "--min-confidence", "80", "pypeline"],
    ],
    ids=["ruff", "import-linter", "mypy", "vulture"],
)
def test_tool_passes(command: list[str]) -> None:
    tool = BIN / command[0]
    assert tool.exists(), f"{tool} is missing: install the test extras ('.[test]')"
    done = subprocess.run([str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


MAX_FUNCTION_LINES = 60


def test_no_function_is_longer_than_60_lines() -> None:
    long = []
    for path in sorted((ROOT / "pypeline").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    graph = grimp.build_graph("pypeline")
    return {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}


class TestNoImportCycles:
    """Neither files nor packages import each other in a circle (grimp reads the imports, as lint-imports does)."""

    def test_files(self, imports: dict[str, set[str]]) -> None:
        _assert_acyclic(imports)

    def test_packages(self, imports: dict[str, set[str]]) -> None:
        packages = {m for m in imports if (ROOT / m.replace(".", "/") / "__init__.py").exists()}

        def package_of(module: str) -> str:
            return module if module in packages else module.rsplit(".", 1)[0]

        between: dict[str, set[str]] = {package_of(m): set() for m in imports}
        for module, imported in imports.items():
            between[package_of(module)].update(package_of(i) for i in imported if package_of(i) != package_of(module))
        _assert_acyclic(between)


def _assert_acyclic(graph: dict[str, set[str]]) -> None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        raise AssertionError("import cycle: " + " -> ".join(exc.args[1])) from None


class TestPublicApi:
    """Pin what module authors import; changing it is a decision, not an accident."""

    def test_package(self) -> None:
        assert pypeline.__all__ == ["BaseModule", "Flow", "RunContext", "RunReport", "__version__", "load", "module",
                                    "run"]
        assert pypeline.BaseModule is sdk.BaseModule
        assert isinstance(pypeline.__version__, str)

    def test_python_api(self) -> None:
        """docs/python-api.md: the builder, the loader, the runner, the function decorator and the report types."""
        import pypeline.api as api
        from pypeline.run import run as run_module

        assert api.__all__ == ["Flow", "ModuleLike", "ModuleRef", "ModuleReport", "Port", "PortLike", "RunFailed",
                               "RunReport", "load", "module", "run", "run_async"]
        assert (pypeline.Flow, pypeline.RunReport, pypeline.load) == (api.Flow, api.RunReport, api.load)
        assert pypeline.module is api.module
        # pypeline.run is the run layer's package and, called, runs a job folder (pypeline/__init__.py says why)
        package = sys.modules["pypeline.run"]
        assert vars(pypeline)["run"] is package and callable(package)
        assert package.run is run_module  # its submodules stay reachable

    def test_sdk(self) -> None:
        assert sdk.__all__ == [
            "MODULE_TYPES",
            "BaseModule",
            "ColumnUse",
            "Columns",
            "DataError",
            "GlobalStore",
            "RunContext",
            "ThreadRunner",
            "atomic_output_path",
            "atomic_output_path_async",
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
