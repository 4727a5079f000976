"""The scheduler evaluates the alerts only while it holds the leader lease."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

import scheduler
from data.owned import AlertRule
from data.settings import load_settings
from reports.lease import SchedulerGuard
from tests import factories as f


def _evaluated(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).where(AlertRule.last_evaluated_at.is_not(None))
            ).scalar_one()
        )


def test_run_once_evaluates_every_rule(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(OUTBOX_DIR=tmp_path / "outbox")
    f.user(engine, role="secretariat")
    f.contact(engine, created_at=datetime.now(UTC) - timedelta(days=3))
    assert scheduler.run_once(engine, settings) == 0
    assert _evaluated(engine) >= 13


def test_a_standby_scheduler_evaluates_nothing(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(OUTBOX_DIR=tmp_path / "outbox")
    active = SchedulerGuard(engine, holder="other-host:1")
    assert active.acquire(datetime.now(UTC))
    try:
        assert scheduler.run_once(engine, settings) == 0
        loop = scheduler._Loop(
            engine,
            settings,
            threading.Event(),
            tick=timedelta(seconds=30),
            lease=timedelta(seconds=75),
        )
        loop.tick()  # stands by: another holds the lease
        loop.evaluate_alerts()
        assert _evaluated(engine) == 0
    finally:
        active.release()
