"""Container engines for the ``container`` backend: which one, and the command lines it is given.

Podman and Docker take the same ``run`` options for everything the backend
uses, so one function writes the command line for both and only the few
differences are branched on (podman's ``--rootfs``, its ``--runtime`` being a
global option and its tmpfs copy-up). Nothing here starts a process; the
backend (:mod:`pypeline.backends.container_backend`) does.

What a container of one module attempt gets, whatever the options:

* ``--rm``, a name (``pypeline-<run>-<node>-a<attempt>-<random>``) and labels
  (``io.pypeline.run_id``, ``io.pypeline.node_id``, ``io.pypeline.owner``)
  by which a cancelled attempt, or the end of the run, removes it;
* ``-i``: its standard input is the handshake and then a lifeline (see
  :mod:`pypeline.backends.container_entry`);
* the attempt folder mounted read-write at :data:`MOUNT_POINT`, and the
  folder as the last argument of the command;
* ``--network none`` unless ``network`` says otherwise, and a read-only root
  with a ``/tmp`` tmpfs unless ``read_only: false``.

``image`` names an image, or, when it is an absolute path (``/srv/rootfs``),
a folder holding a root file system that podman runs with ``--rootfs`` under
a throwaway overlay (``:O``), so the folder itself is never written to.
"""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypeline.core.errors import BackendError

ENGINES = ("podman", "docker")
MOUNT_POINT = "/pypeline/attempt"
"""Where the attempt folder is mounted in the container."""
LABEL_PREFIX = "io.pypeline"
DEFAULT_ENTRYPOINT = "python"
DEFAULT_COMMAND = ("-m", "pypeline.backends.container_entry")
FIXED_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
"""Log lines leave the container as they are written; a read-only root cannot take bytecode files."""


@dataclass(frozen=True, slots=True)
class Engine:
    """A container engine's CLI."""

    name: str
    """``podman`` or ``docker``."""
    path: str
    """Its executable."""


def find_engine(wanted: str | None) -> Engine:
    """The engine named ``wanted``, else the first of podman, docker on ``PATH``.

    Raises:
        BackendError: when that engine (or any) is not installed.
    """
    for name in (wanted,) if wanted else ENGINES:
        path = shutil.which(str(name))
        if path:
            return Engine(str(name), path)
    if wanted:
        raise BackendError(f"the container engine '{wanted}' is not installed (no '{wanted}' on PATH)")
    raise BackendError(
        "no container engine is installed: the container backend needs podman or docker on PATH "
        "(Debian/Ubuntu: apt-get install podman runc; see docs/executors.md)"
    )


def is_rootfs(image: str) -> bool:
    """True when ``image`` names a root file system folder rather than an image."""
    return image.startswith("/")


def container_name(run_id: str, node_id: str, attempt: int) -> str:
    """A unique container name that says which attempt it runs (engines allow ``[a-zA-Z0-9_.-]``)."""
    safe = re.sub(r"[^a-zA-Z0-9_.-]+", "_", f"{run_id}-{node_id}")[:100]
    return f"pypeline-{safe}-a{attempt}-{secrets.token_hex(3)}"


def labels(run_id: str, node_id: str, owner: str) -> dict[str, str]:
    """The labels every container of the backend carries."""
    return {f"{LABEL_PREFIX}.run_id": run_id, f"{LABEL_PREFIX}.node_id": node_id, f"{LABEL_PREFIX}.owner": owner}


def engine_prefix(engine: Engine, options: dict[str, Any]) -> list[str]:
    """The engine's executable with its global options (podman's ``--runtime``)."""
    runtime = options.get("runtime")
    return [engine.path, "--runtime", str(runtime)] if runtime and engine.name == "podman" else [engine.path]


def parse_mount(spec: Any, index: int) -> tuple[str, str, bool]:
    """``(source, target, read_only)`` of one ``mounts`` entry: ``"SRC:DST[:ro|rw]"`` or a mapping.

    A relative source is taken from the current folder, like paths in configs.

    Raises:
        BackendError: for a malformed entry, a source that does not exist, or a reserved target.
    """
    where = f"execution option mounts[{index}]"
    if isinstance(spec, str):
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            raise BackendError(f"{where} {spec!r} is not 'SOURCE:TARGET' or 'SOURCE:TARGET:ro|rw'")
        source, target, read_only = parts[0], parts[1], len(parts) == 2 or parts[2] == "ro"
    else:
        source, target, read_only = str(spec["source"]), str(spec["target"]), bool(spec.get("read_only", True))
    if not target.startswith("/"):
        raise BackendError(f"{where}: the target {target!r} must be an absolute path in the container")
    if target == MOUNT_POINT or target.startswith(MOUNT_POINT + "/") or MOUNT_POINT.startswith(target + "/"):
        raise BackendError(f"{where}: the target {target!r} overlaps {MOUNT_POINT}, where the attempt folder goes")
    path = Path(source).expanduser().absolute()
    if ":" in str(path) or "," in str(path):
        raise BackendError(f"{where}: the source {str(path)!r} contains ':' or ',', which engines cannot mount")
    if not path.exists():
        raise BackendError(f"{where}: the source {str(path)!r} does not exist")
    return str(path), target, read_only


