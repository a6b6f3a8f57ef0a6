"""``pype register-module``, ``clear-registry``, ``auto-register`` and ``list-modules``, in a project folder."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pypeline.modules.builtins import BUILTIN_MODULES
from pypeline.modules.loader import load_module_class
from pypeline.modules.registry import Registry, validate_module_class
from tests.conftest import invoke

SHOUT = '''\
from pypeline import BaseModule


class Shout(BaseModule):
    TYPE = "mod"
    DESCRIPTION = "Upper-cases the name column"
    INPUT_PORTS = ["input"]
    OUTPUT_PORTS = ["output"]

    async def run(self, inputs, ctx):
        frame = inputs["input"].copy()
        frame["name"] = frame["name"].str.upper()
        return {"output": frame}
'''


@pytest.fixture(autouse=True)
def fresh_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test's project has its own ``modules`` package: forget the previous one's imports."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in [n for n in sys.modules if n == "modules" or n.startswith("modules.")]:
        del sys.modules[name]
    load_module_class.cache_clear()


@pytest.fixture
def modules_dir(project: Path) -> Path:
    """The project's ``modules/`` folder with one good, one broken and one badly declared module."""
    folder = project / "modules"
    folder.mkdir()
    (folder / "shout.py").write_text(SHOUT)
    (folder / "broken.py").write_text("import does_not_exist_anywhere\n")
    (folder / "bad_decl.py").write_text(
        "from pypeline import BaseModule\n\nclass Bad(BaseModule):\n    TYPE = 'source'\n    INPUT_PORTS = ['x']\n"
        "\n    async def run(self, inputs, ctx):\n        return {}\n"
    )
    return folder


def registry_file(project: Path) -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads((project / "modules" / "ModRegistry.json").read_text())
    return data


class TestRegisterModule:
    def test_builtin_name(self, project: Path, cli: CliRunner) -> None:
        result = invoke(cli, "register-module", "csv_source")
        assert result.exit_code == 0, result.stderr
        path = project / "modules" / "ModRegistry.json"
        assert result.stdout == f"registered 'csv_source' -> pypeline.modules.source.csv_source.CsvSource in {path}\n"
        entry = registry_file(project)["csv_source"]
        assert entry["module_path"] == "pypeline.modules.source.csv_source.CsvSource"
        assert entry["type"] == "source" and entry["output_ports"] == ["data"]
        assert entry["globals"] == ["row_count", "files_read", "file_size", "rows_dropped"]
        assert entry["config_schema"]["required"] == {  # type: ignore[index]
            "file_path": {"type": "str", "description": "Path, folder or glob of CSV files"}
        }

    @pytest.mark.parametrize("path", ["modules.shout", "modules.shout.Shout"])
    def test_dotted_path(self, path: str, modules_dir: Path, project: Path, cli: CliRunner) -> None:
        result = invoke(cli, "register-module", path)
        assert result.exit_code == 0, result.stderr
        assert "registered 'shout' -> modules.shout.Shout" in result.stdout
        assert registry_file(project)["shout"]["description"] == "Upper-cases the name column"

    def test_registering_twice_keeps_one_entry(self, modules_dir: Path, project: Path, cli: CliRunner) -> None:
        invoke(cli, "register-module", "csv_source")
        invoke(cli, "register-module", "modules.shout")
        invoke(cli, "register-module", "modules.shout")
        assert sorted(registry_file(project)) == ["csv_source", "shout"]

    @pytest.mark.parametrize(
        ("name", "message"),
        [
            ("csv_sorce", "error: cannot register 'csv_sorce': unknown module 'csv_sorce'; did you mean one of: "
             "'csv_source', 'sql_source', 'json_source'? (expected a built-in or plugin module name "
             "(see 'pype list-modules') or a dotted import path)"),
            ("modules.bad_decl", "error: cannot register 'modules.bad_decl': module class modules.bad_decl.Bad is "
             "not valid: a source module has no input ports (expected a BaseModule subclass that imports and "
             "follows the SDK)"),
            ("modules.nothing_here", "error: cannot register 'modules.nothing_here': cannot import "
             "'modules.nothing_here': 'modules' has no attribute 'nothing_here' (expected a BaseModule subclass "
             "that imports and follows the SDK)"),
        ],
        ids=["unknown", "bad-declarations", "missing-file"],
    )
    def test_refused(self, name: str, message: str, modules_dir: Path, project: Path, cli: CliRunner) -> None:
        result = invoke(cli, "register-module", name)
        assert result.exit_code == 2
        assert result.stderr == message + "\n"
        assert not (project / "modules" / "ModRegistry.json").exists()


