"""Build the deployment zip of PYpeline's Lambda handler (``pype package lambda``).

The zip holds, at its root, the ``pypeline`` package as installed here (so
the handler is ``pypeline.backends.aws_lambda.handler``) and, unless
``include_deps`` is off, PYpeline's runtime dependencies installed with
``pip install --target`` *for the Lambda platform* (``manylinux2014_x86_64``
or ``manylinux2014_aarch64``, CPython of the function's runtime, binary
wheels only), so the zip works on Lambda whatever machine built it.

Lambda limits a function's unpacked code to 250 MB, and pandas + pyarrow +
numpy alone come close. ``exclude`` drops distributions a *layer* already
provides (the AWS SDK for pandas layer brings pandas, numpy and pyarrow) or
that the far side never imports (``distributed``; ``boto3`` is part of the
Python runtime). Project modules (your ``modules/`` package) are added with
``extra_paths``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from pypeline.core.errors import PypelineError

PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
HANDLER = "pypeline.backends.aws_lambda.handler"
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


class PackagingError(PypelineError):
    """The deployment zip could not be built; the message says which step failed."""


@dataclass(frozen=True, slots=True)
class LambdaZip:
    """What :func:`build_lambda_zip` produced."""

    path: Path
    files: int
    size: int
    unpacked: int
    handler: str = HANDLER


def runtime_requirements() -> list[str]:
    """PYpeline's runtime dependencies (no extras) as pip requirement strings."""
    requires = metadata.requires("pypeline") or []
    return sorted(r.split(";")[0].strip() for r in requires if "extra ==" not in r)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def remove_distribution(target: Path, name: str) -> bool:
    """Delete an installed distribution (its RECORD's files and its dist-info) from ``target``."""
    wanted = _normal(name)
    for info in target.glob("*.dist-info"):
        if _normal(info.name.removesuffix(".dist-info").rsplit("-", 1)[0]) != wanted:
            continue
        record = info / "RECORD"
        if record.exists():
            for line in record.read_text(encoding="utf-8").splitlines():
                relative = line.split(",")[0]
                path = (target / relative).resolve()
                if relative and path.is_relative_to(target.resolve()) and path.is_file():
                    path.unlink()
        shutil.rmtree(info, ignore_errors=True)
        for folder in sorted(target.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return True
    return False


def build_lambda_zip(
    output: Path,
    *,
    include_deps: bool = True,
    architecture: str = "x86_64",
    python_version: str = "3.11",
    exclude: tuple[str, ...] = (),
    extra_packages: tuple[str, ...] = (),
    extra_paths: tuple[Path, ...] = (),
) -> LambdaZip:
    """Write the Lambda deployment zip to ``output`` (see the module docstring).

    Raises:
        PackagingError: pip failed, a path to add does not exist, or nothing could be written.
    """
    from pypeline.core.version import PACKAGE_DIR

    if architecture not in PLATFORMS:
        raise PackagingError(f"architecture {architecture!r} is not one of {', '.join(sorted(PLATFORMS))}")
    with tempfile.TemporaryDirectory(prefix="pypeline-lambda-") as tmp:
        root = Path(tmp) / "package"
        root.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(PACKAGE_DIR, root / "pypeline", ignore=ignore)
        for extra in extra_paths:
            if not extra.exists():
                raise PackagingError(f"{extra}: no such file or folder to add to the zip")
            if extra.is_dir():
                shutil.copytree(extra, root / extra.name, ignore=ignore, dirs_exist_ok=True)
            else:
                shutil.copy2(extra, root / extra.name)
        requirements = [*runtime_requirements(), *extra_packages] if include_deps else list(extra_packages)
        if requirements:
            pip_install_target(root, requirements, (PLATFORMS[architecture],), python_version)
        for name in exclude:
            remove_distribution(root, name)
        return _zip(root, output)


def pip_install_target(
    root: Path, requirements: list[str], platforms: tuple[str, ...], python_version: str, *, byte_compile: bool = True
) -> None:
    """``pip install --target root`` for another platform (binary wheels only).

    Raises:
        PackagingError: when pip fails (its last words are in the message).
    """
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--target", str(root),
        *(arg for platform in platforms for arg in ("--platform", platform)),
        "--implementation", "cp", "--python-version", python_version, "--only-binary=:all:",
        *(() if byte_compile else ("--no-compile",)), *requirements,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        where = ", ".join(platforms)
        raise PackagingError(f"pip could not install {', '.join(requirements)} for {where}:\n{done.stderr[-2000:]}")


def _zip(root: Path, output: Path) -> LambdaZip:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in reversed(output.parents) if p.exists() and not p.is_dir()), output.parent)
        raise PackagingError(f"{output}: cannot write the zip: '{blocker}' is a file, expected a folder") from None
    partial = output.with_name(output.name + ".pype-tmp")
    try:
        return _write_zip(root, output, partial)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise PackagingError(f"{output}: cannot write the zip: {exc.strerror or exc}") from None


def _write_zip(root: Path, output: Path, partial: Path) -> LambdaZip:
    files = unpacked = 0
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=_FIXED_TIME)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            archive.writestr(info, data)
            files += 1
            unpacked += len(data)
    os.replace(partial, output)
    return LambdaZip(path=output, files=files, size=output.stat().st_size, unpacked=unpacked)
