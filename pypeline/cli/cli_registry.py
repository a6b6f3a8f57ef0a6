"""Registry commands: ``register-module``, ``clear-registry``, ``auto-register``, ``list-modules``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from pypeline.cli.errors import report_errors

if TYPE_CHECKING:
    from pypeline.modules.registry import Registry


def _registry() -> Registry:
    from pypeline.modules.registry import Registry

    return Registry()


def _echo_warnings(registry: Registry) -> None:
    for message in registry.warnings:
        click.echo(f"warning: {message}", err=True)


@click.command("register-module")
@click.argument("name_or_path")
@report_errors
def register_module(name_or_path: str) -> None:
    """Add a module (built-in name or dotted import path) to ModRegistry.json."""
    registry = _registry()
    name, entry = registry.register(name_or_path)
    click.echo(f"registered '{name}' -> {entry['module_path']} in {registry.path}")


@click.command("clear-registry")
@report_errors
def clear_registry() -> None:
    """Empty ModRegistry.json (built-in modules stay usable)."""
    registry = _registry()
    registry.clear()
    click.echo(f"cleared {registry.path}")


@click.command("auto-register")
@report_errors
def auto_register() -> None:
    """Register built-ins, the project's modules/ folder and installed plugins."""
    registry = _registry()
    names = registry.auto_register()
    _echo_warnings(registry)
    click.echo(f"registered {len(names)} modules in {registry.path}: {', '.join(names)}")


@click.command("list-modules")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@report_errors
def list_modules(as_json: bool) -> None:
    """List the modules flows can use (registry file, built-ins, plugins)."""
    from pypeline.modules.catalog import module_catalog

    registry = _registry()
    catalog = module_catalog(registry)
    _echo_warnings(registry)
    if as_json:
        click.echo(json.dumps(catalog, indent=2, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="PYpeline modules")
    for column in ("name", "type", "category", "ports in -> out", "source", "description"):
        table.add_column(column, overflow="fold")
    for name, entry in sorted(catalog.items()):
        ports = f"{', '.join(entry['input_ports']) or '-'} -> {', '.join(entry['output_ports']) or '-'}"
        table.add_row(name, entry["type"], entry["category"], ports, entry["source"], entry["description"])
    Console(width=160).print(table)
