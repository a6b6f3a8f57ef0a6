"""Turn exceptions into one clear message and an exit code (docs/flow-format.md, "Errors and exit codes").

A :class:`PypelineError` is a user mistake or a failed run: its message is
printed alone, without a traceback, and its ``exit_code`` is used. Anything
else is a bug in PYpeline or in a module: one line plus a hint to rerun with
``--debug``, which shows the traceback. Whatever is printed passes through
the command's secret redaction (``cli/scrub.py``).

``--debug`` is accepted after the command too (``pype run JOB --debug``, as
well as ``pype --debug run JOB``): :func:`report_errors` gives every command
the option. A reader that closes the pipe early (``pype graph FLOW | head``)
ends the command quietly, as click ends its own output then (exit 1, no
message): :class:`BrokenPipeError` is left to click, never called an internal error.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from pypeline.cli.scrub import scrubbed_output
from pypeline.core.errors import PypelineError

F = TypeVar("F", bound=Callable[..., Any])

def report_errors(fn: F) -> F:
    """Decorator for click commands: map exceptions to messages and exit codes; adds ``--debug``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool((click.get_current_context().find_root().obj or {}).get("debug"))
        with scrubbed_output():  # every line, error and traceback below is redacted (cli/scrub.py)
            return _reported(fn, debug, args, kwargs)

    option = click.option(
        "--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
        help="Show Python tracebacks for errors (same as 'pype --debug ...').",
    )
    return option(wrapper)  # type: ignore[return-value]


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        root = ctx.find_root()
        root.obj = {**(root.obj or {}), "debug": True}


def _reported(fn: Callable[..., Any], debug: bool, args: Any, kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except PypelineError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        raise  # stdout's reader went away: click's main ends quietly (exit 1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except (click.exceptions.Exit, click.ClickException, SystemExit):
        raise
    except Exception as exc:
        if debug:
            traceback.print_exc()
        click.echo(
            f"error: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            err=True,
        )
        sys.exit(1)
