"""A kill between a table append's commit and its sub flow's checkpoint: the resumed run does not append again.

One sub flow reads 20 rows and fans them out to ``sql_sink`` (append to a
SQLite table) and to the slow test sink. The test kills ``pype run`` with
SIGKILL once the table holds the rows (the append committed) while the slow
sink is still writing, so the sub flow instance has no checkpoint record and
the resumed run runs all of it again. With the write ledger (the default) the
table ends with the 20 rows once; without it (``ledger_table: null``), twice,
which is the duplication the ledger exists to prevent.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.run.checkpoint.test_crash_resume import PYPE, REPO, SLOW, kill, wait_for

FLOW = f"""
flow: {{name: ledger}}
modules:
  - {{id: read, name: csv_source, configs: {{required: {{file_path: data/rows.csv}}}}}}
  - {{id: save, name: sql_sink, configs: {{required: {{url: "sqlite:///DB", table: rows}}, optional: LEDGER}}}}
  - {{id: copy, name: {SLOW}, configs: {{required: {{output_path: out/copy.csv}},
                                     optional: {{chunk_rows: 2, delay: 0.25}}}}}}
connections:
  data: ["read.data - save.input", "read.data - copy.input"]
"""


def rows_in(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=5) as conn:
        found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'rows'").fetchone()
        return conn.execute("SELECT count(*) FROM rows").fetchone()[0] if found else 0


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def pype(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYPE, *args], cwd=root, env=env(), capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize(("ledger", "expected_rows"), [("{}", 20), ("{ledger_table: null}", 40)],
                         ids=["ledger", "no-ledger"])
def test_resume_after_a_kill_between_commit_and_checkpoint(tmp_path: Path, ledger: str, expected_rows: int) -> None:
    db = tmp_path / "db.sqlite"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.csv").write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(20)))
    (tmp_path / "flow.yaml").write_text(FLOW.replace("DB", str(db)).replace("LEDGER", ledger))
    assert pype(tmp_path, "build", "flow.yaml").returncode == 0

    with open(tmp_path / "killed.out", "w") as out:
        proc = subprocess.Popen([PYPE, "run", "jobs/ledger", "--quiet", "--progress", "none"], cwd=tmp_path,
                                env=env(), stdout=out, stderr=subprocess.STDOUT)
    wait_for(lambda: rows_in(db) == 20, proc, "the append's commit")  # type: ignore[arg-type]
    kill(proc)  # type: ignore[arg-type]
    assert not (tmp_path / "out" / "copy.csv").exists(), "the slow sink must still have been writing"

    resumed = pype(tmp_path, "run", "jobs/ledger", "--resume", "--quiet", "--progress", "none")
    assert resumed.returncode == 0, resumed.stderr
    assert rows_in(db) == expected_rows
    manifest = next(json.loads(p.read_text()) for p in (tmp_path / "jobs" / "ledger" / "runs").glob("*/manifest.json")
                    if json.loads(p.read_text())["resumed_from"])
    save = manifest["modules"]["save"]
    assert (save["status"], save["attempts"]) == ("success", 1)  # the sub flow ran again, save with it
    assert save.get("stats", {}).get("already_written", False) is (expected_rows == 20), save
    assert len((tmp_path / "out" / "copy.csv").read_text().splitlines()) == 21
