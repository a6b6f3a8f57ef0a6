"""The built-in modules in both execution modes: same outputs, and dask frames end to end in dask mode."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pypeline.run.job import load_job
from tests.conftest import FlowHarness, write_csv

PROBE = "tests.resources.modules.probe_mod.ProbeMod"
MODES = pytest.mark.parametrize("mode", ["pandas", "dask"], ids=["pandas", "dask"])


def people(data_dir: Path) -> None:
    for index in range(3):
        rows = [f"p{index}_{i},{(i * 7 + index) % 60},{'FR' if i % 3 else 'DE'}" for i in range(40)]
        write_csv(data_dir / "people" / f"part{index}.csv", "name,age,country", rows)


@MODES
async def test_csv_filter_sinks(flows: FlowHarness, data_dir: Path, mode: str) -> None:
    people(data_dir)
    result = await flows.run(
        f"""
        flow: {{name: csv_{mode}}}
        settings: {{execution_mode: {mode}}}
        modules:
          - {{id: read, name: csv_source, configs: {{required: {{file_path: data/people}},
                                                   optional: {{blocksize: "600B"}}}}}}
          - {{id: probe, name: {PROBE}}}
          - {{id: adults, name: filter_mod, configs: {{required: {{condition: "age >= 18 and country == 'FR'"}}}}}}
          - {{id: one, name: csv_sink, configs: {{required: {{output_path: out/{mode}/adults.csv}}}}}}
          - {{id: many, name: csv_sink, configs: {{required: {{output_path: out/{mode}/adults_parts}},
                                                  optional: {{single_file: false}}}}}}
          - {{id: pq, name: parquet_sink, configs: {{required: {{output_path: out/{mode}/adults.parquet}}}}}}
        connections:
          data: ["read.data - probe.input", "probe.output - adults.input", "adults.output - one.input",
                 "adults.output - many.input", "adults.output - pq.input"]
        """
    )
    assert result.status == "success", result.manifest["errors"]
    modules = result.manifest["modules"]
    assert modules["probe"]["globals"]["kind"] == mode
    out = flows.root / "out" / mode
    expected = pd.concat([pd.read_csv(p) for p in sorted((data_dir / "people").iterdir())], ignore_index=True)
    expected = expected.query("age >= 18 and country == 'FR'").reset_index(drop=True)
    single = pd.read_csv(out / "adults.csv")
    pd.testing.assert_frame_equal(single, expected)
    assert (out / "adults.csv").read_text().count("name,age,country") == 1
    many = out / "adults_parts"
    parts = sorted(many.glob("*.csv")) if mode == "dask" else [many]  # single_file is a dask-mode option
    pd.testing.assert_frame_equal(pd.concat(map(pd.read_csv, parts), ignore_index=True), expected)
    from_parquet = pd.read_parquet(out / "adults.parquet").reset_index(drop=True)
    pd.testing.assert_frame_equal(from_parquet, expected, check_dtype=False)
    for sink in ("one", "many", "pq"):
        assert modules[sink]["globals"]["row_count"] == len(expected)
    if mode == "dask":
        assert modules["probe"]["globals"]["partitions"] > 1
        assert len(parts) == modules["probe"]["globals"]["partitions"]
    assert not list(flows.root.rglob("*.pype-tmp"))


@MODES
async def test_text_regex_union_noop(flows: FlowHarness, data_dir: Path, mode: str) -> None:
    (data_dir / "a.log").write_bytes(b"ERROR one\r\nok two\r\n\r\nERROR three\r\n" * 20)
    (data_dir / "b.log").write_text("".join(f"line {i} {'ERROR' if i % 4 == 0 else 'fine'}\n" for i in range(100)))
    (data_dir / "u16.txt").write_text("ERROR wide é\nfine\n", encoding="utf-16")
    result = await flows.run(
        f"""
        flow: {{name: text_{mode}}}
        settings: {{execution_mode: {mode}}}
        modules:
          - {{id: logs, name: text_source, configs: {{required: {{file_path: "data/*.log"}},
                                                    optional: {{blocksize: "200B", skip_empty: true}}}}}}
          - {{id: wide, name: text_source, configs: {{required: {{file_path: data/u16.txt}},
                                                    optional: {{encoding: utf-16}}}}}}
          - {{id: both, name: union_mod}}
          - {{id: errors, name: regex_filter_mod, configs: {{required: {{pattern: "error"}},
                                                            optional: {{ignore_case: true}}}}}}
          - {{id: probe, name: {PROBE}}}
          - {{id: same, name: noop_mod}}
          - {{id: write, name: text_sink, configs: {{required: {{output_path: out/{mode}/errors.txt}},
                                                    optional: {{encoding: utf-16}}}}}}
          - {{id: count, name: noop_sink}}
          - {{id: nothing, name: empty_source, configs: {{optional: {{columns: [a, b]}}}}}}
          - {{id: empty_out, name: csv_sink, configs: {{required: {{output_path: out/{mode}/empty.csv}}}}}}
        connections:
          data: ["logs.data - both.input1", "wide.data - both.input2", "both.output - errors.input",
                 "errors.output - probe.input", "probe.output - same.input", "same.output - write.input",
                 "same.output - count.input", "nothing.data - empty_out.input"]
        """
    )
    assert result.status == "success", result.manifest["errors"]
    modules = result.manifest["modules"]
    assert modules["probe"]["globals"]["kind"] == mode
    lines = (flows.root / "out" / mode / "errors.txt").read_text(encoding="utf-16").splitlines()
    expected = ["ERROR one", "ERROR three"] * 20 + [f"line {i} ERROR" for i in range(0, 100, 4)] + ["ERROR wide é"]
    assert sorted(lines) == sorted(expected)
    assert modules["write"]["globals"]["row_count"] == modules["count"]["globals"]["row_count"] == len(expected)
    assert (flows.root / "out" / mode / "empty.csv").read_text().strip() == "a,b"
    if mode == "dask":
        assert modules["probe"]["globals"]["partitions"] > 2


class TestAggregateTreePath:
    """aggregate_mod in dask mode: decomposable functions reduce in a tree (no shuffle), same results."""

    @pytest.fixture
    def sales(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "country": ["FR", "DE", "FR", None, "DE", "FR", "ES", "DE"],
                "shop": [1, 2, 1, 3, 2, 1, 9, 4],
                "amount": [10.0, 20.0, 30.0, 5.0, None, 60.0, 1.0, 2.0],
            }
        )

    @pytest.mark.parametrize("sort", [True, False], ids=["sorted", "first-seen"])
    async def test_same_groups_and_order_in_both_modes(self, sales: pd.DataFrame, sort: bool) -> None:
        from tests.modules.harness import run_module

        configs = {
            "group_by": ["country"],
            "sort": sort,
            "aggregations": {
                "orders": "count(*)", "paid": "count(amount)", "revenue": "sum(amount)", "avg": "mean(amount)",
                "low": "min(amount)", "high": "max(shop)", "spread": "std(amount)",
            },
        }
        runs = {mode: await run_module("aggregate_mod", configs, {"input": sales}, mode=mode, partitions=3)
                for mode in ("pandas", "dask")}
        pandas_out = runs["pandas"].outputs["output"].reset_index(drop=True)
        dask_out = runs["dask"].outputs["output"].reset_index(drop=True)
        expected_order = ["DE", "ES", "FR", None] if sort else ["FR", "DE", None, "ES"]
        for frame in (pandas_out, dask_out):
            assert frame["country"].astype(object).where(frame["country"].notna(), None).tolist() == expected_order
        assert list(dask_out.columns) == list(pandas_out.columns)
        pd.testing.assert_frame_equal(dask_out.drop(columns="country"), pandas_out.drop(columns="country"),
                                      check_dtype=False)

    async def test_tree_path_has_no_shuffle(self, sales: pd.DataFrame) -> None:
        import dask.dataframe as dd

        from pypeline.modules.mods.aggregate_mod import _aggregate_dask_tree

        lazy = _aggregate_dask_tree(dd.from_pandas(sales, npartitions=4), ["country"], {"n": ("size", None)}, True)
        names = {type(node).__name__ for node in lazy.expr.walk()}
        assert not any("Shuffle" in name or "SetIndex" in name for name in names), names


class TestRowCountsTheFlowReads:
    """In dask mode a lazy output's ``row_count`` is counted when, and only when, the flow reads it."""

    FLOW = """
        flow: {name: counted}
        settings: {execution_mode: MODE}
        modules:
          - {id: read, name: csv_source, configs: {required: {file_path: data/people}}}
          - {id: adults, name: filter_mod, configs: {required: {condition: "age >= 18"}}}
          - {id: young, name: filter_mod, configs: {required: {condition: "age < 18"}}}
          - {id: keep, name: csv_sink, configs: {required: {output_path: out/adults.csv}}}
          - {id: drop, name: csv_sink, configs: {required: {output_path: out/young.csv}}}
          - {id: note, name: set_globals, configs: {required: {values: {adults: "{{ADULTS__Row_Count}}"}}}}
        connections:
          data: ["read.data - adults.input", "read.data - young.input", "adults.output - keep.input",
                 "young.output - drop.input"]
          control:
            - "keep (1| read__row_count == 120) note"
        """

    @MODES
    async def test_counted_when_read(self, flows: FlowHarness, data_dir: Path, mode: str) -> None:
        people(data_dir)
        result = await flows.run(self.FLOW.replace("MODE", mode))
        assert result.status == "success"
        modules = result.manifest["modules"]
        adults = len(pd.read_csv(flows.root / "out" / "adults.csv"))
        assert modules["read"]["globals"]["row_count"] == 120
        assert modules["note"]["globals"] == {"adults": adults}
        counted = [line for line in (result.run_dir / "log.jsonl").read_text().splitlines()
                   if '"row_count_counted"' in line]
        if mode == "pandas":  # the modules count as they go
            assert counted == []
            return
        assert sorted(json.loads(line)["node_id"] for line in counted) == ["adults", "read"]
        assert "row_count" not in modules["young"]["globals"]  # nobody reads it: it stays lazy

    def test_globals_read_ignore_case_and_take_conditions_and_templates(self, flows: FlowHarness) -> None:
        job = load_job(flows.build(self.FLOW.replace("MODE", "dask")))
        assert job.globals_read == {"read": frozenset({"row_count"}), "adults": frozenset({"row_count"})}
