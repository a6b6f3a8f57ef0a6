"""``pype run``: run a job folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from pypeline.cli.errors import report_errors
from pypeline.cli.scrub import command_secrets


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``("a=1", "b=x")`` -> ``{"a": 1, "b": "x"}``; values are read as YAML scalars."""
    import yaml

    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not of the form name=value", param_hint="--set")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, (dict, list)) or (value is None and raw.strip() not in ("null", "~")):
            value = raw
        result[key.strip()] = value
    return result


@click.command()
@click.argument("job", type=click.Path(path_type=Path))
@click.option("--context", "env", default=None, help="Context environment to use (default: default).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a context variable (repeatable).")
@click.option("--run-id", default=None, help="Id of this run (default: time stamp + random suffix).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Size of the thread pool.")
@click.option("--progress", type=click.Choice(["auto", "live", "plain", "none"]), default="auto",
              show_default=True, help="Progress display.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True, help="Lowest level of log lines echoed to stderr (the log file gets all).")
@click.option("--quiet", is_flag=True, help="Echo no log lines to stderr (the log file still gets them).")
@click.option("--otel/--no-otel", default=None,
              help="Send OpenTelemetry spans over OTLP/HTTP (default: on when OTEL_EXPORTER_OTLP_ENDPOINT is set).")
@click.option("--dry-run", is_flag=True,
              help="Print the planned order, rendered configs (secrets as ***) and files, then any problems "
                   "(wrong config type, missing input, refused output folder); run nothing. Exit 1 on problems.")
@click.option("--resume", "resume", is_flag=False, flag_value="latest", default=None, metavar="[RUN_ID]",
              help="Resume a failed run from its checkpoint (default: the latest failed run).")
@click.option("--parent-run", "parent_run", default=None, hidden=True,
              help="Set by run_job: the run that starts this one (JSON); standard input is its lifeline.")
@report_errors
def run(job: Path, env: str | None, sets: tuple[str, ...], run_id: str | None, threads: int | None,
        progress: str, log_level: str, quiet: bool, otel: bool | None, dry_run: bool, resume: str | None,
        parent_run: str | None) -> None:
    """Run JOB, a job folder written by 'pype build'.

    With --resume, finished sub flow instances of the resumed run are not run
    again; the new run uses that run's context (so --context and --set are refused).
    """
    if dry_run:
        from pypeline.run.dryrun import dry_run as dry_run_text

        planned = dry_run_text(job, env or "default", parse_overrides(sets))
        click.echo(planned.text, nl=False)
        if planned.problems:
            sys.exit(1)
        return
    from pypeline.run.engine.dask_mode import prepare_process

    prepare_process(job)  # before pyarrow is imported (its allocator is chosen once)
    from pypeline.run.run import RunOptions, run_job_sync

    if resume is not None and (env is not None or sets):
        raise click.UsageError("--context and --set cannot be combined with --resume: "
                               "a resumed run uses the context of the run it resumes")
    options = RunOptions(
        resume=resume,
        env=env or "default",
        overrides=parse_overrides(sets),
        run_id=run_id,
        threads=threads,
        progress=progress,
        log_level=log_level,
        echo_logs=not quiet,
        otel=otel,
        secrets=command_secrets(),
        guard=bool((click.get_current_context().find_root().obj or {}).get("console")),
        parent_run=_parent_run(parent_run),
        lifeline=parent_run is not None,
    )
    result = run_job_sync(job, options)
    manifest = result.manifest
    modules = manifest["modules"]
    click.echo(
        f"run {result.run_id}: {result.status} ({len(modules)} module runs, "
        f"{(manifest['duration_ms'] or 0) / 1000:.2f}s); manifest: {result.run_dir / 'manifest.json'}"
    )
    if result.status != "success":
        for error in manifest["errors"][:5]:
            click.echo(f"error: {error}", err=True)
        if manifest.get("resume_command"):
            click.echo(f"resume with: {manifest['resume_command']}", err=True)
    sys.exit(result.exit_code)


def _parent_run(text: str | None) -> dict[str, Any] | None:
    """The ``--parent-run`` JSON object ``run_job`` passes to a child run."""
    if text is None:
        return None
    import json

    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise click.BadParameter("expected a JSON object", param_hint="--parent-run")
    return value
