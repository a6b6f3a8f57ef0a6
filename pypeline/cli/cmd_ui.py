"""``pype ui``: serve a read-only web view of the job folders under JOBS_DIR (docs/ui.md)."""

from __future__ import annotations

from pathlib import Path

import click

from pypeline.cli.errors import report_errors


@click.command()
@click.argument("jobs_dir", type=click.Path(path_type=Path), default="jobs", required=False)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but a loopback address needs --token.")
@click.option("--port", type=int, default=8321, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--token", envvar="PYPE_UI_TOKEN", default=None, show_envvar=True,
              help="Secret every request must carry (at least 16 characters); required off loopback.")
@report_errors
def ui(jobs_dir: Path, host: str, port: int, token: str | None) -> None:
    """Serve a read-only web view of JOBS_DIR (default: jobs): jobs, graphs, runs, live logs."""
    from pypeline.ui.server import ServeOptions, serve

    def announce(address: str) -> None:
        click.echo(f"pype ui: serving {jobs_dir} at {address} (read-only; Ctrl-C stops)", err=False)

    serve(ServeOptions(jobs_dir=jobs_dir, host=host, port=port, token=token or None), announce)
