"""File modules on an object store, for real: moto's S3 server on 127.0.0.1 (docs/storage.md)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest

from pypeline.modules.source.csv_lazy import SAMPLE_ROWS
from tests.backends import servers
from tests.conftest import FlowHarness, write_csv
from tests.secrets.conftest import Bao, openbao, vault_env

__all__ = ["Bao", "openbao", "vault_env"]  # the OpenBao fixtures of the secret tests

pytestmark = pytest.mark.slow

BUCKET = servers.BUCKET


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server; the environment points every client at it (as AWS_ENDPOINT_URL does for users)."""
    saved = {k: os.environ.get(k) for k in (*servers.AWS_ENV, "AWS_ENDPOINT_URL")}
    os.environ.update(servers.AWS_ENV)
    with servers.moto_server() as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        try:
            yield endpoint
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture
def s3(s3_endpoint: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A boto3 client; every test works under its own prefix, removed afterwards."""
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    yield client
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    for page in pages:
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])


def keys(s3: Any, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def put_csv(s3: Any, key: str, text: str) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode())


def get(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def copy_flow(
    name: str, source: str, sink: str, mode: str = "pandas", sink_options: str = "{}", source_options: str = "{}"
) -> str:
    return f"""
flow: {{name: {name}}}
settings: {{execution_mode: {mode}}}
modules:
  - id: read
    name: {source.split(':', 1)[0]}
    configs: {{required: {{file_path: "{source.split(':', 1)[1]}"}}, optional: {source_options}}}
  - id: write
    name: {sink.split(':', 1)[0]}
    configs: {{required: {{output_path: "{sink.split(':', 1)[1]}"}}, optional: {sink_options}}}
connections:
  data: ["read.data - write.input"]
"""


class TestRead:
    @pytest.mark.parametrize("mode", ["pandas", "dask"])
    async def test_csv_glob_from_a_bucket(self, flows: FlowHarness, s3: Any, mode: str) -> None:
        put_csv(s3, "in/a.csv", "id,name\n1,ann\n2,bob\n")
        put_csv(s3, "in/b.csv", "id,name\n3,cy\n")
        put_csv(s3, "in/notes.txt", "not csv\n")
        result = await flows.run(copy_flow("csv_glob", f"csv_source:s3://{BUCKET}/in/*.csv", "csv_sink:out/all.csv",
                                           mode))
        assert result.status == "success", result.manifest
        assert pd.read_csv(flows.root / "out" / "all.csv").to_dict("list") == {"id": [1, 2, 3],
                                                                               "name": ["ann", "bob", "cy"]}
        read = result.manifest["modules"]["read"]
        assert read["files_read"] == [f"s3://{BUCKET}/in/a.csv", f"s3://{BUCKET}/in/b.csv"]
        assert read["globals"]["files_read"] == 2

    async def test_parquet_glob_and_hive_folder_from_a_bucket(self, flows: FlowHarness, s3: Any) -> None:
        for year, ids in (("2024", [1, 2]), ("2025", [3])):
            buffer = io.BytesIO()
            pd.DataFrame({"id": ids}).to_parquet(buffer, index=False)
            s3.put_object(Bucket=BUCKET, Key=f"pq/year={year}/part-0.parquet", Body=buffer.getvalue())
        folder = await flows.run(copy_flow("pq_folder", f"parquet_source:s3://{BUCKET}/pq", "csv_sink:out/f.csv"))
        assert folder.status == "success", folder.manifest
        frame = pd.read_csv(flows.root / "out" / "f.csv").sort_values("id")
        assert frame.to_dict("list") == {"id": [1, 2, 3], "year": [2024, 2024, 2025]}
        globbed = await flows.run(copy_flow("pq_glob", f"parquet_source:s3://{BUCKET}/pq/*/*.parquet",
                                            "csv_sink:out/g.csv"))
        assert globbed.status == "success", globbed.manifest
        assert sorted(pd.read_csv(flows.root / "out" / "g.csv")["id"]) == [1, 2, 3]

    async def test_json_and_text_from_a_bucket(self, flows: FlowHarness, s3: Any) -> None:
        put_csv(s3, "j/x.jsonl", '{"a": 1}\n{"a": 2}\n')
        put_csv(s3, "t/x.txt", "one\ntwo\n")
        json_run = await flows.run(copy_flow("jsonl", f"json_source:s3://{BUCKET}/j/", "csv_sink:out/j.csv"))
        text_run = await flows.run(copy_flow("text", f"text_source:s3://{BUCKET}/t/x.txt", "csv_sink:out/t.csv"))
        assert json_run.status == text_run.status == "success", (json_run.manifest, text_run.manifest)
        assert pd.read_csv(flows.root / "out" / "j.csv")["a"].tolist() == [1, 2]
        assert pd.read_csv(flows.root / "out" / "t.csv")["line"].tolist() == ["one", "two"]


class TestWrite:
    async def test_partitioned_parquet_to_a_bucket_and_back(self, flows: FlowHarness, s3: Any) -> None:
        write_csv(flows.root / "data" / "in.csv", "id,region", ["1,eu", "2,us", "3,eu"])
        out = f"s3://{BUCKET}/lake/orders"
        first = await flows.run(copy_flow("lake", "csv_source:data/in.csv", f"parquet_sink:{out}",
                                          sink_options="{partition_cols: [region]}"))
        assert first.status == "success", first.manifest
        written = keys(s3, "lake/orders/")
        marker = json.loads(get(s3, "lake/orders/_PYPELINE"))
        assert marker["job"] == "lake" and marker["pending"] == []
        data_keys = [k for k in written if not k.endswith("_PYPELINE")]
        assert sorted(f"lake/orders/{f}" for f in marker["files"]) == data_keys
        assert {k.split("/")[2] for k in written if "=" in k} == {"region=eu", "region=us"}
        back = await flows.run(copy_flow("back", f"parquet_source:{out}", "csv_sink:out/back.csv"))
        assert back.status == "success", back.manifest
        frame = pd.read_csv(flows.root / "out" / "back.csv").sort_values("id")
        assert frame.to_dict("list") == {"id": [1, 2, 3], "region": ["eu", "us", "eu"]}
        # a rerun replaces the folder: the files of the first write are gone, only the new ones are listed
        second = await flows.run(copy_flow("lake", "csv_source:data/in.csv", f"parquet_sink:{out}",
                                           sink_options="{partition_cols: [region]}"))
        assert second.status == "success", second.manifest
        again = json.loads(get(s3, "lake/orders/_PYPELINE"))
        assert set(again["files"]).isdisjoint(marker["files"])
        expected = ["lake/orders/_PYPELINE", *(f"lake/orders/{f}" for f in again["files"])]
        assert keys(s3, "lake/orders/") == sorted(expected)

    async def test_a_failed_write_leaves_the_previous_object(self, flows: FlowHarness, s3: Any) -> None:
        write_csv(flows.root / "data" / "good.csv", "n", ["1", "2"])
        target = f"s3://{BUCKET}/out/report.csv"
        first = await flows.run(copy_flow("report", "csv_source:data/good.csv", f"csv_sink:{target}"))
        assert first.status == "success", first.manifest
        before = get(s3, "out/report.csv")
        # dask reads lazily (types from the first rows): a malformed row further on fails the sink while it writes
        write_csv(flows.root / "data" / "good.csv", "n", [*map(str, range(SAMPLE_ROWS + 10)), "5,6,7"])
        failed = await flows.run(copy_flow("report", "csv_source:data/good.csv", f"csv_sink:{target}", "dask"))
        assert failed.status == "failed"
        assert "malformed row" in failed.manifest["modules"]["write"]["error"]
        assert get(s3, "out/report.csv") == before
        assert keys(s3, "out/") == ["out/report.csv"]

    async def test_a_failed_folder_write_leaves_the_previous_folder(self, flows: FlowHarness, s3: Any) -> None:
        write_csv(flows.root / "data" / "in.csv", "n,g", ["1,a", "2,b"])
        out = f"s3://{BUCKET}/parts"
        options = "{partition_cols: [g]}"
        first = await flows.run(copy_flow("parts", "csv_source:data/in.csv", f"parquet_sink:{out}", "dask", options))
        assert first.status == "success", first.manifest
        before = {k: get(s3, k) for k in keys(s3, "parts/")}
        write_csv(flows.root / "data" / "in.csv", "n,g", [*(f"{i},a" for i in range(SAMPLE_ROWS + 10)), "4,b,5"])
        failed = await flows.run(copy_flow("parts", "csv_source:data/in.csv", f"parquet_sink:{out}", "dask", options))
        assert failed.status == "failed"
        assert {k: get(s3, k) for k in keys(s3, "parts/")} == before

    async def test_a_prefix_of_someone_elses_objects_is_refused(self, flows: FlowHarness, s3: Any) -> None:
        put_csv(s3, "theirs/keep.txt", "precious\n")
        write_csv(flows.root / "data" / "in.csv", "n,g", ["1,a"])
        result = await flows.run(copy_flow("mine", "csv_source:data/in.csv", f"parquet_sink:s3://{BUCKET}/theirs",
                                           sink_options="{partition_cols: [g]}"))
        assert result.status == "failed"
        error = result.manifest["modules"]["write"]["error"]
        assert f"output path 's3://{BUCKET}/theirs' is an existing folder that holds other files " \
               f"('s3://{BUCKET}/theirs/keep.txt')" in error
        assert keys(s3, "theirs/") == ["theirs/keep.txt"]


class TestBadInputs:
    async def test_unknown_scheme_at_build_and_at_run_time(self, flows: FlowHarness) -> None:
        from pypeline.core.errors import ConfigError

        with pytest.raises(ConfigError, match=re.escape(
            "module 'read' (csv_source): config 'file_path': unknown storage scheme 'ftp2://' in 'ftp2://host/x.csv' "
            "(expected s3://, gs://, az://, abfs://, http(s):// (read), memory:// or a local path)"
        )):
            flows.validate(copy_flow("bad", "csv_source:ftp2://host/x.csv", "csv_sink:out/x.csv"))
        templated = copy_flow("bad", "csv_source:{{context.src}}", "csv_sink:out/x.csv")
        result = await flows.run(templated + "context: {default: {src: 'ftp2://host/x.csv'}}\n")
        assert result.status == "failed"
        assert result.manifest["modules"]["read"]["error"] == (
            "'ftp2://host/x.csv': unknown storage scheme 'ftp2://' (expected s3://, gs://, az://, abfs://, "
            "http(s):// (read), memory:// or a local path)"
        )

    async def test_missing_bucket_for_reading_and_writing(self, flows: FlowHarness, s3: Any) -> None:
        read = await flows.run(copy_flow("nob", "csv_source:s3://no-such-bucket/x.csv", "csv_sink:out/x.csv"))
        assert read.manifest["modules"]["read"]["error"] == (
            "'s3://no-such-bucket/x.csv': the bucket 'no-such-bucket' does not exist"
        )
        write_csv(flows.root / "data" / "in.csv", "n", ["1"])
        write = await flows.run(copy_flow("nob2", "csv_source:data/in.csv", "csv_sink:s3://no-such-bucket/x.csv"))
        assert write.manifest["modules"]["write"]["error"] == (
            "'s3://no-such-bucket/x.csv': the bucket 'no-such-bucket' does not exist (create it first)"
        )

    def test_missing_extra_is_one_line_naming_it(self, project: Path) -> None:
        code = (
            "import sys; sys.modules['s3fs'] = None\n"
            "from pypeline.modules.frames import expand_paths\n"
            "try:\n    expand_paths('s3://bucket/x.csv')\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=project)
        assert done.stdout.strip() == (
            "StorageError 's3://bucket/x.csv': s3:// URLs need the optional extra 's3': pip install 'pypeline[s3]'"
        )

    def test_bad_credentials_name_the_url_never_the_secret(self, project: Path) -> None:
        """A second moto server that checks credentials (moto's IAM enforcement) refuses a made-up key."""
        port = servers.free_port()
        env = {**servers.python_env(), "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
        log = project / "moto.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1",
                                     "-p", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            servers.wait_for_port(port, 30, proc, log)
            code = (
                "from pypeline.modules.frames import expand_paths\n"
                "try:\n"
                f"    expand_paths('s3://{BUCKET}/in/*.csv', {{'endpoint_url': 'http://127.0.0.1:{port}',"
                " 'key': 'AKIAMADEUP', 'secret': 'hunter2-very-secret'})\n"
                "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
            )
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=project,
                                  env=servers.python_env(), timeout=120)
        finally:
            proc.terminate()
            proc.wait(10)
        shown = done.stdout + done.stderr
        assert done.stdout.startswith(f"StorageError 's3://{BUCKET}/in/*.csv': cannot list: "), shown
        assert "credentials" in done.stdout or "access denied" in done.stdout
        assert "hunter2" not in done.stdout + done.stderr and "AKIAMADEUP" not in done.stdout


class TestCacheStoreOnS3:
    async def test_a_cache_store_in_a_bucket(self, flows: FlowHarness, s3: Any) -> None:
        write_csv(flows.root / "data" / "in.csv", "n", ["1", "2"])
        text = copy_flow("remote_cache", "csv_source:data/in.csv", "csv_sink:out/x.csv").replace(
            "settings: {execution_mode: pandas}",
            f'settings: {{execution_mode: pandas, cache: {{enabled: true, store: "s3://{BUCKET}/cache"}}}}',
        )
        assert (await flows.run(text)).status == "success"
        second = await flows.run(text)
        assert {r["status"] for r in second.manifest["modules"].values()} == {"cached"}
        assert [k for k in keys(s3, "cache/remote_cache/") if k.endswith("entry.json")] != []


async def test_parquet_is_read_in_ranges_not_downloaded(
    flows: FlowHarness, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow reads through the file system in ranges: one column of a wide file costs far less than the file.

    s3fs fetches blocks of ``default_block_size`` (50 MB unless set): a small block here, so that a 4 MB
    file shows it.
    """
    import s3fs

    frame = pd.DataFrame({"id": range(100_000), "blob": [os.urandom(16).hex() for _ in range(100_000)]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    size = len(buffer.getvalue())
    s3.put_object(Bucket=BUCKET, Key="wide/data.parquet", Body=buffer.getvalue())
    fetched: list[int] = []
    original = s3fs.core.S3File._fetch_range

    def counting(self: Any, start: int, end: int) -> bytes:
        data = bytes(original(self, start, end))
        fetched.append(len(data))
        return data

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", counting)
    result = await flows.run(copy_flow("wide", f"parquet_source:s3://{BUCKET}/wide/data.parquet",
                                       "csv_sink:out/ids.csv",
                                       source_options="{columns: [id], storage_options: {default_block_size: 262144}}"))
    assert result.status == "success", result.manifest
    assert pd.read_csv(flows.root / "out" / "ids.csv")["id"].sum() == sum(range(100_000))
    assert 0 < sum(fetched) < size / 2, (sum(fetched), size)


class TestSecretOptions:
    async def test_vault_credentials_in_storage_options_stay_secret(
        self, flows: FlowHarness, s3: Any, s3_endpoint: str, vault_env: Bao
    ) -> None:
        put_csv(s3, "sec/a.csv", "n\n1\n2\n")
        options = ('{storage_options: {key: "{{vault.secret/app/db#user}}", '
                   'secret: "{{vault.secret/app/db#password}}", endpoint_url: "' + s3_endpoint + '"}}')
        text = copy_flow("secret_s3", f"csv_source:s3://{BUCKET}/sec/*.csv", "csv_sink:out/sec.csv",
                         source_options=options).replace(
            "settings: {execution_mode: pandas}", "settings: {execution_mode: pandas, cache: {enabled: true}}"
        )
        first = await flows.run(text)
        assert first.status == "success", first.manifest
        second = await flows.run(text)
        assert second.manifest["modules"]["read"]["status"] == "cached"
        assert pd.read_csv(flows.root / "out" / "sec.csv")["n"].tolist() == [1, 2]
        seen = [p for p in flows.root.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".yaml")]
        assert seen
        for path in seen:
            assert vault_env.password not in path.read_text(errors="replace"), path


class TestHttp:
    async def test_csv_over_https_is_read_and_never_written(self, flows: FlowHarness, tmp_path: Path) -> None:
        import functools
        import http.server
        import threading

        served = tmp_path / "site"
        write_csv(served / "a.csv", "n", ["1", "2"])
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_address[1]}/a.csv"
        try:
            result = await flows.run(copy_flow("web", f"csv_source:{url}", "csv_sink:out/web.csv"))
            refused = await flows.run(copy_flow("web_out", f"csv_source:{url}", "csv_sink:{{context.out}}")
                                      + f"context: {{default: {{out: '{url}'}}}}\n")
        finally:
            server.shutdown()
            server.server_close()
        assert result.status == "success", result.manifest
        assert pd.read_csv(flows.root / "out" / "web.csv")["n"].tolist() == [1, 2]
        assert refused.manifest["modules"]["write"]["error"] == (
            f"'{url}': http:// URLs are read-only; write to s3://, gs://, az:// or a local path"
        )
