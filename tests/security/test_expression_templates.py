"""Templates enter expressions as literals: through ``--set``, iteration items from file names, context values.

Unit checks of the literal writer (any value parses back to itself), then
real ``pype build`` / ``pype run`` processes with hostile values: the
expression keeps its structure, the value stays one value, nothing runs.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pypeline.core.expr import ListExpr, Literal, TemplateValueError, Unary, literal_text, parse
from pypeline.core.references import Reference
from pypeline.core.secret import SecretStr
from pypeline.core.templates import KeepTemplate, render
from pypeline.modules.common.frame_expressions import FRAME_DIALECT, compile_expression
from tests.conftest import write_csv

PYPE = str(Path(sys.executable).with_name("pype"))
HOSTILE_TEXT = [
    '1) | (x',
    '" or name.__class__ or "',
    "' or 1 or '",
    "`age` > 0 or `",
    "{{vault.secret/app#pw}}",
    "\\\" + __import__('os').system('touch pwned') + \\\"",
    "a\nb\r\t\x00\u2028é😀",
    "}}{{context.x}}{{",
]


class TestLiterals:
    @given(st.one_of(st.text(max_size=200), st.integers(min_value=-(2**63), max_value=2**63 - 1),
                     st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none()))
    def test_every_value_parses_back_to_itself(self, value: Any) -> None:
        tree = parse(literal_text(value), FRAME_DIALECT)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.copysign(1, value) < 0:
            assert isinstance(tree, Unary) and isinstance(tree.operand, Literal)
            assert tree.op == "-" and tree.operand.value == -value  # -0.0 too
        else:
            assert isinstance(tree, Literal)
            assert tree.value == value and type(tree.value) is type(value)

    @given(st.lists(st.one_of(st.text(max_size=20), st.integers(min_value=0, max_value=10**6)), max_size=10))
    def test_lists_parse_back_to_lists(self, values: list[Any]) -> None:
        tree = parse(literal_text(values), FRAME_DIALECT)
        assert isinstance(tree, ListExpr)
        assert [item.value for item in tree.items] == values  # type: ignore[attr-defined]

    @pytest.mark.parametrize("value", HOSTILE_TEXT)
    def test_hostile_text_stays_one_string(self, value: str) -> None:
        text = render({"condition": "name == {{context.v}}"}, lambda key, ref: value,
                      expressions={"condition"})["condition"]
        assert "{{" not in text
        assert parse(text, FRAME_DIALECT).operands[1] == Literal(value=value, pos=8)  # type: ignore[attr-defined]

    @pytest.mark.parametrize(
        ("value", "message"),
        [({"a": 1}, "a dict cannot be used in an expression"), (math.nan, "the number nan cannot be used"),
         (SecretStr("pw", "kv/a#b"), "a secret cannot be used in an expression"), ([[1]], "a list inside a list")],
        ids=["dict", "nan", "secret", "nested-list"],
    )
    def test_values_that_are_not_literals_are_refused(self, value: Any, message: str) -> None:
        with pytest.raises(TemplateValueError, match=message):
            literal_text(value)

    def test_only_expression_configs_get_literals(self) -> None:
        configs = {"condition": "x > {{context.n}}", "note": "n is {{context.n}}"}
        rendered = render(configs, lambda key, ref: "5", expressions={"condition"})
        assert rendered == {"condition": 'x > "5"', "note": "n is 5"}

    def test_a_kept_template_stays_as_written(self) -> None:
        def lookup(key: str, ref: Reference) -> Any:
            raise KeepTemplate

        assert render({"c": "x > {{context.n}}"}, lookup, expressions={"c"}) == {"c": "x > {{context.n}}"}

    def test_a_string_value_compares_as_a_string(self) -> None:
        frame = pd.DataFrame({"name": ['" or 1 or "', "b"]})
        text = render({"c": "name == {{context.v}}"}, lambda k, r: '" or 1 or "', expressions={"c"})["c"]
        assert compile_expression(text, "condition").filter(frame)["name"].tolist() == ['" or 1 or "']


# -- through the real CLI --------------------------------------------------------------------------


def pype(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYPELINE_REGISTRY": str(project / "modules" / "ModRegistry.json")}
    return subprocess.run([PYPE, *args], cwd=project, env=env, capture_output=True, text=True, timeout=180)


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


FILTER_FLOW = """
flow: {name: adults}
context: {default: {min_age: 18, who: ana}}
modules:
  - {id: read, name: csv_source, configs: {required: {file_path: people.csv}}}
  - id: keep
    name: filter_mod
    configs:
      required: {condition: "age > {{context.min_age}} or name == {{context.who}}"}
  - {id: write, name: csv_sink, configs: {required: {output_path: out/adults.csv}}}
connections:
  data: ["read.data - keep.input", "keep.output - write.input"]
