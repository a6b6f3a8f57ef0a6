"""The container backend's parts without an engine: command lines, folder staging, output, the entry point.

The backend itself, with podman for real, is tested in test_container_backend.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from pypeline.backends.container_engine import (
    MOUNT_POINT,
    Engine,
    container_name,
    find_engine,
    parse_mount,
    remove_command,
    run_command,
)
from pypeline.backends.container_entry import EXIT_ORPHANED, read_handshake
from pypeline.backends.container_output import MAX_LINE, OutputPump
from pypeline.backends.remote_folder_stage import FileUri, FolderStage
from pypeline.backends.remote_staging import StagingError
from pypeline.core.errors import BackendError
from tests.backends.flows import M
from tests.conftest import FlowHarness, invoke

PODMAN = Engine("podman", "/usr/bin/podman")
DOCKER = Engine("docker", "/usr/bin/docker")
LABELS = {"io.pypeline.run_id": "r1", "io.pypeline.node_id": "score#2", "io.pypeline.owner": "o1"}


def argv(engine: Engine = PODMAN, **options: Any) -> list[str]:
    return run_command(engine, {"image": "localhost/w:1", **options}, name="c1", labels=LABELS, folder=Path("/h/a"))


def pairs(command: list[str], flag: str) -> list[str]:
    """The values given to ``flag`` in ``command``."""
    return [command[i + 1] for i, item in enumerate(command[:-1]) if item == flag]


class TestRunCommand:
    def test_defaults_isolate_the_container(self) -> None:
        command = argv()
        assert command[:7] == ["/usr/bin/podman", "run", "--rm", "-i", "--name", "c1", "--label"]
        assert pairs(command, "--network") == ["none"]
        assert "--read-only" in command and pairs(command, "--tmpfs") == ["/tmp:rw,nosuid,nodev,notmpcopyup"]
        assert pairs(command, "--volume") == [f"/h/a:{MOUNT_POINT}:rw"]
        assert pairs(command, "--label") == sorted(f"{k}={v}" for k, v in LABELS.items())
        assert pairs(command, "--env") == ["PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"]
        # the entrypoint, the image, then the entry point's arguments and the attempt folder, last
        assert command[command.index("--entrypoint") + 1:] == [
            "python", "localhost/w:1", "-m", "pypeline.backends.container_entry", MOUNT_POINT,
        ]

    def test_every_option(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        data.mkdir()
        command = argv(
            runtime="runc", pull="never", network="host", read_only=False, cpus=1.5, memory="512m",
            ulimits={"nofile": 1024, "nproc": "2048:4096"}, user="1000:1000", workdir="/work",
            env={"MODE": "fast", "N": 3}, mounts=[f"{data}:/data", {"source": str(data), "target": "/rw",
                                                                   "read_only": False}],
            run_args=["--shm-size", "1g"], entrypoint="/opt/venv/bin/python", command=["-X", "utf8", "-m", "x"],
        )
        assert command[:3] == ["/usr/bin/podman", "--runtime", "runc"]
        assert pairs(command, "--pull") == ["never"] and pairs(command, "--network") == ["host"]
        assert "--read-only" not in command and "--tmpfs" not in command
        assert pairs(command, "--cpus") == ["1.5"] and pairs(command, "--memory") == ["512m"]
        assert pairs(command, "--ulimit") == ["nofile=1024:1024", "nproc=2048:4096"]
        assert pairs(command, "--user") == ["1000:1000"] and pairs(command, "--workdir") == ["/work"]
        assert pairs(command, "--env")[2:] == ["MODE=fast", "N=3"]
        assert pairs(command, "--volume")[1:] == [f"{data}:/data:ro", f"{data}:/rw:rw"]
        assert pairs(command, "--shm-size") == ["1g"]
        assert command[command.index("--entrypoint") + 1:] == [
            "/opt/venv/bin/python", "localhost/w:1", "-X", "utf8", "-m", "x", MOUNT_POINT,
        ]

    def test_rootfs_folder_runs_under_an_overlay(self) -> None:
        command = run_command(PODMAN, {"image": "/srv/root", "pull": "always"}, name="c", labels={},
                              folder=Path("/h"))
        assert pairs(command, "--rootfs") == ["/srv/root:O"] and "--pull" not in command

    def test_docker(self) -> None:
        command = argv(DOCKER, runtime="runc")
        assert command[:2] == ["/usr/bin/docker", "run"] and pairs(command, "--runtime") == ["runc"]
        assert pairs(command, "--tmpfs") == ["/tmp:rw,nosuid,nodev"] and "--read-only-tmpfs=false" not in command
        with pytest.raises(BackendError, match="only podman can run"):
            run_command(DOCKER, {"image": "/srv/root"}, name="c", labels={}, folder=Path("/h"))

    def test_a_template_in_env_is_refused(self) -> None:
        with pytest.raises(BackendError) as caught:
            argv(env={"DB_PASSWORD": "{{vault.secret/app/db#password}}"})
        assert caught.value.format_message().startswith(
            "execution option env.DB_PASSWORD holds a template: execution options are not templated"
        )

    def test_remove(self) -> None:
        assert remove_command(PODMAN, {"runtime": "runc"}, ["a", "b"]) == [
            "/usr/bin/podman", "--runtime", "runc", "rm", "--force", "--ignore", "--time", "0", "a", "b",
        ]
        assert remove_command(DOCKER, {}, ["a"]) == ["/usr/bin/docker", "rm", "--force", "a"]

    def test_container_name(self) -> None:
        name = container_name("20261204T101010-ab12cd", "score#2", 3)
        assert name.startswith("pypeline-20261204T101010-ab12cd-score_2-a3-") and len(name) == 49


class TestMounts:
    def test_relative_source_is_taken_from_the_current_folder(self, project: Path) -> None:
        (project / "in").mkdir()
        assert parse_mount("in:/in", 0) == (str(project / "in"), "/in", True)
        assert parse_mount({"source": "in", "target": "/in", "read_only": False}, 0) == (str(project / "in"), "/in",
                                                                                          False)

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("in", "execution option mounts[0] 'in' is not 'SOURCE:TARGET' or 'SOURCE:TARGET:ro|rw'"),
            ("in:/in:rx", "is not 'SOURCE:TARGET'"),
            ("in:rel", "the target 'rel' must be an absolute path in the container"),
            ("in:/pypeline", "overlaps /pypeline/attempt"),
            ("in:/pypeline/attempt/x", "overlaps /pypeline/attempt"),
            ("nope:/in", "does not exist"),
        ],
        ids=["no-target", "mode", "relative", "parent", "inside", "missing"],
    )
    def test_bad_mounts(self, project: Path, spec: str, message: str) -> None:
        (project / "in").mkdir()
        with pytest.raises(BackendError) as caught:
            parse_mount(spec, 0)
        assert message in caught.value.format_message()


class TestFindEngine:
    def test_none_installed(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(BackendError, match="no container engine is installed: the container backend needs "
                                                 "podman or docker on PATH"):
            find_engine(None)
        with pytest.raises(BackendError, match="the container engine 'docker' is not installed"):
            find_engine("docker")

    def test_podman_first(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        for name in ("docker", "podman"):
            exe = tmp_path / name
            exe.write_text("#!/bin/sh\n")
            exe.chmod(0o755)
        monkeypatch.setenv("PATH", str(tmp_path))
        assert find_engine(None) == Engine("podman", str(tmp_path / "podman"))
        assert find_engine("docker") == Engine("docker", str(tmp_path / "docker"))


class TestFolderStage:
    def test_frames_round_trip_with_index_and_dtypes(self, tmp_path: Path) -> None:
        stage = FolderStage("/pypeline/attempt", tmp_path)
        frame = pd.DataFrame(
            {
                "name": pd.array(["a", None, "c"], dtype="str"),
                "n": pd.array([1, None, 3], dtype="Int64"),
                "x": [0.5, 1.5, float("nan")],
                "when": pd.to_datetime(["2026-01-01 00:00", "2026-06-01 12:00", None]),
                "kind": pd.Categorical(["u", "v", "u"]),
            },
            index=pd.Index([10, 20, 30], name="row"),
        )
        uri = stage.root.join("in", "input.arrow")
        assert str(uri) == "file:///pypeline/attempt/in/input.arrow"
        assert stage.put_frame(uri, frame) == 3
        assert (tmp_path / "in" / "input.arrow").exists()
        pd.testing.assert_frame_equal(stage.get_frame(stage.parse(str(uri)), "input"), frame)

    def test_json_and_missing_files(self, tmp_path: Path) -> None:
        stage = FolderStage("/pypeline/attempt", tmp_path)
        stage.put_json(stage.root.join("doc.json"), {"b": 1, "a": [2]})
        assert stage.get_json(stage.root.join("doc.json"), "doc") == {"a": [2], "b": 1}
        with pytest.raises(StagingError, match=re.escape("result file:///pypeline/attempt/result.json does not exist")):
            stage.get_json(stage.root.join("result.json"), "result")
        (tmp_path / "bad.arrow").write_text("not arrow")
        with pytest.raises(StagingError,
                           match=re.escape("output file:///pypeline/attempt/bad.arrow is not a readable Arrow")):
            stage.get_frame(stage.root.join("bad.arrow"), "output")

    @pytest.mark.parametrize(
        "uri",
        ["file:///etc/passwd", "file:///pypeline/attempt/../x", "file:///pypeline/attemptx/a", "s3://b/k", "file://rel"],
        ids=["elsewhere", "dotdot", "sibling", "s3", "relative"],
    )
    def test_a_uri_outside_the_folder_is_refused(self, tmp_path: Path, uri: str) -> None:
        with pytest.raises(ValueError):
            FolderStage("/pypeline/attempt", tmp_path).parse(uri)

    def test_a_symlink_out_of_the_folder_is_refused(self, tmp_path: Path) -> None:
        outside = tmp_path / "secret.json"
        outside.write_text('{"x": 1}')
        folder = tmp_path / "attempt"
        (folder / "out").mkdir(parents=True)
        (folder / "out" / "output.arrow").symlink_to(outside)
        stage = FolderStage("/pypeline/attempt", folder)
        with pytest.raises(StagingError, match="leads outside the staging folder"):
            stage.get_json(FileUri("/pypeline/attempt/out/output.arrow"), "output")

    def test_delete(self, tmp_path: Path) -> None:
        stage = FolderStage("/m", tmp_path / "f")
        stage.put_json(stage.root.join("a", "b.json"), 1)
        stage.put_json(stage.root.join("c.json"), 2)
        assert stage.delete_prefix(stage.root) == 2 and not (tmp_path / "f").exists()


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda event, **fields: self.lines.append((level, event, fields))


async def test_output_pump_replays_json_and_logs_the_rest() -> None:
    logger, replayed = RecordingLogger(), list[dict[str, Any]]()
    pump = OutputPump(logger, replayed.append)
    stream = asyncio.StreamReader()
    far_line = {"level": "info", "event": "scaled", "node_id": "s"}
    stream.feed_data((json.dumps(far_line) + "\nplain one\n{not json\n").encode() + b"y" * (MAX_LINE + 5))
    stream.feed_data(b"\n\n   \nlast without newline")
    stream.feed_eof()
    await pump.drain(stream, "stderr")
    assert replayed == [far_line]
    texts = [fields["line"] for _level, event, fields in logger.lines if event == "container_output"]
    assert texts[:2] == ["plain one", "{not json"]
    assert texts[2] == "y" * MAX_LINE + "... (5 more characters)"
    assert texts[3] == "last without newline"
    assert pump.tail_text().startswith("plain one | {not json | yyy")


async def test_a_host_that_refuses_the_default_limits_gets_a_hint() -> None:
    from pypeline.backends.container_backend import ContainerBackend

    pump = OutputPump(RecordingLogger(), lambda line: None)
    stream = asyncio.StreamReader()
    stream.feed_data(b"Error: runc create failed: ... error setting rlimit type 7: operation not permitted\n")
    stream.feed_eof()
    await pump.drain(stream, "stderr")
    message = ContainerBackend()._no_result("container of image 'w'", 126, pump, StagingError("x"))
    assert message == (
        "container of image 'w' exited with code 126 without a result: this host does not let the engine set its "
        "default resource limits: set the execution option ulimits, e.g. {nofile: 1024, nproc: 4096} "
        "(docs/executors.md); it said: Error: runc create failed: ... error setting rlimit type 7: operation not "
        "permitted"
    )


class TestEntry:
    def test_handshake(self) -> None:
        assert read_handshake(io.StringIO("")) == {}
        assert read_handshake(io.StringIO('{"lifeline": true, "env": {}}\nrest')) == {"lifeline": True, "env": {}}
        with pytest.raises(ValueError, match="not a JSON object"):
            read_handshake(io.StringIO("[1]\n"))

    def test_usage(self) -> None:
        done = subprocess.run([sys.executable, "-m", "pypeline.backends.container_entry"], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)
        assert done.returncode == 2 and "usage:" in done.stderr

    def test_runs_a_payload_in_a_folder_without_an_engine(self, flows: FlowHarness, tmp_path: Path) -> None:
        """The far side alone, on this machine: payload in, outputs and result out, exit code 0 or 1."""
        folder = tmp_path / "attempt"
        stage = FolderStage(str(folder), folder)
        frame = pd.DataFrame({"name": ["a", "b"], "value": [1, 2]})
        stage.put_frame(stage.root.join("in", "input.arrow"), frame)
        configs = {"factor": 3, "offset_from": "", "label": ""}
        stage.put_json(stage.root.join("payload.json"), _payload(str(folder), f"{M}.Scale", configs))
        done = subprocess.run(
            [sys.executable, "-m", "pypeline.backends.container_entry", str(folder)],
            input='{"lifeline": false, "env": {}}\n', capture_output=True, text=True, cwd=Path(__file__).parents[2],
        )
        assert done.returncode == 0, done.stderr
        result = stage.get_json(stage.root.join("result.json"), "result")
        assert result["status"] == "ok" and result["globals"] == {"total": 9.0}
        out = stage.get_frame(stage.parse(result["outputs"]["output"]["uri"]), "output")
        assert out["value"].tolist() == [3, 6]
        assert any(json.loads(line)["event"] == "scaled" for line in done.stderr.splitlines() if line.startswith("{"))

    def test_a_closed_lifeline_ends_the_entry(self, tmp_path: Path) -> None:
        folder = tmp_path / "attempt"
        stage = FolderStage(str(folder), folder)
        stage.put_frame(stage.root.join("in", "input.arrow"), pd.DataFrame({"value": [1]}))
        stage.put_json(stage.root.join("payload.json"), _payload(str(folder), f"{M}.Sleepy", {"seconds": 60}))
        proc = subprocess.Popen(
            [sys.executable, "-m", "pypeline.backends.container_entry", str(folder)], stdin=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
        )
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write('{"lifeline": true, "env": {}}\n')
        proc.stdin.flush()
        for line in proc.stderr:  # wait until the module sleeps
            if "remote_module_started" in line:
                break
        started = time.monotonic()
        proc.stdin.close()
        assert proc.wait(timeout=20) == EXIT_ORPHANED
        assert time.monotonic() - started < 10
        assert "container_orphaned" in proc.stderr.read()
        proc.stderr.close()
        assert list(folder.iterdir()) == []  # no result; the inputs and the payload are deleted too


def _payload(folder: str, module: str, configs: dict[str, Any]) -> dict[str, Any]:
    return {
        "pypeline_payload": 1, "run_id": "r1", "module_id": "m", "node_id": "m", "module_path": module, "attempt": 1,
        "execution_mode": "pandas", "configs": configs,
        "inputs": {"input": {"kind": "frame", "uri": f"file://{folder}/in/input.arrow", "rows": 1}},
        "iter_path": [], "iter_items": [], "globals": {}, "context": {}, "output_prefix": f"file://{folder}/out/",
        "output_key": "j/r1/m",
    }



class TestPackageContainer:
    def test_context_only_writes_the_containerfile_and_site(self, project: Path, cli: CliRunner) -> None:
        (project / "my_mods").mkdir()  # not 'modules': the CLI would import it and leave it in sys.modules
        (project / "my_mods" / "__init__.py").write_text("")
        result = invoke(cli, "package", "container", "--context", "ctx", "--no-deps", "--base", "my/base:1",
                        "--add", "my_mods", "-t", "w:1")
        assert result.exit_code == 0, result.output
        assert "build it with: podman build -t w:1 -f ctx/Containerfile ctx" in result.output
        text = (project / "ctx" / "Containerfile").read_text()
        assert "FROM my/base:1\nCOPY site/ /opt/pypeline/site/\n" in text
        assert 'ENTRYPOINT ["python", "-m", "pypeline.backends.container_entry"]' in text
        site = project / "ctx" / "site"
        assert (site / "pypeline" / "backends" / "container_entry.py").exists()
        assert (site / "my_mods" / "__init__.py").exists()
        assert not list(site.rglob("__pycache__"))

    def test_a_used_context_folder_is_refused(self, project: Path, cli: CliRunner) -> None:
        (project / "ctx" / "site").mkdir(parents=True)
        result = invoke(cli, "package", "container", "--context", "ctx", "--no-deps")
        assert result.exit_code == 1
        assert "error: ctx already holds a build context (site/); give an empty or new folder" in result.output
