"""Checkpoints and ``--resume`` in process: what is restored, what re-runs, and every refusal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from pypeline.core.errors import CheckpointError
from pypeline.modules.sdk.temporaries import LEDGER_FILE, make_temporary
from pypeline.run.checkpoint.reading import read_checkpoint
from pypeline.run.checkpoint.resume import RunLock
from pypeline.run.run import RunOptions, RunResult, run_job
from pypeline.run.state.records import subflow_key_str
from tests.conftest import FlowHarness, invoke, write_csv

GATED = """
flow: {name: gated}
settings: {retries: 0}
modules:
  - {id: read, name: csv_source, configs: {required: {file_path: data/x.csv}}}
  - {id: copy, name: csv_sink, configs: {required: {output_path: out/copy.csv}}}
  - {id: gate, name: fail_mod, configs: {optional: {unless_file_exists: flag}}}
  - {id: again, name: csv_source, configs: {required: {file_path: out/copy.csv}}}
  - {id: final, name: csv_sink, configs: {required: {output_path: out/final.csv}}}
  - {id: big, name: set_globals, configs: {required: {values: {seen: "{{read__row_count}}"}}}}
connections:
  data: ["read.data - copy.input", "again.data - final.input"]
  control:
    - "copy (1|) gate"
    - "gate (1|) again"
    - "copy (2| read__row_count > 2) big"
"""

ITERATING = """
flow: {name: loop}
modules:
  - {id: files, name: file_list, configs: {required: {directory: data/in}, optional: {pattern: "*.csv"}}}
  - {id: load, name: csv_source, configs: {required: {file_path: "{{iter.item}}"}}}
  - {id: part, name: csv_sink, configs: {required: {output_path: "out/parts/p{{iter.index}}.csv"}}}
  - {id: gate, name: fail_mod, configs: {optional: {unless_file_exists: "flags/{{iter.index}}"}}}
  - {id: gather, name: csv_source, configs: {required: {file_path: out/parts}}}
  - {id: total, name: csv_sink, configs: {required: {output_path: out/all.csv}}}
connections:
  data: ["load.data - part.input", "gather.data - total.input"]
  control:
    - {from: files, to: load, type: iterate, order: 1}
    - "part (1|) gate"
    - "files (2| files__file_count == 3) gather"