"""


@pytest.mark.slow
class TestCli:
    @pytest.fixture
    def built(self, project: Path) -> Path:
        write_csv(project / "people.csv", "name,age", ["ana,12", "ben,30", "cy,50"])
        (project / "flow.yaml").write_text(FILTER_FLOW, encoding="utf-8")
        done = pype(project, "build", "flow.yaml")
        assert done.returncode == 0, done.stderr
        return project

    def test_a_number_from_set_filters_as_a_number(self, built: Path) -> None:
        done = pype(built, "run", "jobs/adults", "--quiet", "--set", "min_age=40", "--set", "who=ben")
        assert done.returncode == 0, done.stderr
        assert (built / "out" / "adults.csv").read_text() == "name,age\nben,30\ncy,50\n"

    @pytest.mark.parametrize("value", ["1) | (age > 0", "18 or True", "0 or age.__class__"])
    def test_hostile_set_values_stay_values(self, built: Path, value: str) -> None:
        done = pype(built, "run", "jobs/adults", "--quiet", "--set", f"min_age={value}")
        assert done.returncode == 1
        source = f'age > {literal_text(value)} or name == "ana"'
        assert errors(done.stderr) == [
            f"error: module 'keep': condition {source!r} failed: cannot compare a number with text using '>' "
            "(columns: name, age)"
        ]
        assert len(errors(done.stderr)) == 1
        assert "Traceback" not in done.stderr
        assert not (built / "out").exists()

    @pytest.mark.parametrize("value", ['ana" or name != "x', "ana' or name != 'x", "`name` or `"])
    def test_hostile_text_compares_as_text(self, built: Path, value: str) -> None:
        done = pype(built, "run", "jobs/adults", "--quiet", "--set", "min_age=100", "--set", f"who={value}")
        assert done.returncode == 0, done.stderr
        assert (built / "out" / "adults.csv").read_text() == "name,age\n"  # nobody is named that

    def test_a_value_that_is_no_literal_is_one_clear_error(self, built: Path) -> None:
        done = pype(built, "run", "jobs/adults", "--quiet", "--set", "min_age=.nan")  # YAML's NaN
        assert done.returncode == 1
        assert errors(done.stderr) == [
            "error: module 'keep', config 'condition': the value of '{{context.min_age}}' cannot enter an "
            "expression: the number nan cannot be used in an expression"
        ]
        assert "Traceback" not in done.stderr

    def test_the_issue_example_fails_validate_and_build_with_file_line_and_module(self, project: Path) -> None:
        condition = ('(age > 18) | (\\"`\\" == name.str.slice(0, age.__class__.__init__.__globals__[\\"sys\\"]'
                     '.modules[\\"os\\"].system(\\"touch pwned\\")) == \\"`\\")')
        (project / "flow.yaml").write_text(FILTER_FLOW.replace(
            "age > {{context.min_age}} or name == {{context.who}}", condition), encoding="utf-8")
        for command in ("validate", "build"):
            done = pype(project, command, "flow.yaml")
            assert done.returncode == 2, done.stderr
            assert errors(done.stderr) == [
                "error: flow.yaml:8: module 'keep' (filter_mod): condition: '.__class__' is not allowed; allowed "
                "are the .str and .dt accessors and the methods listed in docs/modules.md, 'Expressions' "
                "(at character 44)"
            ]
        assert not (project / "pwned").exists()
        assert not (project / "jobs").exists()

    def test_a_file_name_from_iter_item_enters_a_derived_column_as_text(self, project: Path) -> None:
        names = ['a" + name.__class__ + ".csv', "b` + `age.csv",
                 "c' or __import__('os').system('touch pwned') or '.csv"]
        for name in names:
            write_csv(project / "data" / name, "name,age", ["x,1"])
        (project / "flow.yaml").write_text(textwrap.dedent("""
            flow: {name: files}
            modules:
              - {id: list_files, name: file_list, configs: {required: {directory: data}, optional: {pattern: "*.csv"}}}
              - {id: load, name: csv_source, configs: {required: {file_path: "{{iter.item}}"}}}
              - id: tag
                name: derive_mod
                configs:
                  required:
                    columns:
                      - source: "{{iter.item}}"
                      - same: "source == {{iter.item}}"
              - {id: save, name: csv_sink, configs: {required: {output_path: "out/f_{{iter.index}}.csv"}}}
            connections:
              data: ["load.data - tag.input", "tag.output - save.input"]
              control:
                - {from: list_files, to: load, type: iterate, order: 1}
        """), encoding="utf-8")
        done = pype(project, "build", "flow.yaml")
        assert done.returncode == 0, done.stderr
        done = pype(project, "run", "jobs/files", "--quiet")
        assert done.returncode == 0, done.stderr
        written = sorted(pd.read_csv(p, dtype=str)["source"].iloc[0] for p in (project / "out").glob("f_*.csv"))
        assert written == sorted(f"data/{name}" for name in names)
        for path in (project / "out").glob("f_*.csv"):
            assert pd.read_csv(path)["same"].tolist() == [True]
        assert not (project / "pwned").exists()


class TestTemplater:
    """The run's templater: expression configs get literals locally and in remote payloads alike."""

    @pytest.mark.parametrize("resolve_secrets", [True, False], ids=["local", "remote-payload"])
    def test_a_global_holding_a_secret_is_refused_in_an_expression(self, resolve_secrets: bool) -> None:
        from pypeline.core.errors import TemplateError
        from pypeline.modules.sdk.globals import GlobalStore
        from pypeline.run.templater.templater import GlobalResolver, Scope, Templater

        store = GlobalStore()
        store.set("creds", "pw", SecretStr("hunter2", "secret/app#pw"))
        templater = Templater({"global": GlobalResolver(store)})
        configs = {"condition": "name == {{creds__pw}}", "note": "{{creds__pw}}"}
        with pytest.raises(TemplateError) as caught:
            templater.render(configs, Scope(module_id="keep"), resolve_secrets=resolve_secrets,
                             expressions={"condition"})
        assert str(caught.value) == (
            "module 'keep', config 'condition': the value of '{{creds__pw}}' cannot enter an expression: a secret "
            "cannot be used in an expression (its value would become data the expression shows)"
        )
        assert "hunter2" not in str(caught.value)
        # outside expressions a remote payload still gets the secret's reference, never its value
        note = templater.render({"note": "{{creds__pw}}"}, Scope(module_id="keep"), resolve_secrets=False)
        assert note == {"note": "{{vault.secret/app#pw}}"}
