"""``include:`` with ``params:``: flows inlined at build time, run for real, and every include mistake.

Each mistake is one ``pype validate`` message with exit code 2 naming the
file and line where it was written and, inside an included file, the chain
of includes that led there.
"""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pypeline.core.expressions import ExpressionError, parse_expression
from pypeline.core.references import Reference, ReferenceSyntaxError, parse_reference
from tests.conftest import invoke, write_csv

PART = """\
flow: {name: clean_part}
params:
  source: {}
  min_amount: {default: 0, description: rows at or below it are dropped}
  out: {}
  min_rows: {default: 0}
ports:
  entry: load
  exit: note
modules:
  - {id: load, name: csv_source, configs: {required: {file_path: "{{params.source}}"}}}
  - {id: keep, name: filter_mod, configs: {required: {condition: "amount > {{params.min_amount}}"}}}
  - {id: write, name: csv_sink, configs: {required: {output_path: "{{params.out}}"}}}
  - {id: note, name: set_globals, configs: {required: {values: {rows: "{{write__row_count}}"}}}}
connections:
  data: ["load.data - keep.input", "keep.output - write.input"]
  control: ["write (1|keep__row_count > {{params.min_rows}}) note"]
"""

MAIN = """\
flow: {name: two_regions}
context: {default: {out: out}}
modules:
  - id: east
    include: parts/clean.yaml
    params: {source: data/east.csv, min_amount: 10, out: "{{context.out}}/east.csv"}
  - id: west
    include: parts/clean.yaml
    params: {source: data/west.csv, out: "{{context.out}}/west.csv", min_rows: 5}
  - {id: done, name: set_globals, configs: {required: {values: {east_rows: "{{east.note__rows}}"}}}}
connections:
  control:
    - "east (1|) west"
    - "west.write (1|east.write__row_count > 0) done"
"""


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def regions(project: Path) -> Path:
    write(project, "parts/clean.yaml", PART)
    write(project, "flow.yaml", MAIN)
    write_csv(project / "data" / "east.csv", "id,amount", ["1,5", "2,50", "3,20"])
    write_csv(project / "data" / "west.csv", "id,amount", ["4,1", "5,0"])
    return project


class TestIncludedTwice:
    def test_both_includes_run_and_write_their_own_outputs(self, regions: Path, cli: CliRunner) -> None:
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        ran = invoke(cli, "run", "jobs/two_regions", "--quiet", "--progress", "none")
        assert ran.exit_code == 0, ran.output
        assert [r["id"] for r in rows(regions / "out/east.csv")] == ["2", "3"]  # min_amount 10
        assert [r["id"] for r in rows(regions / "out/west.csv")] == ["4"]  # the default, 0
        manifest = json.loads(next((regions / "jobs/two_regions/runs").glob("*/manifest.json")).read_text())
        statuses = {s["instance"]: s["status"] for s in manifest["subflows"]}
        assert statuses == {"east.load": "success", "east.note": "success", "west.load": "success",
                            "west.note": "skipped", "done": "success"}  # west: 1 row, min_rows 5
        assert manifest["modules"]["done"]["globals"] == {"east_rows": 2}
        assert manifest["modules"]["west.write"]["globals"] == {"row_count": 1}

    def test_the_job_folder_holds_the_inlined_flow(self, regions: Path, cli: CliRunner) -> None:
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        dag = json.loads((regions / "jobs/two_regions/two_regions_dag.json").read_text())
        ids = [n["id"] for n in dag["nodes"]]
        assert ids == sorted(["done", *(f"{r}.{m}" for r in ("east", "west") for m in ("keep", "load", "note",
                                                                                          "write"))])
        configs = {n["id"]: n["configs"] for n in dag["nodes"]}
        assert configs["east.keep"]["condition"] == "amount > 10"
        assert configs["west.write"]["output_path"] == "{{context.out}}/west.csv"
        assert configs["east.note"]["values"] == {"rows": "{{east.write__row_count}}"}
        control = [(e["from"], e["to"], e["condition"]) for e in dag["edges"]["control"]]
        assert ("west.write", "west.note", "west.keep__row_count > 5") in control
        assert ("east.note", "west.load", None) in control  # "east (1|) west": exit -> entry
        assert dag["includes"] == [
            {"id": "east", "file": "parts/clean.yaml", "in": "flow.yaml", "line": 4},
            {"id": "west", "file": "parts/clean.yaml", "in": "flow.yaml", "line": 7},
        ]

    def test_changing_the_included_file_makes_the_job_stale(self, regions: Path, cli: CliRunner) -> None:
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        before = json.loads((regions / "jobs/two_regions/two_regions_execution_metadata.json").read_text())
        write(regions, "parts/clean.yaml", PART.replace("default: 0, description", "default: 1, description"))
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        after = json.loads((regions / "jobs/two_regions/two_regions_execution_metadata.json").read_text())
        assert before["flow_hash"] != after["flow_hash"]


