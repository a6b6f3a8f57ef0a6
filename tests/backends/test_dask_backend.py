"""The dask backend on real clusters: a LocalCluster the run starts, and a scheduler + workers pair."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.backends.conftest import read_log
from tests.backends.flows import M, block, pipeline, single, write_values
from tests.conftest import FlowHarness

pytestmark = pytest.mark.slow


async def _local_reference(flows: FlowHarness, data: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    result = await flows.run(pipeline("all_local", data, flows.root / "out" / "local.csv"))
    assert result.status == "success", result.manifest
    return pd.read_csv(flows.root / "out" / "local.csv"), result.manifest


class TestLocalCluster:
    async def test_hybrid_equals_all_local(self, flows: FlowHarness) -> None:
        data = write_values(flows.root / "data" / "values.csv")
        expected, local_manifest = await _local_reference(flows, data)
        out = flows.root / "out" / "hybrid.csv"
        result = await flows.run(
            pipeline("hybrid", data, out, scale=block("dask"), shift=block("dask"),
                     settings="{dask: {n_workers: 2}}")
        )
        assert result.status == "success", result.manifest
        pd.testing.assert_frame_equal(pd.read_csv(out), expected)
        modules = result.manifest["modules"]
        assert modules["scale"]["backend"] == "dask" and modules["read"]["backend"] == "local"
        # Globals set and stats recorded on the workers came back to the local run.
        assert modules["scale"]["globals"] == local_manifest["modules"]["scale"]["globals"]
        assert modules["shift"]["globals"]["total"] == local_manifest["modules"]["shift"]["globals"]["total"]
        assert modules["scale"]["stats"] == {"scaled_rows": 12}
        remote_lines = [line for line in read_log(result.run_dir) if line.get("remote") is True]
        assert any(line["event"] == "scaled" and line["worker"].startswith("tcp://127.0.0.1:") for line in remote_lines)

    async def test_dask_mode_computes_on_the_cluster(self, flows: FlowHarness) -> None:
        data = write_values(flows.root / "data" / "values.csv", rows=40)
        result = await flows.run(
            single("where", data, f"{M}.WhereAmI", "{}", block("dask", n_workers=2),
                   settings="{execution_mode: dask}")
        )
        assert result.status == "success", result.manifest
        workers = result.manifest["modules"]["remote"]["globals"]["workers"]
        assert workers and all(re.fullmatch(r"tcp://127\.0\.0\.1:\d+", w) for w in workers), workers

    async def test_cluster_scheduler_is_scoped_to_the_dask_module(self, flows: FlowHarness) -> None:
        """A local module running at the same time keeps the local scheduler (context variable, not config)."""
        data = write_values(flows.root / "data" / "values.csv", rows=40)
        result = await flows.run(
            f"""
flow: {{name: scoped}}
settings: {{execution_mode: dask}}
modules:
  - {{id: read, name: csv_source, configs: {{required: {{file_path: "{data}"}}}}}}
  - {{id: here, name: {M}.WhereAmI}}
  - {{id: there, name: {M}.WhereAmI, execution: {{backend: dask}}}}
connections:
  data: ["read.data - here.input", "read.data - there.input"]
