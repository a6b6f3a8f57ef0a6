"""Fixtures for executor tests: real moto, serverless-offline and dask servers (session-scoped)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backends import servers
from tests.secrets.conftest import Bao, openbao, vault_env

__all__ = ["Bao", "openbao", "vault_env"]  # OpenBao fixtures shared with the secret tests


@pytest.fixture(scope="session")
def aws_env() -> Iterator[None]:
    """Fake credentials for boto3 (moto accepts any); restored afterwards."""
    saved = {key: os.environ.get(key) for key in servers.AWS_ENV}
    os.environ.update(servers.AWS_ENV)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_endpoint(aws_env: None) -> Iterator[str]:
    """A moto server on 127.0.0.1 holding the bucket ``pypeline-test``."""
    with servers.moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def lambda_endpoint(moto_endpoint: str, openbao: Bao, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """serverless-offline serving the fixture's functions (PYpeline's handler), with Vault in their env."""
    with servers.serverless_offline(moto_endpoint, tmp_path_factory.mktemp("sls"), openbao.env()) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def dask_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``dask scheduler`` + ``dask worker`` pair (2 worker processes)."""
    with servers.dask_scheduler_and_workers(tmp_path_factory.mktemp("dask")) as address:
        yield address


def staged_keys(endpoint: str, prefix: str = "") -> list[str]:
    """Keys in the test bucket under ``prefix``."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=servers.BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    """The run's log.jsonl as dicts."""
    import json

    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
