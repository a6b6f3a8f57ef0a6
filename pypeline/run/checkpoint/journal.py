"""An append-only file of checksummed records, made durable in groups by a background thread.

The checkpoint of a run (``store.py``) is one of these: one record per
finished sub flow instance. The model is a write-ahead log with group commit:

* :meth:`Journal.append` writes one record with a single ``write`` on the
  caller's thread. The bytes are then in the kernel's page cache: a process
  killed at any instant (``kill -9`` included) cannot lose them, because the
  page cache belongs to the kernel, not to the process. The caller never
  waits for the disk.
* A committer thread makes appended records durable against an OS crash or a
  power cut: woken by the first record after a quiet spell, it lets a group
  gather for ``interval`` seconds (50 ms by default), then fsyncs the files the
  group's records depend on (see :meth:`Journal.depends_on`), then the journal
  itself, and marks every record appended before it began as durable. Records
  appended while an fsync runs join the next group, so one fsync covers every
  record of its group: with a disk that takes 5 ms per fsync, a burst of 1,000
  records costs a handful of fsyncs instead of 1,000. The committer wakes at
  most once per group, not once per record, so it seldom competes with the
  run for the GIL; a record is durable at most about ``interval`` plus one
  fsync after it was appended.
* :meth:`Journal.settle` waits until everything appended so far is durable;
  the run calls it before it exits with a checkpoint left behind.

A record on disk is one line::

    <payload length> <crc32 of the payload, 8 hex digits> <payload>\\n

The payload is compact JSON, which never holds a raw newline. :func:`read_records`
returns the longest prefix of complete records: it stops at the first record
whose line is unterminated, whose length or checksum does not match, or that
is not even a header (an OS crash may leave a tail of zeros, or a torn last
record, or, on some file systems, a hole in the middle). Nothing after such a
record is trusted, even when it reads fine: records are appended in
completion order, so the prefix is exactly a state the run went through.

Worked example: records 1..5 appended, the committer fsynced after record 3
when the machine loses power. After reboot the journal may hold records 1..3
only, or 1..5, or 1..3 and a zero-filled tail: :func:`read_records` returns
1..3 or 1..5, never a torn record. After ``kill -9`` instead, it always
returns 1..5 (or 1..4 and a torn fifth record, when the kill landed inside
that ``write``).
"""

from __future__ import annotations

import os
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from pypeline.core.jsonio import fsync_dir


def encode_record(payload: bytes) -> bytes:
    """Frame ``payload`` as one journal line (see the module docstring).

    Raises:
        ValueError: ``payload`` holds a newline (it could not be told apart from the framing).
    """
    if b"\n" in payload:
        raise ValueError("a journal record cannot hold a newline")
    return b"%d %08x %s\n" % (len(payload), zlib.crc32(payload), payload)


@dataclass(slots=True, frozen=True, kw_only=True)
class JournalRead:
    """What :func:`read_records` found."""

    payloads: list[bytes]
    """The valid prefix, in append order."""
    bad_offset: int | None = None
    """Byte offset of the first record that is torn or corrupt (``None``: the whole file is valid)."""
    bad_reason: str = ""


