"""Build an image the ``container`` backend runs modules in (``pype package container``).

The image is a base image with Python (``python:3.11-slim`` by default; any
image whose ``python`` is the ``--python`` version and whose glibc is 2.28 or
newer) plus one folder, ``/opt/pypeline/site``, on ``PYTHONPATH``. That
folder holds the ``pypeline`` package as installed here, PYpeline's runtime
dependencies with the ``vault`` extra (the far side resolves secrets), the
requirements given with ``--with`` and the project folders given with
``--add`` (your ``modules/`` package). Everything is installed *here*, with
``pip install --target`` for the image's platform (binary wheels), and the
Containerfile only copies it: the build runs nothing inside a container and
needs no network beyond pulling the base, so it works with podman or docker,
rootless or not, and on machines whose engine cannot run build steps.

The Containerfile and its context can also be written without building
(``--context DIR``), to build elsewhere (``docker buildx``, a CI service).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from pypeline.backends.packaging import PackagingError, pip_install_target, remove_distribution, runtime_requirements

DEFAULT_BASE = "docker.io/library/python:3.11-slim"
SITE = "/opt/pypeline/site"
PLATFORMS = {
    "x86_64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
    "arm64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
}
"""pip platform tags per architecture: glibc 2.28+ wheels first (newer pyarrow ships only those)."""


@dataclass(frozen=True, slots=True)
class ContainerContext:
    """A build context written by :func:`write_build_context`."""

    folder: Path
    containerfile: Path
    files: int
    size: int


def extra_requirements(extra: str) -> list[str]:
    """The requirements PYpeline's optional extra ``extra`` adds."""
    marker = f'extra == "{extra}"'
    return sorted(r.split(";")[0].strip() for r in metadata.requires("pypeline") or [] if marker in r)


def containerfile_text(base: str) -> str:
    """The Containerfile of the image (copies ``site/``; nothing runs at build time)."""
    from pypeline.core.version import package_version

    return (
        f"# Built by `pype package container` (PYpeline {package_version()}); see docs/executors.md.\n"
        f"FROM {base}\n"
        f"COPY site/ {SITE}/\n"
        f"ENV PYTHONPATH={SITE} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1\n"
        f'LABEL io.pypeline.version="{package_version()}"\n'
        'ENTRYPOINT ["python", "-m", "pypeline.backends.container_entry"]\n'
        'CMD ["/pypeline/attempt"]\n'
    )


def write_build_context(
    folder: Path,
    *,
    base: str = DEFAULT_BASE,
    include_deps: bool = True,
    architecture: str = "x86_64",
    python_version: str = "3.11",
    exclude: tuple[str, ...] = (),
    extra_packages: tuple[str, ...] = (),
    extra_paths: tuple[Path, ...] = (),
    byte_compile: bool = True,
) -> ContainerContext:
    """Write ``Containerfile`` and ``site/`` into ``folder`` (see the module docstring).

    Raises:
        PackagingError: a bad architecture, a path to add that does not exist, or pip failed.
    """
    from pypeline.core.version import PACKAGE_DIR

    if architecture not in PLATFORMS:
        raise PackagingError(f"architecture {architecture!r} is not one of {', '.join(sorted(PLATFORMS))}")
    site = folder / "site"
    if site.exists():
        raise PackagingError(f"{folder} already holds a build context (site/); give an empty or new folder")
    try:
        site.mkdir(parents=True)
    except OSError as exc:
        raise PackagingError(f"{folder}: cannot write the build context: {exc.strerror or exc}") from None
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PACKAGE_DIR, site / "pypeline", ignore=ignore)
    for extra in extra_paths:
        if not extra.exists():
            raise PackagingError(f"{extra}: no such file or folder to add to the image")
        if extra.is_dir():
            shutil.copytree(extra, site / extra.resolve().name, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(extra, site / extra.name)
    requirements = [*runtime_requirements(), *extra_requirements("vault")] if include_deps else []
    requirements += list(extra_packages)
    if requirements:
        pip_install_target(site, requirements, PLATFORMS[architecture], python_version, byte_compile=byte_compile)
    for name in exclude:
        remove_distribution(site, name)
    containerfile = folder / "Containerfile"
    containerfile.write_text(containerfile_text(base), encoding="utf-8")
    files = [p for p in site.rglob("*") if p.is_file()]
    return ContainerContext(folder, containerfile, len(files), sum(p.stat().st_size for p in files))


def build_image(context: ContainerContext, tag: str, engine: str, architecture: str = "x86_64") -> str:
    """Build ``context`` as image ``tag`` with ``engine`` (podman or docker); returns the image id.

    ``arm64`` asks the engine for a ``linux/arm64`` image (its base is pulled for that platform).

    Raises:
        PackagingError: when the engine is missing or the build fails.
    """
    path = shutil.which(engine)
    if path is None:
        raise PackagingError(f"the container engine '{engine}' is not installed (no '{engine}' on PATH)")
    with tempfile.TemporaryDirectory(prefix="pypeline-build-") as tmp:
        iidfile = Path(tmp) / "iid"
        command = [path, "build", "--tag", tag, "--file", str(context.containerfile), "--iidfile", str(iidfile)]
        if architecture == "arm64":
            command += ["--platform", "linux/arm64"]
        command.append(str(context.folder))
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise PackagingError(f"{engine} build of {tag} failed:\n{(done.stderr or done.stdout)[-2000:]}")
        return iidfile.read_text(encoding="utf-8").strip()
