"""OpenTelemetry spans of a run, captured with the SDK's in-memory exporter (and one real OTLP export)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from tests.conftest import FlowHarness, write_csv
from tests.otlp_receiver import OtlpReceiver

REPO = Path(__file__).resolve().parents[3]

FLOW = """\
flow: {name: traced, version: "3.2.1"}
settings: {retry_delay: 0.01, fail_strategy: continue}
modules:
  - {id: read, name: csv_source, configs: {required: {file_path: data/people.csv}}}
  - {id: fix, name: tests.run.observe.coercer.Coercer, configs: {required: {column: age}}}
  - {id: adults, name: filter_mod, configs: {required: {condition: "age >= 18"}}}
  - {id: write, name: csv_sink, configs: {required: {output_path: out/adults.csv}}}
  - {id: items, name: tests.run.probes.ProbeSource, configs: {optional: {items: [a, b]}}}
  - {id: each, name: tests.run.probes.Probe}
  - {id: flaky, name: tests.run.probes.Probe, retries: 2, configs: {optional: {fail_attempts: 1}}}
  - {id: broken, name: tests.run.probes.Probe, configs: {optional: {fail: true}}}
  - {id: never, name: tests.run.probes.Probe}
connections:
  data: ["read.data - fix.input", "fix.output - adults.input", "adults.output - write.input"]
  control:
    - "write (1|) items"
    - {from: items, to: each, order: 1, type: iterate, port: items}
    - "items (2|) flaky"
    - "flaky (1|) broken"
    - "broken (1|) never"
