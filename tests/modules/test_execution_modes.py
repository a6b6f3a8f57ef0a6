"""The same flows in every execution mode (pandas, arrow, stream, dask, auto): the same outputs and row counts.

Also what each mode hands a module that does not declare Arrow (pandas frames,
converted at its boundary), the choice ``execution_mode: auto`` makes and the
reason it gives, spills of Arrow tables, and a bad file met in the middle of
a stream (the error names the file, the line and the module, nothing written).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FlowHarness, write_csv

MODES = ["pandas", "arrow", "stream", "dask", "auto"]
PANDAS_PROBE = "tests.resources.modules.arrow_probe.PandasProbe"
ARROW_PROBE = "tests.resources.modules.arrow_probe.ArrowProbe"
SOURCE = "tests.resources.modules.frame_source.FrameSource"
DTYPES = "{id: int64, ts: str, region: str, amount: float64, qty: int64, note: str}"


def orders(data_dir: Path, files: int = 3, rows: int = 400) -> None:
    """The reference job's columns: id, ts, region, amount, qty, note (some notes empty)."""
    for f in range(files):
        lines = [
            f"{f * rows + i},2024-01-01T00:{i % 60:02d}:00,region_{(i * 7 + f) % 5},{(i * 37 + f) % 100}.25,"
            f"{1 + i % 9},{'' if i % 4 == 0 else 'n' + str(i % 3)}"
            for i in range(rows)
        ]
        write_csv(data_dir / "orders" / f"part-{f}.csv", "id,ts,region,amount,qty,note", lines)


def reference_flow(mode: str, dtypes: str = DTYPES) -> str:
    return f"""
        flow: {{name: ref_{mode}}}
        settings: {{execution_mode: {mode}}}
        modules:
          - {{id: read, name: csv_source, configs: {{required: {{file_path: "data/orders/*.csv"}},
                                                   optional: {{dtypes: {dtypes}}}}}}}
          - {{id: keep, name: filter_mod, configs: {{required: {{condition: "amount > 50"}}}}}}
          - {{id: derive, name: derive_mod, configs: {{required: {{columns: {{total: "amount * qty"}}}}}}}}
          - id: agg
            name: aggregate_mod
            configs: {{required: {{aggregations: [{{total: "sum(total)"}}, {{orders: "count(*)"}}]}},
                      optional: {{group_by: [region]}}}}
          - {{id: write_rows, name: parquet_sink, configs: {{required: {{output_path: out/{mode}/rows}}}}}}
          - {{id: write_agg, name: parquet_sink, configs: {{required: {{output_path: out/{mode}/agg}}}}}}
        connections:
          data: ["read.data - keep.input", "keep.output - derive.input", "derive.output - write_rows.input",
                 "derive.output - agg.input", "agg.output - write_agg.input"]
        """


def parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).reset_index(drop=True)


class TestReferenceJob:
    @pytest.mark.parametrize("mode", MODES)
    async def test_same_rows_groups_and_counts_in_every_mode(
        self, flows: FlowHarness, data_dir: Path, mode: str
    ) -> None:
        orders(data_dir)
        result = await flows.run(reference_flow(mode))
        assert result.status == "success", result.manifest["errors"]
        assert result.manifest["execution_mode"] == ("stream" if mode == "auto" else mode)
        out = flows.root / "out" / mode
        rows = parquet(out / "rows") if (out / "rows").is_file() else pd.read_parquet(out / "rows")
        source = pd.concat([pd.read_csv(p) for p in sorted((data_dir / "orders").iterdir())], ignore_index=True)
        kept = source[source["amount"] > 50].reset_index(drop=True)
        kept = kept.assign(total=kept["amount"] * kept["qty"])
        pd.testing.assert_frame_equal(rows.sort_values("id").reset_index(drop=True), kept, check_dtype=False)
        if mode != "dask":  # one file, rows in input order
            assert rows["id"].tolist() == kept["id"].tolist()
        agg = parquet(out / "agg") if (out / "agg").is_file() else pd.read_parquet(out / "agg")
        grouped = kept.groupby("region").agg(total=("total", "sum"), orders=("id", "size")).reset_index()
        pd.testing.assert_frame_equal(agg.sort_values("region").reset_index(drop=True), grouped, check_dtype=False)
        modules = result.manifest["modules"]
        assert modules["write_rows"]["globals"]["row_count"] == len(kept)
        assert modules["write_agg"]["globals"]["row_count"] == 5
        if mode != "dask":  # counts of a lazy dask frame are not taken (docs/dask-mode.md)
            assert modules["read"]["globals"]["row_count"] == 1200
            assert modules["keep"]["globals"] == {"row_count": len(kept), "rows_dropped": 1200 - len(kept)}
            assert modules["agg"]["globals"] == {"row_count": 5, "groups": 5}
            assert modules["write_rows"]["rows_in"] == len(kept)
            # a transform's record has its rows in and out in stream mode too, once its streams ended
            assert (modules["keep"]["rows_in"], modules["keep"]["rows_out"]) == (1200, len(kept))
            assert (modules["derive"]["rows_in"], modules["derive"]["rows_out"]) == (len(kept), len(kept))
            assert (modules["agg"]["rows_in"], modules["agg"]["rows_out"]) == (len(kept), 5)

    async def test_auto_says_why_it_cannot_stream(self, flows: FlowHarness, data_dir: Path) -> None:
        orders(data_dir)
        result = await flows.run(reference_flow("auto", dtypes="{}"))
        assert result.manifest["execution_mode"] == "arrow"
        lines = [json.loads(line) for line in (result.run_dir / "log.jsonl").read_text().splitlines()]
        said = [line for line in lines if line["event"] == "execution_mode"]
        assert said and said[0]["mode"] == "arrow"
        assert said[0]["reason"] == (
            "auto: arrow, not stream: module 'read' (csv_source): no dtypes declared (stream mode types columns "
            "from each file's first 4 MB: declare dtypes to stream)"
        )


