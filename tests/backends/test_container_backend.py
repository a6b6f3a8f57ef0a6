"""The container backend for real: podman runs every module here (no Docker engine on this machine).

Most tests run the host's own root file system as the container's
(``image: /``, podman's ``--rootfs /:O``: an overlay, nothing written back)
with this virtualenv's Python as the entrypoint: a real container (own
namespaces, no network, read-only root) that needs no image build. One
test builds an image with ``pype package container`` on a minimal Python
base imported from this machine, carrying a package this environment lacks.

podman must be installed (``apt-get install podman runc``; ``.ci/run`` does
it): without it these tests fail, they do not skip.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pypeline.run.run import RunOptions, run_job
from tests.backends.conftest import Bao, read_log
from tests.backends.flows import M, block, pipeline, single, write_values
from tests.conftest import FlowHarness

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
C = "tests.backends.container_modules"
LIMITS = {"nofile": 1024, "nproc": 4096}
"""This machine's sandbox refuses podman's default limits (docs/executors.md, 'ulimits')."""


def host_root(backend: str = "container", **options: Any) -> str:
    """An execution block running the module under this machine's root file system and this venv's Python
    (``workdir``: the repository, so that ``tests.backends...`` modules import, as docs/executors.md says)."""
    return block(
        backend, **{"image": "/", "entrypoint": sys.executable, "runtime": "runc", "ulimits": LIMITS,
                    "workdir": str(ROOT), **options},
    )


def containers(podman: str, label: str) -> list[str]:
    """Containers (any state) carrying ``label`` (``key=value``)."""
    return listed(podman, f"label={label}")


def listed(podman: str, where: str) -> list[str]:
    """Containers (any state) matching the ``podman ps`` filter ``where``."""
    done = subprocess.run([podman, "ps", "--all", "--filter", where, "--format", "{{.Names}}"],
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


async def wait_for_container(podman: str, label: str, timeout: float = 60.0) -> str:
    """The name of the first running container carrying ``label``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc = await asyncio.create_subprocess_exec(
            podman, "ps", "--filter", f"label={label}", "--filter", "status=running", "--format", "{{.Names}}",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        if out.split():
            return out.split()[0].decode()
        await asyncio.sleep(0.2)
    raise AssertionError(f"no running container with label {label} within {timeout:g}s")


async def test_outputs_equal_the_local_run(flows: FlowHarness, podman: str) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    local = await flows.run(pipeline("all_local", data, flows.root / "out" / "local.csv"))
    assert local.status == "success", local.manifest
    staging = flows.root / "staging"
    out = flows.root / "out" / "boxed.csv"
    result = await flows.run(
        pipeline("boxed", data, out, scale=host_root(staging_dir=str(staging)),
                 shift=host_root("docker", engine="podman", staging_dir=str(staging), workdir="/",
                                 env={"PYTHONPATH": str(ROOT)}))
    )
    assert result.status == "success", result.manifest
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(flows.root / "out" / "local.csv"))
    modules, expected = result.manifest["modules"], local.manifest["modules"]
    assert [modules[m]["backend"] for m in ("read", "scale", "keep", "shift")] == [
        "local", "container", "local", "docker"
    ]
    # shift read scale's global inside its container (globals snapshot in the payload) and set its own
    assert modules["shift"]["globals"] == expected["shift"]["globals"]
    facts = modules["scale"]["stats"]["container"]
    assert facts["engine"] == "podman" and facts["exit_code"] == 0 and facts["rootfs"] == "/"
    assert modules["scale"]["stats"]["scaled_rows"] == 12
    lines = read_log(result.run_dir)
    assert any(line["event"] == "scaled" and line.get("remote") and line["node_id"] == "scale" for line in lines)
    assert [line["node_id"] for line in lines if line["event"] == "container_exited"] == ["scale", "shift"]
    assert list(staging.iterdir()) == []  # attempt folders removed
    assert containers(podman, f"io.pypeline.run_id={result.run_id}") == []


async def test_dask_mode_output_equals_the_local_run(flows: FlowHarness, podman: str) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    local = await flows.run(pipeline("dask_local", data, flows.root / "out" / "local.csv",
                                     settings="{execution_mode: dask}"))
    assert local.status == "success", local.manifest
    out = flows.root / "out" / "boxed.csv"
    result = await flows.run(pipeline("dask_boxed", data, out, scale=host_root(), settings="{execution_mode: dask}"))
    assert result.status == "success", result.manifest
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(flows.root / "out" / "local.csv"))
    assert result.manifest["modules"]["shift"]["globals"] == local.manifest["modules"]["shift"]["globals"]


