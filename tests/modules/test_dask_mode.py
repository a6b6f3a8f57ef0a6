"""The built-in modules in both execution modes: same outputs, and dask frames end to end in dask mode."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

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
    parts = sorted(many.iterdir()) if mode == "dask" else [many]  # single_file is a dask-mode option
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
