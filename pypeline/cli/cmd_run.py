"""``pype run``: run a job folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from pypeline.cli.errors import report_errors
from pypeline.cli.scrub import command_secrets
from pypeline.core.errors import PypelineError
from pypeline.core.text import plural


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
@click.argument("job", metavar="JOB|FLOW", type=click.Path(path_type=Path))
@click.option("--context", "env", default=None, help="Context environment to use (default: default).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a context variable (repeatable).")
@click.option("--run-id", default=None, help="Id of this run (default: time stamp + random suffix).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Size of the thread pool.")
@click.option("--progress", type=click.Choice(["auto", "live", "plain", "none"]), default="auto",
              show_default=True, help="Progress display.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default=None,
              help="Lowest level of log lines echoed to stderr (the log file gets all) "
                   "[default: warning for human lines, info for JSON].")
@click.option("--log-format", type=click.Choice(["auto", "human", "json"]), default="auto", show_default=True,
              help="Log lines echoed to stderr: one readable line per event, or JSON; auto: human on a "
                   "terminal, JSON otherwise (the log file is always JSON).")
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
        progress: str, log_level: str | None, log_format: str, quiet: bool, otel: bool | None, dry_run: bool,
        resume: str | None, parent_run: str | None) -> None:
    """Run JOB, a job folder written by 'pype build' (or a flow YAML: built into jobs/ first).

    With --resume, finished sub flow instances of the resumed run are not run
    again; the new run uses that run's context (so --context and --set are refused).
    """
    job = built_job(job) if job.is_file() else job
    warn_if_flow_edited(job)
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
        log_format=log_format,
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
        f"run {result.run_id}: {result.status} ({plural(len(modules), 'module run')}, "
        f"{(manifest['duration_ms'] or 0) / 1000:.2f}s); manifest: {result.run_dir / 'manifest.json'}"
    )
    if result.status != "success":
        for error in manifest["errors"][:5]:
            click.echo(f"error: {error}", err=True)
        if manifest.get("resume_command"):
            click.echo(f"resume with: {manifest['resume_command']}", err=True)
        elif manifest.get("flow_mistakes"):
            click.echo(fix_the_flow(manifest["flow_mistakes"], flow_of(job)), err=True)
    sys.exit(result.exit_code)


def built_job(flow: Path) -> Path:
    """Build the flow YAML ``flow`` into ``jobs/`` as ``pype build`` would, and return its job folder.

    Raises:
        FlowError: the flow does not validate (exit 2, nothing written).
    """
    from pypeline.build.build import DEFAULT_JOBS_DIR, build_job
    from pypeline.build.load.yaml_source import read_yaml_file
    from pypeline.cli.cmd_build import echo_warnings
    from pypeline.run.engine.dask_mode import choose_allocator

    data = read_yaml_file(flow).data
    settings = data.get("settings") if isinstance(data, dict) else None
    choose_allocator(settings.get("execution_mode") if isinstance(settings, dict) else None)  # before pyarrow
    built, plan = build_job(flow, DEFAULT_JOBS_DIR)
    echo_warnings(plan.warnings)
    folder = Path(_shown(built))
    click.echo(f"built {folder}")
    return folder


def warn_if_flow_edited(job: Path) -> None:
    """A warning when the flow YAML changed since ``job`` was built (the run uses the job as built)."""
    from pypeline.job.folder import read_job_folder
    from pypeline.job.freshness import flow_edited_since_build

    try:
        edited = flow_edited_since_build(read_job_folder(job, check_hash=False))
    except PypelineError:
        return  # the run reports a missing or broken job folder itself
    if edited is not None:
        flow = _shown(edited)
        click.echo(
            f"warning: {flow} changed since {job} was built; this runs the job as built. Rebuild it with "
            f"'pype build {flow}', or build and run in one step with 'pype run {flow}'", err=True,
        )


def fix_the_flow(modules: list[str], flow: str | None) -> str:
    """What to do after a failure that a resume would meet again (a mistake of the flow)."""
    named = ", ".join(f"'{m}'" for m in modules)
    return (f"the flow is wrong at {named}, so a resume would fail the same way: fix the flow (or the context "
            f"values), rebuild it with 'pype build {flow or '<flow.yaml>'}' and run again")


def flow_of(job: Path) -> str | None:
    """The flow YAML ``job`` was built from, as short as it can be said from here (``None``: unknown)."""
    from pypeline.job.folder import read_job_folder

    try:
        recorded = read_job_folder(job, check_hash=False).flow_path
    except PypelineError:
        return None
    return None if recorded is None else _shown(Path(recorded))


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is under it (as a user would type it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


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