"""


def attempts(result: RunResult) -> dict[str, tuple[str, int]]:
    return {node: (m["status"], m["attempts"]) for node, m in result.manifest["modules"].items()}


async def resume(flows: FlowHarness, run_id: str = "latest", **options: Any) -> RunResult:
    return await run_job(
        flows.root / "jobs" / options.pop("job", "gated"),
        RunOptions(resume=run_id, progress="none", echo_logs=False, **options),
    )


@pytest.fixture
def gated_data(data_dir: Path) -> Path:
    return write_csv(data_dir / "x.csv", "a,b", ["1,x", "2,y", "3,z"])


class TestResume:
    async def test_resumes_from_the_failed_sub_flow(self, flows: FlowHarness, gated_data: Path) -> None:
        first = await flows.run(GATED)
        assert first.status == "failed"
        # halt: order 2 ('big') never started
        assert attempts(first) == {"read": ("success", 1), "copy": ("success", 1), "gate": ("failed", 1)}
        assert first.manifest["resume_command"] == f"pype run {flows.root / 'jobs' / 'gated'} --resume {first.run_id}"
        checkpoint = first.run_dir / "checkpoint"
        done = read_checkpoint(checkpoint)
        assert done is not None and done.done == {("read", ())}
        (flows.root / "flag").touch()
        second = await resume(flows)
        assert second.status == "success", second.manifest["errors"]
        assert second.manifest["resumed_from"] == first.run_id
        assert attempts(second) == {
            "read": ("restored", 0), "copy": ("restored", 0),
            "gate": ("success", 1), "again": ("success", 1), "final": ("success", 1), "big": ("success", 1),
        }
        # the condition and the template of 'big' saw the restored global read__row_count
        assert second.manifest["modules"]["big"]["globals"] == {"seen": 3}
        assert second.manifest["modules"]["read"]["rows_out"] == 3
        assert second.manifest["modules"]["read"]["restored_from"] == first.run_id
        statuses = {s["instance"]: s["status"] for s in second.manifest["subflows"]}
        assert statuses == {"read": "restored", "big": "success", "gate": "success", "again": "success"}
        assert pd.read_csv(flows.root / "out" / "final.csv")["a"].tolist() == [1, 2, 3]
        assert not (second.run_dir / "checkpoint").exists()
        assert not checkpoint.exists()
        assert json.loads((first.run_dir / "resumed_by.json").read_text())["resumed_by"] == second.run_id

    async def test_iterations_lists_and_conditions_are_restored(self, flows: FlowHarness, data_dir: Path) -> None:
        for i in range(3):
            write_csv(data_dir / "in" / f"f{i}.csv", "v", [str(i * 10 + j) for j in range(4)])
        (flows.root / "flags").mkdir()
        (flows.root / "flags" / "0").touch()
        first = await flows.run(ITERATING)
        assert first.status == "failed"
        assert attempts(first)["gate#1"] == ("failed", 1) and "load#2" not in first.manifest["modules"]
        (flows.root / "flags" / "1").touch()
        (flows.root / "flags" / "2").touch()
        (data_dir / "in" / "f9.csv").write_text("v\n999\n")  # the restored list wins over a new listing
        second = await resume(flows, job="loop")
        assert second.status == "success", second.manifest["errors"]
        got = attempts(second)
        assert got["files"] == ("restored", 0)
        assert got["load#0"] == got["part#0"] == got["gate#0"] == ("restored", 0)
        assert got["load#1"] == ("restored", 0) and got["gate#1"] == ("success", 1)
        assert got["load#2"] == ("success", 1) and got["gather"] == ("success", 1)
        total = pd.read_csv(flows.root / "out" / "all.csv")["v"].tolist()
        assert sorted(total) == [i * 10 + j for i in range(3) for j in range(4)]

    async def test_a_torn_record_is_ignored_and_its_instance_runs_again(
        self, flows: FlowHarness, data_dir: Path
    ) -> None:
        for i in range(3):
            write_csv(data_dir / "in" / f"f{i}.csv", "v", [str(i * 10 + j) for j in range(4)])
        (flows.root / "flags").mkdir()
        for i in range(2):
            (flows.root / "flags" / str(i)).touch()
        first = await flows.run(ITERATING)
        assert first.status == "failed" and attempts(first)["gate#2"] == ("failed", 1)
        folder = first.run_dir / "checkpoint"
        written = read_checkpoint(folder)
        assert written is not None and len(written.instances) == 6  # files, load#0..2, gate#0..1
        journal = folder / "journal.log"
        data = journal.read_bytes()
        last = data.rstrip(b"\n").rfind(b"\n") + 1
        journal.write_bytes(data[:last] + data[last:].replace(b'"success"', b'"sucXess"', 1))  # what a crash may leave
        torn = subflow_key_str(written.instances[-1].key)
        (flows.root / "flags" / "2").touch()
        second = await resume(flows, job="loop")
        assert second.status == "success", second.manifest["errors"]
        statuses = {s["instance"]: s["status"] for s in second.manifest["subflows"]}
        assert statuses[torn] == "success"  # not trusted: it ran again
        assert sorted(k for k, v in statuses.items() if v == "restored") == sorted(
            subflow_key_str(i.key) for i in written.instances[:-1]
        )
        logged = [json.loads(line) for line in (second.run_dir / "log.jsonl").read_text().splitlines()]
        warning = next(line for line in logged if line["event"] == "checkpoint_tail_ignored")
        assert "record 6" in warning["reason"] and "checksum mismatch" in warning["reason"]
        total = sorted(pd.read_csv(flows.root / "out" / "all.csv")["v"])
        assert total == [i * 10 + j for i in range(3) for j in range(4)]

    async def test_a_resumed_run_that_fails_is_resumed_in_turn(self, flows: FlowHarness, gated_data: Path) -> None:
        first = await flows.run(GATED)
        second = await resume(flows)
        assert second.status == "failed" and second.manifest["resume_command"].endswith(second.run_id)
        assert attempts(second)["gate"] == ("failed", 1) and attempts(second)["read"] == ("restored", 0)
        (flows.root / "flag").touch()
        third = await resume(flows)
        assert third.manifest["resumed_from"] == second.run_id and third.status == "success"
        for run in (first, second):
            assert json.loads((run.run_dir / "resumed_by.json").read_text())["resumed_by"] == third.run_id
        with pytest.raises(CheckpointError, match=re.escape(f"run '{first.run_id}' was already resumed by run")):
            await resume(flows, first.run_id)

    async def test_globals_keep_their_values_and_order(self, flows: FlowHarness, data_dir: Path) -> None:
        for i in range(11):
            write_csv(data_dir / "in" / f"f{i:02d}.csv", "v", [str(j) for j in range(i + 1)])
        (flows.root / "flags").mkdir()
        for i in range(10):
            (flows.root / "flags" / str(i)).touch()
        text = ITERATING.replace("files__file_count == 3", "load__row_count == 11")
        first = await flows.run(text)
        assert first.status == "failed" and attempts(first)["gate#10"] == ("failed", 1)
        (flows.root / "flags" / "10").touch()
        second = await resume(flows, job="loop")
        # every load#i is restored; "row_count of load" means the one set last (load#10: 11 rows),
        # not the alphabetically last node (load#9: 10 rows)
        assert attempts(second)["load#10"] == ("restored", 0)
        assert second.status == "success" and attempts(second)["gather"] == ("success", 1)

    async def test_temporary_files_of_the_killed_run_are_removed(self, flows: FlowHarness, gated_data: Path) -> None:
        first = await flows.run(GATED)
        out = flows.root / "out"
        ledger = first.run_dir / LEDGER_FILE
        # what a kill in the middle of two sink writes leaves: the run's own private folders, recorded
        leftovers = [make_temporary(out, "final.csv", ledger), make_temporary(out, "final.csv", ledger)]
        (leftovers[0] / "output").write_text("a,b\n1,")
        (leftovers[1] / "output.parts").mkdir()
        # the user's files that merely look like temporaries: never recorded, never touched
        lookalikes = [out / ".final.csv.1a2b3c4d.pype-tmp", out / ".other.csv.1a2b3c4d.pype-tmp"]
        lookalikes[0].write_text("mine")
        lookalikes[1].mkdir()
        (flows.root / "flag").touch()
        second = await resume(flows)
        assert second.status == "success"
        assert not any(p.exists() for p in leftovers) and all(p.exists() for p in lookalikes)
        assert lookalikes[0].read_text() == "mine"
        logged = [json.loads(line) for line in (second.run_dir / "log.jsonl").read_text().splitlines()]
        assert any(line["event"] == "temp_files_removed" and line["count"] == 2 for line in logged)
        assert not (second.run_dir / LEDGER_FILE).exists()  # a run that succeeded has nothing left to clean

    async def test_resume_uses_the_context_of_the_resumed_run(self, flows: FlowHarness, data_dir: Path) -> None:
        write_csv(data_dir / "y.csv", "a", ["7"])
        context = "context: {default: {src: data/x.csv, dst: out/final.csv}}"
        text = GATED.replace("data/x.csv", '"{{context.src}}"').replace("out/final.csv", '"{{context.dst}}"')
        text = text.replace("settings: {retries: 0}", f"settings: {{retries: 0}}\n{context}")
        first = await flows.run(text, overrides={"src": "data/y.csv", "dst": "out/chosen.csv"})
        assert first.status == "failed"
        (flows.root / "flag").touch()
        second = await resume(flows)
        assert second.status == "success"
        # 'final' runs only in the resumed run: it must see the first run's override, not the default
        assert pd.read_csv(flows.root / "out" / "chosen.csv")["a"].tolist() == [7]
        assert not (flows.root / "out" / "final.csv").exists()


class TestRefusals:
    def test_cli_prints_the_resume_command_and_refuses_bad_resumes(
        self, flows: FlowHarness, gated_data: Path, cli: CliRunner
    ) -> None:
        job = str(flows.build(GATED))
        failed = invoke(cli, "run", job, "--progress", "none", "--quiet")
        assert failed.exit_code == 1
        run_id = re.search(r"run (\S+): failed", failed.output).group(1)  # type: ignore[union-attr]
        assert f"resume with: pype run {job} --resume {run_id}" in failed.output
        refused = invoke(cli, "run", job, "--resume", "nope")
        assert refused.exit_code == 2 and "no run 'nope'" in refused.output
        mixed = invoke(cli, "run", job, "--resume", "--context", "default")
        assert mixed.exit_code == 2 and "cannot be combined with --resume" in mixed.output
        (flows.root / "flag").touch()
        ok = invoke(cli, "run", job, "--resume", "--progress", "none", "--quiet")
        assert ok.exit_code == 0, ok.output
        again = invoke(cli, "run", job, "--resume", run_id)
        assert again.exit_code == 2 and f"run '{run_id}' was already resumed by run" in again.output
        nothing = invoke(cli, "run", job, "--resume")
        assert nothing.exit_code == 2 and "no failed run with a checkpoint to resume" in nothing.output

    async def test_a_successful_run_is_refused(self, flows: FlowHarness, gated_data: Path) -> None:
        (flows.root / "flag").touch()
        done = await flows.run(GATED)
        with pytest.raises(CheckpointError, match=re.escape(f"run '{done.run_id}' succeeded; there is nothing")):
            await resume(flows, done.run_id)

    async def test_a_changed_flow_is_refused(self, flows: FlowHarness, gated_data: Path) -> None:
        failed = await flows.run(GATED)
        flows.build(GATED.replace("out/final.csv", "out/final2.csv"))
        with pytest.raises(CheckpointError, match=r"the job folder changed since its checkpoint \(flow hash"):
            await resume(flows, failed.run_id)

    async def test_a_run_without_checkpoint_is_refused(self, flows: FlowHarness, gated_data: Path) -> None:
        failed = await flows.run(GATED.replace("settings: {retries: 0}", "settings: {checkpoint: {enabled: false}}"))
        assert failed.status == "failed" and failed.manifest["resume_command"] is None
        assert not (failed.run_dir / "checkpoint").exists()
        with pytest.raises(CheckpointError, match=re.escape(f"run '{failed.run_id}' has no checkpoint")):
            await resume(flows, failed.run_id)

    async def test_a_running_run_is_refused_and_a_killed_one_is_not(
        self, flows: FlowHarness, gated_data: Path
    ) -> None:
        failed = await flows.run(GATED)
        manifest = failed.run_dir / "manifest.json"
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "status": "running"}))
        lock = RunLock(failed.run_dir).acquire()
        try:
            with pytest.raises(CheckpointError, match=re.escape(f"run '{failed.run_id}' is still running")):
                await resume(flows, failed.run_id)
        finally:
            lock.release()
        second = await resume(flows)  # "running" without a live lock holder: killed, so resumable
        assert second.manifest["resumed_from"] == failed.run_id

    async def test_a_run_being_resumed_is_refused(self, flows: FlowHarness, gated_data: Path) -> None:
        failed = await flows.run(GATED)
        lock = RunLock(failed.run_dir).acquire()  # what a resuming process holds on the run it resumes
        try:
            with pytest.raises(CheckpointError, match=re.escape(f"run '{failed.run_id}' is being resumed by another")):
                await resume(flows, failed.run_id)
        finally:
            lock.release(unlink=False)
        assert (await resume(flows, failed.run_id)).manifest["resumed_from"] == failed.run_id
