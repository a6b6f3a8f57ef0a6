"""``pype package lambda``: the deployment zip of PYpeline's Lambda handler."""

from __future__ import annotations

from pathlib import Path

import click

from pypeline.cli.errors import report_errors


@click.group()
def package() -> None:
    """Build deployment artifacts for remote execution backends."""


@package.command("lambda")
@click.option("-o", "--output", default="dist/pypeline-lambda.zip", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Where the zip is written.")
@click.option("--deps/--no-deps", default=True, show_default=True,
              help="Install PYpeline's runtime dependencies for the Lambda platform into the zip.")
@click.option("--arch", "architecture", type=click.Choice(["x86_64", "arm64"]), default="x86_64", show_default=True,
              help="The function's architecture.")
@click.option("--python", "python_version", default="3.11", show_default=True, help="The function's Python runtime.")
@click.option("--exclude", multiple=True, metavar="DIST",
              help="Drop a distribution a layer provides (repeatable), e.g. --exclude pandas.")
@click.option("--with", "extra_packages", multiple=True, metavar="REQ",
              help="Also install this requirement (repeatable), e.g. --with hvac for Vault secrets.")
@click.option("--add", "extra_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Copy a project folder or file into the zip's root (repeatable), e.g. --add modules.")
@report_errors
def lambda_zip(
    output: Path,
    deps: bool,
    architecture: str,
    python_version: str,
    exclude: tuple[str, ...],
    extra_packages: tuple[str, ...],
    extra_paths: tuple[Path, ...],
) -> None:
    """Build the Lambda deployment zip (handler: pypeline.executors.aws_lambda.handler)."""
    from pypeline.executors.packaging import build_lambda_zip

    built = build_lambda_zip(
        output, include_deps=deps, architecture=architecture, python_version=python_version,
        exclude=exclude, extra_packages=extra_packages, extra_paths=extra_paths,
    )
    click.echo(
        f"wrote {built.path} ({built.files} files, {built.size / 1e6:.1f} MB zipped, "
        f"{built.unpacked / 1e6:.1f} MB unpacked); handler: {built.handler}"
    )
    if built.unpacked > 250e6:
        click.echo("warning: Lambda allows 250 MB unpacked; --exclude what a layer provides (docs/executors.md)",
                   err=True)
