"""SQLAlchemy plumbing for ``sql_source`` and ``sql_sink``: engines, transactions, safe messages.

Connection URLs often carry a password, and they often come from a template
(``{{context.db_url}}``) or a secret (``{{vault.kv/app/db#url}}``). A URL
must never reach a log line or an error message with its password, so every
message these modules build goes through :func:`scrub`, which replaces the
password (in every form the run's secret redaction knows) with ``***``, and
shows URLs only in their redacted form (:func:`redact_url`). A secret
elsewhere in a URL (a SQLite path under a secret folder) is cut by the run's
own redaction, like any resolved secret in any message.

SQLite and transactions: Python's ``sqlite3`` driver does not open a
transaction before DDL such as ``DROP TABLE``, so a "replace" that fails half
way would leave the table dropped. :func:`make_engine` turns the driver's own
transaction handling off and lets SQLAlchemy emit ``BEGIN`` itself (the
recipe SQLAlchemy documents for pysqlite), so DDL and DML of one write share
one transaction on SQLite as they do on PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pypeline.core.secret import SecretRegistry
from pypeline.modules.sdk.errors import DataError

_URL_PASSWORD_RE = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<tail>@)")


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (the rest kept for diagnosis)."""
    try:
        from sqlalchemy.engine import make_url

        return str(make_url(url).render_as_string(hide_password=True))
    except Exception:
        return _URL_PASSWORD_RE.sub(r"\g<head>***\g<tail>", url)


def _password(url: str) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
        return None if password is None else str(password)
    except Exception:
        match = _URL_PASSWORD_RE.search(url)
        return match.group("pw") if match else None


def scrub(text: str, url: str | None) -> str:
    """``text`` with ``url`` redacted and its password, in every form, replaced by ``***``.

    The forms are those the run's secret redaction knows (raw, percent-encoded
    as SQLAlchemy or ``quote``/``quote_plus`` write it, escaped, base64,
    truncated: ``pypeline/core/secret/forms.py``), so a password that is not a
    Vault secret (a context variable, an environment value) is cut as well.
    """
    if not url:
        return text
    text = text.replace(url, redact_url(url))
    password = _password(url)
    if password:
        forms = SecretRegistry()
        forms.add(password)
        text = forms.redact_text(text)
    return _URL_PASSWORD_RE.sub(r"\g<head>***\g<tail>", text)


def describe_db_error(exc: BaseException) -> str:
    """The useful first line of a database error (driver message, without SQLAlchemy's SQL dump)."""
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    text = text.split("\n[SQL:")[0].split("\n(Background on this error")[0]
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    kind = type(orig).__name__ if orig is not None else type(exc).__name__
    return f"{kind}: {' '.join(lines[:3])}" if lines else kind


def sql_error(exc: BaseException, url: str | None, what: str) -> DataError:
    """A :class:`DataError` for a failed database operation, with the URL and password scrubbed."""
    where = f" ({redact_url(url)})" if url else ""
    return DataError(scrub(f"{what}{where}: {describe_db_error(exc)}", url))


def make_engine(url: str, *, must_exist: bool = False) -> Any:
    """A SQLAlchemy engine for ``url`` (transactional DDL on SQLite, see the module docstring).

    Args:
        url: a SQLAlchemy URL (``sqlite:///data/ref.sqlite``, ``postgresql+psycopg://u:p@h:5432/db``).
        must_exist: for SQLite files, fail when the file does not exist (a reader's case).

    Raises:
        DataError: for a malformed URL, a missing driver or a missing SQLite file (URL redacted).
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    try:
        parsed = make_url(url)
    except Exception:
        raise DataError(
            f"'{redact_url(url)}' is not a database URL (expected e.g. sqlite:///path/to/file.sqlite "
            "or postgresql+psycopg://user:password@host:5432/db)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            if must_exist and not path.is_file():
                raise DataError(f"SQLite file '{database}' does not exist ({redact_url(url)})")
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, poolclass=NullPool)
    except ModuleNotFoundError as exc:
        hint = " (install the extra: pip install 'pypeline[postgres]')" if "psycopg" in str(exc) else ""
        raise DataError(scrub(f"no database driver for '{redact_url(url)}': {exc}{hint}", url)) from None
    except Exception as exc:
        raise sql_error(exc, url, "cannot create a database engine") from None
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

    return engine

