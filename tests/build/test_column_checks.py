"""Schema checks before running: unknown columns, two sinks on one path, outputs nobody reads."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from pypeline.build.build import validate_flow
from pypeline.core.errors import PlanError
from pypeline.modules.column_check import check_columns
from pypeline.modules.sdk.columns import Columns
from tests.conftest import FlowHarness, invoke, write_csv

PEOPLE = ["name", "age", "country"]


def module(module_id: str, name: str, required: dict[str, Any] | None = None, **optional: Any) -> str:
    configs: dict[str, Any] = {"required": required or {}}
    if optional:
        configs["optional"] = optional
    return "  - " + json.dumps({"id": module_id, "name": name, "configs": configs})


def reader(columns: list[str] | None = PEOPLE, module_id: str = "read", **optional: Any) -> str:
    if columns is not None:
        optional["column_names"] = columns
    return module(module_id, "csv_source", {"file_path": "data/people.csv"}, **optional)


def writer(module_id: str = "write", path: str = "out/x.csv") -> str:
    return module(module_id, "csv_sink", {"output_path": path})


def chain(*modules: str) -> str:
    """A flow of ``modules`` joined in a line: each one's output (``data`` for a source) to the next one's input."""
    entries = [json.loads(m.split("- ", 1)[1]) for m in modules]
    links = [
        f"{src['id']}.{'data' if src['name'].endswith('_source') else 'output'} - {dst['id']}.input"
        for src, dst in itertools.pairwise(entries)
    ]
    return "flow: {name: cols}\nmodules:\n" + "\n".join(modules) + "\nconnections:\n  data: " + json.dumps(links) + "\n"


def problem(flows: FlowHarness, text: str) -> str:
    with pytest.raises(PlanError) as caught:
        flows.validate(text)
    return caught.value.format_message()


class TestUnknownColumnsAtBuild:
    def test_a_condition_with_a_typo_fails_the_build_with_line_and_hint(self, cli: CliRunner, project: Path) -> None:
        (project / "flow.yaml").write_text(chain(
            reader(), module("adults", "filter_mod", {"condition": "agee > 18"}), writer(),
        ), encoding="utf-8")
        result = invoke(cli, "build", "flow.yaml")
        assert result.exit_code == 2
        assert result.stderr == (
            "error: flow.yaml:4: module 'adults' (filter_mod), config 'condition': unknown column 'agee'; "
            "did you mean 'age'? (its input has: name, age, country)\n"
        )
        assert not (project / "jobs").exists()

    @pytest.mark.parametrize(("step", "config", "column"), [
        (module("d", "dedupe_mod", {"keys": ["nmae"]}), "keys", "nmae"),
        (module("s", "sort_mod", {"by": "contry"}), "by", "contry"),
        (module("c", "cast_mod", {"types": {"agee": "int"}}), "types", "agee"),
        (module("k", "select_mod", keep=["name", "ages"]), "keep", "ages"),
        (module("k", "select_mod", rename={"nam": "who"}), "rename", "nam"),
        (module("k", "select_mod", drop=["county"]), "drop", "county"),
        (module("g", "aggregate_mod", {"aggregations": {"n": "count(*)"}}, group_by=["contry"]), "group_by",
         "contry"),
        (module("g", "aggregate_mod", {"aggregations": {"total": "sum(agee)"}}), "aggregations.total", "agee"),
        (module("x", "derive_mod", {"columns": [{"older": "agee + 1"}]}), "columns.older", "agee"),
        (module("r", "regex_filter_mod", {"pattern": "^a"}), "column", "line"),
    ], ids=["dedupe-keys", "sort-by", "cast-types", "select-keep", "select-rename", "select-drop",
            "aggregate-group-by", "aggregate-function", "derive-expression", "regex-default-column"])
    def test_each_built_in_names_its_columns(self, flows: FlowHarness, step: str, config: str, column: str) -> None:
        message = problem(flows, chain(reader(), step, writer()))
        assert f"config '{config}': unknown column '{column}'" in message
        assert "(its input has: name, age, country)" in message

    def test_join_keys_are_checked_on_each_side(self, flows: FlowHarness) -> None:
        text = "flow: {name: cols}\nmodules:\n" + "\n".join([
            reader(), reader(["id", "nmae"], module_id="other"),
            module("j", "join_mod", left_keys=["name"], right_keys=["name"]), writer(),
        ]) + '\nconnections:\n  data: ["read.data - j.left", "other.data - j.right", "j.output - write.input"]\n'
        message = problem(flows, text)
        assert "flow.yaml:5: module 'j' (join_mod), config 'right_keys': unknown column 'name'; did you mean 'nmae'?" \
            in message
        assert message.endswith("(its input 'right' has: id, nmae)")
        validate_flow(flows.write(text.replace('right_keys": ["name"]', 'right_keys": ["nmae"]')))

    def test_columns_flow_through_renames_derives_and_aggregates(self, flows: FlowHarness) -> None:
        steps = [
            reader(), module("k", "select_mod", rename={"name": "who"}),
            module("x", "derive_mod", {"columns": [{"decade": "age // 10"}, {"later": "decade + 1"}]}),
            module("g", "aggregate_mod", {"aggregations": [{"people": "count(*)"}]}, group_by=["decade"]),
            module("f", "filter_mod", {"condition": "people > 1 and decade >= 1"}), writer(),
        ]
        validate_flow(flows.write(chain(*steps)))  # every name reaches its module
        renamed = list(steps)
        renamed[2] = module("x", "derive_mod", {"columns": [{"decade": "age // 10"}, {"loud": "name.str.upper()"}]})
        message = problem(flows, chain(*renamed))  # 'name' was renamed to 'who' upstream
        assert "module 'x' (derive_mod), config 'columns.loud': unknown column 'name'" in message
        assert "(its input has: who, age, country)" in message
        after_rename = list(steps)
        after_rename[4] = module("f", "filter_mod", {"condition": "age > 1"})
        message = problem(flows, chain(*after_rename))
        assert "module 'f' (filter_mod), config 'condition': unknown column 'age'" in message
        assert "(its input has: decade, people)" in message

    def test_the_first_problem_counts_the_others(self, flows: FlowHarness) -> None:
        message = problem(flows, chain(reader(), module("f", "filter_mod", {"condition": "agee > 1 and contry > 1"}),
                                       writer()))
        assert message.endswith("(and 1 more unknown column)")


class TestNoFalseAlarms:
    def test_a_custom_module_is_opaque(self, flows: FlowHarness) -> None:
        probe = "  - " + json.dumps({"id": "p", "name": "tests.run.probes.ProbeMod"})
        validate_flow(flows.write(chain(reader(), probe, module("f", "filter_mod", {"condition": "made_up > 1"}),
                                        writer())))

    def test_a_source_without_declared_columns_is_not_judged_at_build(self, flows: FlowHarness) -> None:
        validate_flow(flows.write(chain(reader(None), module("f", "filter_mod", {"condition": "agee > 1"}),
                                        writer())))

    def test_dtypes_alone_name_some_columns_only(self, flows: FlowHarness) -> None:
        text = chain(reader(None, dtypes={"age": "Int64"}), module("f", "filter_mod", {"condition": "country > 1"}),
                     writer())
        validate_flow(flows.write(text))

    def test_templated_names_are_left_to_the_run(self, flows: FlowHarness) -> None:
        text = chain(reader(), module("k", "select_mod", keep=["name", "{{context.extra}}"]),
                     module("f", "filter_mod", {"condition": "whatever > 1"}), writer())
        text = text.replace("modules:", 'context: {default: {extra: age}}\nmodules:')
        validate_flow(flows.write(text))

    def test_a_declaration_that_fails_is_opaque(self) -> None:
        class Broken:
            @classmethod
            def output_columns(cls, configs: Any, inputs: Any) -> Any:
                raise RuntimeError("a bug in a module's declaration")

        from pypeline.modules import column_check

        assert column_check._declared(Broken.output_columns, {}, {}) is None


class TestWithData:
    @pytest.fixture
    def csv_flow(self, flows: FlowHarness) -> FlowHarness:
        write_csv(flows.root / "data" / "people.csv", "name,age,country", ["ann,30,FR"])
        flows.write(chain(reader(None), module("f", "filter_mod", {"condition": "agee > 1"}), writer()))
        return flows

    def test_validate_with_data_reads_the_csv_header(self, cli: CliRunner, csv_flow: FlowHarness) -> None:
        assert invoke(cli, "validate", "flow.yaml").exit_code == 0  # the configs alone do not tell
        result = invoke(cli, "validate", "flow.yaml", "--with-data")
        assert result.exit_code == 2
        assert "error: flow.yaml:4: module 'f' (filter_mod), config 'condition': unknown column 'agee'; did you " \
               "mean 'age'? (its input has: name, age, country)" in result.stderr

    def test_dry_run_reads_the_csv_header(self, cli: CliRunner, csv_flow: FlowHarness) -> None:
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        result = invoke(cli, "run", "jobs/cols", "--dry-run")
        assert result.exit_code == 1
        assert result.stdout.endswith(
            "problems: 1 (pype run --dry-run exits 1)\n  - module 'f' (filter_mod), config 'condition': unknown "
            "column 'agee'; did you mean 'age'? (its input has: name, age, country)\n")

    def test_dry_run_reads_a_parquet_schema(self, cli: CliRunner, flows: FlowHarness) -> None:
        (flows.root / "data").mkdir()
        pd.DataFrame({"id": [1], "amount": [2.5]}).to_parquet(flows.root / "data" / "p.parquet")
        source = module("read", "parquet_source", {"file_path": "data/p.parquet"})
        flows.write(chain(source, module("f", "filter_mod", {"condition": "amout > 1"}), writer()))
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        result = invoke(cli, "run", "jobs/cols", "--dry-run")
        assert result.exit_code == 1
        assert "unknown column 'amout'; did you mean 'amount'? (its input has: id, amount)" in result.stdout

    def test_a_matching_header_passes(self, cli: CliRunner, csv_flow: FlowHarness) -> None:
        csv_flow.write(chain(reader(None), module("f", "filter_mod", {"condition": "age > 1"}), writer()))
        assert invoke(cli, "validate", "flow.yaml", "--with-data").exit_code == 0


class TestCheckColumnsDirectly:
    def test_known_columns_on_each_output(self, flows: FlowHarness) -> None:
        plan = flows.validate(chain(reader(), module("k", "select_mod", keep=["age", "name"], rename={"age": "a"}),
                                    writer()))
        found = check_columns(plan.modules, plan.data_edges, ["read", "k", "write"])
        assert found.outputs[("k", "output")] == Columns(("a", "name"))
        assert found.problems == []


class TestOutputs:
    def test_two_sinks_on_one_path_fail_the_build(self, cli: CliRunner, project: Path) -> None:
        text = chain(reader(), writer("one", "out/x.csv")) + ""
        text = text.replace("connections:", writer("two", "out/./x.csv") + "\nconnections:")
        text = text.replace('["read.data - one.input"]', '["read.data - one.input", "read.data - two.input"]')
        (project / "flow.yaml").write_text(text, encoding="utf-8")
        result = invoke(cli, "build", "flow.yaml")
        assert result.exit_code == 2
        assert re.fullmatch(
            r"error: flow\.yaml:5: modules 'one' and 'two' both write out/\./x\.csv: one would replace the other's "
            r"output \(expected one output path per sink\)\n", result.stderr), result.stderr

    def test_an_output_nobody_reads_is_a_warning(self, cli: CliRunner, project: Path) -> None:
        text = chain(reader(), writer()).replace(
            "connections:", module("lost", "filter_mod", {"condition": "age > 1"}) + "\nconnections:")
        text = text.replace('["read.data - write.input"]', '["read.data - write.input", "read.data - lost.input"]')
        (project / "flow.yaml").write_text(text, encoding="utf-8")
        result = invoke(cli, "build", "flow.yaml")
        assert result.exit_code == 0
        assert result.stderr == (
            "warning: module 'lost' (filter_mod): no module reads its output ('output') and no template or condition "
            "reads its globals, so its work is thrown away; connect it, or remove it\n"
        )

    def test_an_output_whose_globals_are_read_is_no_warning(self, flows: FlowHarness) -> None:
        text = chain(reader(), writer()).replace(
            "connections:", module("count", "filter_mod", {"condition": "age > 1"}) + "\n"
            + '  - {"id": "note", "name": "tests.run.probes.Probe"}\nconnections:')
        text = text.replace('["read.data - write.input"]', '["read.data - write.input", "read.data - count.input"]')
        text += '  control: ["write (1|count__row_count > 0) note"]\n'
        assert flows.validate(text).warnings == ()
