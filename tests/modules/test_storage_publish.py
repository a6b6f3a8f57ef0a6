"""Publishing a folder output on an object store (sdk/remote_outputs.py), step by step, on fsspec's memory://.

memory:// is fsspec's real in-process file system: the publish protocol runs
unchanged on it, and a test can stop it between two steps (a failing upload,
a reader looking in while the upload runs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest

from pypeline.modules.frames import expand_paths
from pypeline.modules.sdk import DataError, atomic_output_path
from pypeline.modules.storage import StorageError

OUT = "memory://bucket/out"


@pytest.fixture
def memory() -> Iterator[Any]:
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    yield fs
    fs.store.clear()


def write_folder(files: dict[str, str], url: str = OUT) -> None:
    with atomic_output_path(url, None, folder=True) as tmp:
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)


def marker(fs: Any) -> dict[str, Any]:
    return dict(json.loads(fs.cat_file("/bucket/out/_PYPELINE")))


def contents(paths: list[str]) -> list[str]:
    return sorted(fsspec.filesystem("memory").cat_file(p.split("://", 1)[1]).decode() for p in paths)


class TestFolderPublish:
    def test_a_write_then_a_rewrite(self, memory: Any) -> None:
        write_folder({"a.csv": "1", "sub/b.csv": "2"})
        assert contents(expand_paths(OUT)) == ["1", "2"]  # a marked folder: every file its marker lists
        first = marker(memory)
        assert [f.rsplit(".", 2)[0] for f in first["files"]] == ["a", "sub/b"]
        write_folder({"a.csv": "3"})
        assert contents(expand_paths(OUT)) == ["3"]
        assert sorted(memory.find("/bucket/out")) == sorted(
            ["/bucket/out/_PYPELINE", *(f"/bucket/out/{f}" for f in marker(memory)["files"])]
        )

    def test_a_failed_upload_leaves_the_previous_write(self, memory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        write_folder({"a.csv": "old a", "b.csv": "old b"})
        before = {k: memory.cat_file(k) for k in memory.find("/bucket/out")}
        calls: list[str] = []
        original = type(memory).put_file

        def failing(self: Any, lpath: str, rpath: str, *args: Any, **kwargs: Any) -> Any:
            calls.append(rpath)
            if len(calls) == 2:
                raise OSError("connection reset during upload")
            return original(self, lpath, rpath, *args, **kwargs)

        monkeypatch.setattr(type(memory), "put_file", failing)
        with pytest.raises(StorageError, match=r"^'memory://bucket/out': cannot write: OSError: connection reset"):
            write_folder({"a.csv": "new a", "b.csv": "new b"})
        monkeypatch.undo()
        after = {k: memory.cat_file(k) for k in memory.find("/bucket/out")}
        assert {k: v for k, v in after.items() if not k.endswith("_PYPELINE")} == {
            k: v for k, v in before.items() if not k.endswith("_PYPELINE")
        }  # the one new object that landed was removed again
        assert contents(expand_paths(OUT)) == ["old a", "old b"]

    def test_a_reader_during_the_upload_sees_the_previous_write(
        self, memory: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_folder({"a.csv": "old"})
        seen: list[list[str]] = []
        original = type(memory).put

        def put_then_look(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            seen.append(contents(expand_paths(OUT)))  # every new object is stored, the marker not yet switched
            return result

        monkeypatch.setattr(type(memory), "put", put_then_look)
        write_folder({"a.csv": "new", "b.csv": "new too"})
        assert seen == [["old"]]
        assert contents(expand_paths(OUT)) == ["new", "new too"]

    def test_a_killed_write_is_invisible_and_cleaned_by_the_next(self, memory: Any) -> None:
        write_folder({"a.csv": "kept"})
        doc = marker(memory)
        # what a run killed in mid-upload leaves: the marker names its write as pending, some objects landed
        doc["pending"] = ["pype-0123456789ab"]
        memory.pipe_file("/bucket/out/_PYPELINE", json.dumps(doc).encode())
        memory.pipe_file("/bucket/out/a.pype-0123456789ab.csv", b"half")
        assert contents(expand_paths(OUT)) == ["kept"]
        assert contents(expand_paths(f"{OUT}/*.csv")) == ["kept"]
        write_folder({"a.csv": "next"})
        assert not memory.exists("/bucket/out/a.pype-0123456789ab.csv")
        assert contents(expand_paths(OUT)) == ["next"] and marker(memory)["pending"] == []

    def test_foreign_and_unlisted_objects_are_refused(self, memory: Any) -> None:
        memory.pipe_file("/bucket/theirs/data.csv", b"x")
        with pytest.raises(DataError, match=r"is an existing folder that holds other files "
                                            r"\('memory://bucket/theirs/data.csv'\)"):
            write_folder({"a.csv": "1"}, "memory://bucket/theirs")
        write_folder({"a.csv": "1"})
        memory.pipe_file("/bucket/out/notes.txt", b"mine")
        with pytest.raises(DataError, match=r"also holds 'memory://bucket/out/notes.txt', which that output did"):
            write_folder({"a.csv": "2"})
        assert memory.cat_file("/bucket/out/notes.txt") == b"mine"

    def test_a_single_file_replaces_an_object_in_one_upload(self, memory: Any, tmp_path: Path) -> None:
        memory.pipe_file("/bucket/x.csv", b"old")
        with pytest.raises(RuntimeError), atomic_output_path("memory://bucket/x.csv", None, folder=False) as tmp:
            tmp.write_text("half")
            raise RuntimeError("the sink failed")
        assert memory.cat_file("/bucket/x.csv") == b"old"
        with atomic_output_path("memory://bucket/x.csv", None, folder=False) as tmp:
            tmp.write_text("new")
        assert memory.cat_file("/bucket/x.csv") == b"new"

    def test_http_is_read_only(self) -> None:
        with pytest.raises(StorageError, match=r"^'https://example.org/x.csv': https:// URLs are read-only"), \
                atomic_output_path("https://example.org/x.csv", None, folder=False):
            pass