class TestDataPorts:
    def test_parent_modules_feed_and_read_an_included_flow(self, project: Path, cli: CliRunner) -> None:
        write(project, "parts/big.yaml", """\
            flow: {name: big_part}
            params: {limit: {default: 10}}
            ports:
              inputs: {rows: keep.input}
              outputs: {kept: keep.output}
            modules:
              - {id: keep, name: filter_mod, configs: {required: {condition: "amount > {{params.limit}}"}}}
            """)
        write(project, "flow.yaml", """\
            flow: {name: ported}
            modules:
              - {id: read, name: csv_source, configs: {required: {file_path: data/in.csv}}}
              - {id: big, include: parts/big.yaml, params: {limit: 3}}
              - {id: save, name: csv_sink, configs: {required: {output_path: out/big.csv}}}
            connections:
              data: ["read.data - big.rows", "big.kept - save.input"]
            """)
        write_csv(project / "data" / "in.csv", "id,amount", ["1,2", "2,4", "3,9"])
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        assert invoke(cli, "run", "jobs/ported", "--quiet", "--progress", "none").exit_code == 0
        assert [r["id"] for r in rows(project / "out/big.csv")] == ["2", "3"]


class TestNested:
    def test_an_include_inside_an_include(self, project: Path, cli: CliRunner) -> None:
        write(project, "parts/inner.yaml", """\
            flow: {name: inner}
            params: {word: {}}
            ports: {entry: say, exit: say}
            modules:
              - {id: say, name: set_globals, configs: {required: {values: {word: "{{params.word}}"}}}}
            """)
        write(project, "parts/outer.yaml", """\
            flow: {name: outer}
            params: {word: {default: hi}}
            ports: {entry: first, exit: first}
            modules:
              - {id: first, include: inner.yaml, params: {word: "{{params.word}}!"}}
            """)
        write(project, "flow.yaml", """\
            flow: {name: nested}
            modules:
              - {id: a, include: parts/outer.yaml, params: {word: hello}}
              - {id: b, include: parts/outer.yaml}
              - {id: echo, name: set_globals, configs: {required: {values: {got: "{{a.first.say__word}}"}}}}
            connections:
              control: ["a (1|a.first.say__word == 'hello!') echo", "echo (1|) b"]
            """)
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        assert invoke(cli, "run", "jobs/nested", "--quiet", "--progress", "none").exit_code == 0
        manifest = json.loads(next((project / "jobs/nested/runs").glob("*/manifest.json")).read_text())
        assert manifest["modules"]["echo"]["globals"] == {"got": "hello!"}
        assert manifest["modules"]["b.first.say"]["globals"] == {"word": "hi!"}


def _error(project: Path, cli: CliRunner) -> str:
    result = invoke(cli, "validate", "flow.yaml")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert not (project / "jobs").exists()
    text: str = result.stderr
    assert text.count("\n") == 1 and "Traceback" not in text
    return text.removeprefix("error: ").rstrip("\n")


