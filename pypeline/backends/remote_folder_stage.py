"""Folder staging: the remote boundary through a local folder instead of S3 (the container backend).

The near side writes an attempt's inputs into a folder on this machine and
mounts it into the container; the far side reads them and writes its outputs
there. Both sides speak of the files by ``file://`` URIs *as the far side
sees them* (``file:///pypeline/attempt/in/input.arrow``), so the payload and
the result documents are the same on both sides; :class:`FolderStage` maps
such a URI to the folder it really lives in (``mount`` -> ``host``).

Frames are Arrow IPC files (uncompressed, the Arrow in-memory layout on
disk): the boundary crosses a local disk, where Parquet's encoding and
compression would cost time and save nothing. The pandas index and dtypes
travel in the schema's pandas metadata, as with Parquet.

A URI from the other side is untrusted (a container may run code that is
not): :meth:`FolderStage.parse` refuses any ``file://`` URI outside the
mount point, and the host path it maps to is resolved and checked again, so
a symlink planted in the folder cannot make the run read a file elsewhere.
Every call is blocking: async callers run them on a thread.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pypeline.backends.remote_staging import StagingError

SCHEME = "file://"


@dataclass(frozen=True, slots=True)
class FileUri:
    """``file:///abs/path``: an absolute, normalised POSIX path as the far side sees it."""

    path: str

    @classmethod
    def parse(cls, uri: str) -> FileUri:
        """Split ``file:///abs/path``.

        Raises:
            ValueError: when ``uri`` is not a ``file://`` URI of an absolute path.
        """
        if not uri.startswith(SCHEME):
            raise ValueError(f"{uri!r} is not a file:// URI")
        path = uri[len(SCHEME):]
        if not path.startswith("/"):
            raise ValueError(f"{uri!r} does not name an absolute path")
        return cls(posixpath.normpath(path))

    def join(self, *parts: str) -> FileUri:
        """This URI with ``parts`` appended as path segments."""
        segments = [p.strip("/") for p in parts if p.strip("/")]
        return FileUri(posixpath.normpath(posixpath.join(self.path, *segments)))

    def __str__(self) -> str:
        return f"{SCHEME}{self.path}"


class FolderStage:
    """Reads and writes staged files under ``host``, named by URIs under ``mount``.

    Args:
        mount: the folder's absolute path as the far side sees it (``/pypeline/attempt``).
        host: where it is on this machine (the same path on the far side itself).
    """

    frame_suffix = ".arrow"

    def __init__(self, mount: str, host: Path) -> None:
        self.mount = FileUri.parse(SCHEME + mount).path
        self.host = Path(host)

    @property
    def root(self) -> FileUri:
        """The URI of the folder itself."""
        return FileUri(self.mount)

    def parse(self, uri: str) -> FileUri:
        """A URI inside this stage.

        Raises:
            ValueError: for anything but a ``file://`` URI under the mount point.
        """
        parsed = FileUri.parse(uri)
        if parsed.path != self.mount and not parsed.path.startswith(self.mount.rstrip("/") + "/"):
            raise ValueError(f"{uri!r} is outside the staging folder {SCHEME}{self.mount}")
        return parsed

    def local_path(self, uri: FileUri) -> Path:
        """Where ``uri`` is on this machine (refusing a path that leaves the folder through a symlink)."""
        relative = posixpath.relpath(self.parse(str(uri)).path, self.mount)
        path = self.host if relative == "." else self.host / relative
        real, root = path.resolve(), self.host.resolve()
        if real != root and not real.is_relative_to(root):
            raise StagingError(f"{uri} leads outside the staging folder (a symlink to {real})")
        return path

    def put_json(self, uri: FileUri, doc: Any) -> None:
        """Write ``doc`` as a JSON file (atomically: a reader never sees half of it)."""
        body = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")
        self._write(uri, lambda handle: handle.write(body))

    def get_json(self, uri: FileUri, what: str) -> Any:
        """Read a JSON file.

        Raises:
            StagingError: when the file is missing or is not JSON.
        """
        path = self.local_path(uri)
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            raise StagingError(f"{what} {uri} does not exist") from None
        except OSError as exc:
            raise StagingError(f"{what} {uri} cannot be read: {exc.strerror or exc}") from None
        try:
            return json.loads(body)
        except ValueError as exc:
            raise StagingError(f"{what} {uri} is not JSON: {exc}") from None

    def put_frame(self, uri: FileUri, frame: Any) -> int:
        """Write a pandas frame as an Arrow IPC file; returns its row count."""
        import pyarrow as pa

        table = pa.Table.from_pandas(frame)

        def fill(handle: BinaryIO) -> None:
            with pa.ipc.new_file(handle, table.schema) as writer:
                writer.write_table(table)

        self._write(uri, fill)
        return len(frame)

    def get_frame(self, uri: FileUri, what: str) -> Any:
        """Read an Arrow IPC file back into a pandas frame.

        Raises:
            StagingError: when the file is missing or is not an Arrow IPC file.
        """
        import pyarrow as pa

        path = self.local_path(uri)
        try:
            with pa.OSFile(str(path), "rb") as handle:
                table = pa.ipc.open_file(handle).read_all()
        except FileNotFoundError:
            raise StagingError(f"{what} {uri} does not exist") from None
        except (OSError, pa.ArrowException) as exc:
            raise StagingError(f"{what} {uri} is not a readable Arrow IPC file: {exc}") from None
        return table.to_pandas()

    def delete_prefix(self, uri: FileUri) -> int:
        """Delete the folder ``uri`` names and everything in it; returns how many files went."""
        path = self.local_path(uri)
        count = sum(len(files) for _root, _dirs, files in os.walk(path))
        shutil.rmtree(path, ignore_errors=True)
        return count

    def _write(self, uri: FileUri, fill: Callable[[BinaryIO], object]) -> None:
        """Write through a temporary file in the same folder and rename it into place."""
        path = self.local_path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