def read_records(path: Path) -> JournalRead:
    """The valid records of the journal at ``path`` (none when it does not exist).

    Raises:
        OSError: the file exists but cannot be read.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return JournalRead(payloads=[])
    payloads: list[bytes] = []
    position = 0
    while position < len(data):
        end = data.find(b"\n", position)
        if end < 0:
            return JournalRead(payloads=payloads, bad_offset=position, bad_reason="unterminated (torn) record")
        reason = _check_line(data[position:end])
        if reason:
            return JournalRead(payloads=payloads, bad_offset=position, bad_reason=reason)
        payloads.append(data[position:end].split(b" ", 2)[2])
        position = end + 1
    return JournalRead(payloads=payloads)


def _check_line(line: bytes) -> str:
    parts = line.split(b" ", 2)
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[1]) != 8:
        return "not a record header"
    length, crc, payload = parts
    if int(length) != len(payload):
        return f"length {int(length)} recorded, {len(payload)} bytes found"
    try:
        expected = int(crc, 16)
    except ValueError:
        return "not a record header"
    if zlib.crc32(payload) != expected:
        return "checksum mismatch"
    return ""


class Journal:
    """One journal file being written (see the module docstring); safe to append from any thread.

    Lifecycle: ``open()``, then ``append`` any number of times, then ``close()``
    (which settles first unless told to discard). A journal is not reopened.
    """

    def __init__(self, path: Path, *, interval: float = 0.05) -> None:
        self.path = path
        self.interval = interval
        """Seconds a group gathers before its fsync (see the module docstring)."""
        self._fd: int | None = None
        self._size = 0
        self._cond = threading.Condition()
        self._appended = 0
        self._durable = 0
        self._pending_files: list[Path] = []
        self._error: OSError | None = None
        self._stopping = False
        self._discard = False
        self._urgent = False
        self._idle = False
        self._thread: threading.Thread | None = None
        self._dir_synced = False
        self.fsyncs = 0
        """How many group commits ran (for tests and benchmarks)."""

    def open(self) -> None:
        """Create the file (append mode) and start the committer thread."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size
        self._thread = threading.Thread(target=self._commit_loop, name="pypeline-checkpoint", daemon=True)
        self._thread.start()

    @property
    def appended(self) -> int:
        """Records appended so far."""
        return self._appended

    @property
    def durable(self) -> int:
        """Records known to be on disk (fsynced)."""
        return self._durable

    def depends_on(self, path: Path) -> None:
        """Make ``path`` durable before any record appended after this call.

        For files a record names (written with a temporary name and a rename, not fsynced):
        the committer fsyncs them, and their folder, before the journal itself.
        """
        with self._cond:
            self._pending_files.append(path)

    def append(self, payload: bytes) -> None:
        """Write one record (one ``write`` call; no fsync: see the module docstring).

        Raises:
            OSError: the write failed; the file is cut back to its previous size, so a
                failed append never leaves a torn record before later ones.
            ValueError: ``payload`` holds a newline.
        """
        record = encode_record(payload)
        with self._cond:
            if self._fd is None:
                raise OSError(f"{self.path}: the checkpoint journal is closed")
            try:
                view = memoryview(record)
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except OSError:
                try:
                    os.ftruncate(self._fd, self._size)
                except OSError:
                    os.close(self._fd)  # cannot repair: refuse every later append
                    self._fd = None
                raise
            self._size += len(record)
            self._appended += 1
            if self._idle:  # only the first record of a group wakes the committer
                self._cond.notify_all()

    def settle(self, timeout: float | None = None) -> None:
        """Wait until every record appended so far is durable.

        Raises:
            OSError: an fsync failed (the records are in the page cache, but may not
                survive an OS crash), or the committer did not finish within ``timeout``.
        """
        with self._cond:
            target = self._appended
            if self._durable >= target and self._error is None:
                return
            if self._thread is None or not self._thread.is_alive():
                self._commit_now()
            else:
                self._urgent = True  # cut the group's gathering short
                self._cond.notify_all()
            if not self._cond.wait_for(lambda: self._durable >= target or self._error is not None, timeout):
                raise OSError(f"{self.path}: the checkpoint was not settled within {timeout}s")
            if self._error is not None:
                raise self._error

    def close(self, *, discard: bool = False) -> None:
        """Stop the committer and close the file; settle first unless ``discard`` (the file is about to go).

        Raises:
            OSError: settling failed (see :meth:`settle`).
        """
        try:
            if not discard and self._fd is not None:
                self.settle()
        finally:
            with self._cond:
                self._stopping = True
                self._discard = discard
                self._cond.notify_all()
            if self._thread is not None:
                self._thread.join()
            with self._cond:
                if self._fd is not None:
                    os.close(self._fd)
                    self._fd = None

    # -- the committer ----------------------------------------------------------------------------

    def _commit_loop(self) -> None:
        while True:
            with self._cond:
                self._idle = True
                self._cond.wait_for(lambda: self._stopping or self._urgent or self._durable < self._appended)
                self._idle = False
                if self._stopping and (self._discard or self._durable >= self._appended):
                    return
                if not (self._stopping or self._urgent):  # let the group gather
                    self._cond.wait_for(lambda: self._stopping or self._urgent, self.interval)
                if self._stopping and self._discard:
                    return
                self._urgent = False
                target, files = self._appended, self._pending_files
                self._pending_files = []
                fd = self._fd
            error = self._sync(fd, files)
            with self._cond:
                if error is not None:
                    self._error = error
                    self._pending_files[:0] = files
                else:
                    self._durable = max(self._durable, target)
                self._cond.notify_all()
                if error is not None:
                    return

    def _commit_now(self) -> None:
        """Settle on the caller's thread (the committer is gone); called with the lock held."""
        error = self._sync(self._fd, self._pending_files)
        if error is not None:
            self._error = error
        else:
            self._pending_files = []
            self._durable = self._appended

    def _sync(self, fd: int | None, files: list[Path]) -> OSError | None:
        try:
            folders = set()
            for path in files:
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
                folders.add(path.parent)
            for folder in sorted(folders):
                fsync_dir(folder)
            if fd is not None:
                os.fsync(fd)
            if not self._dir_synced:
                fsync_dir(self.path.parent)  # the journal's own name
                self._dir_synced = True
        except OSError as exc:
            return exc
        self.fsyncs += 1
        return None
