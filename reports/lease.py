"""One active scheduler at a time, and an expired lease wins.

APScheduler 3 processes sharing a database are not coordinated, so we do it
with a lease row (``dashboard_scheduler_lease``) that the holder renews at
every tick and between recipients, and that expires ``ttl`` after its last
renewal; on PostgreSQL also with a session-level advisory lock on a dedicated
connection, released by the server if the process dies.

The lease decides. A holder frozen (``SIGSTOP``, a stalled VM) or cut off
from the database keeps its lock's session open for as long as TCP lets it,
so a standby does not wait for the lock: once the lease has expired it ends
that session (``pg_terminate_backend``) and takes over. The holder, for its
part, sends nothing once two thirds of its lease have passed without a
renewal (:class:`LeasedTransport`), so it has stopped before anyone may take
over. The unique key on runs stays behind all this: even two active
schedulers could not send one run twice.

A lost database connection never leaves a process believing it is active:
any error while checking the lock or renewing the lease gives both up (the
dead connection is thrown away, not reused), and the next tick takes them
again on a fresh connection once the database answers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Final

from sqlalchemy import Connection, Engine, Row, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from data.db import connection_lost, is_postgresql, translate_errors
from data.errors import DatabaseUnavailable
from data.owned import SchedulerLease, SchedulerProcess
from reports.mail import DeliveryError, Transport

log = logging.getLogger(__name__)

LEASE_NAME: Final = "report-scheduler"
ADVISORY_KEY: Final = 0x43495046_52505453  # "CIPF" "RPTS"
LOCK_HI: Final = ADVISORY_KEY >> 32  # how pg_locks shows a bigint key: classid, objid
LOCK_LO: Final = ADVISORY_KEY & 0xFFFFFFFF
# Two ticks of 30 s and some room: a holder frozen just after renewing is replaced
# within DEFAULT_TTL plus one standby tick, under two minutes.
DEFAULT_TTL: Final = timedelta(seconds=75)
SAFETY_SHARE: Final = 3  # the holder stops sending with a third of its lease left
TERMINATE_WAIT_MS: Final = 5000
LOCK_HOLDER = text(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid) AND objsubid = 1 "
    "AND pid <> pg_backend_pid()"
)
NOT_SENT_LEASE: Final = (
    "Non remis : ce service d'envoi n'a pas pu confirmer à temps qu'il était le seul actif ; "
    "nouvel essai par le service actif."
)


class LeaseLost(Exception):
    """This process is no longer the active scheduler: stop the step, leave the work as it is."""


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
    """The active-scheduler lease of one process: acquire, renew each tick, release.

    ``ttl`` is how long a renewal holds the lease; the holder stops handing
    messages over once only a third of it is left without a renewal
    (:meth:`may_send`). ``tick``, for a long-running process, makes it visible
    in ``dashboard_scheduler_processes`` (touched at each acquire attempt and
    each renewal).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        holder: str,
        ttl: timedelta = DEFAULT_TTL,
        tick: timedelta | None = None,
    ) -> None:
        self.engine = engine
        self.holder = holder
        self.ttl = ttl
        self.tick = tick
        self._lock_connection: Connection | None = None
        self._valid_until = 0.0  # time.monotonic() after which this process sends nothing
        self._orphan_lock_since: float | None = None  # lock held, no lease row, seen since
        self._started_at: datetime | None = None
        self.held = False

    @property
    def sending_window(self) -> float:
        """Seconds after the start of a successful renewal during which sending is safe."""
        return self.ttl.total_seconds() * (1 - 1 / SAFETY_SHARE)

    def may_send(self) -> bool:
        """True while this process holds a lease it renewed recently enough: a holder
        frozen, or cut off from the database, stops before anyone may take over."""
        return self.held and time.monotonic() < self._valid_until

    # PostgreSQL advisory lock -------------------------------------------------------

    def _take_advisory_lock(self) -> bool:
        if not is_postgresql(self.engine):
            return True
        if self._lock_connection is None:
            with translate_errors():
                connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                try:
                    got = connection.execute(
                        select(func.pg_try_advisory_lock(ADVISORY_KEY))
                    ).scalar()
                except SQLAlchemyError:
                    _discard(connection)
                    raise
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
        except SQLAlchemyError as exc:  # PendingRollbackError is not a DBAPIError
            log.error("the connection holding the scheduler lock was lost: %s", _first_line(exc))
            self._drop_lock_connection()
            return False
        return True

    def _drop_lock_connection(self) -> None:
        """Unlock and close the lock's connection; a broken one is thrown away unused."""
        connection, self._lock_connection = self._lock_connection, None
        if connection is None:
            return
        if connection.invalidated:
            _discard(connection)  # the server released the lock with the session
            return
        try:
            connection.execute(select(func.pg_advisory_unlock(ADVISORY_KEY)))
            connection.close()
        except SQLAlchemyError:
            _discard(connection)

    def _lease_expired(self, lease: Row[str, datetime] | None, now: datetime) -> bool:
        """Whether the lock's holder may be ended: its lease expired, or it has held the
        lock without any lease row for longer than a lease."""
        if lease is not None:
            self._orphan_lock_since = None
            return bool(lease.expires_at < now)
        if self._orphan_lock_since is None:
            self._orphan_lock_since = time.monotonic()
        return time.monotonic() - self._orphan_lock_since > self.ttl.total_seconds()

    def _end_stale_holder(self, now: datetime) -> bool:
        """The lock is held by another session. If its lease has expired, end that session
        (a frozen or vanished scheduler never lets go by itself) and take the lock; True
        when this process holds the lock then."""
        with translate_errors(), self.engine.connect() as connection:
            lease = _lease_row(connection)
            if not self._lease_expired(lease, now):
                return False
            pid = connection.execute(LOCK_HOLDER, {"hi": LOCK_HI, "lo": LOCK_LO}).scalar()
            if pid is not None:
                log.warning(
                    "the active scheduler %s let its lease expire (%s): ending its database "
                    "session (backend %s) and taking over",
                    lease.holder if lease is not None else "(no lease row)",
                    lease.expires_at.isoformat() if lease is not None else "-",
                    pid,
                )
                try:
                    connection.execute(select(func.pg_terminate_backend(pid, TERMINATE_WAIT_MS)))
                except DBAPIError as exc:
                    if connection_lost(exc):
                        raise
                    log.error(
                        "cannot end the session holding the scheduler lock (%s): both "
                        "schedulers must use the same database role, or one granted "
                        "pg_signal_backend",
                        _first_line(exc),
                    )
                    return False
        deadline = time.monotonic() + TERMINATE_WAIT_MS / 1000
        while not self._take_advisory_lock():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    # Lease row --------------------------------------------------------------------------

    def _take_lease(self, now: datetime) -> bool:
        """Insert or take over the lease row, if it is free; compare-and-set, so that a
        holder renewing at the same moment keeps it."""
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
            current = _lease_row(connection)
            if current is None:
                return False  # released this very moment: the next tick takes it
            free = (
                current.holder == self.holder
                or current.expires_at < now
                or holder_is_dead(current.holder)
            )
            if not free:
                return False
            return (
                connection.execute(
                    update(SchedulerLease)
                    .where(
                        SchedulerLease.name == LEASE_NAME,
                        SchedulerLease.holder == current.holder,
                        SchedulerLease.expires_at == current.expires_at,
                    )
                    .values(holder=self.holder, expires_at=expires)
                ).rowcount
                == 1
            )

    def acquire(self, now: datetime) -> bool:
        """Become the active scheduler if nobody else is; True when this process is.

        On PostgreSQL the advisory lock comes first; a lock whose holder let its
        lease expire is taken from it (:meth:`_end_stale_holder`). The lease
        row decides in every case: it is taken only when free (expired, ours,
        or its holder a dead process of this machine).

        Raises :class:`DatabaseUnavailable` when the database cannot be reached
        (nothing is held then).
        """
        started = time.monotonic()
        try:
            locked = self._take_advisory_lock() or self._end_stale_holder(now)
            self.held = locked and self._take_lease(now)
        except DatabaseUnavailable:
            self.held = False
            self._drop_lock_connection()
            raise
        if self.held and not self._advisory_lock_alive():
            self.release()  # its lock was ended meanwhile: the lease goes back at once
        if self.held:
            self._valid_until = started + self.sending_window
        else:
            self._drop_lock_connection()
        self._note_presence(now)
        return self.held

    def renew(self, now: datetime) -> bool:
        """Extend the lease; False (and no longer held) if it was lost or could not be renewed.

        A lease that cannot be renewed (lock connection lost, database
        unreachable, taken over once expired) is given up at once: the process
        never goes on as the active scheduler on a lease it could not confirm.
        """
        if not self.held:
            return False
        started = time.monotonic()
        alive = self._advisory_lock_alive()
        if alive:
            try:
                with translate_errors(), self.engine.begin() as connection:
                    alive = (
                        connection.execute(
                            update(SchedulerLease)
                            .where(
                                SchedulerLease.name == LEASE_NAME,
                                SchedulerLease.holder == self.holder,
                            )
                            .values(expires_at=now + self.ttl)
                        ).rowcount
                        == 1
                    )
            except DatabaseUnavailable:
                log.error("the scheduler lease could not be renewed (database unreachable)")
                alive = False
        if alive:
            self._valid_until = started + self.sending_window
            self._note_presence(now)
        else:
            log.error("scheduler lease lost: standing by")
            self.release()
        return alive

    def release(self) -> None:
        """Give up the lease and the lock (at shutdown, or when they cannot be renewed).

        Never raises: a lease row that cannot be removed expires by itself,
        and the server releases the lock with the lock's session.
        """
        self._valid_until = 0.0
        if self.held:
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        delete(SchedulerLease).where(
                            SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder
                        )
                    )
            except SQLAlchemyError as exc:
                log.warning(
                    "could not remove the scheduler lease (%s); it will expire", _first_line(exc)
                )
        self.held = False
        self._drop_lock_connection()

    def current_holder(self) -> str | None:
        with translate_errors(), self.engine.connect() as connection:
            lease = _lease_row(connection)
        return None if lease is None else str(lease.holder)

    # Presence -----------------------------------------------------------------------------

    def _note_presence(self, now: datetime) -> None:
        """Touch this process's row (long-running processes only); best effort."""
        if self.tick is None:
            return
        self._started_at = self._started_at or now
        values = {
            "seen_at": now,
            "active": self.held,
            "tick_seconds": round(self.tick.total_seconds()),
            "lease_seconds": round(self.ttl.total_seconds()),
        }
        try:
            with self.engine.begin() as connection:
                insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
                connection.execute(
                    insert(SchedulerProcess)
                    .values(worker=self.holder, started_at=self._started_at, **values)
                    .on_conflict_do_update(index_elements=["worker"], set_=values)
                )
        except SQLAlchemyError as exc:
            log.debug("presence not recorded: %s", _first_line(exc))

    def leave(self) -> None:
        """At a clean stop: this process is no longer a scheduler (never raises)."""
        if self.tick is None:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    delete(SchedulerProcess).where(SchedulerProcess.worker == self.holder)
                )
        except SQLAlchemyError as exc:
            log.warning("could not remove this scheduler's row (%s)", _first_line(exc))


class LeasedTransport:
    """A transport that hands a message over only while the lease is sure to be held.

    The last check before each SMTP call: a process that was frozen (or cut
    off from the database) after its last renewal does not send once its
    sending window is over, because a standby may take over when the lease
    expires. The recipient is not handed anything: it is retried later by the
    active scheduler.
    """

    def __init__(self, inner: Transport, guard: SchedulerGuard) -> None:
        self.inner = inner
        self.guard = guard

    def send(self, message: EmailMessage) -> str:
        if not self.guard.may_send():
            log.error("lease not renewed in time: %s not handed over", message["To"])
            raise DeliveryError(NOT_SENT_LEASE, permanent=False)
        return self.inner.send(message)

    def abort(self) -> None:
        self.inner.abort()


def _lease_row(connection: Connection) -> Row[str, datetime] | None:
    return connection.execute(
        select(SchedulerLease.holder, SchedulerLease.expires_at).where(
            SchedulerLease.name == LEASE_NAME
        )
    ).first()


def _discard(connection: Connection) -> None:
    """Throw a broken connection away: invalidated, never returned to the pool for reuse."""
    with contextlib.suppress(SQLAlchemyError):
        connection.invalidate()
    with contextlib.suppress(SQLAlchemyError):
        connection.close()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
