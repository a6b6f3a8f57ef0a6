"""``pype``: the command-line entry point.

Commands stay thin: parse arguments, call ``build`` / ``run`` / the registry,
print, and map errors to exit codes (0 ok, 1 run failed, 2 invalid input).
Subcommands live in their own files and are imported lazily, so ``pype
--help`` does not import pandas.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import threading
import time
from typing import Any

import click

_COMMANDS: dict[str, str] = {
    "validate": "pypeline.cli.cmd_build:validate",
    "build": "pypeline.cli.cmd_build:build",
    "run": "pypeline.cli.cmd_run:run",
    "graph": "pypeline.cli.cmd_graph:graph",
    "register-module": "pypeline.cli.cli_registry:register_module",
    "clear-registry": "pypeline.cli.cli_registry:clear_registry",
    "auto-register": "pypeline.cli.cli_registry:auto_register",
    "list-modules": "pypeline.cli.cli_registry:list_modules",
    "package": "pypeline.cli.cmd_package:package",
    "ui": "pypeline.cli.cmd_ui:ui",
    "cache": "pypeline.cli.cmd_cache:cache",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in _COMMANDS.items() if _exists(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None or not _exists(target):
            return None
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list with each command's first sentence whole, wrapped, never cut with '...'."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _exists(target: str) -> bool:
    module_name = target.split(":")[0]
    return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.version_option(package_name="pypeline")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """PYpeline: build and run Talend-style ETL flows."""
    ctx.obj = {**(ctx.obj or {}), "debug": debug}
    # Project modules (``modules/*.py``) and dotted paths resolve from the current folder,
    # as they would for ``python -m``.
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def entry(argv: list[str] | None = None) -> Any:
    """Programmatic entry point (tests)."""
    return main.main(args=argv, prog_name="pype", standalone_mode=False)


EXIT_JOIN_S = 0.5
"""How long the ``pype`` process waits for its last threads before it ends without them."""


def console() -> None:
    """The ``pype`` console script: the CLI in a process of its own.

    Only here may a run be guarded by a watchdog that can SIGKILL the process
    (``obj["console"]``: click's test runner and :func:`entry` call ``main``
    in a test's process, and get no watchdog). And only here may the process
    end without joining its threads: a thread a timed-out attempt left
    running cannot be stopped, and Python's exit would wait for it for ever.
    The run wrote its manifest and checkpoint before; stdout and stderr are
    flushed, then the process ends (atexit handlers are skipped then: the run
    closed its log, spans and backends already).
    """
    try:
        main(obj={"console": True}, prog_name="pype")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if _threads_left():
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)
        raise


def _threads_left() -> bool:
    """True when a thread of a run's pools is still running after a short wait (it would block the exit).

    Only PYpeline's own pools are looked at (their threads are named ``pypeline...``): a thread
    of theirs still at work once the command is over was abandoned by a timeout or an interruption.
    """
    deadline = time.monotonic() + EXIT_JOIN_S
    for thread in threading.enumerate():
        if thread.daemon or not thread.name.startswith("pypeline"):
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            return True
    return False
