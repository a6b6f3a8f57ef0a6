"""``pype cache ls`` and ``pype cache clear``: the output cache's entries (docs/cache.md)."""

from __future__ import annotations

import re
import time

import click

from pypeline.cli.errors import report_errors

DEFAULT_STORE = "jobs/.pype-cache"
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_store_option = click.option(
    "--store", default=DEFAULT_STORE, show_default=True, metavar="PATH|URL",
    help="The cache store: a folder or a URL (a flow's settings.cache.store).",
)


@click.group()
def cache() -> None:
    """List or clear the output cache (docs/cache.md)."""


@cache.command("ls")
@_store_option
@click.option("--job", default=None, help="Only the entries of this job.")
@report_errors
def ls(store: str, job: str | None) -> None:
    """List the cache's entries: job, module, key, age and size."""
    from pypeline.run.cache.store import CacheStore

    entries = CacheStore(store).entries(job)
    if not entries:
        click.echo(f"no cache entries in {store}")
        return
    now = time.time()
    for entry in entries:
        click.echo(f"{entry.job}\t{entry.node_id}\t{entry.key[:16]}\t{_age(now - entry.created)}\t{entry.size} bytes")
    click.echo(f"{len(entries)} entries, {sum(e.size for e in entries)} bytes in {store}")


@cache.command("clear")
@_store_option
@click.option("--job", default=None, help="Only the entries of this job.")
@click.option("--older-than", "older_than", default=None, metavar="AGE",
              help="Only entries older than AGE: a number and s, m, h or d (7d, 12h).")
@report_errors
def clear(store: str, job: str | None, older_than: str | None) -> None:
    """Remove cache entries (all of them, or those of --job, or older than --older-than)."""
    from pypeline.run.cache.store import CacheStore

    seconds = _seconds(older_than) if older_than is not None else None
    removed = CacheStore(store).clear(job, seconds)
    click.echo(f"removed {removed} cache entries from {store}")


def _seconds(text: str) -> float:
    match = _AGE.match(text.strip())
    if match is None:
        raise click.BadParameter(f"'{text}' is not an age: expected a number and s, m, h or d (e.g. 7d, 12h)",
                                 param_hint="--older-than")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"
