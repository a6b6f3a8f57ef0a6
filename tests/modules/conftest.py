"""Fixtures of the module tests: databases (a real PostgreSQL server and SQLite files)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.modules.pg_server import PgServer, start_server

_db_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole session (password authentication on 127.0.0.1)."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of a fresh, empty database on the session's server."""
    import sqlalchemy

    name = f"t{next(_db_numbers)}"
    engine = sqlalchemy.create_engine(pg_server.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return pg_server.url(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a SQLite file that does not exist yet (its folder does)."""
    (tmp_path / "db").mkdir(exist_ok=True)
    return f"sqlite:///{tmp_path / 'db' / 'test.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database kind in turn: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        (tmp_path / "db").mkdir(exist_ok=True)
        return f"sqlite:///{tmp_path / 'db' / 'test.sqlite'}"
    return str(request.getfixturevalue("pg_url"))
