"""``run_job``: run another job as a child of this run (Talend's tRunJob).

The child is a job folder (``jobs/load_orders``) or a flow YAML, built first
with ``pype build`` (into ``target_dir``). It runs as a ``pype run`` process of
its own, a child of this one: its own run folder under the child job's
``runs/``, its own manifest and log, its own thread pool. What links them:

* the child's context: ``context`` values (templated from the parent, like
  any config) become ``--set`` overrides, ``env`` its ``--context``;
* the child's manifest names this node in ``parent_run``; this node's
  manifest entry names the child in ``stats.child_run`` and the parent's
  manifest lists it in ``child_runs``; the child's run id is
  ``<parent run id>.<node id>`` (``-2``, ... for a retried attempt);
* globals back: ``{{call__status}}`` (``success``/``failed``), ``run_id``,
  ``run_dir``, and the child globals named in ``globals``
  (``{rows: load__row_count}`` gives ``{{call__rows}}``);
* a failed child fails this module (its first errors in the message), so the
  parent's ``fail_strategy`` and ``on_error`` connections apply;
* resume: when the parent is resumed and this node runs again, a child run
  this node started before and that succeeded is not run again (its globals
  are read back), one that failed or was killed is resumed with
  ``--resume`` (``child_runs.py``);
* the child dies with the parent: its standard input is a pipe nobody writes
  to, and its end (the parent is gone, ``kill -9`` included) ends the child
  like SIGTERM (``run/guard/lifeline.py``); a cancelled module (halt, timeout,
  Ctrl-C) sends the child SIGTERM, then SIGKILL after :data:`STOP_GRACE`;
* depth: each child runs with ``PYPELINE_JOB_DEPTH`` one higher; past
  ``max_depth`` the module fails (a job calling itself through a template the
  build could not see). The build refuses calls in a circle it can see.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pypeline.core.secret import SecretStr
from pypeline.job.runs import run_status
from pypeline.modules.sdk import BaseModule, RunContext
from pypeline.modules.solo.child_runs import ChildJobError, ChildRun, child_globals, child_run_id, latest_child_run

DEPTH_ENV = "PYPELINE_JOB_DEPTH"
CLI = "from pypeline.cli.cli import console; console()"
STOP_GRACE = 10.0
"""Seconds a cancelled child has to end after SIGTERM before it is killed."""
ENDING_WAIT = 60.0
"""Seconds to wait for a child run an earlier (killed) run of this node left still shutting down."""
FIXED_GLOBALS = ("status", "run_id", "run_dir")


class RunJob(BaseModule):
    """Run a child job and read back its status and globals (see the module docstring)."""

    TYPE = "solo"
    VERSION = "1.0.0"
    DESCRIPTION = "Runs another job (a job folder, or a flow YAML built first) as a child run; reads back its globals"
    CATEGORY = "Utility"
    GLOBALS = list(FIXED_GLOBALS)
    CONFIG_SCHEMA = {
        "required": {
            "job": {"type": "str", "description": "The child: a job folder (`jobs/x`) or a flow YAML (built first)"},
        },
        "optional": {
            "context": {"type": "dict", "default": {},
                        "description": "Values of the child's context variables (templates see the parent's)"},
            "env": {"type": "str|null", "default": None, "description": "The child's context environment"},
            "globals": {"type": "dict[str]", "default": {},
                        "description": "Globals to read back: name here -> the child's `module__var`"},
            "target_dir": {"type": "str", "default": "jobs",
                           "description": "Where a flow YAML `job` is built (`pype build --out`)"},
            "max_depth": {"type": "int", "default": 8, "description": "Deepest nesting of child jobs allowed"},
        },
    }

    @classmethod
    def declared_globals(cls, configs: Mapping[str, Any]) -> list[str] | None:
        wanted = configs.get("globals")
        return [*FIXED_GLOBALS, *(sorted(wanted) if isinstance(wanted, dict) else [])]

    @classmethod
    def check_configs(cls, configs: Mapping[str, Any]) -> list[str]:
        problems = []
        for name, reference in (configs.get("globals") or {}).items():
            if name in FIXED_GLOBALS or not str(name).isidentifier():
                problems.append(f"globals: {name!r} cannot be a global's name here (it is taken, or not a name)")
            if "{{" not in str(reference) and "__" not in str(reference):
                problems.append(f"globals: {name}: {reference!r} is not a child global (expected 'module__var')")
        for name in configs.get("context") or {}:
            if not str(name).isidentifier():
                problems.append(f"context: {name!r} is not a context variable name")
        if isinstance(configs.get("max_depth"), int) and configs["max_depth"] < 1:
            problems.append(f"'max_depth' must be at least 1, got {configs['max_depth']}")
        return problems

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        c = self.configs
        depth = _depth()
        if depth >= c["max_depth"]:
            raise ChildJobError(
                f"child job '{c['job']}' not started: child jobs nest {depth} deep, max_depth is {c['max_depth']} "
                "(does a job call itself?)"
            )
        job_dir = await self._job_folder(ctx)
        previous = await _settled(await ctx.executor.run_in_thread(latest_child_run, job_dir, ctx.output_key), ctx)
        reused = previous is not None and previous.status == "success"
        child = previous if reused and previous is not None else await self._start(job_dir, previous, depth, ctx)
        manifest = await ctx.executor.run_in_thread(child.manifest)
        for name, value in (("status", child.status), ("run_id", child.run_id), ("run_dir", str(child.run_dir))):
            ctx.set_global(name, value)
        ctx.add_stat("child_run", {
            "job": job_dir.name, "job_dir": str(job_dir), "run_id": child.run_id, "status": child.status,
            "resumed_from": manifest.get("resumed_from"), "reused": reused,
        })
        if child.status != "success":
            errors = "; ".join(str(e) for e in (manifest.get("errors") or [])[:3]) or "no error recorded"
            raise ChildJobError(f"child job '{job_dir.name}' run {child.run_id} {child.status}: {errors}")
        for name, value in child_globals(manifest, c["globals"], job_dir.name).items():
            ctx.set_global(name, value)
        return {}

    async def _job_folder(self, ctx: RunContext) -> Path:
        """The child's job folder: ``job`` itself, or the folder ``pype build`` writes for a flow YAML."""
        job = Path(self.configs["job"])
        if job.suffix.lower() not in (".yaml", ".yml"):
            if not job.is_dir():
                raise ChildJobError(f"child job '{job}': no such job folder (or give a flow YAML to build)")
            return job
        code, out, err = await _pype(["build", str(job), "--out", self.configs["target_dir"]], os.environ.copy())
        built = [line[len("built "):] for line in out.splitlines() if line.startswith("built ")]
        if code != 0 or not built:
            raise ChildJobError(f"child job '{job}' does not build: {_first_error(err)}")
        ctx.logger.info("child_job_built", flow=str(job), job_dir=built[-1])
        return Path(built[-1])

    async def _start(self, job_dir: Path, previous: ChildRun | None, depth: int, ctx: RunContext) -> ChildRun:
        """Run the child (resume ``previous`` when it can be resumed) and return its run."""
        run_id = child_run_id(job_dir, ctx.run_id, ctx.node_id)
        parent = {"job": ctx.job_name, "run_id": ctx.run_id, "node_id": ctx.node_id,
                  "output_key": ctx.output_key, "depth": depth + 1}
        args = ["run", str(job_dir), "--quiet", "--progress", "none", "--run-id", run_id,
                "--parent-run", json.dumps(parent, sort_keys=True)]
        if previous is not None and previous.resumable:
            args += ["--resume", previous.run_id]
            ctx.logger.info("child_job_resumed", job=job_dir.name, run_id=run_id, resumes=previous.run_id)
        else:
            args += (["--context", self.configs["env"]] if self.configs["env"] else []) + _sets(self.configs)
            ctx.logger.info("child_job_started", job=job_dir.name, run_id=run_id)
        code, _out, err = await _pype(args, {**os.environ, DEPTH_ENV: str(depth + 1)})
        run_dir = job_dir / "runs" / run_id
        if not (run_dir / "manifest.json").is_file():
            raise ChildJobError(f"child job '{job_dir.name}' did not start (exit {code}): {_first_error(err)}")
        return ChildRun(run_dir=run_dir, status=await ctx.executor.run_in_thread(run_status, run_dir))