def _ulimit(name: str, value: Any) -> str:
    text = str(value)
    return f"{name}={text}" if ":" in text else f"{name}={text}:{text}"


def run_command(
    engine: Engine, options: dict[str, Any], *, name: str, labels: dict[str, str], folder: Path
) -> list[str]:
    """The full ``<engine> run ...`` command line of one attempt (see the module docstring).

    Raises:
        BackendError: for an option this engine cannot honour or a bad mount.
    """
    image = str(options["image"])
    podman = engine.name == "podman"
    if is_rootfs(image) and not podman:
        raise BackendError(
            f"image '{image}' is a folder (a root file system), which only podman can run (--rootfs): "
            "set engine: podman, or give an image name"
        )
    argv = [*engine_prefix(engine, options), "run", "--rm", "-i", "--name", name]
    if options.get("runtime") and not podman:
        argv += ["--runtime", str(options["runtime"])]
    for key, value in sorted(labels.items()):
        argv += ["--label", f"{key}={value}"]
    if options.get("pull") and not is_rootfs(image):
        argv += ["--pull", str(options["pull"])]
    argv += ["--network", str(options.get("network", "none"))]
    if options.get("read_only", True):
        argv += ["--read-only"]
        if podman:  # no copy of the image's /tmp (with --rootfs /, that would be the host's)
            argv += ["--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,nosuid,nodev,notmpcopyup"]
        else:
            argv += ["--tmpfs", "/tmp:rw,nosuid,nodev"]
    if "cpus" in options:
        argv += ["--cpus", f"{float(options['cpus']):g}"]
    if "memory" in options:
        argv += ["--memory", str(options["memory"])]
    for limit, value in sorted(dict(options.get("ulimits", {})).items()):
        argv += ["--ulimit", _ulimit(limit, value)]
    if options.get("user"):
        argv += ["--user", str(options["user"])]
    if options.get("workdir"):
        argv += ["--workdir", str(options["workdir"])]
    env = {**FIXED_ENV, **{str(k): str(v) for k, v in dict(options.get("env", {})).items()}}
    for key, value in env.items():
        if "{{" in value:
            raise BackendError(
                f"execution option env.{key} holds a template: execution options are not templated, and a "
                "secret must never sit in a container's environment; put it in the module's configs, "
                "where the container resolves it (docs/executors.md)"
            )
        argv += ["--env", f"{key}={value}"]
    argv += ["--volume", f"{folder}:{MOUNT_POINT}:rw"]
    for index, spec in enumerate(options.get("mounts", [])):
        source, target, read_only = parse_mount(spec, index)
        argv += ["--volume", f"{source}:{target}:{'ro' if read_only else 'rw'}"]
    argv += [str(arg) for arg in options.get("run_args", [])]
    argv += ["--entrypoint", str(options.get("entrypoint", DEFAULT_ENTRYPOINT))]
    argv += ["--rootfs", f"{image}:O"] if is_rootfs(image) else [image]
    command = options.get("command", DEFAULT_COMMAND)
    return [*argv, *map(str, command), MOUNT_POINT]


def remove_command(engine: Engine, options: dict[str, Any], names: list[str]) -> list[str]:
    """Remove containers now, running or not (SIGKILL, no grace period); missing ones are no error."""
    if engine.name == "podman":
        return [*engine_prefix(engine, options), "rm", "--force", "--ignore", "--time", "0", *names]
    return [engine.path, "rm", "--force", *names]


def list_command(engine: Engine, options: dict[str, Any], label: str, value: str) -> list[str]:
    """Names of the containers (any state) carrying the label ``label=value``."""
    return [
        *engine_prefix(engine, options), "ps", "--all", "--filter", f"label={label}={value}",
        "--format", "{{.Names}}",
    ]


def image_inspect_command(engine: Engine, options: dict[str, Any], image: str) -> list[str]:
    """Id and digests of a local image, tab-separated."""
    digest = "{{.Digest}}" if engine.name == "podman" else "{{json .RepoDigests}}"
    return [*engine_prefix(engine, options), "image", "inspect", "--format", "{{.Id}}\t" + digest, image]
