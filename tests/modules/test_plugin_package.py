"""A plugin module shipped as its own package, installed for real, found through ``pypeline.modules``.

``tests/resources/plugin_pkg`` is a separate distribution (``pypeline-plugin-demo``)
with two entry points: ``upper_mod`` (a working transform) and ``broken_mod``
(a module that fails to import). pip installs it into a folder of its own; the
``pype`` processes see it only through ``PYTHONPATH``, so importlib.metadata
finds its dist-info exactly as for a package installed in site-packages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugin_site import install_plugin, pype

PLUGIN = Path(__file__).parents[1] / "resources" / "plugin_pkg"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_plugin(tmp_path_factory, PLUGIN)


def test_installed_as_a_distribution(plugin_site: Path) -> None:
    assert sorted(p.name for p in plugin_site.glob("*.dist-info")) == ["pypeline_plugin_demo-0.1.0.dist-info"]
    entry_points = (plugin_site / "pypeline_plugin_demo-0.1.0.dist-info" / "entry_points.txt").read_text()
    assert "[pypeline.modules]" in entry_points


def test_auto_register_finds_the_plugin_and_skips_the_broken_one(plugin_site: Path, tmp_path: Path) -> None:
    done = pype(tmp_path, "auto-register", site=plugin_site)
    assert done.returncode == 0, done.stderr
    registry = json.loads((tmp_path / "modules" / "ModRegistry.json").read_text())
    assert registry["upper_mod"]["module_path"] == "pypeline_plugin_demo.upper.UpperMod"
    assert registry["upper_mod"]["category"] == "Plugins"
    assert "broken_mod" not in registry
    assert done.stderr == (
        "warning: skipping plugin 'broken_mod' (pypeline_plugin_demo.broken.BrokenMod): importing "
        "'pypeline_plugin_demo.broken.BrokenMod' failed: ImportError: this demo plugin module is broken on purpose\n"
    )


def test_list_modules_shows_it(plugin_site: Path, tmp_path: Path) -> None:
    done = pype(tmp_path, "list-modules", "--json", site=plugin_site)
    assert done.returncode == 0, done.stderr
    catalog = json.loads(done.stdout)
    assert catalog["upper_mod"]["source"] == "plugin"
    assert catalog["upper_mod"]["description"] == "Upper-cases one text column (demo plugin)"
    assert "broken_mod" not in catalog
    assert "warning: skipping module 'broken_mod'" in done.stderr
    table = pype(tmp_path, "list-modules", site=plugin_site)
    assert "upper_mod" in table.stdout and "plugin" in table.stdout


def test_not_found_without_the_install(tmp_path: Path) -> None:
    done = pype(tmp_path, "list-modules", "--json", site=None)
    assert done.returncode == 0
    assert "upper_mod" not in json.loads(done.stdout)


def test_usable_in_a_flow(plugin_site: Path, tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("name,city\nana,lyon\nbo,oslo\n")
    (tmp_path / "flow.yaml").write_text(
        "flow: {name: plugin_flow}\nmodules:\n"
        "  - {id: read, name: csv_source, configs: {required: {file_path: people.csv}}}\n"
        "  - {id: loud, name: upper_mod, configs: {required: {column: city}}}\n"
        "  - {id: write, name: csv_sink, configs: {required: {output_path: out/loud.csv}}}\n"
        "connections: {data: ['read.data - loud.input', 'loud.output - write.input']}\n"
    )
    assert pype(tmp_path, "build", "flow.yaml", site=plugin_site).returncode == 0
    dag = json.loads((tmp_path / "jobs" / "plugin_flow" / "plugin_flow_dag.json").read_text())
    assert next(n for n in dag["nodes"] if n["id"] == "loud")["module_path"] == "pypeline_plugin_demo.upper.UpperMod"
    run = pype(tmp_path, "run", "jobs/plugin_flow", "--progress", "none", "--quiet", site=plugin_site)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "loud.csv").read_text() == "name,city\nana,LYON\nbo,OSLO\n"
    missing = pype(tmp_path, "validate", "flow.yaml", site=None)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: flow.yaml:4: module 'loud': unknown module 'upper_mod'")
