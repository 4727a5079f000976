"""``python scheduler.py`` as real processes: a crash mid-send, a restart, two schedulers, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from data.owned import ReportDelivery, ReportRun, SchedulerLease
from reports.schedules import create_schedule
from tests.conftest import SmtpSink
from tests.test_scheduler import BASE, owner

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def child_env(db_url: str, tmp_path: Path, sink: SmtpSink) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "SMTP_HOST": sink.host,
        "SMTP_PORT": str(sink.port),
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT_SECONDS": "10",
    }


def due_this_minute(engine: Engine, recipients: tuple[str, ...]) -> datetime:
    """A daily schedule due at the current UTC minute, created ten minutes ago."""
    now = datetime.now(UTC)
    due = now.replace(second=0, microsecond=0)
    spec = replace(BASE, time_of_day=due.strftime("%H:%M"), recipients=recipients)
    create_schedule(engine, actor=owner(engine), spec=spec, now=now - timedelta(minutes=10))
    return due


def scheduler(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "scheduler.py", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def states(engine: Engine) -> tuple[list[str], list[str]]:
    with engine.connect() as connection:
        runs = connection.execute(select(ReportRun.status)).scalars().all()
        deliveries = connection.execute(select(ReportDelivery.status)).scalars().all()
    return list(runs), list(deliveries)


def test_crash_between_sending_and_smtp_acceptance_is_interrupted_and_never_resent(
    engine: Engine, db_url: str, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    due_this_minute(engine, ("a@cipfaro.fr",))
    env = child_env(db_url, tmp_path, smtp_sink)
    child: dict[str, subprocess.Popen[str]] = {}
    # The SMTP server receives the message, then the scheduler dies before the reply.
    smtp_sink.on_data = lambda _content: os.kill(child["p"].pid, signal.SIGKILL)
    child["p"] = scheduler("--once", env=env)
    child["p"].wait(timeout=120)
    assert child["p"].returncode == -signal.SIGKILL
    assert states(engine) == (["working"], ["sending"])

    smtp_sink.on_data = None
    restart = subprocess.run(
        [sys.executable, "scheduler.py", "--once"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert restart.returncode == 0, restart.stdout + restart.stderr
    assert "interrupted by a previous stop" in restart.stderr
    assert states(engine) == (["interrupted"], ["interrupted"])
    assert smtp_sink.messages == []  # the restart did not resend it
    with engine.connect() as connection:
        error = connection.execute(select(ReportDelivery.last_error)).scalar_one()
    assert "Vérifiez auprès du destinataire avant de renvoyer" in error


def _wait(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_two_scheduler_processes_send_once_pick_up_new_schedules_and_stop_on_sigterm(
    pg_engine: Engine, pg_url: str, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    env = child_env(pg_url, tmp_path, smtp_sink)
    processes = [scheduler("--tick", "1", env=env) for _ in range(2)]
    try:

        def leased() -> bool:
            with pg_engine.connect() as connection:
                return connection.execute(select(SchedulerLease.holder)).first() is not None

        assert _wait(leased, 60), "no scheduler became active"
        time.sleep(2)  # both are ticking now
        due_this_minute(pg_engine, ("a@cipfaro.fr",))  # created while they run
        assert _wait(lambda: len(smtp_sink.messages) >= 1, 60), "nothing sent"
        time.sleep(4)  # several more ticks of both processes
        assert len(smtp_sink.messages) == 1
        assert states(pg_engine) == (["sent"], ["sent"])
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        logs = [process.communicate(timeout=60)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    joined = "\n".join(logs)
    assert joined.count("this process is the active scheduler") == 1
    assert joined.count("standing by") == 1
    assert joined.count("SIGTERM received: finishing the current step, then stopping") == 2
    assert joined.count("scheduler stopped cleanly") == 2
