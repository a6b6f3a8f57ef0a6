"""podman and images for the container backend tests, made on this machine without pulling anything.

The session fixtures :func:`podman` (fails, never skips, when podman cannot
run a container here) and :func:`worker_image` are shared by the backend
tests and the examples test (tests/conftest.py imports them).

:func:`python_base_image` imports (``podman import``) a minimal root file
system holding this interpreter, its standard library and the shared
libraries they and manylinux wheels link against (found with ``ldd``); no
site-packages, so neither PYpeline nor pandas is in it. ``pype package
container --base`` then layers PYpeline and its dependencies on top, as a
user's build does on ``python:3.11-slim``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
BASE_IMAGE = "localhost/pypeline-test-python:3.11"
WORKER_IMAGE = "localhost/pypeline-test-worker:roman"

SKIP_STDLIB = {"site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3"}
SKIP_DYNLOAD = re.compile(r"^(_tkinter|_test|_xxtest|xxlimited|_ctypes_test)")
EXTRA_LIBS = (
    "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1", "libz.so.1",
)
"""Linked by manylinux wheels (numpy, pyarrow) and allowed by the manylinux policy to come from the system."""


def _ldd(paths: list[Path]) -> set[Path]:
    found: set[Path] = set()
    for start in range(0, len(paths), 50):
        done = subprocess.run(["ldd", *map(str, paths[start:start + 50])], capture_output=True, text=True)
        for line in done.stdout.splitlines():
            match = re.search(r"(/\S+)\s+\(0x", line)
            if match:
                found.add(Path(match.group(1)))
    return found


def _system_lib(name: str) -> Path:
    done = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.strip().startswith(name + " ") and "x86-64" in line:
            return Path(line.rsplit("=>", 1)[1].strip())
    raise RuntimeError(f"{name} is not installed on this machine (ldconfig -p does not list it)")


def _add(tar: tarfile.TarFile, path: Path, seen: set[str]) -> None:
    """Add ``path`` under its real parent folder; a symlink is kept and its target added too."""
    path = Path(os.path.realpath(path.parent)) / path.name
    name = str(path).lstrip("/")
    if name in seen:
        return
    seen.add(name)
    for parent in reversed(path.parents[:-1]):
        if str(parent).lstrip("/") not in seen:
            seen.add(str(parent).lstrip("/"))
            info = tarfile.TarInfo(str(parent).lstrip("/"))
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
    if path.is_symlink():
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
        tar.addfile(info)
        _add(tar, path.parent / os.readlink(path), seen)
    else:
        tar.add(str(path), arcname=name, recursive=False)


def write_python_rootfs_tar(target: Path) -> Path:
    """A tar of this interpreter, its standard library and the shared libraries they need."""
    executable = Path(os.path.realpath(sys.executable))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    dynload = stdlib / "lib-dynload"
    extensions = [p for p in dynload.glob("*.so") if not SKIP_DYNLOAD.match(p.name)]
    libraries = _ldd([executable, *extensions]) | {_system_lib(name) for name in EXTRA_LIBS}
    libraries |= _ldd(sorted(libraries))
    seen: set[str] = set()
    with tarfile.open(target, "w") as tar:
        for folder in ("tmp", "etc", "usr/local/bin", "pypeline"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
            seen.add(folder)
        passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
        _add(tar, executable, seen)
        for library in sorted(libraries):
            _add(tar, library, seen)
        for path in sorted(stdlib.rglob("*")):
            relative = path.relative_to(stdlib).parts
            if relative[0] in SKIP_STDLIB or (relative[0] == "lib-dynload" and SKIP_DYNLOAD.match(path.name)):
                continue
            if path.is_file() or path.is_symlink():
                _add(tar, path, seen)
        for top in ("bin", "sbin", "lib", "lib64"):  # merged-/usr links: ELF interpreters name /lib64/...
            if Path("/", top).is_symlink() and top not in seen:
                info = tarfile.TarInfo(top)
                info.type, info.linkname = tarfile.SYMTYPE, os.readlink(Path("/", top))
                tar.addfile(info)
        link = tarfile.TarInfo("usr/local/bin/python")
        link.type, link.linkname = tarfile.SYMTYPE, str(executable)
        tar.addfile(link)
    return target


def python_base_image(engine: str, tag: str, workdir: Path) -> str:
    """Import the interpreter tree as image ``tag``; returns ``tag``."""
    workdir.mkdir(parents=True, exist_ok=True)
    tar = write_python_rootfs_tar(workdir / "python-rootfs.tar")
    done = subprocess.run(
        [engine, "import", "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin", str(tar), tag],
        capture_output=True, text=True,
    )
    tar.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"{engine} import failed: {done.stderr[-2000:]}")
    shutil.rmtree(workdir, ignore_errors=True)
    return tag


@pytest.fixture(scope="session")
def podman() -> str:
    """podman's path, after checking that it runs a container here (a failure, not a skip, when it cannot)."""
    path = shutil.which("podman")
    if path is None:
        pytest.fail("podman is not installed: apt-get install podman runc (.ci/run does it)")
    probe = subprocess.run(
        [path, "--runtime", "runc", "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
         "--network", "none", "--rootfs", "/:O", "/bin/true"],
        capture_output=True, text=True, timeout=180,
    )
    if probe.returncode != 0:
        pytest.fail(f"podman cannot run a container on this machine: {probe.stderr[-1500:]}")
    return path


@pytest.fixture(scope="session")
def worker_image(podman: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An image built by ``pype package container`` on :func:`python_base_image`, with ``roman`` and the
    test modules of tests/backends/container_modules.py (removed at the end of the session)."""
    work = tmp_path_factory.mktemp("image")
    base = python_base_image(podman, BASE_IMAGE, work / "base")
    modules = work / "addon" / "tests"
    (modules / "backends").mkdir(parents=True)
    for init in (modules / "__init__.py", modules / "backends" / "__init__.py"):
        init.write_text("")
    shutil.copy(ROOT / "tests" / "backends" / "container_modules.py", modules / "backends")
    built = subprocess.run(
        [str(Path(sys.executable).parent / "pype"), "package", "container", "--tag", WORKER_IMAGE, "--base", base,
         "--with", "roman", "--add", str(modules), "--no-compile"],
        capture_output=True, text=True, timeout=900,
    )
    try:
        assert built.returncode == 0, built.stderr[-3000:]
        assert built.stdout.startswith(f"built image {WORKER_IMAGE} (sha256:"), built.stdout
        yield WORKER_IMAGE
    finally:
        subprocess.run([podman, "rmi", "--force", WORKER_IMAGE, base], capture_output=True)
