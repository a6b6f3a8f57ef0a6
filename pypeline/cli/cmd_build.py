"""``pype validate`` and ``pype build``."""

from __future__ import annotations

from pathlib import Path

import click

from pypeline.cli.errors import report_errors


def echo_warnings(warnings: tuple[str, ...]) -> None:
    """The build's warnings, one ``warning:`` line each on stderr."""
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


@click.command()
@click.argument("flow", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--with-data", is_flag=True,
              help="Also read the sources' columns from their files (CSV headers, Parquet schemas; default "
                   "context) and check every column name the flow uses against them.")
@report_errors
def validate(flow: Path, with_data: bool) -> None:
    """Check FLOW (a flow YAML) without writing anything."""
    from pypeline.build.build import validate_flow

    plan = validate_flow(flow, with_data=with_data)
    echo_warnings(plan.warnings)
    click.echo(
        f"{flow}: valid: flow '{plan.name}', {len(plan.modules)} modules, "
        f"{len(plan.subflows)} sub flows, {len(plan.control_edges)} control connections"
    )


@click.command()
@click.argument("flow", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", default="jobs", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives the job folder.")
@report_errors
def build(flow: Path, out_dir: Path) -> None:
    """Validate FLOW and write its job folder under --out."""
    from pypeline.build.build import build_job

    folder, plan = build_job(flow, out_dir)
    echo_warnings(plan.warnings)
    click.echo(f"built {folder}")
    click.echo(f"execution mode: {plan.settings['execution_mode']}"
               + (f" ({plan.settings['execution_mode_reason']})" if plan.settings.get("execution_mode_reason") else ""))
