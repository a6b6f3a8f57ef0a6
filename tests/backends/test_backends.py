"""Backend table, strict execution options (build errors), and a plugin backend installed for real."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pypeline.backends.registry import BUILTIN_BACKENDS, backend_class, check_execution_block
from pypeline.core.errors import ConfigError
from tests.conftest import FlowHarness
from tests.plugin_site import install_plugin
from tests.plugin_site import pype as plugin_site_pype

PLUGIN = Path(__file__).parents[1] / "resources" / "executor_plugin"


def test_builtin_backends() -> None:
    assert sorted(BUILTIN_BACKENDS) == ["container", "dask", "docker", "glue", "lambda", "local"]
    for name in BUILTIN_BACKENDS:
        cls = backend_class(name)
        assert cls.name == name
        assert cls.OPTIONS_SCHEMA["additionalProperties"] is False


GOOD: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
    ({"backend": "local"}, None),
    ({"backend": "dask"}, None),
    ({"backend": "dask", "address": "tcp://10.0.0.5:8786", "connect_timeout": 5}, None),
    ({"backend": "lambda", "function_name": "fn", "staging": "s3://b/p"}, None),
    ({"backend": "lambda", "function_name": "fn"}, {"staging": "s3://b/p", "region": "eu-west-1"}),
    ({"backend": "glue", "job_name": "j", "staging": "s3://b", "role": "arn:x", "poll_interval": 2}, None),
    ({"backend": "container", "image": "localhost/w:1"}, None),
    ({"backend": "docker", "image": "w:1", "engine": "docker", "memory": "2g", "cpus": 1.5, "network": "host",
      "mounts": ["data:/data:ro", {"source": "out", "target": "/out", "read_only": False}], "env": {"A": 1},
      "ulimits": {"nofile": 1024, "nproc": "2048:4096"}, "read_only": False, "command": ["-m", "x"]}, None),
    ({"backend": "container"}, {"image": "/srv/rootfs", "engine": "podman", "runtime": "runc"}),
]
BAD: list[tuple[dict[str, Any], dict[str, Any] | None, str]] = [
    ({"backend": "dask", "adress": "tcp://x:1"}, None,
     "backend 'dask' has no option 'adress'; did you mean 'address'?"),
    ({"backend": "dask", "n_workers": "two"}, None, "backend 'dask' option n_workers: 'two' is not of type 'integer'"),
    ({"backend": "dask", "n_workers": 0}, None, "backend 'dask' option n_workers: 0 is less than the minimum of 1"),
    ({"backend": "lambda", "staging": "s3://b"}, None, "'function_name' is a required property"),
    ({"backend": "lambda", "function_name": "f", "staging": "/tmp/x"}, None, "option staging: '/tmp/x' does not match"),
    ({"backend": "lambda", "function_name": "f", "staging": "s3://b", "read_timeout": 0}, None,
     "option read_timeout: 0 is less than or equal to the minimum of 0"),
    ({"backend": "glue", "job_name": "j", "staging": "s3://b", "command": "spark"}, None,
     "option command: 'spark' is not one of ['glueetl', 'pythonshell']"),
    ({"backend": "glue", "staging": "s3://b"}, {"job_name": 3}, "option job_name: 3 is not of type 'string'"),
    ({"backend": "lamda"}, None, "unknown execution backend 'lamda'; did you mean 'lambda'?"),
    ({"backend": "container"}, None, "'image' is a required property"),
    ({"backend": "container", "image": "w", "engine": "lxc"}, None, "option engine: 'lxc' is not one of"),
    ({"backend": "docker", "image": "w", "memory": "lots"}, None, "option memory: 'lots' does not match"),
    ({"backend": "container", "image": "w", "mounts": ["data"]}, None, "option mounts.0: 'data' is not valid"),
    ({"backend": "container", "image": "w", "network": ""}, None, "option network: '' should be non-empty"),
    ({"backend": "container", "image": "w", "imgae": "x"}, None,
     "backend 'container' has no option 'imgae'; did you mean 'image'?"),
]


class TestExecutionBlock:
    @pytest.mark.parametrize(("block", "defaults"), GOOD, ids=[str(i) for i in range(len(GOOD))])
    def test_valid(self, block: dict[str, object], defaults: dict[str, object] | None) -> None:
        assert check_execution_block(block, defaults) is None

    @pytest.mark.parametrize(
        ("block", "defaults", "message"), BAD, ids=[f"{b[0]['backend']}{i}" for i, b in enumerate(BAD)]
    )
    def test_invalid(self, block: dict[str, object], defaults: dict[str, object] | None, message: str) -> None:
        problem = check_execution_block(block, defaults)
        assert problem is not None and message in problem, problem

    def test_bad_option_is_a_build_error_with_the_line(self, flows: FlowHarness) -> None:
        text = """
        flow: {name: bad_backend}
        modules:
          - id: src
            name: empty_source
          - id: work
            name: noop_mod
            execution: {backend: lambda, function_name: fn, staging: "s3://b/p", retries: 3}
        connections:
          data: ["src.data - work.input"]
        """
        with pytest.raises(ConfigError) as caught:
            flows.validate(text)
        message = caught.value.format_message()
        assert message.endswith(
            "flow.yaml:8: module 'work': backend 'lambda' has no option 'retries' (options: endpoint_url, "
            "function_name, inline_limit, keep_staged, qualifier, read_timeout, region, s3_endpoint_url, staging)"
        ), message
        assert caught.value.exit_code == 2

    def test_settings_backends_supply_required_options(self, flows: FlowHarness) -> None:
        plan = flows.validate(
            """
            flow: {name: defaults}
            settings: {backends: {lambda: {function_name: fn, staging: "s3://b/p"}}}
            modules:
              - {id: src, name: empty_source}
              - {id: work, name: noop_mod, execution: {backend: lambda}}
            connections:
              data: ["src.data - work.input"]
            """
        )
        assert len(plan.modules) == 2


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_plugin(tmp_path_factory, PLUGIN)


def pype(project: Path, *args: str, site: Path | None) -> subprocess.CompletedProcess[str]:
    return plugin_site_pype(project, *args, site=site, registry=project / "ModRegistry.json")


PLUGIN_FLOW = """
flow: {name: plugin_backend}
modules:
  - {id: src, name: text_source, configs: {required: {file_path: in.txt}}}
  - id: work
    name: regex_filter_mod
    configs: {required: {pattern: "^keep"}}
    execution: EXECUTION
  - {id: out, name: text_sink, configs: {required: {output_path: out/kept.txt}}}
