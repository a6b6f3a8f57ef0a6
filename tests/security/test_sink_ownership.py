"""Sinks replace only what is provably theirs (issue 11 §3; modules/sdk/ownership.py, docs/security.md).

Every refusal is checked through the real ``pype`` (a subprocess for the
cases that matter most, the in-process CLI for the variants): exit code 1,
one ``error:`` line naming the path and a file in it, and a hash of the whole
project tree (the job folders aside, where runs keep their records) equal
before and after. The allowed cases (a rerun replacing its own output, an
empty folder, a file) are checked the same way, with only the declared
output changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pypeline.modules.sdk import DataError, atomic_output_path
from tests.conftest import invoke, write_csv
from tests.modules.harness import run_module

PYPE = str(Path(sys.executable).with_name("pype"))
FRAME = pd.DataFrame({"id": [1, 2, 3], "year": [2023, 2023, 2024]})


def tree(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (job folders aside) -> its kind and content hash; links and FIFOs are not opened."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        rel_folder = Path(folder).relative_to(root)
        if rel_folder.parts[:1] == ("jobs",):
            continue
        for name in sorted(dirs + files):
            path = Path(folder, name)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[str(rel_folder / name)] = f"link -> {os.readlink(path)}"
            elif stat.S_ISREG(info.st_mode):
                found[str(rel_folder / name)] = "file " + hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[str(rel_folder / name)] = f"mode {stat.S_IFMT(info.st_mode):o}"
    return found


def pype(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYPE, *args], cwd=project, capture_output=True, text=True, timeout=180)


def build(project: Path, flow: str) -> str:
    (project / "flow.yaml").write_text(textwrap.dedent(flow), encoding="utf-8")
    done = pype(project, "build", "flow.yaml")
    assert done.returncode == 0, done.stderr
    return f"jobs/{flow.split('name:', 1)[1].split('}', 1)[0].strip()}"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def sink_flow(name: str, sink: str, output: str, optional: str = "{}", mode: str = "pandas") -> str:
    return f"""
        flow: {{name: {name}}}
        settings: {{execution_mode: {mode}}}
        modules:
          - {{id: read, name: csv_source, configs: {{required: {{file_path: in.csv}}}}}}
          - {{id: write, name: {sink}, configs: {{required: {{output_path: "{output}"}}, optional: {optional}}}}}
        connections:
          data: ["read.data - write.input"]
    """


@pytest.fixture
def source(project: Path) -> Path:
    return write_csv(project / "in.csv", "id,year", ["1,2023", "2,2023", "3,2024"])


def refused_message(shown: str, first: str) -> str:
    return (
        f"error: module 'write': output path '{shown}' is an existing folder that holds other files ('{first}'); "
        "expected a new path, a file, an empty folder or an earlier output of this job (with its _PYPELINE "
        "marker, docs/security.md#sinks-and-your-files): remove the folder or choose another output_path"
    )


class TestRefusedThroughPype:
    """The cases of issue 11, through ``pype build`` + ``pype run`` in a subprocess."""

    def test_a_decoy_folder_of_hidden_and_underscore_files(self, project: Path, source: Path) -> None:
        decoy = project / "decoy"
        (decoy / ".git").mkdir(parents=True)
        (decoy / ".git" / ".keep").write_text("")
        (decoy / ".env").write_text("SECRET=1\n")
        (decoy / "_README").write_text("mine\n")
        job = build(project, sink_flow("decoy", "csv_sink", "decoy"))
        before = tree(project)
        done = pype(project, "run", job, "--quiet", "--progress", "none")
        assert done.returncode == 1, done.stderr
        assert error_lines(done.stderr) == [refused_message("decoy", "decoy/.env")]
        assert "Traceback" not in done.stderr
        assert tree(project) == before

    def test_only_a_git_folder(self, project: Path, source: Path) -> None:
        (project / "repo" / ".git").mkdir(parents=True)
        (project / "repo" / ".git" / ".keep").write_text("")
        job = build(project, sink_flow("gitonly", "json_sink", "repo"))
        before = tree(project)
        done = pype(project, "run", job, "--quiet", "--progress", "none")
        assert done.returncode == 1
        assert error_lines(done.stderr) == [refused_message("repo", "repo/.git/.keep")]
        assert tree(project) == before

    @pytest.mark.parametrize(
        ("mode", "optional"), [("pandas", "{partition_cols: [year]}"), ("dask", "{}")], ids=["partitioned", "dask"]
    )
    def test_a_folder_of_the_users_parquet_files(self, project: Path, source: Path, mode: str, optional: str) -> None:
        lake = project / "lake"
        lake.mkdir()
        FRAME.to_parquet(lake / "part.0.parquet")
        FRAME.to_parquet(lake / "part.1.parquet")
        job = build(project, sink_flow(f"pq_{mode}", "parquet_sink", "lake", optional, mode))
        before = tree(project)
        done = pype(project, "run", job, "--quiet", "--progress", "none")
        assert done.returncode == 1, done.stderr
        assert error_lines(done.stderr) == [refused_message("lake", "lake/part.0.parquet")]
        assert tree(project) == before

    def test_a_folder_of_the_users_csv_files_for_dask_parts(self, project: Path, source: Path) -> None:
        write_csv(project / "parts" / "part-00000.csv", "id,year", ["9,1999"])
        job = build(project, sink_flow("csv_parts", "csv_sink", "parts", "{single_file: false}", "dask"))
        before = tree(project)
        done = pype(project, "run", job, "--quiet", "--progress", "none")
        assert done.returncode == 1, done.stderr
        assert error_lines(done.stderr) == [refused_message("parts", "parts/part-00000.csv")]
        assert tree(project) == before

    def test_a_fifo_is_refused_at_once(self, project: Path, source: Path) -> None:
        os.mkfifo(project / "pipe")
        job = build(project, sink_flow("fifo", "csv_sink", "pipe"))
        before = tree(project)
        done = pype(project, "run", job, "--quiet", "--progress", "none")  # opening the FIFO would block
        assert done.returncode == 1, done.stderr
        assert error_lines(done.stderr) == [
            "error: module 'write': output path 'pipe' is a FIFO (named pipe); a sink replaces only a regular "
            "file, an empty folder or a folder its job wrote (docs/security.md#sinks-and-your-files)"
        ]
        assert tree(project) == before and stat.S_ISFIFO((project / "pipe").lstat().st_mode)

    def test_dev_null_is_refused_even_for_root(self, project: Path, source: Path) -> None:
        assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
        job = build(project, sink_flow("devnull", "csv_sink", "/dev/null"))
        before = tree(project)
        done = pype(project, "run", job, "--quiet", "--progress", "none")
        assert done.returncode == 1, done.stderr
        assert error_lines(done.stderr) == [
            "error: module 'write': output path '/dev/null' is under '/dev' (a system file system); a sink never "
            "writes there"
        ]
        assert stat.S_ISCHR(os.lstat("/dev/null").st_mode) and tree(project) == before

    def test_a_symlink_to_a_folder(self, project: Path, source: Path) -> None:
        (project / "real").mkdir()
        (project / "real" / "keep.txt").write_text("mine")
        (project / "link").symlink_to("real")
        job = build(project, sink_flow("link", "parquet_sink", "link", "{partition_cols: [year]}"))
        before = tree(project)
        done = pype(project, "run", job, "--quiet", "--progress", "none")
        assert done.returncode == 1, done.stderr
        assert error_lines(done.stderr) == [
            "error: module 'write': output path 'link' is a symbolic link (to 'real'); a sink neither replaces a "
            "link nor writes through one: give the real path, or remove the link"
        ]
        assert tree(project) == before

    def test_resume_leaves_a_users_file_named_like_a_temporary(self, project: Path, source: Path) -> None:
        job = build(project, """
            flow: {name: gated}
            modules:
              - {id: read, name: csv_source, configs: {required: {file_path: in.csv}}}
              - {id: gate, name: fail_mod, configs: {optional: {unless_file_exists: flag}}}
              - {id: again, name: csv_source, configs: {required: {file_path: in.csv}}}
              - {id: final, name: csv_sink, configs: {required: {output_path: out/final.csv}}}
            connections:
              data: ["again.data - final.input"]
              control: ["read (1|) gate", "gate (1|) again"]
        """)
        assert pype(project, "run", job, "--quiet", "--progress", "none").returncode == 1
        out = project / "out"
        out.mkdir()
        (out / ".final.csv.1a2b3c4d.pype-tmp").write_text("the user's notes")
        (out / ".final.csv.abcdefgh.pype-tmp").mkdir()
        (out / ".final.csv.abcdefgh.pype-tmp" / "keep").write_text("mine")
        (project / "flag").touch()
        before = tree(project)
        done = pype(project, "run", job, "--resume", "--quiet", "--progress", "none")
        assert done.returncode == 0, done.stderr
        after = tree(project)
        assert after.pop("out/final.csv").startswith("file ")
        assert after == before


class TestRefusedVariants:
    """The same rule met in other ways (in process: the module as a run calls it)."""

    @pytest.mark.parametrize("path", ["/", "/etc", "/usr/", "/proc/self", "/sys/kernel"])
    async def test_system_paths_without_a_walk(self, path: str) -> None:
        with pytest.raises(DataError, match=r"a sink never (replaces it|writes there)"):
            await run_module("csv_sink", {"output_path": path, "single_file": False}, {"input": FRAME}, mode="dask")

    @pytest.mark.parametrize("path", [".", "out/..", "out/."])
    async def test_a_path_that_names_no_file(self, path: str) -> None:
        with pytest.raises(DataError, match=re.escape(f"output path '{path}' does not name a file or folder")):
            await run_module("csv_sink", {"output_path": path}, {"input": FRAME})

    async def test_a_symlink_to_a_file_is_not_written_through(self, tmp_path: Path) -> None:
        (tmp_path / "target.csv").write_text("mine")
        (tmp_path / "out.csv").symlink_to(tmp_path / "target.csv")
        with pytest.raises(DataError, match="is a symbolic link"):
            await run_module("csv_sink", {"output_path": str(tmp_path / "out.csv")}, {"input": FRAME})
        assert (tmp_path / "target.csv").read_text() == "mine" and (tmp_path / "out.csv").is_symlink()

    @pytest.mark.parametrize(("kind", "name"), [(stat.S_IFCHR, "character device"), (stat.S_IFBLK, "block device")])
    async def test_a_device_outside_dev(self, tmp_path: Path, kind: int, name: str) -> None:
        if os.geteuid() != 0:
            pytest.skip("creating a device node needs root (the CI machine is root: TESTING.md)")
        device = tmp_path / "null"
        os.mknod(device, kind | 0o600, os.makedev(1, 3) if kind == stat.S_IFCHR else os.makedev(7, 0))
        with pytest.raises(DataError, match=re.escape(f"output path '{device}' is a {name}; a sink replaces only")):
            await run_module("csv_sink", {"output_path": str(device)}, {"input": FRAME})
        assert stat.S_IFMT(device.lstat().st_mode) == kind

    async def test_a_socket(self, tmp_path: Path) -> None:
        import socket

        path = tmp_path / "s"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
            with pytest.raises(DataError, match=re.escape(f"output path '{path}' is a socket;")):
                await run_module("json_sink", {"output_path": str(path)}, {"input": FRAME})

    async def test_another_jobs_output_unless_named(self, tmp_path: Path) -> None:
        lake = tmp_path / "lake"
        config = {"output_path": str(lake), "partition_cols": ["year"]}
        await run_module("parquet_sink", config, {"input": FRAME}, job="nightly")
        marker = json.loads((lake / "_PYPELINE").read_text())
        assert (marker["job"], marker["module"]) == ("nightly", "mod")
        before = tree(tmp_path)
        with pytest.raises(DataError, match=re.escape(
            f"output path '{lake}' is the output of job 'nightly' (module 'mod', per its _PYPELINE marker); job "
            "'hourly' replaces only its own outputs: name 'nightly' in replace_output_of to allow it"
        )):
            await run_module("parquet_sink", config, {"input": FRAME}, job="hourly")
        assert tree(tmp_path) == before
        for allowed in (["nightly"], ["*"]):
            await run_module("parquet_sink", {**config, "replace_output_of": allowed}, {"input": FRAME}, job="hourly")
            assert json.loads((lake / "_PYPELINE").read_text())["job"] == "hourly"
            back = {**config, "replace_output_of": ["hourly"]}
            await run_module("parquet_sink", back, {"input": FRAME}, job="nightly")

    async def test_a_file_the_user_added_to_an_earlier_output(self, tmp_path: Path) -> None:
        parts = tmp_path / "parts"
        config = {"output_path": str(parts), "single_file": False}
        await run_module("csv_sink", config, {"input": FRAME}, mode="dask")
        (parts / "year=2024").mkdir()
        (parts / "year=2024" / "notes.md").write_text("mine")
        before = tree(tmp_path)
        with pytest.raises(DataError, match=re.escape(
            f"output path '{parts}' is an earlier output of job 'test-job' but also holds '{parts}/year=2024', "
            "which that output did not write"
        )):
            await run_module("csv_sink", config, {"input": FRAME}, mode="dask")
        assert tree(tmp_path) == before

    @pytest.mark.parametrize("marker", ["not json", json.dumps({"job": "test-job", "files": []}), "{}"])
    async def test_a_marker_that_is_not_ours(self, tmp_path: Path, marker: str) -> None:
        lake = tmp_path / "lake"
        lake.mkdir()
        (lake / "_PYPELINE").write_text(marker)
        with pytest.raises(DataError, match="is an existing folder that holds other files"):
            await run_module("parquet_sink", {"output_path": str(lake), "partition_cols": ["year"]}, {"input": FRAME})
        assert (lake / "_PYPELINE").read_text() == marker

    async def test_two_sinks_of_one_run_on_one_folder(self, tmp_path: Path) -> None:
        lake = tmp_path / "lake"
        config = {"output_path": str(lake), "partition_cols": ["year"]}
        await run_module("parquet_sink", config, {"input": FRAME}, module_id="first", run_id="r1")
        with pytest.raises(DataError, match="was written earlier in this run by module 'first'"):
            await run_module("parquet_sink", config, {"input": FRAME}, module_id="second", run_id="r1")
        await run_module("parquet_sink", config, {"input": FRAME}, module_id="second", run_id="r2")

    async def test_a_failed_write_leaves_no_new_folders(self, tmp_path: Path) -> None:
        frame = pd.DataFrame({"name": ["Zoë"]})
        target = tmp_path / "new" / "deep" / "out.csv"
        with pytest.raises(UnicodeEncodeError):
            await run_module("csv_sink", {"output_path": str(target), "encoding": "ascii"}, {"input": frame})
        assert list(tmp_path.iterdir()) == []


class TestAllowed:
    """What a sink does replace: its job's earlier output, an empty folder, a file."""

    @pytest.mark.parametrize(
        ("sink", "mode", "optional"),
        [("parquet_sink", "pandas", "{partition_cols: [year]}"), ("parquet_sink", "dask", "{}"),
         ("csv_sink", "dask", "{single_file: false}")],
        ids=["partitioned", "dask-parquet", "dask-csv-parts"],
    )
    def test_a_rerun_replaces_its_own_output(
        self, project: Path, source: Path, cli: CliRunner, sink: str, mode: str, optional: str
    ) -> None:
        (project / "flow.yaml").write_text(textwrap.dedent(sink_flow("again", sink, "out/data", optional, mode)))
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        for _ in range(2):
            result = invoke(cli, "run", "jobs/again", "--quiet", "--progress", "none")
            assert result.exit_code == 0, result.stderr
        marker = json.loads((project / "out" / "data" / "_PYPELINE").read_text())
        assert (marker["job"], marker["module"]) == ("again", "write")
        files = sorted(str(p.relative_to(project / "out" / "data")) for p in (project / "out" / "data").rglob("*")
                       if p.is_file() and p.name != "_PYPELINE")
        assert files == marker["files"]
        assert [p.name for p in (project / "out").iterdir()] == ["data"]  # no temporary left

    async def test_an_output_with_an_empty_sub_folder_replaces_itself(self, tmp_path: Path) -> None:
        for _ in range(2):
            with atomic_output_path(tmp_path / "out", None) as tmp:
                (tmp / "empty").mkdir(parents=True)
                (tmp / "a.txt").write_text("x")
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["_PYPELINE", "a.txt", "empty"]
        (tmp_path / "out" / "empty" / "mine.txt").write_text("mine")
        with pytest.raises(DataError, match=re.escape(f"also holds '{tmp_path}/out/empty/mine.txt'")):
            with atomic_output_path(tmp_path / "out", None) as tmp:
                tmp.mkdir()
        assert (tmp_path / "out" / "empty" / "mine.txt").read_text() == "mine"

    def test_an_empty_folder_and_a_file_are_replaced(self, project: Path, source: Path, cli: CliRunner) -> None:
        (project / "out").mkdir()
        (project / "out" / "a.csv").mkdir()
        (project / "out" / "b.json").write_text("old")
        (project / "flow.yaml").write_text(textwrap.dedent("""
            flow: {name: plain}
            modules:
              - {id: read, name: csv_source, configs: {required: {file_path: in.csv}}}
              - {id: a, name: csv_sink, configs: {required: {output_path: out/a.csv}}}
              - {id: b, name: json_sink, configs: {required: {output_path: out/b.json}}}
            connections:
              data: ["read.data - a.input", "read.data - b.input"]
        """))
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        before = tree(project)
        result = invoke(cli, "run", "jobs/plain", "--quiet", "--progress", "none")
        assert result.exit_code == 0, result.stderr
        after = tree(project)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        assert changed == ["out/a.csv", "out/b.json"]
        assert (project / "out" / "a.csv").read_text().startswith("id,year\n")


