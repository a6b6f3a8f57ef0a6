"""``pype package lambda`` (the Lambda handler's deployment zip) and ``pype package container`` (an image)."""

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
    """Build the Lambda deployment zip (handler: pypeline.backends.aws_lambda.handler)."""
    from pypeline.backends.packaging import build_lambda_zip

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


@package.command("container")
@click.option("-t", "--tag", default="pypeline-worker:latest", show_default=True, help="Name of the image built.")
@click.option("--base", default=None, metavar="IMAGE",
              help="Base image with Python [default: docker.io/library/python:3.11-slim].")
@click.option("--engine", type=click.Choice(["podman", "docker"]), default=None,
              help="Engine that builds it [default: podman if installed, else docker].")
@click.option("--deps/--no-deps", default=True, show_default=True,
              help="Install PYpeline's runtime dependencies (and the vault extra) into the image.")
@click.option("--arch", "architecture", type=click.Choice(["x86_64", "arm64"]), default="x86_64", show_default=True,
              help="The image's architecture.")
@click.option("--python", "python_version", default="3.11", show_default=True,
              help="Python version of the base image's python.")
@click.option("--exclude", multiple=True, metavar="DIST", help="Drop a distribution the base provides (repeatable).")
@click.option("--with", "extra_packages", multiple=True, metavar="REQ",
              help="Also install this requirement (repeatable), e.g. --with spacy.")
@click.option("--add", "extra_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Copy a project folder or file onto the image's PYTHONPATH (repeatable), e.g. --add modules.")
@click.option("--compile/--no-compile", "byte_compile", default=True, show_default=True,
              help="Byte-compile the packages (containers start faster; --no-compile builds faster).")
@click.option("--context", "context_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Only write the build context (Containerfile + site/) into this folder; build nothing.")
@report_errors
def container_image(
    tag: str,
    base: str | None,
    engine: str | None,
    deps: bool,
    architecture: str,
    python_version: str,
    exclude: tuple[str, ...],
    extra_packages: tuple[str, ...],
    extra_paths: tuple[Path, ...],
    byte_compile: bool,
    context_dir: Path | None,
) -> None:
    """Build an image for the container backend (entry point: pypeline.backends.container_entry)."""
    import functools
    import tempfile

    from pypeline.backends.container_engine import find_engine
    from pypeline.backends.container_image import DEFAULT_BASE, build_image, write_build_context

    write = functools.partial(
        write_build_context, base=base or DEFAULT_BASE, include_deps=deps, architecture=architecture,
        python_version=python_version, exclude=exclude, extra_packages=extra_packages, extra_paths=extra_paths,
        byte_compile=byte_compile,
    )
    if context_dir is not None:
        context = write(context_dir)
        click.echo(
            f"wrote the build context to {context.folder} ({context.files} files, {context.size / 1e6:.1f} MB); "
            f"build it with: podman build -t {tag} -f {context.containerfile} {context.folder}"
        )
        return
    engine_name = find_engine(engine).name
    with tempfile.TemporaryDirectory(prefix="pypeline-image-") as tmp:
        context = write(Path(tmp))
        image_id = build_image(context, tag, engine_name, architecture)
    click.echo(
        f"built image {tag} ({image_id[:19]}, {context.files} files, {context.size / 1e6:.1f} MB added) "
        f"with {engine_name}; use it with execution: {{backend: container, image: {tag}}}"
    )