async def test_a_failure_inside_shows_the_module_error(flows: FlowHarness, podman: str) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("boom", data, f"{M}.Boom", "{optional: {message: kaput}}", host_root(),
               settings="{retries: 1, retry_delay: 0}")
    )
    assert result.status == "failed"
    record = result.manifest["modules"]["remote"]
    assert record["attempts"] == 2
    assert record["error"] == "container of root file system '/' reported ValueError: kaput (12 rows)"
    assert record["stats"]["container"]["exit_code"] == 1
    tracebacks = [line["traceback"] for line in read_log(result.run_dir) if line["event"] == "remote_error"]
    assert len(tracebacks) == 2 and "sample_modules.py" in tracebacks[0] and "ValueError: kaput" in tracebacks[0]
    assert containers(podman, f"io.pypeline.run_id={result.run_id}") == []


async def test_a_missing_image_is_a_clear_error(flows: FlowHarness, podman: str) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    image = "localhost/pypeline-no-such-image:0"
    execution = block("container", image=image, pull="never", runtime="runc", ulimits=LIMITS)
    result = await flows.run(single("no_image", data, f"{M}.Scale", "{required: {factor: 2}}", execution))
    error = result.manifest["modules"]["remote"]["error"]
    assert error.startswith(
        f"container of image '{image}' exited with code 125 without a result: the image is not in the engine's "
        "local store: build it (pype package container, docs/executors.md) or pull it"
    ), error
    assert error.endswith(f"it said: Error: {image}: image not known"), error


