"""The frame interface (pypeline/modules/kinds): one set of calls for pandas, dask, Arrow tables and streams."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pypeline.modules.kinds import ARROW, DASK, PANDAS, STREAM, BatchStream, kind_of
from pypeline.modules.kinds.stream import StreamUsed
from pypeline.modules.kinds.tee import StreamTee
from pypeline.modules.sdk import DataError

KINDS = ["pandas", "dask", "arrow", "stream"]


def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": range(10), "amount": [float(i * 10) for i in range(10)], "name": list("abcdefghij")})


def as_kind(data: pd.DataFrame, kind: str) -> Any:
    if kind == "dask":
        import dask.dataframe as dd

        return dd.from_pandas(data, npartitions=3)
    table = pa.Table.from_pandas(data, preserve_index=False)
    if kind == "arrow":
        return table
    if kind == "stream":
        return BatchStream.from_table(table, origin="src", batch_rows=3)
    return data


def keep_big(data: pd.DataFrame, limit: float) -> pd.DataFrame:
    return data[data["amount"] > limit]


def keep_big_arrow(table: pa.Table, limit: float) -> pa.Table:
    return table.filter(pc.field("amount") > limit)


class TestKindOf:
    @pytest.mark.parametrize("kind", KINDS)
    def test_each_kind_is_recognised_and_names_its_columns(self, kind: str) -> None:
        value = as_kind(frame(), kind)
        found = kind_of(value)
        assert found.name == kind
        assert found.columns(value) == ["id", "amount", "name"]
        assert found.lazy == (kind in ("dask", "stream"))
        assert found.native == ("arrow" if kind in ("arrow", "stream") else "pandas")
        assert found.partitioned == (kind == "dask")
        assert found.rows(value) == (None if found.lazy else 10)

    def test_anything_else_is_refused_with_its_type(self) -> None:
        with pytest.raises(TypeError, match=r"expected a frame \(pandas, dask, Arrow table or stream\), got list"):
            kind_of([1, 2])


class TestRowSteps:
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("arrow_form", [True, False], ids=["arrow-form", "pandas-form-only"])
    def test_map_rows_gives_the_same_rows_in_every_kind(self, kind: str, arrow_form: bool) -> None:
        value = as_kind(frame(), kind)
        found = kind_of(value)
        result = found.map_rows(value, keep_big, keep_big_arrow if arrow_form else None, 45.0)
        assert kind_of(result) is found  # the same kind out as in
        assert found.to_pandas(result)["id"].tolist() == [5, 6, 7, 8, 9]

    @pytest.mark.parametrize("kind", ["pandas", "arrow", "stream"])
    def test_report_rows_tells_both_counts_when_known(self, kind: str) -> None:
        value = as_kind(frame(), kind)
        found = kind_of(value)
        result = found.map_rows(value, keep_big, keep_big_arrow, 45.0)
        seen: list[tuple[int, int]] = []
        found.report_rows(value, result, lambda rows_in, rows_out: seen.append((rows_in, rows_out)))
        if kind == "stream":
            assert seen == []  # nothing read yet: the counts come when the stream ends
            found.to_pandas(result)
        assert seen == [(10, 5)]

    def test_dask_never_reports_rows(self) -> None:
        value = as_kind(frame(), "dask")
        seen: list[Any] = []
        DASK.report_rows(value, DASK.map_rows(value, keep_big, None, 45.0), lambda *rows: seen.append(rows))
        assert seen == []

    @pytest.mark.parametrize("kind", ["pandas", "arrow", "stream"])
    def test_a_blocking_arrow_step_runs_over_the_whole_input(self, kind: str) -> None:
        value = as_kind(frame(), kind)
        found = kind_of(value)

        def total(reader: pa.RecordBatchReader) -> pa.Table:
            table = reader.read_all()
            return pa.table({"rows": [table.num_rows], "sum": [pc.sum(table.column("amount")).as_py()]})

        result = found.blocking(value, total)
        assert found.to_pandas(result).to_dict("records") == [{"rows": 10, "sum": 450.0}]

    def test_eager_kinds_work_on_the_thread_pool_lazy_ones_inline(self) -> None:
        assert not PANDAS.lazy and not ARROW.lazy and STREAM.lazy and DASK.lazy


class TestBatchStream:
    def test_is_read_once(self) -> None:
        stream = as_kind(frame(), "stream")
        assert sum(b.num_rows for b in stream) == 10
        with pytest.raises(StreamUsed, match="the stream of module 'src' was already read"):
            list(stream)

    def test_counts_its_rows_and_calls_back_at_its_end(self) -> None:
        stream = as_kind(frame(), "stream")
        ended: list[int] = []
        stream.on_end(lambda: ended.append(stream.rows))
        batches = iter(stream)
        next(batches)
        assert ended == [] and stream.started and not stream.ended
        list(batches)
        assert ended == [10] and stream.ended
        stream.on_end(lambda: ended.append(-1))  # after the end: at once
        assert ended == [10, -1]

    def test_a_failing_stage_names_its_module_once(self) -> None:
        def fail_on_rows(table: pa.Table) -> pa.Table:
            if table.num_rows:
                raise DataError("condition 'x > 1' failed: bad values")
            return table

        source = as_kind(frame(), "stream")
        stage = source.map(fail_on_rows)
        later = stage.map(lambda table: table)
        later.claim("keep")  # what the run does with a module's output: names the stages it made
        with pytest.raises(DataError, match=re.escape("module 'keep': condition 'x > 1' failed: bad values")) as info:
            list(later)
        assert str(info.value).count("module 'keep'") == 1
        assert source.origin == "src"  # a stream the module received keeps its own name

    def test_a_chain_of_two_thousand_stages_reads_as_one_loop_and_counts_each_stage(self) -> None:
        source = as_kind(frame(), "stream")
        stages, ended = [source], []
        for index in range(2000):  # nested generators would exceed the recursion limit (1,000 frames)
            limit = 45.0 if index == 1000 else -1.0
            stage = stages[-1].map(lambda table, limit=limit: keep_big_arrow(table, limit), origin=f"f{index}")
            stage.on_end(lambda index=index: ended.append(index))
            stages.append(stage)
        assert stages[-1].collect().column("id").to_pylist() == [5, 6, 7, 8, 9]
        assert [s.rows for s in stages[1000:1003]] == [10, 5, 5]  # each stage counts what it let through
        assert ended == list(range(2000))  # every stage ends, upstream first
        assert all(s.started for s in stages)
        with pytest.raises(StreamUsed, match="module 'f999' was already read"):
            list(stages[1000].map(lambda table: table))  # an inner stage the chain read was read

    def test_a_failing_stage_inside_a_chain_names_its_own_module(self) -> None:
        def fail(table: pa.Table) -> pa.Table:
            if table.num_rows:
                raise DataError("bad values")
            return table

        chained = as_kind(frame(), "stream").map(lambda t: t, origin="a").map(fail, origin="b").map(
            lambda t: t, origin="c")
        with pytest.raises(DataError, match=r"^module 'b': bad values$"):
            list(chained)

    def test_a_pandas_step_takes_the_column_types_of_the_first_batch(self) -> None:
        def add_note(data: pd.DataFrame) -> pd.DataFrame:
            return data.assign(note=[f"n{i}" for i in data["id"]] if len(data) else [])

        stream = STREAM.map_rows(as_kind(frame(), "stream"), add_note, None)
        table = stream.collect()
        kind = table.schema.field("note").type  # text, not the float64 pandas gives an empty column
        assert pa.types.is_string(kind) or pa.types.is_large_string(kind)
        assert table.column("note").to_pylist()[:2] == ["n0", "n1"]


def numbered(batches: int, rows: int = 1000, pulls: list[int] | None = None) -> BatchStream:
    schema = pa.schema([("i", pa.int64()), ("pad", pa.string())])

    def produce() -> Iterator[pa.RecordBatch]:
        for index in range(batches):
            if pulls is not None:
                pulls.append(index)
            ids = list(range(index * rows, (index + 1) * rows))
            yield pa.record_batch([pa.array(ids), pa.array(["x" * 100] * rows)], schema=schema)

    return BatchStream(schema, produce, origin="src")


class TestTee:
    def test_two_readers_in_threads_read_the_input_once_in_order(self, tmp_path: Path) -> None:
        pulls: list[int] = []
        tee = StreamTee(numbered(50, pulls=pulls), 2, lambda: tmp_path)
        branches = [tee.branch(), tee.branch()]
        seen: list[list[int]] = [[], []]

        def read(index: int) -> None:
            for batch in branches[index]:
                seen[index].extend(batch.column(0).to_pylist())

        threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert pulls == list(range(50))  # each batch produced once
        assert seen[0] == seen[1] == list(range(50_000))
        assert tee.spilled_rows == 0  # both read along: nothing went to disk

    def test_a_branch_nobody_reads_yet_is_spilled_and_read_back_in_order(self, tmp_path: Path) -> None:
        tee = StreamTee(numbered(40), 2, lambda: tmp_path, buffer_bytes=200_000)
        first, second = tee.branch(), tee.branch()
        assert sum(b.num_rows for b in first) == 40_000  # the other reader has not started: no waiting
        assert tee.spilled_rows > 30_000 and list(tmp_path.glob("tee_*.arrow"))
        ids = [i for batch in second for i in batch.column(0).to_pylist()]
        assert ids == list(range(40_000))
        assert not list(tmp_path.glob("tee_*.arrow"))  # read back and removed

    def test_a_failure_upstream_reaches_every_reader(self, tmp_path: Path) -> None:
        schema = pa.schema([("i", pa.int64())])

        def produce() -> Iterator[pa.RecordBatch]:
            yield pa.record_batch([pa.array([1])], schema=schema)
            raise DataError("data/b.csv: line 3: malformed row")

        tee = StreamTee(BatchStream(schema, produce, origin="read"), 2, lambda: tmp_path)
        for branch in (tee.branch(), tee.branch()):
            with pytest.raises(DataError, match=re.escape("module 'read': data/b.csv: line 3: malformed row")):
                list(branch)

    def test_a_released_branch_neither_holds_the_others_nor_reads(self, tmp_path: Path) -> None:
        tee = StreamTee(numbered(20), 2, lambda: tmp_path, buffer_bytes=1)
        first, second = tee.branch(), tee.branch()
        tee.release(1)
        assert sum(b.num_rows for b in first) == 20_000
        assert tee.spilled_rows == 0
        with pytest.raises(RuntimeError, match="was released"):
            list(second)