TEXT_FLOW = """
flow: {{name: text_{mode}}}
settings: {{execution_mode: {mode}}}
modules:
  - {{id: a, name: csv_source, configs: {{required: {{file_path: data/a.csv}}}}}}
  - {{id: b, name: csv_source, configs: {{required: {{file_path: data/b.csv}}}}}}
  - {{id: both, name: union_mod, configs: {{optional: {{distinct: true}}}}}}
  - {{id: cols, name: select_mod, configs: {{optional: {{keep: [name, score, city], rename: {{score: points}}}}}}}}
  - {{id: order, name: sort_mod, configs: {{required: {{by: [points, name]}}, optional: {{ascending: [false, true]}}}}}}
  - {{id: top, name: limit_mod, configs: {{required: {{n: 6}}, optional: {{offset: 1}}}}}}
  - {{id: csv, name: csv_sink, configs: {{required: {{output_path: out/{mode}/top.csv}}}}}}
  - {{id: json, name: json_sink, configs: {{required: {{output_path: out/{mode}/top.jsonl}}}}}}
  - {{id: text, name: regex_filter_mod, configs: {{required: {{pattern: "^[ab]"}}, optional: {{column: name}}}}}}
  - {{id: look, name: log_sink, configs: {{optional: {{rows: 2}}}}}}
connections:
  data: ["a.data - both.input1", "b.data - both.input2", "both.output - cols.input", "cols.output - order.input",
         "order.output - top.input", "top.output - csv.input", "top.output - json.input",
         "both.output - text.input", "text.output - look.input"]
"""


@pytest.mark.parametrize("mode", ["arrow", "stream", "auto"])
async def test_sinks_write_the_bytes_pandas_mode_writes(flows: FlowHarness, data_dir: Path, mode: str) -> None:
    write_csv(data_dir / "a.csv", "name,score,city", ["ana,3.5,Lyon", "bob,,Nice", "cy,7,", "ana,3.5,Lyon"])
    write_csv(data_dir / "b.csv", "name,city,score,extra", ["dee,Paris,7,x", "al,Lille,1.25,y", "bo,,9,z"])
    for each in ("pandas", mode):
        result = await flows.run(TEXT_FLOW.format(mode=each))
        assert result.status == "success", result.manifest["errors"]
    pandas_out, other = flows.root / "out" / "pandas", flows.root / "out" / mode
    assert (other / "top.csv").read_bytes() == (pandas_out / "top.csv").read_bytes()
    assert (other / "top.jsonl").read_bytes() == (pandas_out / "top.jsonl").read_bytes()
    assert pd.read_csv(other / "top.csv")["name"].tolist() == ["cy", "dee", "ana", "al", "bob"]


