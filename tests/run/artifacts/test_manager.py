"""ArtifactManager: the spill policy, exact Parquet round trips, clean-up, thread safety."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import pandas as pd
import pytest

from pypeline.run.artifacts.manager import OWNER_MARKER, ArtifactManager, SpillPolicy
from pypeline.run.artifacts.memory import MemoryArtifact, ValueArtifact
from pypeline.run.artifacts.parquet import ParquetArtifact
from pypeline.run.artifacts.sizeof import estimate


class ListLogger:
    """Collects (level, event, fields) like a structlog logger would emit them."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda event, **fields: self.lines.append((level, event, fields))


def frame_of(art: object) -> pd.DataFrame:
    """The frame a frame artifact holds (a value artifact here is a bug)."""
    assert isinstance(art, (MemoryArtifact, ParquetArtifact)), art
    return art.to_pandas()


def typed_frame(rows: int = 6) -> pd.DataFrame:
    """A frame with every dtype a spill must keep: nullable, string, boolean, tz datetime, categorical."""
    base = pd.DataFrame(
        {
            "id": pd.array([1, None, 3, 4, None, 6], dtype="Int64"),
            "name": pd.Series(["ana", None, "cy", "dé", "", "ed"], dtype="str"),
            "label": pd.Series(["a", None, "c", "d", "e", "f"], dtype="string"),
            "flag": pd.array([True, None, False, True, False, None], dtype="boolean"),
            "when": pd.to_datetime(
                ["2024-01-01 10:00", None, "2024-03-31 02:30", "2024-10-27 01:00", "2025-01-01 00:00",
                 "2025-06-01 12:00"]
            ).tz_localize("Europe/Paris", ambiguous="NaT", nonexistent="NaT"),
            "kind": pd.Categorical(["x", "y", None, "x", "z", "y"], categories=["z", "y", "x"], ordered=True),
            "score": [1.5, float("nan"), -0.0, 1e300, 2.25, 3.0],
            "n": [1, 2, 3, 4, 5, 6],
        },
        index=pd.Index([10, 11, 12, 20, 21, 22], name="row"),
    )
    return pd.concat([base] * (rows // 6), ignore_index=False) if rows > 6 else base


class TestPolicy:
    def test_rows_over_threshold_spill(self) -> None:
        policy = SpillPolicy(threshold_rows=5, max_ram_share=0.9)
        assert policy.reason(estimate(typed_frame()), ram_share=0.1) == "rows"
        assert policy.reason(estimate(typed_frame().head(5)), ram_share=0.1) is None

    def test_memory_pressure_spills_only_frames_worth_it(self) -> None:
        policy = SpillPolicy(threshold_rows=10**9, max_ram_share=0.5)
        big = pd.DataFrame({"x": range(300_000)})
        assert policy.reason(estimate(big), ram_share=0.6) == "memory"
        assert policy.reason(estimate(big), ram_share=0.4) is None
        assert policy.reason(estimate(big.head(10)), ram_share=0.9) is None

    def test_defaults_come_from_settings_block(self) -> None:
        policy = SpillPolicy.from_config({"threshold_rows": 7, "dir": "/x"})
        assert (policy.threshold_rows, policy.max_ram_share, policy.dir) == (7, 0.6, "/x")

    def test_lazy_dask_frame_holds_no_rows(self, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("x\n1\n2\n")
        lazy = dd.read_csv(str(tmp_path / "a.csv"))
        assert estimate(lazy).rows == 0
        in_memory = dd.from_pandas(pd.DataFrame({"x": range(10)}), npartitions=2)
        assert estimate(in_memory[in_memory.x > 3]).rows == 10


class TestSpill:
    def test_frame_over_threshold_becomes_parquet_and_round_trips_exactly(self, tmp_path: Path) -> None:
        logger = ListLogger()
        manager = ArtifactManager({"threshold_rows": 3, "dir": str(tmp_path)}, logger=logger)
        frame = typed_frame()
        art = manager.register(frame, name="read.data")
        assert isinstance(art, ParquetArtifact)
        assert art.n_rows == 6
        assert art.uri.startswith("file://") and Path(art.path).is_file()
        back = art.to_pandas()
        pd.testing.assert_frame_equal(back, frame, check_exact=True)
        assert back.dtypes.to_dict() == frame.dtypes.to_dict()
        assert back["kind"].cat.categories.tolist() == ["z", "y", "x"] and back["kind"].cat.ordered
        pd.testing.assert_frame_equal(art.to_dask().compute(), MemoryArtifact(frame).to_dask().compute())
        [entry] = manager.spills
        assert entry["artifact"] == "read.data" and entry["reason"] == "rows" and entry["rows"] == 6
        [(level, event, fields)] = logger.lines
        assert (level, event) == ("info", "artifact_spilled")
        assert fields["message"] == f"spill to parquet at {art.path}"
        manager.close()
        assert not any(tmp_path.iterdir())

    def test_big_frame_spills_in_slices_with_its_whole_index(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("pypeline.run.artifacts.parquet.ROWS_PER_SLICE", 4)
        manager = ArtifactManager({"threshold_rows": 0, "dir": str(tmp_path)})
        frame = typed_frame(18)
        pd.testing.assert_frame_equal(frame_of(manager.register(frame)), frame, check_exact=True)
        ranged = frame.reset_index(drop=True).iloc[3:]
        pd.testing.assert_frame_equal(frame_of(manager.register(ranged)), ranged, check_exact=True)
        empty = frame.iloc[:0]
        pd.testing.assert_frame_equal(frame_of(manager.register(empty)), empty)
        manager.close()

    def test_frame_under_threshold_stays_in_memory(self, tmp_path: Path) -> None:
        manager = ArtifactManager({"threshold_rows": 6, "max_ram_share": 1.0, "dir": str(tmp_path)})
        frame = typed_frame()
        art = manager.register(frame)
        assert isinstance(art, MemoryArtifact) and art.to_pandas() is frame and art.n_rows == 6
        assert manager.spills == [] and manager.spill_dir is None

    def test_memory_share_spills(self, tmp_path: Path) -> None:
        manager = ArtifactManager({"threshold_rows": 10**9, "max_ram_share": 1e-9, "dir": str(tmp_path)})
        big = pd.DataFrame({"x": range(300_000), "y": 1.0})
        art = manager.register(big, name="big.out")
        assert isinstance(art, ParquetArtifact)
        assert manager.spills[0]["reason"] == "memory"
        assert isinstance(manager.register(big.head(3)), MemoryArtifact)
        manager.close()

    def test_dask_frame_spills_partition_by_partition_and_reads_back_lazily(self, tmp_path: Path) -> None:
        manager = ArtifactManager({"threshold_rows": 3, "dir": str(tmp_path)})
        frame = dd.from_pandas(typed_frame(12).reset_index(), npartitions=3)
        art = manager.register(frame, name="d.out")
        assert isinstance(art, ParquetArtifact) and art.path.is_dir()
        assert art.n_rows == 12
        lazy = art.to_dask()
        assert lazy.npartitions == 3
        pd.testing.assert_frame_equal(lazy.compute(), frame.compute(), check_exact=True)
        pd.testing.assert_frame_equal(art.to_pandas(), frame.compute(), check_exact=True)
        assert manager.spills[0]["kind"] == "dask"
        manager.release(art)
        assert art.path.exists(), "a lazily read spill lives until its sub flow ends"
        manager.release(art, final=True)
        assert not art.path.exists()
        manager.close()

    def test_lazy_dask_frame_is_never_spilled(self, tmp_path: Path) -> None:
        (tmp_path / "a.csv").write_text("x\n" + "\n".join(map(str, range(50))) + "\n")
        manager = ArtifactManager({"threshold_rows": 0, "max_ram_share": 1e-9, "dir": str(tmp_path / "s")})
        art = manager.register(dd.read_csv(str(tmp_path / "a.csv")))
        assert isinstance(art, MemoryArtifact) and art.n_rows is None

    def test_unstorable_frame_stays_in_memory_with_a_warning(self, tmp_path: Path) -> None:
        logger = ListLogger()
        manager = ArtifactManager({"threshold_rows": 0, "dir": str(tmp_path)}, logger=logger)
        mixed = pd.DataFrame({"x": pd.Series([1, "a", b"b"], dtype=object)})
        art = manager.register(mixed, name="m.out")
        assert isinstance(art, MemoryArtifact) and art.to_pandas() is mixed
        assert logger.lines[0][:2] == ("warning", "spill_failed") and logger.lines[0][2]["artifact"] == "m.out"
        assert manager.spills == []
        manager.close()
        assert not any(tmp_path.iterdir())

    def test_values_are_not_frames(self) -> None:
        art = ArtifactManager().register(["a.csv", "b.csv"])
        assert isinstance(art, ValueArtifact) and art.n_rows == 2
        assert ArtifactManager().materialize(art, "dask") == ["a.csv", "b.csv"]

    def test_released_memory_artifact_refuses_reads(self) -> None:
        manager = ArtifactManager()
        art = manager.register(pd.DataFrame({"x": [1]}))
        manager.release(art)
        with pytest.raises(RuntimeError, match="was released"):
            frame_of(art)


class TestSpillFolder:
    def test_concurrent_spills_from_threads(self, tmp_path: Path) -> None:
        manager = ArtifactManager({"threshold_rows": 0, "dir": str(tmp_path)})
        results: list[Any] = []
        frames = [pd.DataFrame({"x": range(i * 100, i * 100 + 50)}) for i in range(8)]

        def spill(i: int) -> None:
            results.append((i, manager.register(frames[i], name=f"m{i}.out")))

        threads = [threading.Thread(target=spill, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({art.path for _, art in results}) == 8 and len(manager.spills) == 8
        for i, art in results:
            pd.testing.assert_frame_equal(art.to_pandas(), frames[i])
        assert len(list(tmp_path.glob("pypeline_*"))) == 1
        manager.close()
        assert list(tmp_path.iterdir()) == []

    def test_folder_of_a_killed_process_is_removed(self, tmp_path: Path) -> None:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        import socket

        orphan = tmp_path / "pypeline_orphan"
        orphan.mkdir()
        (orphan / "00001-x.parquet").write_bytes(b"partial")
        (orphan / OWNER_MARKER).write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
        foreign = tmp_path / "pypeline_foreign"
        foreign.mkdir()
        manager = ArtifactManager({"threshold_rows": 0, "dir": str(tmp_path)})
        manager.register(pd.DataFrame({"x": [1]}))
        assert not orphan.exists() and foreign.exists()
        manager.close()

    def test_scratch_folders_live_in_the_spill_folder_and_go_with_it(self, tmp_path: Path) -> None:
        manager = ArtifactManager({"dir": str(tmp_path)})
        first, second = manager.scratch_dir("sql_sink_"), manager.scratch_dir("sql_sink_")
        assert first != second and first.parent == second.parent == manager.spill_dir
        (first / "part.parquet").write_bytes(b"x")
        manager.close()
        assert list(tmp_path.iterdir()) == []