class TestTrailingSlash:
    """``output_path: out/dir/`` names a folder: a folder output goes there, a one-file sink refuses it."""

    def test_a_one_file_sink_fails_the_build(self, project: Path, source: Path, cli: CliRunner) -> None:
        (project / "flow.yaml").write_text(textwrap.dedent(sink_flow("slash", "json_sink", "out/dir/")))
        result = invoke(cli, "build", "flow.yaml")
        assert result.exit_code == 2
        assert "config 'output_path' ('out/dir/') ends with '/' (a folder), but this sink writes one file: name " \
            "the file in that folder (e.g. 'out/dir/<name>')" in result.stderr
        assert not (project / "out").exists()

    def test_a_folder_output_goes_into_the_folder(self, project: Path, source: Path, cli: CliRunner) -> None:
        flow = sink_flow("slash", "parquet_sink", "out/dir/", "{}", "dask")
        (project / "flow.yaml").write_text(textwrap.dedent(flow))
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        result = invoke(cli, "run", "jobs/slash", "--quiet", "--progress", "none")
        assert result.exit_code == 0, result.stderr
        assert (project / "out" / "dir").is_dir() and (project / "out" / "dir" / "_PYPELINE").is_file()
        assert len(pd.read_parquet(project / "out" / "dir")) == 3

    def test_a_file_where_the_path_names_a_folder_fails_the_run(
        self, project: Path, source: Path, cli: CliRunner
    ) -> None:
        (project / "flow.yaml").write_text(textwrap.dedent(sink_flow("slash", "parquet_sink", "out/dir/")))
        assert invoke(cli, "build", "flow.yaml").exit_code == 0
        before = tree(project)
        result = invoke(cli, "run", "jobs/slash", "--quiet", "--progress", "none")
        assert result.exit_code == 1
        assert error_lines(result.stderr) == [
            "error: module 'write': output path 'out/dir/' ends with '/' (a folder), but this sink writes one "
            "file: name the file in that folder (e.g. 'out/dir/<name>')"
        ]
        assert tree(project) == before  # no file named 'dir', and no 'out' folder made for it
