"""Sink outputs on an object store: staged locally, published so that readers never see half of them.

:func:`pypeline.modules.sdk.outputs.atomic_output_path` hands a URL output
here. The sink writes exactly as it does for a local path, into a private
local folder (``ctx.scratch_dir``: inside the run's spill folder, so a killed
run's leftovers are swept by the next run); publishing then stores it at the
URL. Object stores have no atomic rename, so each kind of output is published
its own way:

* **one file**: one upload to the final key. S3, GCS and Azure make an
  object visible only when its upload completes (a multipart upload too), so
  readers see the old object or the new one, never a part; a failed upload
  leaves the old object as it was.
* **a folder** (partitioned Parquet, dask part files): the folder's
  ``_PYPELINE`` marker is its commit record (:mod:`pypeline.modules.storage.marker`).
  1. the marker is rewritten with the new write's id in ``pending`` (the
     files it lists stay those of the last complete write);
  2. every file is uploaded under a new name carrying the write id, so no
     object of the last complete write is overwritten;
  3. the marker is replaced, listing the new files (one object: atomic);
  4. the files of the previous write, and leftovers of writes that failed, are deleted.

  PYpeline's sources read a marked folder as the files its marker lists, so
  they see the previous write until step 3 and the new one after it, never a
  mix. A failure before step 3 leaves the previous write whole (its new
  objects are deleted; a killed run's are deleted by the next write of the
  job, found by their write id). Readers that ignore the marker and list the
  prefix (plain pyarrow, Spark) may see the new files beside the old ones
  between steps 2 and 4.

Ownership follows the local rules (:mod:`pypeline.modules.sdk.ownership`): a
URL output may replace nothing, an object, or a prefix whose marker names the
same job (or one in ``replace_output_of``) and holds only files that marker
accounts for. A prefix of someone else's objects is refused, naming one.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from pypeline.modules.sdk.errors import DataError
from pypeline.modules.sdk.ownership import OutputOwner
from pypeline.modules.storage import (
    MARKER,
    MARKER_VERSION,
    StorageError,
    StoragePath,
    pending_ids,
    read_marker,
    resolve,
    storage_error,
    with_write_id,
    write_id_of,
)

_DOCS = "docs/storage.md#what-is-atomic"


@contextmanager
def remote_output_path(
    url: str, ctx: Any, owner: OutputOwner, *, folder: bool | None, storage_options: Mapping[str, Any] | None
) -> Iterator[Path]:
    """Yield a local path to write the output of ``url`` into; publish it there on success (module docstring).

    Raises:
        DataError: the output may not or cannot be written there (one line naming the URL).
    """
    target = resolve(url, storage_options, write=True)
    names_folder = url.endswith("/")
    if names_folder and folder is False:
        raise DataError(f"output path '{url}' ends with '/' (a folder), but this sink writes one file: name the "
                        f"file in that folder (e.g. '{url}<name>')")
    _refuse(target, owner, folder)
    with _staging(ctx) as stage:
        output = stage / "output"
        yield output
        if not output.exists():
            return
        is_folder = output.is_dir()
        if names_folder and not is_folder:
            raise DataError(f"output path '{url}' ends with '/' (a folder), but this sink wrote one file")
        _refuse(target, owner, is_folder)  # again: the store may have changed while the output was written
        try:
            if is_folder:
                _publish_folder(output, target, owner)
            else:
                target.fs.put_file(str(output), target.key.rstrip("/"))
        except (DataError, StorageError):
            raise
        except Exception as exc:
            raise storage_error(url, exc, "cannot write") from None


@contextmanager
def _staging(ctx: Any) -> Iterator[Path]:
    if ctx is not None and hasattr(ctx, "scratch_dir"):
        with ctx.scratch_dir("upload_") as folder:
            yield folder
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pype-upload-") as name:
        yield Path(name)


def _refuse(target: StoragePath, owner: OutputOwner, folder: bool | None) -> None:
    try:
        refusal = remote_refusal(target, owner, folder)
    except (DataError, StorageError):
        raise
    except Exception as exc:
        raise storage_error(str(target), exc, "cannot check the output path") from None
    if refusal is not None:
        raise DataError(refusal)


def remote_refusal(target: StoragePath, owner: OutputOwner, folder: bool | None) -> str | None:
    """Why ``owner`` may not write ``target`` now (``None`` when it may); reads the store only."""
    fs, key, shown = target.fs, target.key.rstrip("/"), str(target)
    _check_bucket(target)
    if fs.isfile(key):
        if folder:
            return (f"output path '{shown}' is an existing object; this sink writes a folder there "
                    "(remove the object or choose another output_path)")
        return None
    names = [n for n in fs.find(key)] if fs.isdir(key) else []
    if not names:
        return None
    if folder is False:
        return (f"output path '{shown}' is a folder in the store (it holds '{target.child(names[0])}'); "
                "this sink writes one file: name a file, or choose another output_path")
    marker = read_marker(fs, key)
    if marker is None:
        return (f"output path '{shown}' is an existing folder that holds other files ('{target.child(names[0])}'); "
                f"expected a new path or an earlier output of this job (with its {MARKER} marker, {_DOCS})")
    job, module = marker.get("job"), marker.get("module")
    if not owner.may_replace(job):
        return (f"output path '{shown}' is the output of job '{job}' (module '{module}', per its {MARKER} marker); "
                f"job '{owner.job}' replaces only its own outputs: name '{job}' in replace_output_of to allow it")
    if owner.run_id is not None and marker.get("run_id") == owner.run_id and module != owner.module:
        return (f"output path '{shown}' was written earlier in this run by module '{module}'; two sinks of one "
                "run cannot share an output path")
    listed = {f"{key}/{f}" for f in marker["files"]} | {f"{key}/{MARKER}"}
    pending = set(pending_ids(marker))
    for name in names:
        if name not in listed and write_id_of(name[len(key) + 1:]) not in pending:
            return (f"output path '{shown}' is an earlier output of job '{job}' but also holds "
                    f"'{target.child(name)}', which that output did not write: move it away, or choose another "
                    "output_path")
    return None


def _publish_folder(output: Path, target: StoragePath, owner: OutputOwner) -> None:
    fs, key = target.fs, target.key.rstrip("/")
    old = read_marker(fs, key)
    old_files = list(old["files"]) if old else []
    stale = pending_ids(old) if old else []
    write_id = f"pype-{secrets.token_hex(6)}"
    _put_marker(fs, key, owner, old_files, [*stale, write_id])
    relative = sorted(str(p.relative_to(output)) for p in output.rglob("*") if p.is_file() and p.name != MARKER)
    new_names = [with_write_id(rel, write_id) for rel in relative]
    uploaded = [f"{key}/{name}" for name in new_names]
    try:
        if relative:
            fs.put([str(output / rel) for rel in relative], uploaded)
        _put_marker(fs, key, owner, new_names, [])
    except BaseException:
        _remove(fs, uploaded)
        if old is None:
            _remove(fs, [f"{key}/{MARKER}"])
        raise
    kept = set(uploaded)
    leftovers = [f"{key}/{f}" for f in old_files if f"{key}/{f}" not in kept]
    if stale:
        leftovers += [n for n in fs.find(key) if write_id_of(n[len(key) + 1:]) in stale and n not in kept]
    _remove(fs, leftovers)


def _put_marker(fs: Any, key: str, owner: OutputOwner, files: list[str], pending: list[str]) -> None:
    doc = {
        "pypeline_output": MARKER_VERSION,
        "job": owner.job,
        "module": owner.module,
        "run_id": owner.run_id,
        "files": sorted(files),
        "folders": [],
        "pending": pending,
        "about": "PYpeline wrote this folder; on an object store this marker lists the files of the last "
        f"complete write, and PYpeline's sources read only those ({_DOCS})",
    }
    fs.pipe_file(f"{key}/{MARKER}", (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def _remove(fs: Any, keys: list[str]) -> None:
    """Best effort: what is left is removed by the job's next write (found by its write id)."""
    for name in keys:
        with suppress(Exception):
            fs.rm_file(name)


def _check_bucket(target: StoragePath) -> None:
    bucket = target.key.lstrip("/").split("/", 1)[0]
    if target.scheme in ("memory",) or not bucket:
        return
    if not target.fs.exists(bucket):
        raise StorageError(f"'{target}': the bucket '{bucket}' does not exist (create it first)")

