"""``python -m data.health`` and the "État du système" page: each fault on its own line.

Real parts only: a scheduler process that stops, a streaming replica whose
replay is paused (tests/replica.py), a recipient refused by a real SMTP server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text, update

from data.db import create_db_engine
from data.health import DEGRADED, OK, Check, check_health, check_replica, check_scheduler
from data.kpis.summary import STATE
from data.migrate import upgrade
from data.owned import SchedulerProcess
from data.schema import create_operational_tables
from data.settings import Settings, load_settings
from reports.lease import SchedulerGuard
from reports.step import run_due
from tests.app_session import app_env, dataframe_cells, page_as, staff, texts_in_markdown
from tests.conftest import SmtpSink
from tests.kpi_data import build_dataset
from tests.replica import streaming_pair, wait_for_replay
from tests.test_scheduler import DUE, owner, schedule

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/system.py"
ADMIN = "admin@cipfaro.fr"


def smtp_settings(sink: SmtpSink, **values: Any) -> Settings:
    return load_settings(SMTP_HOST=sink.host, SMTP_PORT=sink.port, SMTP_SECURITY="none", **values)


def a_live_scheduler(engine: Engine, worker: str = "vm-a:1") -> SchedulerGuard:
    guard = SchedulerGuard(engine, holder=worker, tick=timedelta(seconds=30))
    assert guard.acquire(datetime.now(UTC))
    return guard


def by_name(checks: tuple[Check, ...]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "data.health", *args],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


# --- Each check ------------------------------------------------------------------------


def test_a_healthy_system_says_ok_on_every_line(engine: Engine, smtp_sink: SmtpSink) -> None:
    a_live_scheduler(engine)
    health = check_health(smtp_settings(smtp_sink), engine)
    assert [(c.name, c.status) for c in health.checks] == [
        ("primary", OK),
        ("replica", OK),
        ("migrations", OK),
        ("kpi_summary", OK),
        ("scheduler", OK),
        ("deliveries", OK),
        ("mail", OK),
    ], [c.line() for c in health.checks]
    assert health.exit_code == 0


def test_no_scheduler_or_a_silent_one_is_degraded(engine: Engine) -> None:
    now = datetime.now(UTC)
    check = check_scheduler(engine, now)
    assert check.status == DEGRADED and "aucun service actif" in check.detail
    a_live_scheduler(engine, "vm-a:1")
    standby = SchedulerGuard(engine, holder="vm-b:2", tick=timedelta(seconds=30))
    assert not standby.acquire(now)
    check = check_scheduler(engine, now)
    assert check.status == OK and check.data["standby"][0]["worker"] == "vm-b:2"
    # The standby was killed: its row is not touched any more.
    assert check_scheduler(engine, now + timedelta(seconds=60)).status == OK
    later = check_scheduler(engine, now + timedelta(seconds=101))
    assert later.status == DEGRADED and "arrêté sans prévenir : vm-b:2" in later.detail


def test_migrations_behind_and_a_stale_summary_are_degraded(
    engine: Engine, smtp_sink: SmtpSink
) -> None:
    a_live_scheduler(engine)
    build_dataset(engine, size=10)  # the website wrote; nobody folded it into the summary
    with engine.begin() as connection:
        connection.execute(text("UPDATE dashboard_alembic_version SET version_num = '0004'"))
        connection.execute(  # last folded ten minutes ago (the scheduler does it every 5 s)
            update(STATE).values(refreshed_at=datetime.now(UTC) - timedelta(minutes=10))
        )
    checks = by_name(check_health(smtp_settings(smtp_sink), engine).checks)
    assert checks["migrations"].status == DEGRADED
    assert "base à 0004" in checks["migrations"].detail
    assert checks["kpi_summary"].status == DEGRADED
    assert checks["kpi_summary"].data["events_behind"] > 0


def test_a_failed_delivery_is_degraded_until_resent(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    schedule(engine, owner(engine), recipients=("a@cipfaro.fr", "b@cipfaro.fr"))
    smtp_sink.refuse.add("b@cipfaro.fr")
    settings = smtp_settings(smtp_sink, OUTBOX_DIR=tmp_path / "outbox")
    run_due(engine, settings, DUE + timedelta(seconds=10))
    # The run happened "in November 2026": look from just after it.
    health = check_health(settings, engine, now=DUE + timedelta(minutes=5))
    checks = by_name(health.checks)
    assert checks["deliveries"].status == DEGRADED
    assert checks["deliveries"].data == {"waiting": 1}
    assert health.exit_code == 1
    later = by_name(check_health(settings, engine, now=DUE + timedelta(days=8)).checks)
    assert later["deliveries"].status == OK  # a week later it is history, not an alarm


def test_mail_left_in_the_local_outbox_is_degraded_outside_the_demo(
    db_url: str, engine: Engine
) -> None:
    check = by_name(check_health(load_settings(DATABASE_URL=db_url), engine).checks)["mail"]
    assert check.status == DEGRADED and "pas de serveur SMTP" in check.detail


# --- The command line ------------------------------------------------------------------


def test_the_command_line_prints_one_line_per_check_and_exits_by_severity(
    pg_engine: Engine, pg_url: str, smtp_sink: SmtpSink
) -> None:
    env = {
        "DATABASE_URL": pg_url,
        "SMTP_HOST": smtp_sink.host,
        "SMTP_PORT": str(smtp_sink.port),
        "SMTP_SECURITY": "none",
    }
    guard = a_live_scheduler(pg_engine)
    started = time.monotonic()
    healthy = cli(env)
    elapsed = time.monotonic() - started
    print(f"python -m data.health: {elapsed:.2f} s")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    lines = healthy.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ok", name]
        for name in (
            "primary",
            "replica",
            "migrations",
            "kpi_summary",
            "scheduler",
            "deliveries",
            "mail",
        )
    ]
    guard.release()  # the scheduler stopped
    degraded = cli(env, "--json")
    assert degraded.returncode == 1
    report = json.loads(degraded.stdout)
    assert report["status"] == "degraded"
    assert [c["name"] for c in report["checks"] if c["status"] != "ok"] == ["scheduler"]
    down = cli({**env, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"})
    assert down.returncode == 2
    assert down.stdout.splitlines() == ["down      primary      Base principale : injoignable"]
    assert "Traceback" not in down.stderr


# --- Real faults, on the command line and the page ------------------------------------


@pytest.mark.slow
def test_a_stopped_scheduler_process_shows_on_the_command_line_and_the_page(
    pg_engine: Engine, pg_url: str, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "DATABASE_URL": pg_url,
        "SMTP_HOST": smtp_sink.host,
        "SMTP_PORT": str(smtp_sink.port),
        "SMTP_SECURITY": "none",
    }
    process = subprocess.Popen(
        [sys.executable, "scheduler.py", "--tick", "1", "--lease", "3"],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: check_scheduler(pg_engine, datetime.now(UTC)).status == OK, 60), (
            "the scheduler never showed as active"
        )
        assert cli(env).returncode == 0
    finally:
        process.send_signal(signal.SIGKILL)  # no clean stop: its rows stay behind
        process.wait(timeout=30)
    assert wait_until(lambda: check_scheduler(pg_engine, datetime.now(UTC)).status == DEGRADED, 30)
    result = cli(env)
    assert result.returncode == 1
    [line] = [line for line in result.stdout.splitlines() if line.split()[1] == "scheduler"]
    assert line.startswith("degraded  scheduler") and "aucun service actif" in line

    app_env(monkeypatch, pg_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    staff(pg_engine, "admin", email=ADMIN)
    at = page_as(pg_engine, PAGE, ADMIN)
    assert not at.exception and not at.error, at.error
    assert any(w.startswith("Dégradé") for w in texts_in_markdown(at))
    checks = at.dataframe[0].value
    row = checks[checks["Vérification"] == "Service d'envoi des rapports"].iloc[0]
    assert row["État"] == "Dégradé" and "aucun service actif" in row["Détail"]
    processes = at.dataframe[1].value
    assert len(processes) == 1
    assert processes["Rôle"].iloc[0] in ("Bail expiré", "Ne répond plus")


def pause_replay(primary: Engine, replica: Engine) -> None:
    """Pause the standby's replay, and wait until it has actually paused (it does so
    at the next WAL record it reads: write some until then)."""
    with primary.begin() as connection:
        connection.execute(text("CREATE TABLE replay_probe (written int)"))
    with replica.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))

    def paused() -> bool:
        with primary.begin() as connection:
            connection.execute(text("INSERT INTO replay_probe VALUES (1)"))
        with replica.connect() as connection:
            state = connection.execute(text("SELECT pg_get_wal_replay_pause_state()")).scalar()
        return state == "paused"

    assert wait_until(paused, 20), "the standby never paused its replay"


@pytest.mark.slow
def test_a_lagging_replica_shows_on_the_command_line_and_the_page(
    monkeypatch: pytest.MonkeyPatch, smtp_sink: SmtpSink
) -> None:
    with streaming_pair() as pair:
        primary = create_db_engine(pair.primary_url)
        replica = create_db_engine(pair.replica_url)
        try:
            create_operational_tables(primary)
            upgrade(primary)
            a_live_scheduler(primary)
            wait_for_replay(primary, replica)
            assert check_replica(primary, replica).status == OK
            pause_replay(primary, replica)
            with primary.begin() as connection:  # the website writes; the replica stays behind
                connection.execute(text("INSERT INTO replay_probe VALUES (2)"))
            # The primary's WAL writer flushes within a fraction of a second.
            assert wait_until(lambda: check_replica(primary, replica).status == DEGRADED, 10)
            check = check_replica(primary, replica)
            assert check.detail.startswith("relecture suspendue, en retard de")
            assert check.data["bytes_behind"] > 0

            env = {
                "DATABASE_URL": pair.primary_url,
                "ANALYTICS_DATABASE_URL": pair.replica_url,
                "SMTP_HOST": smtp_sink.host,
                "SMTP_PORT": str(smtp_sink.port),
                "SMTP_SECURITY": "none",
            }
            result = cli(env)
            assert result.returncode == 1, result.stdout
            assert [
                line.split()[:2] for line in result.stdout.splitlines() if "degraded" in line
            ] == [["degraded", "replica"]]

            app_env(monkeypatch, pair.primary_url)
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            staff(primary, "admin", email=ADMIN)
            at = page_as(primary, PAGE, ADMIN)
            assert not at.exception and not at.error, at.error
            checks = at.dataframe[0].value
            row = checks[checks["Vérification"] == "Réplique"].iloc[0]
            assert row["État"] == "Dégradé" and "relecture suspendue" in row["Détail"]

            with replica.connect() as connection:
                connection.execute(text("SELECT pg_wal_replay_resume()"))
            wait_for_replay(primary, replica)
            assert check_replica(primary, replica).status == OK
        finally:
            primary.dispose()
            replica.dispose()


def test_a_failed_delivery_is_listed_on_the_page(
    engine: Engine, db_url: str, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_env(monkeypatch, db_url)
    staff(engine, "admin", email=ADMIN)
    sched = schedule(engine, owner(engine), recipients=("a@cipfaro.fr", "b@cipfaro.fr"))
    smtp_sink.refuse.add("b@cipfaro.fr")
    now = datetime.now(UTC)
    with engine.begin() as connection:  # due a minute ago
        connection.execute(
            text(
                "UPDATE dashboard_report_schedules SET time_of_day = :t, "
                "active_since = :since WHERE id = :id"
            ),
            {"t": now.strftime("%H:%M"), "since": now - timedelta(hours=1), "id": sched.id},
        )
    settings = smtp_settings(smtp_sink)
    run_due(engine, settings, now.replace(second=0, microsecond=0) + timedelta(seconds=10))
    at = page_as(engine, PAGE, ADMIN)
    assert not at.exception and not at.error, at.error
    cells = dataframe_cells(at)
    assert "b@cipfaro.fr" in cells and "Échec" in cells
    assert "a@cipfaro.fr" not in cells  # it was delivered


def test_the_smtp_button_tests_the_connection(
    engine: Engine, db_url: str, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_env(monkeypatch, db_url)
    monkeypatch.setenv("SMTP_HOST", smtp_sink.host)
    monkeypatch.setenv("SMTP_PORT", str(smtp_sink.port))
    monkeypatch.setenv("SMTP_SECURITY", "none")
    staff(engine, "admin", email=ADMIN)
    at = page_as(engine, PAGE, ADMIN)
    at = at.button(key="systeme_smtp_test").click().run()
    assert [s.value for s in at.success][-1].startswith(f"Le serveur SMTP {smtp_sink.host}")
    assert smtp_sink.messages == []  # nothing was sent
    monkeypatch.setenv("SMTP_PORT", "1")
    from data.settings import get_settings

    get_settings.cache_clear()
    at = at.button(key="systeme_smtp_test").click().run()
    assert "injoignable" in at.error[-1].value


def test_the_page_is_for_admins_only(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_env(monkeypatch, db_url)
    staff(engine, "direction", email="direction@cipfaro.fr")
    at = page_as(engine, PAGE, "direction@cipfaro.fr")
    assert "Accès refusé" in at.error[0].value
    assert not at.dataframe


def test_a_stale_process_row_older_than_a_day_is_forgotten(engine: Engine) -> None:
    a_live_scheduler(engine)
    with engine.begin() as connection:
        connection.execute(
            update(SchedulerProcess)
            .where(SchedulerProcess.worker == "vm-a:1")
            .values(seen_at=datetime.now(UTC))
        )
        connection.execute(
            insert(SchedulerProcess).values(
                worker="old:9",
                started_at=datetime.now(UTC) - timedelta(days=3),
                seen_at=datetime.now(UTC) - timedelta(days=2),
                tick_seconds=30,
                lease_seconds=75,
            )
        )
    assert check_scheduler(engine, datetime.now(UTC)).status == OK
