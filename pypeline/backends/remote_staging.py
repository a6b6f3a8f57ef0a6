"""S3 staging: frames as Parquet objects, documents as JSON objects, under one prefix.

Both sides of a remote boundary use :class:`S3Stage`: the local backend
stages inputs and reads outputs back; the far side reads inputs and stages
outputs. Layout under the configured ``staging`` URI::

    s3://bucket/prefix/<run_id>/<node>/attempt-<n>/payload.json
                                                  /in/<port>.parquet
                                                  /out/<port>.parquet
                                                  /result.json        (Glue)
    s3://bucket/prefix/_pypeline/glue_entry-<version>.py              (Glue)

``<node>`` is the node id with ``#`` written as ``@`` (``score@2``). Frames
go through a temporary file so that large ones upload and download in
parallel multipart chunks (boto3's transfer manager) instead of as one body
in memory. Every call is blocking: async callers run them on a thread
(``Backend.blocking``).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Protocol


class StagingError(Exception):
    """An object that should be in S3 is not, or cannot be read; the message names its URI."""


@dataclass(frozen=True, slots=True)
class S3Uri:
    """A parsed ``s3://bucket/key`` (keys may hold ``#`` and ``?``: no URL parsing)."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        """Split ``s3://bucket/key``.

        Raises:
            ValueError: when ``uri`` is not an ``s3://bucket[/key]`` URI.
        """
        if not uri.startswith("s3://"):
            raise ValueError(f"{uri!r} is not an s3:// URI")
        bucket, _, key = uri[len("s3://"):].partition("/")
        if not bucket:
            raise ValueError(f"{uri!r} names no bucket")
        return cls(bucket, key)

    def join(self, *parts: str) -> S3Uri:
        """This URI with ``parts`` appended as path segments."""
        key = "/".join(p.strip("/") for p in (self.key, *parts) if p.strip("/"))
        return S3Uri(self.bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def node_segment(node_id: str) -> str:
    """The S3 path segment of a node id (``score#2`` -> ``score@2``)."""
    return node_id.replace("#", "@")


def make_s3_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 S3 client (``endpoint_url`` for S3-compatible stores and tests).

    Without ``endpoint_url`` boto3's own configuration applies, including the
    ``AWS_ENDPOINT_URL_S3`` environment variable.
    """
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"})
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def _missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


class Stage(Protocol):
    """What the far side and :class:`~.client.RemoteBackend` need from a stage (S3, or a folder)."""

    frame_suffix: str
    """File name suffix of a staged frame (``.parquet``, ``.arrow``)."""

    def parse(self, uri: str) -> Any: ...
    def put_json(self, uri: Any, doc: Any) -> None: ...
    def get_json(self, uri: Any, what: str) -> Any: ...
    def put_frame(self, uri: Any, frame: Any) -> int: ...
    def get_frame(self, uri: Any, what: str) -> Any: ...
    def delete_prefix(self, uri: Any) -> int: ...


class S3Stage:
    """Reads and writes staged objects with one boto3 S3 client."""

    frame_suffix = ".parquet"

    def __init__(self, client: Any) -> None:
        self.client = client

    @staticmethod
    def parse(uri: str) -> S3Uri:
        """The :class:`S3Uri` of a URI a payload or result names."""
        return S3Uri.parse(uri)

    def put_json(self, uri: S3Uri, doc: Any) -> None:
        """Write ``doc`` as a JSON object."""
        body = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")
        self.client.put_object(Bucket=uri.bucket, Key=uri.key, Body=body, ContentType="application/json")

    def get_json(self, uri: S3Uri, what: str) -> Any:
        """Read a JSON object.

        Raises:
            StagingError: when the object is missing or is not JSON.
        """
        try:
            body = self.client.get_object(Bucket=uri.bucket, Key=uri.key)["Body"].read()
        except Exception as exc:
            if _missing(exc):
                raise StagingError(f"{what} {uri} does not exist") from None
            raise StagingError(f"{what} {uri} cannot be read: {exc}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise StagingError(f"{what} {uri} is not JSON: {exc}") from None

    def put_text(self, uri: S3Uri, text: str) -> None:
        """Write a text object (the Glue script)."""
        self.client.put_object(Bucket=uri.bucket, Key=uri.key, Body=text.encode("utf-8"))

    def put_frame(self, uri: S3Uri, frame: Any) -> int:
        """Write a pandas frame as Parquet; returns its row count."""
        fd, tmp = tempfile.mkstemp(suffix=".parquet", prefix="pypeline-stage-")
        os.close(fd)
        try:
            frame.to_parquet(tmp)
            self.client.upload_file(tmp, uri.bucket, uri.key)
        finally:
            os.unlink(tmp)
        return len(frame)

    def get_frame(self, uri: S3Uri, what: str) -> Any:
        """Read a Parquet object back into a pandas frame.

        Raises:
            StagingError: when the object is missing or is not Parquet.
        """
        import pandas as pd

        fd, tmp = tempfile.mkstemp(suffix=".parquet", prefix="pypeline-stage-")
        os.close(fd)
        try:
            try:
                self.client.download_file(uri.bucket, uri.key, tmp)
            except Exception as exc:
                if _missing(exc):
                    raise StagingError(f"{what} {uri} does not exist") from None
                raise StagingError(f"{what} {uri} cannot be read: {exc}") from exc
            try:
                return pd.read_parquet(tmp)
            except Exception as exc:
                raise StagingError(f"{what} {uri} is not a readable Parquet file: {exc}") from None
        finally:
            os.unlink(tmp)

    def delete_prefix(self, uri: S3Uri) -> int:
        """Delete every object under ``uri`` (a folder-like prefix); returns how many."""
        prefix = uri.key.rstrip("/") + "/"
        deleted = 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=uri.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=uri.bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted
