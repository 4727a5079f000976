"""Report schedules: validation, writes with their audit rows, run times across time zones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from data.errors import Conflict, InvalidInput, NotAllowed, NotFound
from data.owned import AuditLog
from data.periods import schedule_period
from data.permissions import Actor
from reports.schedules import (
    ScheduleInput,
    create_schedule,
    delete_schedule,
    describe_recurrence,
    due_times,
    get_schedule,
    list_schedules,
    next_run_after,
    pause_schedule,
    resume_schedule,
    split_recipients,
    update_schedule,
)
from tests import factories

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
SPEC = ScheduleInput(
    name="Direction mensuel",
    kind="monthly",
    formats=("pdf", "xlsx"),
    frequency="monthly",
    monthday=1,
    time_of_day="07:00",
    timezone="America/Guadeloupe",
    period="previous_month",
    recipients=("direction@cipfaro.fr",),
)


def _actor(engine: Engine, role: str = "direction") -> Actor:
    email = f"{role}-{id(engine)}@cipfaro.fr"
    user_id = factories.user(engine, role=role, email=email)
    return Actor(id=user_id, email=email, role=role, prenom="Ada", nom="Test")


def _audit(engine: Engine, action: str) -> list[AuditLog]:
    with engine.connect() as connection:
        return list(
            connection.execute(select(AuditLog.__table__).where(AuditLog.action == action)).all()
        )


# --- Validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"recipients": ("direction@cipfaro",)}, "Adresse e-mail invalide"),
        ({"recipients": ("a@b.fr\r\nBcc: x@y.fr",)}, "Adresse e-mail invalide"),
        ({"recipients": ()}, "au moins un destinataire"),
        ({"time_of_day": "7h"}, "Heure invalide"),
        ({"time_of_day": "24:00"}, "Heure invalide"),
        ({"timezone": "Mars/Olympus"}, "Fuseau horaire inconnu"),
        ({"kind": "yearly"}, "Type de rapport inconnu"),
        ({"formats": ()}, "au moins un format"),
        ({"formats": ("pdf", "docx")}, "au moins un format"),
        ({"period": "last_decade"}, "Période couverte inconnue"),
        ({"monthday": 31}, "entre 1 et 28"),
        ({"frequency": "weekly", "weekday": None}, "jour de la semaine"),
        ({"frequency": "hourly"}, "Récurrence inconnue"),
        ({"name": "   "}, "Donnez un nom"),
        ({"formation_slug": "inconnue"}, "Formation inconnue"),
    ],
)
def test_invalid_schedule_is_refused_with_a_french_message_and_nothing_written(
    engine: Engine, change: dict[str, object], message: str
) -> None:
    actor = _actor(engine)
    with pytest.raises(InvalidInput, match=message):
        create_schedule(engine, actor=actor, spec=replace(SPEC, **change), now=T0)  # type: ignore[arg-type]
    assert list_schedules(engine) == ()
    assert _audit(engine, "report_schedule.create") == []


def test_recipients_are_trimmed_and_deduplicated(engine: Engine) -> None:
    spec = replace(SPEC, recipients=split_recipients("a@cipfaro.fr; A@cipfaro.fr,\n b@cipfaro.fr"))
    created = create_schedule(engine, actor=_actor(engine), spec=spec, now=T0)
    assert created.recipients == ("a@cipfaro.fr", "b@cipfaro.fr")


def test_secretariat_may_not_write_schedules(engine: Engine) -> None:
    with pytest.raises(NotAllowed):
        create_schedule(engine, actor=_actor(engine, "secretariat"), spec=SPEC, now=T0)


# --- Writes ------------------------------------------------------------------------------


def test_create_records_owner_and_audit_row(engine: Engine) -> None:
    actor = _actor(engine)
    created = create_schedule(engine, actor=actor, spec=SPEC, now=T0)
    assert created.owner_id == actor.id
    assert (created.created_at, created.updated_at) == (T0, T0)
    (row,) = _audit(engine, "report_schedule.create")
    assert (row.actor_id, row.entity_id) == (actor.id, str(created.id))
    assert row.details["recipients"] == ["direction@cipfaro.fr"]


def test_update_replaces_settings_and_audits_the_changes(engine: Engine) -> None:
    actor = _actor(engine)
    created = create_schedule(engine, actor=actor, spec=SPEC, now=T0)
    later = T0 + timedelta(hours=1)
    spec = replace(SPEC, time_of_day="08:30", recipients=("autre@cipfaro.fr",))
    updated = update_schedule(
        engine,
        actor=actor,
        schedule_id=created.id,
        spec=spec,
        expected_updated_at=created.updated_at,
        now=later,
    )
    assert (updated.time_of_day, updated.recipients, updated.updated_at) == (
        "08:30",
        ("autre@cipfaro.fr",),
        later,
    )
    (row,) = _audit(engine, "report_schedule.update")
    assert row.details == {
        "time_of_day": ["07:00", "08:30"],
        "recipients": [["direction@cipfaro.fr"], ["autre@cipfaro.fr"]],
    }


def test_update_of_a_stale_form_is_a_conflict(engine: Engine) -> None:
    actor = _actor(engine)
    created = create_schedule(engine, actor=actor, spec=SPEC, now=T0)
    update_schedule(engine, actor=actor, schedule_id=created.id, spec=SPEC, now=T0 + timedelta(1))
    with pytest.raises(Conflict):
        update_schedule(
            engine,
            actor=actor,
            schedule_id=created.id,
            spec=SPEC,
            expected_updated_at=created.updated_at,
            now=T0 + timedelta(2),
        )


def test_pause_resume_and_delete(engine: Engine) -> None:
    actor = _actor(engine)
    created = create_schedule(engine, actor=actor, spec=SPEC, now=T0)
    assert pause_schedule(engine, actor=actor, schedule_id=created.id, now=T0).paused
    with pytest.raises(Conflict, match="déjà en pause"):
        pause_schedule(engine, actor=actor, schedule_id=created.id, now=T0)
    assert list_schedules(engine, include_paused=False) == ()
    assert not resume_schedule(engine, actor=actor, schedule_id=created.id, now=T0).paused
    delete_schedule(engine, actor=actor, schedule_id=created.id, now=T0)
    assert list_schedules(engine) == ()
    with pytest.raises(NotFound):
        get_schedule(engine, created.id)
    actions = [r.action for r in _audit(engine, "report_schedule.pause")]
    actions += [r.action for r in _audit(engine, "report_schedule.resume")]
    actions += [r.action for r in _audit(engine, "report_schedule.delete")]
    assert actions == ["report_schedule.pause", "report_schedule.resume", "report_schedule.delete"]


# --- Run times -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "after", "expected_utc"),
    [
        # Guadeloupe is UTC-4 all year: 07:00 local is 11:00 UTC.
        (
            "America/Guadeloupe",
            datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
            datetime(2026, 11, 21, 11, 0, tzinfo=UTC),
        ),
        # Paris in winter (UTC+1) and in summer (UTC+2).
        (
            "Europe/Paris",
            datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
            datetime(2026, 1, 16, 6, 0, tzinfo=UTC),
        ),
        (
            "Europe/Paris",
            datetime(2026, 7, 15, 12, 0, tzinfo=UTC),
            datetime(2026, 7, 16, 5, 0, tzinfo=UTC),
        ),
    ],
)
def test_daily_0700_fires_at_0700_local(
    timezone: str, after: datetime, expected_utc: datetime
) -> None:
    spec = replace(SPEC, frequency="daily", monthday=None, timezone=timezone)
    assert next_run_after(spec, after) == expected_utc


@pytest.mark.parametrize(
    ("start", "utc_hours"),
    [
        (datetime(2026, 3, 27, 12, 0, tzinfo=UTC), [6, 5, 5, 5]),  # spring forward on 29/03
        (datetime(2026, 10, 23, 12, 0, tzinfo=UTC), [5, 6, 6, 6]),  # fall back on 25/10
    ],
)
def test_paris_0700_stays_0700_across_daylight_saving_changes(
    start: datetime, utc_hours: list[int]
) -> None:
    spec = replace(SPEC, frequency="daily", monthday=None, timezone="Europe/Paris")
    fires = due_times(spec, start, start + timedelta(days=4))
    assert [f.hour for f in fires] == utc_hours
    from zoneinfo import ZoneInfo

    assert {f.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M") for f in fires} == {"07:00"}


def test_weekly_and_monthly_recurrences() -> None:
    weekly = replace(SPEC, frequency="weekly", weekday=0, monthday=None)  # Mondays
    first = next_run_after(weekly, datetime(2026, 11, 20, 12, 0, tzinfo=UTC))  # a Friday
    assert first == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    monthly = next_run_after(SPEC, datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    assert monthly == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    assert describe_recurrence(SPEC) == "Le 1er de chaque mois à 07:00 (heure de Guadeloupe)"
    assert describe_recurrence(weekly) == "Chaque lundi à 07:00 (heure de Guadeloupe)"


@pytest.mark.parametrize(
    ("period", "due_day", "start", "end"),
    [
        ("previous_day", date(2026, 11, 1), date(2026, 10, 31), date(2026, 11, 1)),
        ("previous_week", date(2026, 11, 25), date(2026, 11, 16), date(2026, 11, 23)),
        ("previous_month", date(2026, 3, 1), date(2026, 2, 1), date(2026, 3, 1)),
        ("quarter_to_date", date(2026, 11, 25), date(2026, 10, 1), date(2026, 11, 25)),
        ("quarter_to_date", date(2026, 10, 1), date(2026, 7, 1), date(2026, 10, 1)),
        ("previous_year", date(2026, 1, 5), date(2025, 1, 1), date(2026, 1, 1)),
    ],
)
def test_period_covered_by_a_run(period: str, due_day: date, start: date, end: date) -> None:
    covered = schedule_period(period, due_day)
    assert (covered.start, covered.end) == (start, end)