"""
        )
        assert result.status == "success", result.manifest
        modules = result.manifest["modules"]
        assert modules["here"]["globals"]["workers"] == ["not-a-worker"]
        assert all(w.startswith("tcp://127.0.0.1:") for w in modules["there"]["globals"]["workers"])

    async def test_module_error_is_reported_with_remote_traceback_and_retried(self, flows: FlowHarness) -> None:
        data = write_values(flows.root / "data" / "values.csv")
        result = await flows.run(
            single("boom", data, f"{M}.Boom", "{optional: {message: kaput}}", block("dask"),
                   settings="{retries: 1, retry_delay: 0}")
        )
        assert result.status == "failed"
        record = result.manifest["modules"]["remote"]
        assert record["attempts"] == 2
        assert re.search(r"dask worker tcp://127\.0\.0\.1:\d+ reported ValueError: kaput \(12 rows\)", record["error"])
        tracebacks = [line["traceback"] for line in read_log(result.run_dir) if line["event"] == "remote_error"]
        assert len(tracebacks) == 2 and "in run" in tracebacks[0] and "ValueError: kaput" in tracebacks[0]

    async def test_flaky_module_succeeds_on_retry(self, flows: FlowHarness) -> None:
        data = write_values(flows.root / "data" / "values.csv")
        marker = flows.root / "marker"
        result = await flows.run(
            single("flaky", data, f"{M}.FlakyOnce", f'{{required: {{marker: "{marker}"}}}}', block("dask"),
                   settings="{retries: 2, retry_delay: 0}")
        )
        assert result.status == "success", result.manifest
        assert result.manifest["modules"]["remote"]["attempts"] == 2


def pair_workers(address: str) -> set[str]:
    """The worker addresses the scheduler at ``address`` knows (a LocalCluster the run started has others)."""
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        return set(client.scheduler_info()["workers"])


def remote_workers(run_dir: Path) -> set[str]:
    return {str(line["worker"]) for line in read_log(run_dir) if line.get("remote") and "worker" in line}


class TestSchedulerAndWorkers:
    async def test_hybrid_on_address_from_settings_equals_all_local(
        self, flows: FlowHarness, dask_address: str
    ) -> None:
        data = write_values(flows.root / "data" / "values.csv")
        expected, _ = await _local_reference(flows, data)
        out = flows.root / "out" / "hybrid.csv"
        result = await flows.run(
            pipeline("hybrid", data, out, scale=block("dask"), keep=block("dask"), shift=block("dask"),
                     settings=f'{{dask: {{address: "{dask_address}"}}}}')
        )
        assert result.status == "success", result.manifest
        pd.testing.assert_frame_equal(pd.read_csv(out), expected)
        workers = remote_workers(result.run_dir)
        assert workers and workers <= pair_workers(dask_address), workers  # the pair's workers, not a LocalCluster

    async def test_address_from_environment_and_from_the_block(
        self, flows: FlowHarness, dask_address: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = write_values(flows.root / "data" / "values.csv")
        expected, _ = await _local_reference(flows, data)
        monkeypatch.setenv("PYPELINE_DASK_ADDRESS", dask_address)
        out = flows.root / "out" / "env.csv"
        result = await flows.run(pipeline("by_env", data, out, scale=block("dask")))
        assert result.status == "success", result.manifest
        pd.testing.assert_frame_equal(pd.read_csv(out), expected)
        pair = pair_workers(dask_address)
        assert remote_workers(result.run_dir) and remote_workers(result.run_dir) <= pair
        monkeypatch.delenv("PYPELINE_DASK_ADDRESS")
        out = flows.root / "out" / "block.csv"
        result = await flows.run(pipeline("by_block", data, out, shift=block("dask", address=dask_address)))
        assert result.status == "success", result.manifest
        pd.testing.assert_frame_equal(pd.read_csv(out), expected)
        assert remote_workers(result.run_dir) and remote_workers(result.run_dir) <= pair

    async def test_dask_mode_on_the_pair(self, flows: FlowHarness, dask_address: str) -> None:
        data = write_values(flows.root / "data" / "values.csv", rows=30)
        result = await flows.run(
            single("where_pair", data, f"{M}.WhereAmI", "{}", block("dask", address=dask_address),
                   settings="{execution_mode: dask}")
        )
        assert result.status == "success", result.manifest
        workers = result.manifest["modules"]["remote"]["globals"]["workers"]
        assert workers and set(workers) <= pair_workers(dask_address), workers


async def test_unreachable_scheduler_is_a_clear_module_error(flows: FlowHarness) -> None:
    from tests.backends.servers import free_port

    data = write_values(flows.root / "data" / "values.csv")
    address = f"tcp://127.0.0.1:{free_port()}"
    result = await flows.run(single("nowhere", data, f"{M}.Scale", "{required: {factor: 1}}",
                                    block("dask", address=address, connect_timeout=1)))
    assert result.status == "failed"
    error = result.manifest["modules"]["remote"]["error"]
    assert f"the dask scheduler at {address} cannot be reached" in error


@pytest.fixture
def not_dask() -> Iterator[dict[str, str]]:
    """Two TCP servers that are not dask schedulers: one never answers, one answers like HTTP."""
    servers = []

    def serve(reply: bytes | None) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        servers.append(sock)

        def accept() -> None:
            conns = []
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    break
                conns.append(conn)  # held open, so a silent server stays silent
                if reply is not None:
                    conn.sendall(reply)

        threading.Thread(target=accept, daemon=True).start()
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"

    yield {"silent": serve(None), "http": serve(b"HTTP/1.0 400 Bad Request\r\n\r\n" * 4)}
    for sock in servers:
        sock.close()


@pytest.mark.parametrize(("server", "reason"), [
    ("silent", "no dask answer within 2s (is a dask scheduler listening there? connect_timeout in the execution "
               "block or settings.dask sets the wait)"),
    ("http", "the server there does not speak the dask protocol"),
])
async def test_a_server_that_is_not_a_dask_scheduler_fails_in_time(
    flows: FlowHarness, not_dask: dict[str, str], server: str, reason: str
) -> None:
    # distributed's Client waited for ever on the silent one and blocked the process for 2 x timeout on the other
    data = write_values(flows.root / "data" / "values.csv")
    address = not_dask[server]
    run = flows.run(single("not_dask", data, f"{M}.Scale", "{required: {factor: 1}}",
                           block("dask", address=address, connect_timeout=2)))
    result = await asyncio.wait_for(run, 60)  # a hang guard, not a speed check
    assert result.status == "failed"
    error = result.manifest["modules"]["remote"]["error"]
    assert f"the dask scheduler at {address} cannot be reached: " in error and reason in error