BAD_INCLUDES: list[Any] = [
    pytest.param(
        {"flow.yaml": MAIN.replace("include: parts/clean.yaml\n    params: {source: data/east",
                                   "include: parts/cleam.yaml\n    params: {source: data/east")},
        "flow.yaml:5: include 'east': file 'parts/cleam.yaml' not found (looked for parts/cleam.yaml) "
        "(expected a flow file, relative to the including file)",
        id="missing-file",
    ),
    pytest.param(
        {"flow.yaml": MAIN.replace("min_amount: 10,", "min_amout: 10,")},
        "flow.yaml:6: include 'east': unknown parameter 'min_amout'; did you mean 'min_amount'? (expected a "
        "parameter parts/clean.yaml declares under 'params:' (min_amount, min_rows, out, source))",
        id="unknown-param",
    ),
    pytest.param(
        {"flow.yaml": MAIN.replace('out: "{{context.out}}/west.csv", ', "")},
        "flow.yaml:9: include 'west': parameter 'out' of parts/clean.yaml has no default (expected a value "
        "under the include's 'params:')",
        id="missing-param",
    ),
    pytest.param(
        {"parts/clean.yaml": PART.replace('"keep.output - write.input"', '"keep.output - write.inp"')},
        "parts/clean.yaml:16: data connection 'east.keep.output - east.write.inp': module 'east.write' "
        "(csv_sink) has no input port 'inp'; did you mean 'input'? (expected one of its input ports: input) "
        "[in include 'east' at flow.yaml:4]",
        id="bad-port-inside",
    ),
    pytest.param(
        {"parts/clean.yaml": PART.replace("name: filter_mod", "name: filter_mood")},
        "parts/clean.yaml:12: module 'east.keep': unknown module 'filter_mood'; did you mean one of: 'filter_mod', "
        "'regex_filter_mod', 'fail_mod'? "
        "(expected a registered module name (see 'pype list-modules') or a dotted import path) "
        "[in include 'east' at flow.yaml:4]",
        id="unknown-module-inside",
    ),
    pytest.param(
        {"parts/clean.yaml": PART.replace("modules:", "modulez:", 1)},
        "parts/clean.yaml:1: at (top level): missing required key 'modules' (and 1 more schema problem) "
        "(expected the keys flow, modules) [in include 'east' at flow.yaml:4]",
        id="schema-inside",
    ),
    pytest.param(
        {"parts/clean.yaml": PART.replace("{{params.min_amount}}", "{{params.min_amt}}")},
        "parts/clean.yaml:12: module 'east.keep', config 'condition': unknown parameter 'min_amt' (this flow "
        "declares: min_amount, min_rows, out, source) [in include 'east' at flow.yaml:4]",
        id="unknown-param-used",
    ),
    pytest.param(
        {"flow.yaml": MAIN.replace("  control:", '  data: ["west.rows - done.input"]\n  control:')},
        "flow.yaml:12: include 'west' has no output port 'rows' (expected one of the ports it declares under "
        "ports.outputs: none)",
        id="unknown-include-port",
    ),
    pytest.param(
        {"parts/clean.yaml": PART.replace("  exit: note\n", "")},
        "flow.yaml:13: include 'east' declares no exit module, so a control connection cannot start at it "
        "(expected 'ports: {exit: <module id>}' in the included file, or a connection to one of its modules "
        "('<include>.<module>'))",
        id="no-exit",
    ),
    pytest.param(
        {"parts/clean.yaml": PART.replace("  exit: note", "  exit: notes")},
        "parts/clean.yaml:9: ports.exit: 'notes' is no module of this flow; did you mean 'note'? (expected the "
        "id of one of its modules) [in include 'east' at flow.yaml:4]",
        id="bad-exit",
    ),
    pytest.param(
        {"flow.yaml": MAIN.replace("{{east.note__rows}}", "{{east.nope__rows}}")},
        "flow.yaml:10: module 'done', config 'values.east_rows': 'east.nope__rows' names an unknown module "
        "'east.nope'; did you mean one of: 'east.note', 'west.note', 'east.load'?",
        id="unknown-inner-module",
    ),
    pytest.param(
        {"parts/clean.yaml": PART.replace("{{write__row_count}}", "{{done__east_rows}}")},
        "parts/clean.yaml:14: module 'east.note', config 'values.rows': 'east.done__east_rows' names an unknown "
        "module 'east.done'; did you mean one of: 'east.note', 'west.note', 'east.load'? "
        "[in include 'east' at flow.yaml:4]",
        id="included-flow-cannot-read-the-includer",
    ),
]


