"""``pype run --dry-run`` flags problems before anything runs: wrong config types, missing inputs, refused outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pypeline.cli.cli import main
from pypeline.run.dryrun_checks import exists_now, input_sources
from tests.cli.test_dry_run import dead_vault
from tests.conftest import FlowHarness, write_csv

TYPES = """\
flow: {name: typed}
context:
  default: {n: 2, src: data/in.csv}
modules:
  - id: load
    name: csv_source
    configs: {required: {file_path: "{{context.src}}"}, optional: {skip_rows: "{{context.n}}"}}
  - id: later
    name: csv_source
    configs: {required: {file_path: data/in.csv}, optional: {skip_rows: "{{load__row_count}}"}}
  - id: secret
    name: csv_source
    configs: {required: {file_path: data/in.csv}, optional: {skip_rows: "{{vault.secret/app#n}}"}}
"""


def dry(cli: CliRunner, job: Path, *args: str) -> tuple[int, str]:
    result = cli.invoke(main, ["run", str(job), "--dry-run", *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_config_type_after_context(flows: FlowHarness, cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    dead_vault(monkeypatch)  # the secret is never fetched
    write_csv(Path("data/in.csv"), "a", ["1"])
    job = flows.build(TYPES)
    code, out = dry(cli, job)
    assert code == 0, out
    assert "problems" not in out
    assert '           skip_rows = "***"\n' in out  # a secret: never fetched, never judged
    code, out = dry(cli, job, "--set", "n=ten")
    assert code == 1, out
    assert '           skip_rows = "ten"\n' in out
    assert out.endswith(
        "\nproblems: 1 (pype run --dry-run exits 1)\n"
        "  - load: after templates were resolved, config 'skip_rows' has the wrong type: got str 'ten' "
        "(expected type int: Lines to skip at the start of each file)\n"
    ), out
    assert not (job / "runs").exists()


FILES = """\
flow: {name: files}
context:
  default: {out: out}
modules:
  - {id: load, name: csv_source, configs: {required: {file_path: data/in.csv}}}
  - {id: write, name: csv_sink, configs: {required: {output_path: "{{context.out}}/mid.csv"}}}
  - {id: again, name: csv_source, configs: {required: {file_path: "./out/../out/mid.csv"}}}
  - {id: keep, name: csv_sink, configs: {required: {output_path: data/in.csv}}}
  - {id: files, name: file_list, configs: {required: {directory: "data/old_*.csv"}}}
  - {id: gone, name: csv_source, configs: {required: {file_path: "{{iter.item}}"}}}
  - {id: each, name: csv_sink, configs: {required: {output_path: "parts/{{iter.index}}.csv"}}}
  - {id: part, name: csv_source, configs: {required: {file_path: parts/3.csv}}}
  - {id: show, name: log_sink}
connections:
  data: ["load.data - write.input", "again.data - keep.input", "gone.data - each.input", "part.data - show.input"]
  control:
    - {from: files, to: gone, order: 1, type: iterate, port: files}
"""


def test_missing_and_produced_inputs(flows: FlowHarness, cli: CliRunner) -> None:
    job = flows.build(FILES)
    code, out = dry(cli, job)
    assert code == 1, out
    assert "           reads  data/in.csv (written by keep)\n" in out
    assert "           reads  ./out/../out/mid.csv (written by write)\n" in out
    assert "           reads  data/old_*.csv (missing now)\n" in out
    assert "           reads  parts/3.csv (written by each)\n" in out
    assert "             reads  <iter.item>\n" in out  # a run-time template: not judged
    assert out.endswith(
        "\nproblems: 1 (pype run --dry-run exits 1)\n"
        "  - files: missing now: data/old_*.csv (no module of this job writes it; relative paths are read from "
        f"the working directory, {os.getcwd()}; docs/running.md#relative-paths)\n"
    ), out
    write_csv(Path("data/old_1.csv"), "a", ["1"])  # the glob matches a file now
    code, out = dry(cli, job)
    assert code == 0, out
    assert "           reads  data/old_*.csv\n" in out


OUTPUTS = """\
flow: {name: outputs}
modules:
  - {id: load, name: csv_source, configs: {required: {file_path: data/in.csv}}}
  - {id: write, name: csv_sink, configs: {required: {output_path: data/res.csv}}}
  - {id: folder, name: csv_sink, configs: {required: {output_path: data}}}