"""


def tracer() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, list[ReadableSpan]]:
    found: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        found.setdefault(span.name, []).append(span)
    return found


@pytest.fixture
def traced_run(flows: FlowHarness, data_dir: Path) -> Any:
    write_csv(data_dir / "people.csv", "name,age", ["ana,17", "ben,30", "cy,x", "dee,45"])

    async def go() -> tuple[Any, dict[str, list[ReadableSpan]]]:
        provider, exporter = tracer()
        result = await flows.run(FLOW, tracer_provider=provider)
        return result, by_name(exporter.get_finished_spans())

    return go


class TestSpanTree:
    async def test_run_subflow_module_hierarchy(self, traced_run: Any) -> None:
        result, spans = await traced_run()
        (run,) = spans["run traced"]
        assert run.parent is None
        assert run.attributes["pipeline.name"] == "traced"
        assert run.attributes["pipeline.version"] == "3.2.1"
        assert run.attributes["run.id"] == result.run_id
        assert run.attributes["run.status"] == "failed"
        assert run.status.status_code is StatusCode.ERROR
        for sub in spans["subflow read"] + spans["subflow each"]:
            assert sub.parent.span_id == run.context.span_id
            assert sub.context.trace_id == run.context.trace_id
        (read_sub,) = spans["subflow read"]
        for name in ("module read", "module fix", "module adults", "module write"):
            (module,) = spans[name]
            assert module.parent.span_id == read_sub.context.span_id
            assert module.start_time >= read_sub.start_time and module.end_time <= read_sub.end_time

    async def test_module_attributes(self, traced_run: Any) -> None:
        _result, spans = await traced_run()
        (adults,) = spans["module adults"]
        attrs = dict(adults.attributes)
        assert attrs["module.id"] == "adults"
        assert attrs["module.name"] == "filter_mod"
        assert attrs["pipeline.name"] == "traced" and attrs["pipeline.version"] == "3.2.1"
        assert (attrs["rows.in"], attrs["rows.out"]) == (4, 2)
        assert attrs["backend"] == "local" and attrs["attempt"] == 1
        assert isinstance(attrs["duration.ms"], float) and attrs["duration.ms"] >= 0
        (write,) = spans["module write"]
        assert write.attributes["files.written"] == ("out/adults.csv",)
        assert adults.status.status_code is StatusCode.UNSET

    async def test_iterations_are_separate_instances(self, traced_run: Any) -> None:
        _result, spans = await traced_run()
        each_subs = sorted(spans["subflow each"], key=lambda s: s.attributes["subflow.instance"])
        assert [s.attributes["subflow.instance"] for s in each_subs] == ["each#0", "each#1"]
        assert [tuple(s.attributes["iter.path"]) for s in each_subs] == [(0,), (1,)]
        modules = sorted(spans["module each"], key=lambda s: s.attributes["node.id"])
        assert [m.attributes["node.id"] for m in modules] == ["each#0", "each#1"]
        assert [m.parent.span_id for m in modules] == [s.context.span_id for s in each_subs]

    async def test_warning_events(self, traced_run: Any) -> None:
        _result, spans = await traced_run()
        (fix,) = spans["module fix"]
        assert [(e.name, dict(e.attributes or {})) for e in fix.events] == [
            ("coercion", {"column": "age", "to": "Int64", "nulls_added": 1})
        ]

    async def test_retries_and_errors(self, traced_run: Any) -> None:
        _result, spans = await traced_run()
        (flaky,) = spans["module flaky"]
        assert flaky.attributes["attempt"] == 2
        assert flaky.status.status_code is StatusCode.UNSET
        assert [e.name for e in flaky.events] == ["attempt_failed", "retry"]
        assert flaky.events[0].attributes["error"] == "RuntimeError: flaky failed on purpose"
        (broken,) = spans["module broken"]
        assert broken.status.status_code is StatusCode.ERROR
        assert broken.status.description == "RuntimeError: broken failed on purpose"
        exception = [e for e in broken.events if e.name == "exception"]
        assert [dict(e.attributes) for e in exception] == [
            {"exception.type": "ModuleError", "exception.message": "RuntimeError: broken failed on purpose"}
        ]
        (broken_sub,) = spans["subflow broken"]
        assert broken_sub.status.status_code is StatusCode.ERROR

    async def test_skipped_subflow_has_a_span(self, traced_run: Any) -> None:
        _result, spans = await traced_run()
        (never,) = spans["subflow never"]
        assert never.attributes["subflow.status"] == "skipped"
        assert "broken" in never.attributes["subflow.reason"]
        assert "module never" not in spans


class TestSwitch:
    def test_no_opentelemetry_import_when_off(self, project: Path) -> None:
        """Zero cost when off: a whole run (and the CLI) never imports opentelemetry."""
        write_csv(project / "data" / "people.csv", "name,age", ["ana,17"])
        (project / "flow.yaml").write_text(
            "flow: {name: plain}\nmodules:\n  - {id: read, name: csv_source, configs: {required: "
            "{file_path: data/people.csv}}}\n",
            encoding="utf-8",
        )
        script = textwrap.dedent(
            """
            import sys
            from pypeline.cli.cli import entry
            for args in (["build", "flow.yaml"], ["run", "jobs/plain", "--progress", "none", "--quiet"],
                         ["run", "jobs/plain", "--no-otel", "--progress", "none", "--quiet"]):
                try:
                    entry(args)
                except SystemExit as exc:
                    assert exc.code in (0, None), exc.code
            loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
            print("loaded:", loaded)
            assert not loaded
            """
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env["PYTHONPATH"] = str(REPO)
        done = subprocess.run([sys.executable, "-c", script], cwd=project, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"  # set, but --no-otel wins
        script_no = script.replace('["run", "jobs/plain", "--progress", "none", "--quiet"],', "")
        done = subprocess.run([sys.executable, "-c", script_no], cwd=project, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()

    def test_enabled_by_option_or_environment(self) -> None:
        from pypeline.run.observe.telemetry import tracing_enabled

        assert tracing_enabled(None, {}) is False
        assert tracing_enabled(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) is True
        assert tracing_enabled(None, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}) is True
        assert tracing_enabled(False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) is False
        assert tracing_enabled(True, {}) is True


@pytest.mark.slow
def test_otlp_http_export_reaches_a_collector(project: Path) -> None:
    """``pype run --otel`` sends protobuf spans over OTLP/HTTP; a local receiver decodes them."""
    write_csv(project / "data" / "people.csv", "name,age", ["ana,17", "ben,30"])
    (project / "flow.yaml").write_text(
        textwrap.dedent(
            """\
            flow: {name: exported, version: "1.0"}
            modules:
              - {id: read, name: csv_source, configs: {required: {file_path: data/people.csv}}}
              - {id: write, name: csv_sink, configs: {required: {output_path: out/people.csv}}}
              - {id: after, name: tests.run.probes.Probe}
            connections:
              data: ["read.data - write.input"]
              control: ["write (1|) after"]
            """
        ),
        encoding="utf-8",
    )
    pype = str(Path(sys.executable).parent / "pype")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(REPO)
    env["PYPELINE_REGISTRY"] = str(project / "ModRegistry.json")
    with OtlpReceiver() as receiver:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        subprocess.run([pype, "build", "flow.yaml"], cwd=project, env=env, check=True, capture_output=True)
        done = subprocess.run(
            [pype, "run", "jobs/exported", "--otel", "--quiet", "--progress", "none"],
            cwd=project, env=env, capture_output=True, timeout=120,
        )
    assert done.returncode == 0, done.stderr.decode()
    assert receiver.resources and receiver.resources[0]["service.name"] == "pypeline"
    spans = {s["name"]: s for s in receiver.spans}
    assert set(spans) == {
        "run exported", "subflow read", "subflow after", "module read", "module write", "module after"
    }
    run = spans["run exported"]
    assert run["parent_id"] == "" and run["attributes"]["pipeline.version"] == "1.0"
    assert {s["trace_id"] for s in receiver.spans} == {run["trace_id"]}
    assert spans["subflow read"]["parent_id"] == run["span_id"]
    assert spans["module write"]["parent_id"] == spans["subflow read"]["span_id"]
    assert spans["module read"]["attributes"]["rows.out"] == 2
    assert spans["module write"]["attributes"]["rows.in"] == 2
    assert {s["scope"] for s in receiver.spans} == {"pypeline"}
    assert json.loads(json.dumps(receiver.spans))  # plain data


@pytest.mark.slow
async def test_events_of_a_remote_module_become_span_events(flows: FlowHarness, data_dir: Path) -> None:
    write_csv(data_dir / "people.csv", "name,age", ["ana,17", "ben,x"])
    provider, exporter = tracer()
    result = await flows.run(
        """
        flow: {name: remote_events}
        settings: {dask: {n_workers: 1}}
        modules:
          - {id: read, name: csv_source, configs: {required: {file_path: data/people.csv}}}
          - id: fix
            name: tests.run.observe.coercer.Coercer
            configs: {required: {column: age}}
            execution: {backend: dask}
        connections: {data: ["read.data - fix.input"]}
        """,
        tracer_provider=provider,
    )
    assert result.status == "success", result.manifest["errors"]
    (fix,) = by_name(exporter.get_finished_spans())["module fix"]
    assert (fix.attributes or {})["backend"] == "dask"
    assert [(e.name, dict(e.attributes or {})) for e in fix.events] == [
        ("coercion", {"column": "age", "to": "Int64", "nulls_added": 1})
    ]
