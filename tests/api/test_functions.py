"""Plain functions as modules: declarations, parameter binding, and flows of functions that run, fail and resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import pypeline
from pypeline.api import Flow
from pypeline.modules.functions import function_module_class
from pypeline.modules.functions.adapter import FunctionDeclarationError, output_values
from pypeline.modules.functions.signature import type_spec
from pypeline.modules.loader import load_module_class
from tests.api import functions as fn

REPO = Path(__file__).parents[2]


class TestDeclaration:
    def test_the_decorator_returns_the_function_itself(self) -> None:
        assert fn.scale(pd.DataFrame({"n": [1, 2]}), factor=3)["n"].tolist() == [3, 6]

    def test_the_module_class_carries_the_function_path(self) -> None:
        cls = function_module_class(fn.scale)
        assert load_module_class("tests.api.functions.scale") is cls
        assert cls.describe()["module_path"] == "tests.api.functions.scale"
        assert (cls.TYPE, cls.INPUT_PORTS, cls.OUTPUT_PORTS) == ("mod", ["frame"], ["frame"])
        assert cls.DESCRIPTION == "n times factor (sync: called on the run's thread pool)."

    @pytest.mark.parametrize(
        ("function", "kind"),
        [(fn.numbers, "source"), (fn.scale, "mod"), (fn.collect, "sink"), (fn.gate, "solo")],
        ids=["outputs-only", "both", "inputs-only", "neither"],
    )
    def test_the_kind_follows_the_ports(self, function: Any, kind: str) -> None:
        assert function_module_class(function).TYPE == kind

    def test_configs_come_from_the_signature(self) -> None:
        assert function_module_class(fn.scale).CONFIG_SCHEMA == {"required": {"factor": {"type": "int"}},
                                                                  "optional": {}}
        assert function_module_class(fn.shift).CONFIG_SCHEMA == {
            "required": {}, "optional": {"offset": {"type": "int", "default": 0}}}
        assert function_module_class(fn.collect).CONFIG_SCHEMA["required"] == {"output_path": {"type": "str"}}

    @pytest.mark.parametrize(
        ("hint", "spec"),
        [(int, "int"), (float, "float"), (bool, "bool"), (str, "str"), (list[str], "list[str]"),
         (list[dict[str, int]], "list"), (dict[str, float], "dict[float]"), (int | None, "int|null"),
         (pd.DataFrame, "any"), (Any, "any"), (str | pd.DataFrame, "any")],
        ids=lambda value: str(value),
    )
    def test_annotations_become_config_types(self, hint: Any, spec: str) -> None:
        assert type_spec(hint) == spec

    def test_trakt_attributes_declare_a_module(self) -> None:
        cls = load_module_class("tests.api.functions.trakt_double")
        assert (cls.TYPE, cls.INPUT_PORTS, cls.OUTPUT_PORTS, cls.CONFIG_SCHEMA["required"]) == (
            "mod", ["input"], ["output"], {})

    @pytest.mark.parametrize(
        ("function", "problem"),
        [
            (fn.undeclared, "function 'undeclared' declares no ports: decorate it with @pypeline.module"),
            (fn.positional_only, "parameter 'frame' cannot be passed by name"),
            (fn.missing_parameter, "no parameter receives the input port 'other'"),
        ],
        ids=["undeclared", "positional-only", "unbound-input"],
    )
    def test_a_function_that_cannot_be_a_module_is_refused(self, function: Any, problem: str) -> None:
        with pytest.raises(FunctionDeclarationError, match=problem):
            function_module_class(function)

    def test_a_bad_declaration_fails_at_decoration(self) -> None:
        def f(a: int) -> int:
            return a

        with pytest.raises(TypeError, match=r"on 'TestDeclaration.*f': list_outputs must name output ports"):
            pypeline.module(outputs=["a"], list_outputs=["b"])(f)
        with pytest.raises(TypeError, match="a source module has no inputs"):
            pypeline.module(inputs=["a"], type="source")(f)


class TestOutputs:
    def test_one_port_takes_the_value_or_a_dict_naming_it(self) -> None:
        assert output_values(5, ["out"], "f") == {"out": 5}
        assert output_values({"out": 5}, ["out"], "f") == {"out": 5}
        assert output_values({"other": 5}, ["out"], "f") == {"out": {"other": 5}}

    def test_several_ports_need_a_dict_naming_each(self) -> None:
        assert output_values({"a": 1, "b": 2}, ["a", "b"], "f") == {"a": 1, "b": 2}
        with pytest.raises(TypeError, match=r"function 'f' returned int, expected a dict of its output ports"):
            output_values(3, ["a", "b"], "f")
        with pytest.raises(TypeError, match=r"returned the ports \['a'\], expected exactly \['a', 'b'\]"):
            output_values({"a": 1}, ["a", "b"], "f")

    def test_no_port_ignores_the_result(self) -> None:
        assert output_values("anything", [], "f") == {}


def pipeline(out: Path, marker: Path) -> Flow:
    """numbers -> scale (sync) -> shift (async) -> split -> two sinks; then gate -> a second sub flow."""
    flow = Flow("functions")
    source = flow.module("source", fn.numbers, configs={"count": 6})
    scaled = flow.module("scaled", fn.scale, configs={"factor": 10}, inputs={"frame": source["data"]})
    shifted = flow.module("shifted", fn.shift, configs={"offset": 1}, inputs={"frame": scaled})
    parts = flow.module("parts", fn.split, configs={"at": 35}, inputs={"frame": shifted})
    low = flow.module("low", fn.collect, configs={"output_path": str(out / "low.csv")}, inputs={"frame": parts["low"]})
    flow.module("high", fn.collect, configs={"output_path": str(out / "high.csv")}, inputs={"frame": parts["high"]})
    checked = flow.module("checked", fn.gate, configs={"marker": str(marker)})
    flow.control(low, checked)
    again = flow.module("again", fn.numbers, configs={"count": 2})
    flow.module("trakt", fn.trakt_double, inputs={"input": again["data"]})
    flow.module("final", fn.collect, configs={"output_path": str(out / "final.csv")}, inputs={"frame": "trakt.output"})
    flow.control(checked, again, condition="shifted__total > 0")
    return flow


class TestFlowOfFunctions:
    def test_runs_with_sync_and_async_functions(self, project: Path) -> None:
        (project / "ready").touch()
        report = pipeline(project / "out", project / "ready").run(project / "jobs")
        assert report.ok, report.errors
        assert pd.read_csv(project / "out" / "low.csv")["n"].tolist() == [11, 21, 31]
        assert pd.read_csv(project / "out" / "high.csv")["n"].tolist() == [41, 51, 61]
        assert pd.read_csv(project / "out" / "final.csv")["n"].tolist() == [2, 4]
        assert report.modules["shifted"].globals == {"total": 216}
        assert report.globals["shifted.total"] == 216
        assert (report.modules["scaled"].rows_in, report.modules["scaled"].rows_out) == (6, 6)
        assert report.modules["low"].rows_in == 3
        assert report.manifest_path == report.run_dir / "manifest.json"
        assert json.loads(report.manifest_path.read_text())["run_id"] == report.run_id

    def test_fails_then_resumes_only_what_did_not_finish(self, project: Path) -> None:
        flow = pipeline(project / "out", project / "ready")
        failed = flow.run(project / "jobs")
        assert failed.status == "failed" and not failed.ok
        assert failed.modules["checked"].status == "failed"
        assert "ready is missing" in (failed.modules["checked"].error or "")
        assert failed.resume_command == f"pype run {project / 'jobs' / 'functions'} --resume {failed.run_id}"
        assert "again" not in failed.modules
        with pytest.raises(pypeline.api.RunFailed, match=r"ready is missing.*resume with: pype run"):
            failed.raise_for_status()
        (project / "ready").touch()
        resumed = pypeline.run(project / "jobs" / "functions", resume=True)
        assert resumed.ok, resumed.errors
        assert resumed.manifest["resumed_from"] == failed.run_id
        statuses = {node: m.status for node, m in resumed.modules.items()}
        assert {n for n, s in statuses.items() if s == "restored"} == {"source", "scaled", "shifted", "parts", "low",
                                                                          "high"}
        assert {n for n, s in statuses.items() if s == "success"} == {"checked", "again", "trakt", "final"}
        assert pd.read_csv(project / "out" / "final.csv")["n"].tolist() == [2, 4]

    def test_pype_run_runs_and_resumes_the_folder(self, project: Path) -> None:
        """The job folder is the contract: the CLI runs a Python-built folder, function modules and all."""
        job = pipeline(project / "out", project / "ready").build(project / "jobs")
        pype = [str(Path(sys.executable).parent / "pype")]
        env = {"PYTHONPATH": str(REPO), "PATH": str(Path(sys.executable).parent)}
        failed = subprocess.run([*pype, "run", str(job), "--progress", "none", "--quiet"], cwd=project, env=env,
                                capture_output=True, text=True, timeout=120)
        assert failed.returncode == 1, failed.stderr
        assert "module 'checked': FileNotFoundError" in failed.stderr and "resume with: pype run" in failed.stderr
        (project / "ready").touch()
        resumed = subprocess.run([*pype, "run", str(job), "--resume", "--progress", "none", "--quiet"], cwd=project,
                                 env=env, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert pd.read_csv(project / "out" / "final.csv")["n"].tolist() == [2, 4]

    def test_a_function_error_is_a_module_error_with_retries(self, project: Path) -> None:
        flow = Flow("wrong").settings(retries=1, retry_delay=0)
        flow.module("source", fn.numbers)
        flow.module("bad", fn.wrong_ports, inputs={"frame": "source.data"})
        report = flow.run(project / "jobs")
        assert report.status == "failed"
        assert report.modules["bad"].attempts == 2
        assert "function 'wrong_ports' returned the ports ['extra', 'frame'], expected exactly ['frame', 'rest']" in (
            report.modules["bad"].error or "")

    def test_a_yaml_flow_names_a_function_by_its_path(self, project: Path) -> None:
        (project / "flow.yaml").write_text(
            "flow: {name: yaml_functions}\n"
            "modules:\n"
            "  - {id: source, name: tests.api.functions.numbers, configs: {optional: {count: 3}}}\n"
            "  - {id: scaled, name: tests.api.functions.scale, configs: {required: {factor: 2}}}\n"
            "  - {id: out, name: tests.api.functions.collect, configs: {required: {output_path: out.csv}}}\n"
            "connections:\n  data: [source.data - scaled.frame, scaled.frame - out.frame]\n",
            encoding="utf-8",
        )
        report = pypeline.load(project / "flow.yaml").run(project / "jobs")
        assert report.ok, report.errors
        assert pd.read_csv(project / "out.csv")["n"].tolist() == [2, 4, 6]

    def test_a_list_output_drives_an_iteration(self, project: Path) -> None:
        for name in ("a", "b"):
            (project / "in").mkdir(exist_ok=True)
            (project / "in" / f"{name}.csv").write_text("n\n1\n2\n", encoding="utf-8")
        flow = Flow("iterate")
        files = flow.module("files", fn.listing, configs={"folder": "in"})
        read = flow.module("read", "csv_source", configs={"file_path": "{{iter.item}}"})
        flow.module("write", fn.collect, configs={"output_path": "out/{{iter.index}}.csv"}, inputs={"frame": read})
        flow.control(files, read, type="iterate")
        report = flow.run(project / "jobs")
        assert report.ok, report.errors
        assert sorted(p.name for p in (project / "out").iterdir()) == ["0.csv", "1.csv"]
        assert report.modules["read#1"].rows_out == 2
