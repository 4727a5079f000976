"""First start of the embedded demo: build the SQLite demo database once.

Safe when two processes start at once (an exclusive ``fcntl`` lock on a file
next to the database) and never leaves a half-filled database behind: the
data is generated into a temporary file in the same directory, which then
replaces the database in one atomic ``os.replace``.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from data.alerts.evaluate import evaluate_all
from data.db import create_db_engine, translate_errors
from data.demo.build import generate
from data.migrate import upgrade
from data.schema import create_operational_tables
from data.settings import Settings

log = logging.getLogger(__name__)

DEMO_APPLICATIONS = 3000
DEMO_SEED = 2026
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def ensure_demo_database(settings: Settings) -> bool:
    """Creates the embedded demo database if it has no data yet; True when it did.

    Outside demo mode (``DATABASE_URL`` set) it does nothing and returns False.
    An existing demo database is only brought up to date (``data.migrate``).
    """
    if not settings.demo_mode:
        return False
    path = Path(make_url(settings.database_url).database or "")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(path.with_name(path.name + ".lock")):
        if _has_data(path):
            _upgrade(path)
            return False
        _build_in_place(path, settings)
    return True


@contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Blocks until this process holds the lock file (released on close)."""
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _engine(path: Path) -> Engine:
    return create_db_engine(f"sqlite:///{path}")


def _has_data(path: Path) -> bool:
    if not path.exists():
        return False
    engine = _engine(path)
    try:
        with translate_errors(), engine.connect() as connection:
            if not inspect(connection).has_table("candidatures"):
                return False
            return (
                connection.execute(text("SELECT 1 FROM candidatures LIMIT 1")).first() is not None
            )
    finally:
        engine.dispose()


def _upgrade(path: Path) -> None:
    engine = _engine(path)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def _build_in_place(path: Path, settings: Settings) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.building")
    _remove_with_side_files(temporary)
    engine = _engine(temporary)
    try:
        create_operational_tables(engine)
        upgrade(engine)
        summary = generate(
            engine,
            applications=DEMO_APPLICATIONS,
            seed=DEMO_SEED,
            today=datetime.now(settings.tz).date(),
            upload_root=settings.upload_root,
        )
        # A newcomer signed in as the secretariat finds a populated notification centre.
        evaluation = evaluate_all(engine, settings, datetime.now(UTC))
        log.info("demo alerts evaluated: %s", evaluation.summary())
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except BaseException:
        engine.dispose()
        _remove_with_side_files(temporary)
        raise
    engine.dispose()
    for suffix in SQLITE_SIDE_FILES:  # stale files of the database being replaced
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.replace(temporary, path)
    _remove_with_side_files(temporary)
    log.info("demo database created: %s rows in %.1f s", summary.rows, summary.seconds)


def _remove_with_side_files(path: Path) -> None:
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDE_FILES)):
        candidate.unlink(missing_ok=True)
