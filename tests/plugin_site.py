"""Install a test plugin package for real, into a folder of its own, and run ``pype`` with it.

Shared by the plugin module test (``pypeline.modules`` entry points) and the
plugin backend test (``pypeline.backends``). The ``pype`` processes see the
package only through ``PYTHONPATH``, so importlib.metadata finds its dist-info
exactly as for a package installed in site-packages.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PYPE = str(Path(sys.executable).with_name("pype"))


def pip_install(target: Path, source: Path) -> None:
    """``pip install --no-deps --target``: first with this venv's setuptools (fast, offline), else isolated."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
    if importlib.util.find_spec("setuptools") is not None and importlib.util.find_spec("wheel") is not None:
        done = subprocess.run([*command, "--no-build-isolation", str(source)], capture_output=True, timeout=300)
        if done.returncode == 0:
            return
    done = subprocess.run([*command, str(source)], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


def install_plugin(factory: pytest.TempPathFactory, package: Path) -> Path:
    """Install the package folder ``package`` (from a copy: pip builds in place) and return its site folder."""
    site = factory.mktemp(f"{package.name}-site")
    source = factory.mktemp(f"{package.name}-source") / package.name
    shutil.copytree(package, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    pip_install(site, source)
    return site


def pype(
    project: Path, *args: str, site: Path | None, registry: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``pype ARGS`` in ``project`` seeing the plugin ``site`` (none: no plugin), with our own registry file."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYPELINE_REGISTRY")}
    if registry is not None:
        env["PYPELINE_REGISTRY"] = str(registry)
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run([PYPE, *args], cwd=project, env=env, capture_output=True, text=True, timeout=120)