def test_unregistered_project_module_gets_a_hint(modules_dir: Path, project: Path, cli: CliRunner) -> None:
    (project / "flow.yaml").write_text(
        "flow: {name: x}\nmodules:\n  - {id: a, name: csv_source, configs: {required: {file_path: a.csv}}}\n"
        "  - {id: b, name: shout}\n  - {id: c, name: noop_sink}\n"
        "connections: {data: ['a.data - b.input', 'b.output - c.input']}\n"
    )
    result = invoke(cli, "validate", "flow.yaml")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: flow.yaml:4: module 'b': unknown module 'shout'; modules/shout.py exists: register it "
        "('pype register-module modules.shout') or write its path ('name: modules.shout') (expected a registered "
        "module name (see 'pype list-modules') or a dotted import path)\n"
    )


class TestClearRegistry:
    def test_clear(self, project: Path, cli: CliRunner) -> None:
        assert invoke(cli, "register-module", "csv_source").exit_code == 0
        assert sorted(registry_file(project)) == ["csv_source"]  # something to clear
        result = invoke(cli, "clear-registry")
        assert result.exit_code == 0
        assert registry_file(project) == {}
        # built-ins stay usable without the registry
        (project / "flow.yaml").write_text(
            "flow: {name: x}\nmodules:\n  - {id: a, name: csv_source, configs: {required: {file_path: a.csv}}}\n"
            "  - {id: b, name: noop_sink}\nconnections: {data: ['a.data - b.input']}\n"
        )
        assert invoke(cli, "validate", "flow.yaml").exit_code == 0

    def test_unreadable_registry_is_one_error(self, project: Path, cli: CliRunner) -> None:
        (project / "modules").mkdir()
        (project / "modules" / "ModRegistry.json").write_text("{not json")
        result = invoke(cli, "register-module", "csv_source")
        assert result.exit_code == 2
        assert result.stderr.startswith(f"error: {project / 'modules' / 'ModRegistry.json'}: cannot read the module "
                                        "registry: Expecting property name")


class TestAutoRegister:
    def test_builtins_and_project_modules_broken_ones_skipped(
        self, modules_dir: Path, project: Path, cli: CliRunner
    ) -> None:
        result = invoke(cli, "auto-register")
        assert result.exit_code == 0, result.stderr
        names = sorted([*BUILTIN_MODULES, "shout"])
        assert result.stdout == (
            f"registered {len(names)} modules in {project / 'modules' / 'ModRegistry.json'}: {', '.join(names)}\n"
        )
        assert result.stderr == (
            "warning: skipping project module 'modules.bad_decl': a source module has no input ports\n"
            "warning: skipping project module 'modules.broken': importing 'modules.broken' failed: "
            "No module named 'does_not_exist_anywhere'\n"
        )
        assert sorted(registry_file(project)) == names

    def test_project_module_usable_in_a_flow(self, modules_dir: Path, project: Path, cli: CliRunner) -> None:
        invoke(cli, "auto-register")
        (project / "in.csv").write_text("name\nana\nbo\n")
        (project / "flow.yaml").write_text(
            "flow: {name: shouting}\nmodules:\n"
            "  - {id: read, name: csv_source, configs: {required: {file_path: in.csv}}}\n"
            "  - {id: loud, name: shout}\n"
            "  - {id: write, name: csv_sink, configs: {required: {output_path: out/loud.csv}}}\n"
            "connections: {data: ['read.data - loud.input', 'loud.output - write.input']}\n"
        )
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        dag = json.loads((project / "jobs" / "shouting" / "shouting_dag.json").read_text())
        assert next(n for n in dag["nodes"] if n["id"] == "loud")["module_path"] == "modules.shout.Shout"
        result = invoke(cli, "run", "jobs/shouting", "--progress", "none", "--quiet")
        assert result.exit_code == 0, result.stderr
        assert (project / "out" / "loud.csv").read_text() == "name\nANA\nBO\n"