async def test_a_timeout_kills_the_container_and_leaves_none(flows: FlowHarness, podman: str) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    text = single("slow", data, f"{M}.Sleepy", "{required: {seconds: 300}}", host_root())
    text = text.replace("    execution:", "    timeout: 10\n    execution:")
    started = time.monotonic()
    seen, result = await asyncio.gather(wait_for_container(podman, "io.pypeline.node_id=remote"), flows.run(text))
    assert result.status == "failed"
    assert result.manifest["modules"]["remote"]["error"] == "timed out after 10s"
    assert time.monotonic() - started < 60
    assert seen.startswith("pypeline-")  # it ran, and now it is gone
    assert containers(podman, f"io.pypeline.run_id={result.run_id}") == []
    assert any(line["event"] == "container_removed" for line in read_log(result.run_dir))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_pype_killed_leaves_no_container(flows: FlowHarness, podman: str, sig: signal.Signals) -> None:
    """SIGTERM: the run cancels the attempt, which removes its container. SIGKILL: nothing in pype runs any
    more; the container's standard input closes and its entry point ends it (the lifeline)."""
    data = write_values(flows.root / "data" / "values.csv")
    staging = flows.root / "staging"
    job = flows.build(single("killed", data, f"{M}.Sleepy", "{required: {seconds: 300}}",
                             host_root(staging_dir=str(staging))))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    pype = subprocess.Popen([str(Path(sys.executable).parent / "pype"), "run", str(job), "--progress", "none"],
                            cwd=flows.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        name = asyncio.run(wait_for_container(podman, "io.pypeline.node_id=remote"))
    finally:
        pype.send_signal(sig)
        code = pype.wait(timeout=60)
    killed = time.monotonic()
    while listed(podman, f"name={name}") and time.monotonic() - killed < 30:
        time.sleep(0.2)
    assert listed(podman, f"name={name}") == []
    assert time.monotonic() - killed < 15  # ended by pype or by the lifeline, not by the module's 300 s
    # SIGTERM: pype removed the attempt folder; SIGKILL: the entry point emptied it before ending
    assert [p.relative_to(staging).as_posix() for p in staging.rglob("*") if not p.is_dir()] == []
    if sig == signal.SIGTERM:
        assert code != 0  # an interrupted run
        (log,) = (job / "runs").glob("*/log.jsonl")
        events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
        assert "container_removed" in events and "run_interrupted" in events


async def test_secrets_stay_out_of_the_payload_the_command_line_and_the_container(
    flows: FlowHarness, podman: str, vault_env: Bao, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = vault_env.restricted_token  # random per session, unlike the root token 'root'
    monkeypatch.setenv("VAULT_TOKEN", token)
    data = write_values(flows.root / "data" / "values.csv")
    staging = flows.root / "staging"
    text = single(
        "secret", data, f"{C}.SlowSecretive",
        '{required: {password: "{{vault.secret/app/db#password}}"}, optional: {pause: 5}}',
        host_root(network="host", keep_staged=True, staging_dir=str(staging)),
    )

    async def look() -> tuple[str, str]:
        name = await wait_for_container(podman, "io.pypeline.node_id=remote")
        inspect = await asyncio.create_subprocess_exec(podman, "inspect", name, stdout=asyncio.subprocess.PIPE)
        ps = await asyncio.create_subprocess_exec("ps", "-eww", "-o", "args", stdout=asyncio.subprocess.PIPE)
        return (await inspect.communicate())[0].decode(), (await ps.communicate())[0].decode()

    (inspected, processes), result = await asyncio.gather(look(), flows.run(text))
    assert result.status == "success", result.manifest
    # the module read the secret from Vault inside its container
    assert result.manifest["modules"]["remote"]["globals"] == {"password_length": len(vault_env.password)}
    assert json.loads(inspected)[0]["State"]["Running"] is True
    assert "--rootfs" in processes  # the run client's command line was there to look at
    staged = [p for p in staging.rglob("*") if p.is_file()]
    payload = json.loads(next(p for p in staged if p.name == "payload.json").read_text())
    assert payload["configs"]["password"] == "{{vault.secret/app/db#password}}"
    for value in (vault_env.password, token):
        assert value not in inspected
        assert value not in processes
        for path in staged:
            assert value.encode() not in path.read_bytes(), path
        assert value not in (result.run_dir / "log.jsonl").read_text()
        assert value not in json.dumps(result.manifest)
    assert "VAULT_" not in inspected


async def test_secrets_need_a_network(flows: FlowHarness, podman: str, vault_env: Bao) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    result = await flows.run(
        single("secret_offline", data, f"{C}.SlowSecretive",
               '{required: {password: "{{vault.secret/app/db#password}}"}}', host_root())
    )
    assert result.status == "failed"
    assert result.manifest["modules"]["remote"]["error"].startswith(
        "module 'remote' reads Vault secrets, which its container resolves itself, but the container has no "
        "network (network: none, the default)"
    )
    assert not any(line["event"] == "container_started" for line in read_log(result.run_dir))


async def test_resume_reruns_a_failed_container_module(flows: FlowHarness, podman: str) -> None:
    data = write_values(flows.root / "data" / "values.csv")
    marks = flows.root / "marks"
    marks.mkdir()
    out = flows.root / "out" / "flaky.csv"
    text = f"""
flow: {{name: flaky_box}}
modules:
  - {{id: read, name: csv_source, configs: {{required: {{file_path: "{data}"}}}}}}
  - id: flaky
    name: {M}.FlakyOnce
    configs: {{required: {{marker: "{marks / 'm'}"}}}}
    execution: {host_root(mounts=[f"{marks}:{marks}:rw"])}
  - {{id: write, name: csv_sink, configs: {{required: {{output_path: "{out}"}}}}}}
connections:
  data: ["read.data - flaky.input", "flaky.output - write.input"]
"""
    first = await flows.run(text)
    assert first.status == "failed" and "first attempt fails on purpose" in first.manifest["modules"]["flaky"]["error"]
    assert (marks / "m").read_text() == "failed once"  # written inside the container, through the mount
    second = await run_job(flows.build(text), RunOptions(resume=first.run_id, progress="none", echo_logs=False))
    assert second.status == "success", second.manifest
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(data))


async def test_a_package_missing_here_runs_in_an_image_that_has_it(flows: FlowHarness, worker_image: str) -> None:
    assert importlib.util.find_spec("roman") is None, "the test needs an environment without 'roman'"
    data = write_values(flows.root / "data" / "values.csv", rows=5)
    out = flows.root / "out" / "roman.csv"

    def flow(execution: str) -> str:
        return f"""
flow: {{name: roman}}
modules:
  - {{id: read, name: csv_source, configs: {{required: {{file_path: "{data}"}}}}}}
  - {{id: romanise, name: {C}.ToRoman, execution: {execution}}}
  - {{id: write, name: csv_sink, configs: {{required: {{output_path: "{out}"}}}}}}
connections:
  data: ["read.data - romanise.input", "romanise.output - write.input"]
"""

    here = await flows.run(flow(block("local")))
    assert here.status == "failed" and "No module named 'roman'" in here.manifest["modules"]["romanise"]["error"]
    result = await flows.run(flow(block("container", image=worker_image, runtime="runc", ulimits=LIMITS)))
    assert result.status == "success", result.manifest
    assert pd.read_csv(out)["roman"].tolist() == ["I", "II", "III", "IV", "V"]
    facts = result.manifest["modules"]["romanise"]["stats"]["container"]
    assert facts["image"] == worker_image and facts["exit_code"] == 0
    assert facts["image_digest"].startswith("sha256:") and len(facts["image_id"]) == 64
    assert any(line["event"] == "romanised" and line.get("remote") for line in read_log(result.run_dir))
