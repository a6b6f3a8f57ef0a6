"""The module library through the real build and run: both examples in dask mode, the PostgreSQL
variant, build-time config checks with file and line, run-time data errors, events in the manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import FlowHarness, invoke
from tests.examples.module_example_checks import CHECKS
from tests.modules.pg_server import PgServer

REPO = Path(__file__).parents[2]


def example_in(project: Path, name: str, mode: str) -> str:
    """Copy ``examples/<name>`` into the project and return its flow text with ``execution_mode`` set."""
    shutil.copytree(REPO / "examples" / name, project / "examples" / name)
    text = (project / "examples" / name / "flow.yaml").read_text()
    if "settings:" in text:
        return text.replace("settings:\n", f"settings:\n  execution_mode: {mode}\n", 1)
    return text.replace("modules:\n", f"settings:\n  execution_mode: {mode}\n\nmodules:\n", 1)


@pytest.mark.parametrize("mode", ["pandas", "dask"])
@pytest.mark.parametrize("name", ["orders_etl", "petal_json"])
async def test_examples_in_both_modes(flows: FlowHarness, name: str, mode: str) -> None:
    result = await flows.run(example_in(flows.root, name, mode))
    assert result.status == "success", result.manifest["errors"]
    assert result.manifest["execution_mode"] == mode
    CHECKS[name](flows.root, result.manifest)


@pytest.mark.slow
async def test_orders_example_on_postgresql(flows: FlowHarness, pg_url: str, pg_server: PgServer) -> None:
    result = await flows.run(example_in(flows.root, "orders_etl", "pandas"), overrides={"db_url": pg_url})
    assert result.status == "success", result.manifest["errors"]
    import sqlalchemy

    engine = sqlalchemy.create_engine(pg_url)
    with engine.connect() as conn:
        rows = sorted(conn.exec_driver_sql(
            "SELECT country, month, orders, round(revenue::numeric, 2)::float, customers FROM revenue_by_country"))
        keys = conn.exec_driver_sql(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'customers'::regclass AND i.indisprimary").all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("DE", "2024-01", 1, 50.0, 1), ("DE", "2024-03", 1, 75.0, 1), ("FR", "2024-01", 1, 39.8, 1),
        ("FR", "2024-02", 2, 180.0, 2), ("FR", "2024-03", 1, 120.0, 1), ("IT", "2024-02", 1, 29.97, 1),
    ]
    assert [k[0] for k in keys] == ["customer_id"]
    log = (result.run_dir / "log.jsonl").read_text()
    modules = json.dumps(result.manifest["modules"])
    for text in (log, modules):  # what the modules report never carries the password
        assert pg_server.password not in text and "p%40ss" not in text
    assert "postgresql+psycopg://pype:***@" in modules


class TestErrorsThroughTheCli:
    FLOW = """
        flow: {{name: bad}}
        modules:
          - id: read
            name: csv_source
            configs:
              required: {{file_path: data/in.csv}}
          - id: typed
            name: cast_mod
            configs:
              required: {{types: {{amount: {type}}}}}
          - id: write
            name: csv_sink
            configs:
              required: {{output_path: out/x.csv}}
        connections:
          data: ["read.data - typed.input", "typed.output - write.input"]
        """

    def test_a_config_the_schema_cannot_check_fails_the_build_with_its_line(self, project: Path,
                                                                            cli: CliRunner) -> None:
        (project / "flow.yaml").write_text(self.FLOW.format(type="integer").replace("\n        ", "\n"))
        result = invoke(cli, "validate", "flow.yaml")
        assert result.exit_code == 2
        assert result.stderr == (
            "error: flow.yaml:10: module 'typed' (cast_mod): types.amount: unknown type 'integer' "
            "(expected one of int, float, str, bool, datetime, date)\n"
        )

    def test_a_value_that_does_not_convert_fails_the_run_naming_module_and_value(self, project: Path,
                                                                               cli: CliRunner) -> None:
        (project / "data").mkdir()
        (project / "data" / "in.csv").write_text("amount\n1\nabc\n")
        (project / "flow.yaml").write_text(self.FLOW.format(type="int").replace("\n        ", "\n"))
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        result = invoke(cli, "run", "jobs/bad", "--quiet", "--progress", "none")
        assert result.exit_code == 1
        assert result.stderr.startswith(
            "error: module 'typed': column 'amount': 1 value(s) do not convert to int, first 'abc' (row 1) "
            "(set on_error: null or drop to keep going)\n"
        ), result.stderr
        assert "Traceback" not in result.stderr
        assert not (project / "out" / "x.csv").exists()


async def test_sensor_condition_and_missing_column_event(flows: FlowHarness) -> None:
    (flows.root / "in").mkdir()
    (flows.root / "in" / "people.csv").write_text("id,name\n1,ana\n2,ben\n")
    result = await flows.run(
        """
        flow: {name: sensor}
        modules:
          - {id: wait, name: wait_for_file, configs: {required: {file_path: "in/*.csv"},
                                                      optional: {timeout: 5, poll_interval: 0.05}}}
          - {id: read, name: csv_source, configs: {required: {file_path: "{{wait__file_path}}"}}}
          - {id: pick, name: select_mod, configs: {optional: {keep: [id, email], optional: [email],
                                                               fill_missing: true}}}
          - {id: show, name: log_sink, configs: {optional: {rows: 1}}}
          - {id: never, name: fail_mod}
        connections:
          data: ["read.data - pick.input", "pick.output - show.input"]
          control:
            - "wait (1|wait__found) read"
            - "wait (2|not wait__found) never"
        """
    )
    assert result.status == "success", result.manifest["errors"]
    modules = result.manifest["modules"]
    assert modules["wait"]["globals"]["found"] is True
    assert modules["pick"]["events"] == [{"name": "missing_column", "column": "email", "filled": True}]
    assert modules["show"]["globals"] == {"row_count": 2}
    log = (result.run_dir / "log.jsonl").read_text()
    preview = [json.loads(line) for line in log.splitlines() if '"event":"preview"' in line]
    assert preview[0]["rows"] == [{"id": 1, "email": None}] and preview[0]["total_rows"] == 2
    assert any(json.loads(line).get("event") == "missing_column" for line in log.splitlines())
    assert [s["instance"] for s in result.manifest["subflows"] if s["status"] == "skipped"] == ["never"]