connections:
  data: ["load.data - write.input", "load.data - folder.input"]
"""


def test_output_folder_a_sink_would_refuse(flows: FlowHarness, cli: CliRunner) -> None:
    write_csv(Path("data/in.csv"), "a", ["1"])
    job = flows.build(OUTPUTS)
    write_csv(Path("data/res.csv/part-00000.csv"), "a", ["1"])  # the user's CSV files: no marker
    code, out = dry(cli, job)
    assert code == 1, out
    assert "           writes data/res.csv (refused)\n" in out
    assert "           writes data (refused)\n" in out  # no suffix is judged too: the rule is the marker
    assert out.endswith(
        "\nproblems: 2 (pype run --dry-run exits 1)\n"
        "  - folder: output path 'data' is an existing folder that holds other files ('data/in.csv'); expected "
        "a new path, a file, an empty folder or an earlier output of this job (with its _PYPELINE marker, "
        "docs/security.md#sinks-and-your-files): remove the folder or choose another output_path\n"
        "  - write: output path 'data/res.csv' is an existing folder that holds other files "
        "('data/res.csv/part-00000.csv'); expected a new path, a file, an empty folder or an earlier output "
        "of this job (with its _PYPELINE marker, docs/security.md#sinks-and-your-files): remove the folder or "
        "choose another output_path\n"
    ), out
    marker = {"pypeline_output": 1, "job": "outputs", "module": "write", "files": ["part-00000.csv"]}
    Path("data/res.csv/_PYPELINE").write_text(json.dumps(marker), encoding="utf-8")
    code, out = dry(cli, job)
    assert "           writes data/res.csv\n" in out  # an earlier output of this job: replaced
    Path("data/res.csv/notes.txt").write_text("mine", encoding="utf-8")
    code, out = dry(cli, job)
    assert "  - write: output path 'data/res.csv' is an earlier output of job 'outputs' but also holds " \
        "'data/res.csv/notes.txt', which that output did not write: move that file away, or choose another " \
        "output_path\n" in out


@pytest.mark.parametrize(
    ("read", "writes", "expected"),
    [
        ("out/a.csv", [("w", "out/a.csv")], ["w"]),
        ("out/a.csv", [("r", "out/a.csv")], []),  # the reader itself does not count
        ("out/./x/../a.csv", [("w", "out/a.csv")], ["w"]),
        ("out/dir/a.csv", [("w", "out/dir")], ["w"]),
        ("out", [("w", "out/a.csv")], ["w"]),
        ("out/*.csv", [("w", "out/a.csv"), ("v", "other/a.csv")], ["w"]),
        ("out/7.csv", [("w", "out/{{iter.index}}.csv")], ["w"]),
        ("out/a.csv", [("w", "out/ab.csv"), ("v", "out/a.csv.bak")], []),
    ],
)
def test_input_sources(project: Path, read: str, writes: list[tuple[str, str]], expected: list[str]) -> None:
    assert input_sources(read, "r", writes) == expected


def test_input_sources_absolute_and_relative(project: Path) -> None:
    assert input_sources(os.path.abspath("out/a.csv"), "r", [("w", "out/a.csv")]) == ["w"]
    assert input_sources("out/a.csv", "r", [("w", os.path.abspath("out/a.csv"))]) == ["w"]


def test_exists_now(project: Path) -> None:
    write_csv(Path("data/a.csv"), "a", [])
    assert exists_now("data/a.csv") and exists_now("data") and exists_now("data/*.csv")
    assert exists_now("data/**/*.csv")
    assert not exists_now("data/b.csv") and not exists_now("data/*.txt")