@pytest.mark.parametrize(("files", "message"), BAD_INCLUDES)
def test_include_mistake_is_one_message_with_file_line_and_chain(
    regions: Path, cli: CliRunner, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        write(regions, name, text)
    assert _error(regions, cli) == message


def test_include_cycle(project: Path, cli: CliRunner) -> None:
    write(project, "flow.yaml", "flow: {name: top}\nmodules:\n  - {id: a, include: parts/a.yaml}\n")
    write(project, "parts/a.yaml", "flow: {name: a}\nmodules:\n  - {id: b, include: b.yaml}\n")
    write(project, "parts/b.yaml", "flow: {name: b}\nmodules:\n  - {id: again, include: a.yaml}\n")
    message = _error(project, cli)
    a, b = (str((project / "parts" / n).resolve()) for n in ("a.yaml", "b.yaml"))
    assert message == (
        f"parts/b.yaml:3: include 'a.b.again': a.yaml includes itself ({a} -> {b} -> {a}) (expected includes "
        "without a cycle) [in include 'a.b' at parts/a.yaml:3, in include 'a' at flow.yaml:3]"
    )


def test_a_flow_with_params_builds_on_its_own_with_its_defaults(project: Path, cli: CliRunner) -> None:
    write(project, "flow.yaml", """\
        flow: {name: alone}
        params: {word: {default: hi}, unused: {}}
        modules:
          - {id: say, name: set_globals, configs: {required: {values: {word: "{{params.word}}"}}}}
        """)
    assert invoke(cli, "build", "flow.yaml").exit_code == 0
    dag = json.loads((project / "jobs/alone/alone_dag.json").read_text())
    assert dag["nodes"][0]["configs"]["values"] == {"word": "hi"}
    write(project, "flow.yaml", (project / "flow.yaml").read_text().replace("{{params.word}}", "{{params.unused}}"))
    shutil.rmtree(project / "jobs")
    assert _error(project, cli) == (
        "flow.yaml:4: module 'say', config 'values': parameter 'unused' has no value (it has no default, and no "
        "include gives it)"
    )


def test_includes_that_multiply_are_refused(project: Path, cli: CliRunner) -> None:
    """Each file includes the next one twice: 2 ** 12 copies, refused before they are made."""
    write(project, "flow.yaml", "flow: {name: top}\nmodules:\n  - {id: a, include: p0.yaml}\n")
    for level in range(12):
        write(project, f"p{level}.yaml", f"flow: {{name: p{level}}}\nmodules:\n"
              f"  - {{id: x, include: p{level + 1}.yaml}}\n  - {{id: y, include: p{level + 1}.yaml}}\n")
    write(project, "p12.yaml", "flow: {name: leaf}\nmodules:\n  - {id: leaf, name: set_globals, "
          "configs: {required: {values: {}}}}\n")
    message = _error(project, cli)
    assert "too many includes (more than 1000 in the flow" in message


class TestDottedNames:
    """The names of included modules in conditions and templates; every other attribute access stays refused."""

    def test_conditions_and_templates_read_dotted_module_ids(self) -> None:
        refs = parse_expression("east.inner.load__row_count > 0 and context.env == 'x'").references
        assert refs[0] == Reference(kind="global", module="east.inner.load", name="row_count")
        assert parse_reference(" east.load__rows ") == Reference(kind="global", module="east.load", name="rows")

    @pytest.mark.parametrize("text", ["east.load__n.real", "east.__class__", "context.env.x", "iter.item.x",
                                      "east.load", "east.load__n.__class__"])
    def test_other_attribute_access_is_refused(self, text: str) -> None:
        with pytest.raises(ExpressionError):
            parse_expression(text)

    @pytest.mark.parametrize("text", ["east..load__n", "east.__n", ".load__n", "east.lo-ad__n"])
    def test_malformed_dotted_ids_are_no_name(self, text: str) -> None:
        with pytest.raises(ReferenceSyntaxError):
            parse_reference(text)
