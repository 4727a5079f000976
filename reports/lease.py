"""One active scheduler at a time.

APScheduler 3 processes sharing a database are not coordinated, so we do it:
on PostgreSQL a session-level advisory lock (``pg_try_advisory_lock``) held
on a dedicated connection for the life of the process, released by the
server if the process dies; on both databases a lease row
(``dashboard_scheduler_lease``) that the holder renews every tick and that
expires when it stops renewing. A second scheduler stands by and takes over
when the first one goes away. The unique key on runs stays behind both: even
two active schedulers could not send one run twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from data.db import is_postgresql, translate_errors
from data.owned import SchedulerLease

log = logging.getLogger(__name__)

LEASE_NAME: Final = "report-scheduler"
ADVISORY_KEY: Final = 0x43495046_52505453  # "CIPF" "RPTS"
DEFAULT_TTL: Final = timedelta(minutes=5)


def holder_is_dead(holder: str) -> bool:
    """True when ``holder`` ("host:pid") is a process of this machine that no longer runs.

    A scheduler killed on SQLite (no advisory lock) leaves its lease behind;
    a restart on the same machine need not wait for it to expire.
    """
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class SchedulerGuard:
    """The active-scheduler lock of one process: acquire, renew each tick, release."""

    def __init__(self, engine: Engine, *, holder: str, ttl: timedelta = DEFAULT_TTL) -> None:
        self.engine = engine
        self.holder = holder
        self.ttl = ttl
        self._lock_connection: Connection | None = None
        self.held = False

    # PostgreSQL advisory lock -------------------------------------------------------

    def _take_advisory_lock(self) -> bool:
        if not is_postgresql(self.engine):
            return True
        if self._lock_connection is None:
            with translate_errors():
                connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                got = connection.execute(select(func.pg_try_advisory_lock(ADVISORY_KEY))).scalar()
            if not got:
                connection.close()
                return False
            self._lock_connection = connection
        return True

    def _advisory_lock_alive(self) -> bool:
        if not is_postgresql(self.engine):
            return True
        if self._lock_connection is None:
            return False
        try:
            self._lock_connection.execute(select(1))
        except DBAPIError:
            log.error("the connection holding the scheduler lock was lost")
            self._drop_lock_connection()
            return False
        return True

    def _drop_lock_connection(self) -> None:
        if self._lock_connection is not None:
            with contextlib.suppress(DBAPIError):  # the server releases it with the session
                self._lock_connection.execute(select(func.pg_advisory_unlock(ADVISORY_KEY)))
            self._lock_connection.close()
            self._lock_connection = None

    # Lease row --------------------------------------------------------------------------

    def _take_lease(self, now: datetime, *, force: bool) -> bool:
        expires = now + self.ttl
        with translate_errors(), self.engine.begin() as connection:
            insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            inserted = connection.execute(
                insert(SchedulerLease)
                .values(name=LEASE_NAME, holder=self.holder, expires_at=expires)
                .on_conflict_do_nothing(index_elements=["name"])
            ).rowcount
            if inserted == 1:
                return True
            current = connection.execute(
                select(SchedulerLease.holder, SchedulerLease.expires_at).where(
                    SchedulerLease.name == LEASE_NAME
                )
            ).one()
            free = current.holder == self.holder or current.expires_at < now
            if not (force or free or holder_is_dead(current.holder)):
                return False
            # Compare-and-set: only if nobody took it since we looked.
            return (
                connection.execute(
                    update(SchedulerLease)
                    .where(
                        SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == current.holder
                    )
                    .values(holder=self.holder, expires_at=expires)
                ).rowcount
                == 1
            )

    def acquire(self, now: datetime) -> bool:
        """Become the active scheduler if nobody else is; True when this process is."""
        if not self._take_advisory_lock():
            return False
        # Holding the advisory lock proves any other lease holder is gone.
        self.held = self._take_lease(now, force=is_postgresql(self.engine))
        if not self.held:
            self._drop_lock_connection()
        return self.held

    def renew(self, now: datetime) -> bool:
        """Extend the lease; False (and no longer held) if it was lost."""
        if not self.held:
            return False
        alive = self._advisory_lock_alive()
        if alive:
            with translate_errors(), self.engine.begin() as connection:
                alive = (
                    connection.execute(
                        update(SchedulerLease)
                        .where(
                            SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder
                        )
                        .values(expires_at=now + self.ttl)
                    ).rowcount
                    == 1
                )
        if not alive:
            log.error("scheduler lease lost: standing by")
            self.release()
        return alive

    def release(self) -> None:
        """Give up the lease and the lock (at shutdown)."""
        if self.held:
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        delete(SchedulerLease).where(
                            SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder
                        )
                    )
            except DBAPIError:
                log.warning("could not remove the scheduler lease; it will expire")
        self.held = False
        self._drop_lock_connection()

    def current_holder(self) -> str | None:
        with translate_errors(), self.engine.connect() as connection:
            return connection.execute(
                select(SchedulerLease.holder).where(SchedulerLease.name == LEASE_NAME)
            ).scalar_one_or_none()
