"""``pype run --dry-run``: the plan, rendered configs and files, without running or fetching anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from pypeline.cli.cli import main
from pypeline.modules.file_configs import file_configs
from tests.conftest import FlowHarness

FLOW = """\
flow: {name: planned, version: "0.3"}
context:
  default: {in_dir: data, env: dev}
  prod: {in_dir: /mnt/in, env: prod}
modules:
  - {id: files, name: file_list, configs: {required: {directory: "{{context.in_dir}}"}}}
  - id: load
    name: csv_source
    configs: {required: {file_path: "{{iter.item}}"}}
  - id: write
    name: csv_sink
    configs: {required: {output_path: "out/{{context.env}}/{{iter.index}}.csv"}}
  - id: secrets
    name: set_globals
    configs:
      required:
        values: {pw: "{{vault.secret/app/db#password}}", dsn: "pg://u:{{vault.secret/app/db#password}}@h",
                 rows: "{{files__file_count}}"}
connections:
  data: ["load.data - write.input"]
  control:
    - {from: files, to: load, order: 1, type: iterate, port: files}
    - "files (2|files__file_count > 0) secrets"
"""

EXPECTED = """\
dry run of job 'planned' (version 0.3), context 'prod'
nothing runs: no module is executed, no run folder is written, no secret is fetched

planned order (priority DFS over sub flows; modules by wave):
  1. sub flow files  (root)
       [wave 1] files: file_list (source)
           directory = "/mnt/in"
           fail_if_empty = false
           max_age_seconds = null
           max_size = null
           min_age_seconds = null
           min_size = null
           pattern = "*"
           recursive = false
           reverse = false
           sort = "name"
           storage_options = {}
           reads  /mnt/in (missing now)
  2.   sub flow load  via files (1|) load [iterate]
         [wave 1] load: csv_source (source)
"""


@pytest.fixture
def job(flows: FlowHarness) -> Path:
    return flows.build(FLOW)


def dead_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("VAULT_ADDR", f"http://127.0.0.1:{port}")  # nothing listens: a fetch would fail
    monkeypatch.setenv("VAULT_TOKEN", "t")


def test_dry_run_report(job: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    dead_vault(monkeypatch)
    result = cli.invoke(main, ["run", str(job), "--dry-run", "--context", "prod"], catch_exceptions=False)
    assert result.exit_code == 1, result.output  # /mnt/in is missing: a problem
    out = result.stdout
    assert out.startswith(EXPECTED), out
    load = out[out.index("[wave 1] load"):out.index("[wave 2] write")]
    assert '\n             file_path = "<iter.item>"\n' in load
    assert load.endswith("\n             reads  <iter.item>\n         ")
    write = out[out.index("[wave 2] write"):out.index("  3. ")]
    assert '\n             output_path = "out/prod/<iter.index>.csv"\n' in write
    assert write.endswith("\n             writes out/prod/<iter.index>.csv\n")
    assert "  3.   sub flow secrets  via files (2|files__file_count > 0) secrets\n" in out
    assert 'values = {"dsn": "pg://u:***@h", "pw": "***", "rows": "<files__file_count>"}' in out
    assert out.endswith(
        "reads  (2): /mnt/in, <iter.item>\nwrites (1): out/prod/<iter.index>.csv\n\n"
        "problems: 1 (pype run --dry-run exits 1)\n"
        "  - files: missing now: /mnt/in (no module of this job writes it)\n"
    )
    assert not (job / "runs").exists()


def test_set_overrides_and_bad_context(job: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    dead_vault(monkeypatch)
    Path("data").mkdir()  # the default context's in_dir exists: no problem, exit 0
    result = cli.invoke(main, ["run", str(job), "--dry-run", "--set", "env=qa"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "writes out/qa/<iter.index>.csv" in result.stdout
    assert "           reads  data\n" in result.stdout
    assert "problems" not in result.stdout
    result = cli.invoke(main, ["run", str(job), "--dry-run", "--context", "prd"])
    assert result.exit_code == 2
    assert "unknown context environment 'prd'; did you mean 'prod'?" in result.stderr
    assert not (job / "runs").exists()


@pytest.mark.parametrize(
    ("module_type", "configs", "reads", "writes"),
    [
        ("source", {"file_path": "a.csv", "encoding": "utf-8"}, ["a.csv"], []),
        ("sink", {"output_path": "o.csv", "header": True}, [], ["o.csv"]),
        ("solo", {"input_files": ["a", "b"], "output_dir": "o", "target_path": "t"}, ["a", "b"], ["o", "t"]),
        ("mod", {"lookup_path": "l.csv", "column": "x"}, ["l.csv"], []),
        ("source", {"paths": [1, "x"]}, ["x"], []),
    ],
    ids=["source", "sink", "solo", "mod", "mixed-list"],
)
def test_file_configs(module_type: str, configs: dict[str, object], reads: list[str], writes: list[str]) -> None:
    assert file_configs(module_type, configs) == (reads, writes)