def _depth() -> int:
    try:
        return max(0, int(os.environ.get(DEPTH_ENV, "0")))
    except ValueError:
        return 0


def _sets(configs: Mapping[str, Any]) -> list[str]:
    """``--set name=value`` arguments for the child's context (values as YAML scalars, so types survive)."""
    args: list[str] = []
    for name, value in sorted((configs.get("context") or {}).items()):
        if isinstance(value, SecretStr):
            raise ChildJobError(
                f"context: '{name}' holds a secret, which would show on the child's command line; "
                "let the child read it from Vault ({{vault.PATH#KEY}} in the child's flow)"
            )
        if not (value is None or isinstance(value, (str, int, float, bool))):
            raise ChildJobError(f"context: '{name}' must be a text, a number, a boolean or null, "
                                f"got {type(value).__name__}")
        text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30, allow_unicode=True)
        args += ["--set", f"{name}={text.removesuffix(chr(10)).removesuffix(chr(10) + '...')}"]
    return args


async def _settled(previous: ChildRun | None, ctx: RunContext) -> ChildRun | None:
    """``previous``, once it no longer runs (a killed parent's child ends on its own within seconds).

    Raises:
        ChildJobError: it still runs after :data:`ENDING_WAIT` seconds.
    """
    if previous is None or previous.status != "running":
        return previous
    ctx.logger.info("child_job_waiting", run_id=previous.run_id, reason="an earlier run of this node left it running")
    deadline = time.monotonic() + ENDING_WAIT
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        status = await ctx.executor.run_in_thread(run_status, previous.run_dir)
        if status != "running":
            return ChildRun(run_dir=previous.run_dir, status=status)
    raise ChildJobError(f"child run {previous.run_id} (started by an earlier run of this node) is still running")


async def _pype(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run ``pype ARGS`` as a child process; its standard input is its lifeline (never written to)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLI, *args, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate()
    except asyncio.CancelledError:
        await _stop(proc)
        raise
    return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM (the child writes its manifest and checkpoint), then SIGKILL after :data:`STOP_GRACE`."""
    if proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), STOP_GRACE)
    except (TimeoutError, asyncio.CancelledError):
        proc.kill()
        raise


def _first_error(stderr: str) -> str:
    lines = [line.removeprefix("error: ") for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if not line.startswith("resume with:")), "no message")
