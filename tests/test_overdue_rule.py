"""The triage SLA has one rule in two forms (data.workflow): the SQL condition read
by the queue, its filter, the overview strip and the KPI engine, and the Python
twin that flags the rows already read. Held equal here, on both databases, at the
edges of the 48 hours, with the figures every screen shows."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from data.kpis import KpiQuery
from data.kpis.headline import compute_kpis
from data.kpis.sql import APPLICATIONS
from data.overview import live_counts
from data.triage.filters import QueueFilters
from data.triage.queue import queue_page
from data.workflow import is_overdue, overdue_condition
from tests.kpi_data import DataBuilder, utc

NOW = utc(2026, 3, 10, 12, 0)
SLA = 48.0
AGES = (timedelta(hours=47, minutes=59), timedelta(hours=48), timedelta(hours=48, seconds=1))
STATUSES = ("nouvelle", "en_etude", "refusee")


def _seed(engine: Engine) -> dict[int, bool]:
    """One application per (status, age); returns whether each is overdue by the rule."""
    expected: dict[int, bool] = {}
    with engine.begin() as connection:
        b = DataBuilder(connection)
        fid = b.formation("f")
        for status in STATUSES:
            for age in AGES:
                app = b.application(formation_id=fid, created_at=NOW - age, statut=status)
                expected[app] = status == "nouvelle" and age > timedelta(hours=SLA)
    return expected


def test_the_sql_condition_and_its_python_twin_agree_at_the_edges(engine: Engine) -> None:
    expected = _seed(engine)
    c = APPLICATIONS.c
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                c.id,
                c.statut,
                c.created_at,
                overdue_condition(c.statut, c.created_at, now=NOW, sla_hours=SLA),
            )
        ).all()
    for app_id, status, created_at, by_sql in rows:
        created_at = created_at if created_at.tzinfo else created_at.replace(tzinfo=NOW.tzinfo)
        assert bool(by_sql) is expected[app_id], (status, NOW - created_at)
        assert is_overdue(status, created_at, now=NOW, sla_hours=SLA) is expected[app_id]


def test_every_screen_counts_the_same_overdue_applications(engine: Engine) -> None:
    expected = _seed(engine)
    overdue = sum(expected.values())
    assert overdue == 1
    assert live_counts(engine, now=NOW, sla_hours=SLA).applications_overdue == overdue
    figures = compute_kpis(
        engine, KpiQuery(date(2026, 3, 1), date(2026, 4, 1), sla_hours=SLA), now=NOW
    )
    assert figures.backlog_overdue == overdue
    page = queue_page(
        engine,
        QueueFilters(statuses=(), overdue_only=True),
        actor_id=None,
        now=NOW,
        sla_hours=SLA,
        tz=ZoneInfo("America/Guadeloupe"),
    )
    assert [row.id for row in page.rows] == [i for i, late in expected.items() if late]
    assert all(row.overdue for row in page.rows)