class TestListModules:
    def test_table_shows_every_builtin_with_its_description(self, project: Path, cli: CliRunner) -> None:
        result = invoke(cli, "list-modules")
        assert result.exit_code == 0
        assert "PYpeline modules" in result.stdout
        for name, path in BUILTIN_MODULES.items():
            assert name in result.stdout
            first_words = " ".join(load_module_class(path).DESCRIPTION.split()[:3])
            assert first_words in result.stdout, name

    def test_json(self, modules_dir: Path, project: Path, cli: CliRunner) -> None:
        invoke(cli, "register-module", "modules.shout")
        result = invoke(cli, "list-modules", "--json")
        assert result.exit_code == 0
        catalog = json.loads(result.stdout)
        assert set(catalog) == {*BUILTIN_MODULES, "shout"}
        assert catalog["shout"]["source"] == "registry"
        assert catalog["csv_source"]["source"] == "builtin"
        for name, path in BUILTIN_MODULES.items():
            assert catalog[name]["description"] == load_module_class(path).DESCRIPTION != ""
            assert catalog[name]["module_path"] == path

    def test_broken_registry_entry_is_skipped_with_a_warning(self, project: Path, cli: CliRunner) -> None:
        (project / "modules").mkdir()
        (project / "modules" / "ModRegistry.json").write_text('{"ghost": {"module_path": "gone_pkg.Ghost"}}')
        result = invoke(cli, "list-modules", "--json")
        assert result.exit_code == 0
        assert "ghost" not in json.loads(result.stdout)
        assert result.stderr == (
            "warning: skipping module 'ghost': module 'ghost' (registry) cannot be loaded from 'gone_pkg.Ghost': "
            "no Python module named 'gone_pkg'\n"
        )


class TestModuleClassDeclarations:
    """What ``validate_module_class`` reports for module authors' mistakes."""

    def make(self, **attrs: object) -> type:
        from pypeline import BaseModule

        return type("M", (BaseModule,), attrs)

    @pytest.mark.parametrize(
        ("attrs", "problem"),
        [
            ({"TYPE": "transform"}, "TYPE is 'transform', expected one of source, mod, sink, solo"),
            ({"TYPE": "source", "INPUT_PORTS": ["in"]}, "a source module has no input ports"),
            ({"TYPE": "solo", "OUTPUT_PORTS": ["out"]}, "a solo module has no output ports"),
            ({"TYPE": "sink", "INPUT_PORTS": ["in"], "OUTPUT_PORTS": ["out"]}, "a sink has no data output ports"),
            ({"TYPE": "mod", "OUTPUT_PORTS": "output"}, "OUTPUT_PORTS must be a list of strings"),
            ({"TYPE": "source", "OUTPUT_PORTS": ["a"], "LIST_OUTPUTS": ["b"]}, "LIST_OUTPUTS must name output ports"),
            ({"TYPE": "solo", "CONFIG_SCHEMA": {"required": {"x": {"type": "date"}}}},
             "CONFIG_SCHEMA['required']['x'] has an unknown type 'date'"),
            ({"TYPE": "solo", "CONFIG_SCHEMA": {"needed": {}}},
             "CONFIG_SCHEMA must be a dict with the keys 'required' and 'optional'"),
        ],
        ids=["type", "source-inputs", "solo-outputs", "sink-outputs", "ports-str", "list-outputs", "config-type",
             "config-sections"],
    )
    def test_problem(self, attrs: dict[str, object], problem: str) -> None:
        assert problem in validate_module_class(self.make(**attrs))

    def test_every_builtin_is_valid(self) -> None:
        for path in BUILTIN_MODULES.values():
            assert validate_module_class(load_module_class(path)) == [], path

    def test_registry_resolves_module_spelling_of_the_spec(self, project: Path) -> None:
        """The spec's registry example names a Python module, not a class."""
        info = Registry(project / "r.json").resolve("pypeline.modules.source.csv_source")
        assert info.module_path == "pypeline.modules.source.csv_source.CsvSource"
        assert textwrap.dedent(info.cls.DESCRIPTION)
