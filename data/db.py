"""Engines: one per process and database URL, built from settings.

Views and reports never hold a connection; they call named read and write
functions that take an :class:`~sqlalchemy.engine.Engine`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from data.errors import ConfigurationError, ConnectionLost, DatabaseUnavailable, DataRejected
from data.settings import Settings
from data.sqlfuncs import register_sqlite_functions

log = logging.getLogger(__name__)

STATEMENT_TIMEOUT_MS = 30_000
# A server that vanishes without closing its sockets (network cut, host down) is
# noticed within about a minute instead of the system's quarter of an hour, so a
# long-running process (the scheduler) never waits on a dead connection.
KEEPALIVES: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,  # ms that sent data may stay unacknowledged
}
SQLITE_TRANSIENT = ("database is locked", "unable to open database", "disk I/O error")
# What "the database is gone or its connection unusable" looks like through SQLAlchemy:
# driver errors, a connection invalidated mid-transaction, no connection free in time.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    PendingRollbackError,
    DisconnectionError,
    IntegrityError,
    PoolTimeoutError,
)
REJECTED_MESSAGE = (
    "La base de données a refusé cet enregistrement (donnée en double ou incohérente) : "
    "rien n'a été écrit."
)
UNAVAILABLE_MESSAGE = (
    "La base de données est injoignable ou a renvoyé une erreur. Réessayez dans un instant."
)


def _normalise_url(url: str) -> str:
    # A bare "postgresql://" URL means psycopg 3 here, never psycopg2.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def create_db_engine(url: str, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> Engine:
    """An engine for ``url`` with the project's connection settings.

    PostgreSQL: every statement has a time limit, JIT is off (it costs more
    than it saves on our short aggregates), TCP keepalives on, and each
    connection is checked before use (``pool_pre_ping``): one the server
    closed meanwhile is replaced, not handed out. SQLite: foreign keys on, WAL, a
    busy timeout, and the Python functions of :mod:`data.sqlfuncs`.
    """
    try:
        parsed = make_url(_normalise_url(url))
    except ArgumentError:
        raise ConfigurationError("DATABASE_URL invalide : URL SQLAlchemy illisible.") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": 15}, pool_pre_ping=True
        )
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    if parsed.get_backend_name() == "postgresql":
        options = f"-c statement_timeout={statement_timeout_ms} -c jit=off"
        return create_engine(
            parsed,
            connect_args={"options": options, "connect_timeout": 5, **KEEPALIVES},
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
        )
    raise ConfigurationError(
        f"DATABASE_URL : base « {parsed.get_backend_name()} » non prise en charge."
    )


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    register_sqlite_functions(dbapi_connection)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 15000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def main_engine(settings: Settings) -> Engine:
    """The engine of the operational database (reads and all writes)."""
    return create_db_engine(settings.database_url)


def analytics_engine(settings: Settings, main: Engine) -> Engine:
    """The engine KPI reads go to: a replica when configured, else ``main``."""
    if settings.ANALYTICS_DATABASE_URL is None:
        return main
    return create_db_engine(settings.ANALYTICS_DATABASE_URL)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn driver and connection errors into :class:`DatabaseUnavailable` (details logged).

    A lost or refused connection raises :class:`ConnectionLost` and is logged
    on one line (a scheduler standing by would otherwise fill its log with
    tracebacks); a statement the database rejected, with its traceback.
    """
    try:
        yield
    except IntegrityError as exc:
        log.exception("database refused a write")
        raise DataRejected(REJECTED_MESSAGE) from exc
    except CONNECTION_ERRORS as exc:
        if connection_lost(exc):
            log.error("database unavailable: %s", _summary(exc))
            raise ConnectionLost(UNAVAILABLE_MESSAGE) from exc
        log.exception("database error")
        raise DatabaseUnavailable(UNAVAILABLE_MESSAGE) from exc


def connection_lost(exc: Exception) -> bool:
    """Whether a SQLAlchemy error means the connection is gone or refused (not a bad statement)."""
    if not isinstance(exc, DBAPIError):
        return True  # a connection invalidated mid-transaction, a pool timeout, a disconnection
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):  # SQLite calls nearly every error "operational"
        return any(sign in str(exc.orig) for sign in SQLITE_TRANSIENT)
    return isinstance(exc, OperationalError | InterfaceError)


def _summary(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip()
    return f"{type(original).__name__}: {text.splitlines()[0]}" if text else type(original).__name__


def check_connection(engine: Engine) -> None:
    """Raise :class:`DatabaseUnavailable` unless the database answers."""
    with translate_errors(), engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")


def is_postgresql(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "postgresql"