connections:
  data: ["src.data - work.input", "work.output - out.input"]
"""


@pytest.mark.slow
class TestPluginBackend:
    def write(self, project: Path, execution: str) -> Path:
        (project / "in.txt").write_text("keep a\ndrop b\nkeep c\n", encoding="utf-8")
        flow = project / "flow.yaml"
        flow.write_text(textwrap.dedent(PLUGIN_FLOW).replace("EXECUTION", execution), encoding="utf-8")
        return flow

    def test_plugin_backend_runs_a_module(self, tmp_path: Path, plugin_site: Path) -> None:
        self.write(tmp_path, "{backend: inline, tag: demo}")
        built = pype(tmp_path, "build", "flow.yaml", site=plugin_site)
        assert built.returncode == 0, built.stderr
        ran = pype(tmp_path, "run", "jobs/plugin_backend", "--progress", "none", site=plugin_site)
        assert ran.returncode == 0, ran.stderr
        assert (tmp_path / "out" / "kept.txt").read_text().splitlines() == ["keep a", "keep c"]
        runs = list((tmp_path / "jobs" / "plugin_backend" / "runs").iterdir())
        manifest = json.loads((runs[0] / "manifest.json").read_text())
        assert manifest["modules"]["work"]["backend"] == "inline"
        assert manifest["modules"]["work"]["stats"]["ran_by"] == "inline:demo"

    def test_plugin_options_are_checked_at_build(self, tmp_path: Path, plugin_site: Path) -> None:
        self.write(tmp_path, "{backend: inline, tga: demo}")
        built = pype(tmp_path, "build", "flow.yaml", site=plugin_site)
        assert built.returncode == 2
        assert "module 'work': backend 'inline' has no option 'tga'; did you mean 'tag'? (options: tag)" in built.stderr

    def test_without_the_plugin_the_backend_is_unknown(self, tmp_path: Path) -> None:
        self.write(tmp_path, "{backend: inline, tag: demo}")
        built = pype(tmp_path, "build", "flow.yaml", site=None)
        assert built.returncode == 2
        known = "container, dask, docker, glue, lambda, local"
        assert f"unknown execution backend 'inline' (known: {known})" in built.stderr

    def test_a_plugin_that_fails_to_import_is_a_build_error(self, tmp_path: Path, plugin_site: Path) -> None:
        self.write(tmp_path, "{backend: broken}")
        built = pype(tmp_path, "build", "flow.yaml", site=plugin_site)
        assert built.returncode == 2
        assert "execution backend 'broken' cannot be loaded: No module named 'pypeline_missing_dependency'" in (
            built.stderr
        )
