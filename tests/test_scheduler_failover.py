"""Two ``python scheduler.py`` processes on PostgreSQL: the active one freezes (SIGSTOP).

The frozen process keeps its database session, and with it the advisory
lock (its kernel still answers TCP), so only the lease can end its reign: the
standby must take over once the lease has expired, and the frozen process,
when it wakes up, must not send anything more. Short ``--tick`` and
``--lease`` keep the test well under a minute; with the defaults (30 s and
75 s) the same sequence takes at most 75 + 30 + 5 seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from data.owned import ReportDelivery, SchedulerLease, SchedulerProcess
from reports.runs import INTERRUPTED_PENDING, INTERRUPTED_SENDING
from tests.conftest import SmtpSink
from tests.test_scheduler import owner
from tests.test_scheduler_process import (
    _wait,
    child_env,
    schedule_due_now,
    scheduler,
    settled,
    stop,
)

pytestmark = pytest.mark.slow

TICK, LEASE = 1, 6


def holder(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(select(SchedulerLease.holder)).scalar_one_or_none()


def seen_since(engine: Engine, pid: int, since: datetime) -> bool:
    """The process ``pid`` has touched its row since ``since``, as a standby."""
    with engine.connect() as connection:
        row = connection.execute(
            select(SchedulerProcess.seen_at, SchedulerProcess.active).where(
                SchedulerProcess.worker.endswith(f":{pid}")
            )
        ).first()
    return row is not None and row.seen_at > since and not row.active


def stop_or_kill(process: subprocess.Popen[str]) -> str:
    """SIGTERM and its log; a process that does not stop in time is killed (never left
    running after a failed test)."""
    try:
        return stop(process, timeout=30)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate(timeout=10)[0]


def process_rows(engine: Engine) -> dict[int, bool]:
    """Each scheduler process's row: pid -> active."""
    with engine.connect() as connection:
        rows = connection.execute(select(SchedulerProcess.worker, SchedulerProcess.active)).all()
    return {int(row.worker.rpartition(":")[2]): row.active for row in rows}


def test_a_frozen_active_scheduler_is_replaced_once_its_lease_expires_and_never_sends_again(
    pg_engine: Engine, pg_url: str, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    env = child_env(pg_url, tmp_path, smtp_sink)
    actor = owner(pg_engine)
    options = ("--tick", str(TICK), "--lease", str(LEASE))
    first = scheduler(*options, env=env)
    second: subprocess.Popen[str] | None = None
    frozen_at: list[float] = []
    thawed = False
    try:
        assert _wait(lambda: holder(pg_engine) is not None, 60), "no scheduler became active"
        assert (holder(pg_engine) or "").endswith(f":{first.pid}")
        second = scheduler(*options, env=env)
        assert _wait(
            lambda: seen_since(pg_engine, second.pid, datetime.min.replace(tzinfo=UTC)), 60
        )
        assert process_rows(pg_engine) == {first.pid: True, second.pid: False}

        def freeze_the_sender(_content: bytes) -> None:  # the first message is being handed over
            if not frozen_at:
                os.kill(first.pid, signal.SIGSTOP)
                frozen_at.append(time.monotonic())

        smtp_sink.on_accept = freeze_the_sender
        recipients = ("a@cipfaro.fr", "b@cipfaro.fr", "c@cipfaro.fr")
        schedule_due_now(pg_engine, actor, "Gel du serveur", recipients)
        assert _wait(lambda: bool(frozen_at), 60), "the run never reached the SMTP server"
        smtp_sink.on_accept = None

        assert _wait(lambda: (holder(pg_engine) or "").endswith(f":{second.pid}"), 60)
        takeover = time.monotonic() - frozen_at[0]
        print(f"takeover {takeover:.1f} s after the holder froze (lease {LEASE} s, tick {TICK} s)")
        assert takeover < LEASE + 3 * TICK + 5, takeover

        # The new active scheduler shows the frozen run for a person, and resends nothing.
        assert _wait(lambda: settled(pg_engine, 1), 30)
        schedule_due_now(pg_engine, actor, "Après la reprise", ("d@cipfaro.fr",))
        assert _wait(lambda: settled(pg_engine, 2), 30)

        thawed_at = datetime.now(UTC)
        os.kill(first.pid, signal.SIGCONT)
        thawed = True
        # It wakes up mid-send, finds its lease taken, and stands by (two ticks seen).
        assert _wait(lambda: seen_since(pg_engine, first.pid, thawed_at), 30)
        later = datetime.now(UTC)
        assert _wait(lambda: seen_since(pg_engine, first.pid, later), 30)
    finally:
        if frozen_at and not thawed:
            os.kill(first.pid, signal.SIGCONT)
        first_log = stop_or_kill(first)
        second_log = stop_or_kill(second) if second is not None else ""
    assert first.returncode == 0, first_log
    assert "lease lost" in first_log, first_log
    assert "let its lease expire" in second_log, second_log
    assert (holder(pg_engine) or "") == ""  # both stopped cleanly
    assert process_rows(pg_engine) == {}
    reports = [str(m["To"]) for m in smtp_sink.messages if str(m["To"]) != "owner@cipfaro.fr"]
    # "a" was accepted while its sender was frozen; nobody sent "b" or "c", nothing twice.
    assert sorted(reports) == ["a@cipfaro.fr", "d@cipfaro.fr"]
    with pg_engine.connect() as connection:
        outcomes = dict(
            connection.execute(select(ReportDelivery.recipient, ReportDelivery.last_error)).all()
        )
    assert outcomes == {
        "a@cipfaro.fr": INTERRUPTED_SENDING,  # a person asks before resending
        "b@cipfaro.fr": INTERRUPTED_PENDING,
        "c@cipfaro.fr": INTERRUPTED_PENDING,
        "d@cipfaro.fr": None,
    }
