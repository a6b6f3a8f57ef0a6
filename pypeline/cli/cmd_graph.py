"""``pype graph``: draw a flow or a job folder without running it."""

from __future__ import annotations

from pathlib import Path

import click

from pypeline.cli.errors import report_errors


@click.command()
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.option("--mermaid", "mermaid_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a Mermaid flowchart to this file ('-' for stdout instead of the ASCII drawing).")
@click.option("--dot", "dot_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a Graphviz DOT digraph to this file ('-' for stdout instead of the ASCII drawing).")
@report_errors
def graph(target: Path, mermaid_file: Path | None, dot_file: Path | None) -> None:
    """Print TARGET (a flow YAML or a job folder) as an ASCII DAG; write Mermaid / DOT on request."""
    from pypeline.build.render import graph_plan, render_ascii, render_dot, render_mermaid
    from pypeline.core.jsonio import atomic_write_text

    view = graph_plan(target)
    to_stdout = False
    for path, render in ((mermaid_file, render_mermaid), (dot_file, render_dot)):
        if path is None:
            continue
        if str(path) == "-":
            click.echo(render(view), nl=False)
            to_stdout = True
        else:
            atomic_write_text(path, render(view))
            click.echo(f"wrote {path}", err=True)
    if not to_stdout:
        click.echo(render_ascii(view), nl=False)