class TestBoundaries:
    @pytest.mark.parametrize(("mode", "declared"), [("pandas", "pandas"), ("arrow", "pyarrow"), ("stream", "pyarrow")])
    async def test_a_module_gets_pandas_unless_it_declares_arrow(
        self, flows: FlowHarness, data_dir: Path, mode: str, declared: str
    ) -> None:
        orders(data_dir, files=1, rows=50)
        result = await flows.run(f"""
            flow: {{name: probes}}
            settings: {{execution_mode: {mode}}}
            modules:
              - {{id: read, name: csv_source, configs: {{required: {{file_path: data/orders}},
                                                       optional: {{dtypes: {DTYPES}}}}}}}
              - {{id: declared, name: {ARROW_PROBE}}}
              - {{id: plain, name: {PANDAS_PROBE}}}
              - {{id: keep, name: filter_mod, configs: {{required: {{condition: "qty > 4"}}}}}}
              - {{id: write, name: parquet_sink, configs: {{required: {{output_path: out/rows.parquet}}}}}}
            connections:
              data: ["read.data - declared.input", "declared.output - plain.input", "plain.output - keep.input",
                     "keep.output - write.input"]
            """)
        assert result.status == "success", result.manifest["errors"]
        modules = result.manifest["modules"]
        assert modules["declared"]["globals"]["kind"] == declared
        assert modules["plain"]["globals"]["kind"] == "pandas"
        source = pd.read_csv(data_dir / "orders" / "part-0.csv")
        assert len(pd.read_parquet(flows.root / "out" / "rows.parquet")) == int((source["qty"] > 4).sum())
        lines = [json.loads(line) for line in (result.run_dir / "log.jsonl").read_text().splitlines()]
        collected = [line for line in lines if line["event"] == "stream_collected"]
        if mode == "stream":  # the probe does not stream: its input is read whole, and the log says so
            assert [line["module"] for line in collected] == ["declared"]  # 'plain' reads a table: no stream
            assert "does not stream: its input is read whole into an Arrow table" in collected[0]["reason"]
        else:
            assert collected == []

    async def test_auto_picks_arrow_for_a_module_that_does_not_stream(
        self, flows: FlowHarness, data_dir: Path
    ) -> None:
        orders(data_dir, files=1, rows=20)
        result = await flows.run(f"""
            flow: {{name: custom}}
            modules:
              - {{id: read, name: csv_source, configs: {{required: {{file_path: data/orders}},
                                                       optional: {{dtypes: {DTYPES}}}}}}}
              - {{id: plain, name: {PANDAS_PROBE}}}
              - {{id: write, name: noop_sink}}
            connections:
              data: ["read.data - plain.input", "plain.output - write.input"]
            """)
        assert result.manifest["execution_mode"] == "arrow"
        assert result.manifest["modules"]["plain"]["globals"]["kind"] == "pandas"
        plan = json.loads(next((flows.root / "jobs" / "custom").glob("*_execution_metadata.json")).read_text())
        assert plan["settings"]["execution_mode_requested"] == "auto"
        assert plan["settings"]["execution_mode_reason"] == (
            f"auto: arrow, not stream: module 'plain' ({PANDAS_PROBE}) does not stream"
        )


async def test_an_arrow_table_that_waits_is_spilled_and_read_back(flows: FlowHarness, data_dir: Path) -> None:
    orders(data_dir, files=1, rows=30)
    result = await flows.run(f"""
        flow: {{name: spill_arrow}}
        settings: {{execution_mode: arrow, spill: {{threshold_rows: 10, dir: spill}}}}
        modules:
          - {{id: read, name: csv_source, configs: {{required: {{file_path: data/orders}}}}}}
          - {{id: slow, name: {SOURCE}, configs: {{required: {{rows: 2}}, optional: {{delay: 0.3}}}}}}
          - {{id: both, name: union_mod}}
          - {{id: write, name: parquet_sink, configs: {{required: {{output_path: out/both.parquet}}}}}}
        connections:
          data: ["read.data - both.input1", "slow.data - both.input2", "both.output - write.input"]
        """)
    assert result.status == "success", result.manifest["errors"]
    spills = result.manifest["spills"]
    assert [(s["artifact"], s["kind"], s["rows"]) for s in spills] == [("read.data", "arrow", 30)]
    assert list((flows.root / "spill").iterdir()) == []
    written = pd.read_parquet(flows.root / "out" / "both.parquet")
    assert len(written) == 32 and written["id"].tolist()[:30] == list(range(30))


@pytest.mark.parametrize("mode", ["stream", "arrow"])
async def test_a_bad_row_deep_in_a_file_names_the_file_line_and_module(
    flows: FlowHarness, data_dir: Path, mode: str
) -> None:
    orders(data_dir, files=2, rows=30_000)
    bad = data_dir / "orders" / "part-1.csv"
    lines = bad.read_text().splitlines()
    lines[25_000] += ",extra"
    bad.write_text("\n".join(lines) + "\n")
    result = await flows.run(reference_flow(mode))
    assert result.status == "failed"
    error = result.manifest["errors"][0]
    assert "data/orders/part-1.csv: line 25001: malformed row: expected 6 fields, saw 7" in error
    assert "module 'read'" in error  # in stream mode the sink that read the stream reports it, naming 'read'
    assert not (flows.root / "out" / mode).exists() or not any((flows.root / "out" / mode).iterdir())
