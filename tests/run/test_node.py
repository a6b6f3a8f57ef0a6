"""One node's life: outputs checked against the declared ports, setup/teardown, rows and files in the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FlowHarness, write_csv
from tests.run.flowtext import PROBE_SINK, flow, mod
from tests.run.probes import read_events


class TestOutputs:
    @pytest.mark.parametrize(("kind", "message"), [
        ("not_a_dict", "TypeError: run() returned list, expected a dict of output port -> value"),
        ("unknown_port", "TypeError: run() returned unknown output port(s) ['extra']; declared: ['data']"),
        ("missing", "TypeError: run() returned no value for connected output port(s) ['data']"),
    ], ids=["not-a-dict", "undeclared-port", "connected-port-missing"])
    async def test_bad_outputs_fail_the_module_with_a_clear_error(
        self, flows: FlowHarness, kind: str, message: str
    ) -> None:
        text = flow("badout", [
            "  - " + json.dumps({"id": "src", "name": "tests.run.probes.BadOutputs",
                                 "configs": {"required": {"kind": kind}}}),
            mod("sink", PROBE_SINK),
        ], data=["src.data - sink.input"])
        result = await flows.run(text)
        assert result.status == "failed"
        node = result.manifest["modules"]["src"]
        assert node["error"] == message
        assert "sink" not in result.manifest["modules"] or result.manifest["modules"]["sink"]["status"] != "success"


class TestLifecycle:
    async def test_teardown_runs_after_a_failed_setup(self, flows: FlowHarness) -> None:
        result = await flows.run(flow("setupfail", [mod("a", fail_setup=True)]))
        assert result.status == "failed"
        assert result.manifest["modules"]["a"]["error"] == "ConnectionError: setup could not connect"
        assert read_events(flows.root / "events.log") == ["setup-failed a", "teardown a"]


class TestRecordedFacts:
    async def test_rows_files_duration_in_the_manifest(self, flows: FlowHarness, data_dir: Path) -> None:
        write_csv(data_dir / "a.csv", "name,age", ["ana,17", "ben,30", "cy,45"])
        result = await flows.run("""
            flow: {name: facts}
            modules:
              - {id: read, name: csv_source, configs: {required: {file_path: data/a.csv}}}
              - {id: adults, name: filter_mod, configs: {required: {condition: "age >= 18"}}}
              - {id: write, name: csv_sink, configs: {required: {output_path: out/adults.csv}}}
            connections:
              data: ["read.data - adults.input", "adults.output - write.input"]
        """)
        assert result.status == "success"
        modules = result.manifest["modules"]
        assert (modules["read"]["rows_in"], modules["read"]["rows_out"]) == (None, 3)
        assert (modules["adults"]["rows_in"], modules["adults"]["rows_out"]) == (3, 2)
        assert modules["write"]["rows_in"] == 2
        assert modules["read"]["files_read"] == ["data/a.csv"]
        assert modules["write"]["files_written"] == ["out/adults.csv"]
        for node in modules.values():
            assert node["status"] == "success" and node["attempts"] == 1 and node["error"] is None
            assert node["duration_ms"] >= 0 and node["started"] <= node["ended"]
        sub = result.manifest["subflows"]
        assert [(s["instance"], s["status"], s["iter_path"]) for s in sub] == [("read", "success", [])]
