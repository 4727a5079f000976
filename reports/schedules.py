"""Report schedules: validation, one write function per action, next run times.

Every write takes the acting user, checks the ``schedules.write`` capability,
and commits the change and its audit row in one transaction. Run times come
from APScheduler's ``CronTrigger`` in the schedule's own time zone (3.11.3+
handles the daylight-saving changes), so 07:00 Europe/Paris is 07:00 in Paris
in winter and in summer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Connection, Engine, insert, select, update

from data import audit
from data.acting import acting_account
from data.conflicts import gone_meanwhile
from data.db import translate_errors
from data.errors import Conflict, InvalidInput, NotFound
from data.labels import timezone_clause
from data.models import Formation
from data.owned import ReportSchedule
from data.periods import SCHEDULE_PERIODS
from data.permissions import Actor, require
from data.settings import get_settings
from reports.mail import recipient_allowed
from reports.model import REPORT_KINDS

CAPABILITY: Final = "schedules.write"
ENTITY: Final = "dashboard_report_schedules"
# The fields that decide the due times: changing one restarts what is owed.
RECURRENCE_FIELDS: Final = frozenset(
    {"frequency", "weekday", "monthday", "time_of_day", "timezone"}
)
FORMATS: Final[tuple[str, ...]] = ("pdf", "xlsx")
FREQUENCIES: Final[tuple[str, ...]] = ("daily", "weekly", "monthly")
FREQUENCY_LABELS: Final[dict[str, str]] = {
    "daily": "Tous les jours",
    "weekly": "Chaque semaine",
    "monthly": "Chaque mois",
}
WEEKDAY_LABELS: Final[tuple[str, ...]] = (
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
)
_CRON_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_MONTHDAY: Final = 28  # every month has it: no silently skipped month
MAX_RECIPIENTS: Final = 50
MAX_NAME: Final = 120
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


@dataclass(frozen=True)
class ScheduleInput:
    """What a person fills in to create or edit a schedule (validated on write)."""

    name: str
    kind: str
    formats: tuple[str, ...]
    frequency: str
    time_of_day: str
    timezone: str
    period: str
    recipients: tuple[str, ...]
    weekday: int | None = None
    monthday: int | None = None
    formation_slug: str | None = None
    only_if_content: bool = False


@dataclass(frozen=True)
class ScheduleView:
    """A stored schedule, as read back (never a live ORM object)."""

    id: int
    name: str
    kind: str
    formats: tuple[str, ...]
    frequency: str
    time_of_day: str
    timezone: str
    period: str
    recipients: tuple[str, ...]
    weekday: int | None
    monthday: int | None
    formation_slug: str | None
    only_if_content: bool
    paused: bool
    owner_id: int | None
    created_at: datetime
    updated_at: datetime
    active_since: datetime  # due times before it are not owed (see ReportSchedule)

    def spec(self) -> ScheduleInput:
        fields = {name: getattr(self, name) for name in ScheduleInput.__dataclass_fields__}
        return ScheduleInput(**fields)


# --- Validation --------------------------------------------------------------------


def split_recipients(text: str) -> tuple[str, ...]:
    """Addresses typed in one field, separated by commas, semicolons or spaces."""
    return tuple(part for part in re.split(r"[,;\s]+", text) if part)


def valid_email(address: str) -> bool:
    return bool(_EMAIL.fullmatch(address))


def _clean_recipients(recipients: Iterable[str]) -> tuple[str, ...]:
    domains = get_settings().recipient_domains
    cleaned: list[str] = []
    for raw in recipients:
        address = raw.strip()
        if not valid_email(address):
            raise InvalidInput(f"Adresse e-mail invalide : « {address[:80]} ».")
        if not recipient_allowed(address, domains):
            raise InvalidInput(
                f"Adresse refusée : « {address[:80]} ». Les rapports contiennent le chiffre "
                "d'affaires et des noms de candidats : ils ne partent que vers "
                + ", ".join(f"@{domain}" for domain in domains)
                + " (réglage REPORT_RECIPIENT_DOMAINS)."
            )
        if address.lower() not in (known.lower() for known in cleaned):
            cleaned.append(address)
    if not cleaned:
        raise InvalidInput("Indiquez au moins un destinataire.")
    if len(cleaned) > MAX_RECIPIENTS:
        raise InvalidInput(f"{MAX_RECIPIENTS} destinataires au plus par planification.")
    return tuple(cleaned)


def _check_timing(spec: ScheduleInput) -> ScheduleInput:
    if spec.frequency not in FREQUENCIES:
        raise InvalidInput("Récurrence inconnue (quotidienne, hebdomadaire ou mensuelle).")
    if not _TIME.fullmatch(spec.time_of_day.strip()):
        raise InvalidInput("Heure invalide : attendu HH:MM, par exemple 07:00.")
    weekday = spec.weekday if spec.frequency == "weekly" else None
    monthday = spec.monthday if spec.frequency == "monthly" else None
    if spec.frequency == "weekly" and (weekday is None or not 0 <= weekday <= 6):
        raise InvalidInput("Choisissez le jour de la semaine de l'envoi.")
    if spec.frequency == "monthly" and (monthday is None or not 1 <= monthday <= MAX_MONTHDAY):
        raise InvalidInput(
            f"Choisissez un jour du mois entre 1 et {MAX_MONTHDAY} "
            "(tous les mois n'ont pas de 29, 30 ou 31)."
        )
    try:
        if spec.timezone not in available_timezones():
            raise ZoneInfoNotFoundError(spec.timezone)
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Fuseau horaire inconnu : « {spec.timezone[:60]} ».") from None
    return replace(spec, time_of_day=spec.time_of_day.strip(), weekday=weekday, monthday=monthday)


def validate_schedule(spec: ScheduleInput) -> ScheduleInput:
    """The input checked and normalised; :class:`InvalidInput` (French) otherwise."""
    name = " ".join(spec.name.split())
    if not name:
        raise InvalidInput("Donnez un nom à la planification.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Nom trop long ({MAX_NAME} caractères au plus).")
    if spec.kind not in REPORT_KINDS:
        raise InvalidInput("Type de rapport inconnu.")
    formats = tuple(f for f in FORMATS if f in set(spec.formats))
    if not formats or set(spec.formats) - set(FORMATS):
        raise InvalidInput("Choisissez au moins un format : PDF et/ou Excel.")
    if spec.period not in SCHEDULE_PERIODS:
        raise InvalidInput("Période couverte inconnue.")
    slug = (spec.formation_slug or "").strip() or None
    spec = replace(
        spec,
        name=name,
        formats=formats,
        formation_slug=slug,
        recipients=_clean_recipients(spec.recipients),
        only_if_content=bool(spec.only_if_content),
    )
    return _check_timing(spec)


def _check_formation(connection: Connection, slug: str | None) -> None:
    if slug is None:
        return
    found = connection.execute(select(Formation.id).where(Formation.slug == slug)).first()
    if found is None:
        raise InvalidInput(f"Formation inconnue : « {slug[:60]} ».")


# --- Run times -----------------------------------------------------------------------


def cron_trigger(spec: ScheduleInput | ScheduleView) -> CronTrigger:
    """The APScheduler trigger of a schedule, in its own time zone."""
    hour, minute = (int(part) for part in spec.time_of_day.split(":"))
    zone = ZoneInfo(spec.timezone)
    if spec.frequency == "weekly":
        day = _CRON_DAYS[spec.weekday or 0]
        return CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=zone)
    if spec.frequency == "monthly":
        return CronTrigger(day=spec.monthday, hour=hour, minute=minute, timezone=zone)
    return CronTrigger(hour=hour, minute=minute, timezone=zone)


def next_run_after(spec: ScheduleInput | ScheduleView, after: datetime) -> datetime:
    """The first run time strictly after ``after``, in UTC."""
    fire = cron_trigger(spec).get_next_fire_time(None, after + timedelta(microseconds=1))
    assert fire is not None  # no end date: a cron trigger always fires again
    return fire.astimezone(UTC)


def due_times(
    spec: ScheduleInput | ScheduleView, after: datetime, until: datetime, *, limit: int = 1000
) -> list[datetime]:
    """Run times in ``(after, until]``, oldest first, in UTC (at most ``limit``)."""
    times: list[datetime] = []
    fire = next_run_after(spec, after)
    while fire <= until and len(times) < limit:
        times.append(fire)
        fire = next_run_after(spec, fire)
    return times


def next_run_at(schedule: ScheduleView, now: datetime) -> datetime | None:
    """When the schedule sends next (None while paused)."""
    return None if schedule.paused else next_run_after(schedule, now)


# --- Reads ---------------------------------------------------------------------------


def _view(row: Any) -> ScheduleView:
    return ScheduleView(
        id=row.id,
        name=row.name,
        kind=row.kind,
        formats=tuple(row.formats or ()),
        frequency=row.frequency,
        time_of_day=row.time_of_day,
        timezone=row.timezone,
        period=row.period,
        recipients=tuple(row.recipients or ()),
        weekday=row.weekday,
        monthday=row.monthday,
        formation_slug=row.formation_slug,
        only_if_content=bool(row.only_if_content),
        paused=bool(row.paused),
        owner_id=row.owner_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        active_since=row.active_since or row.created_at,
    )


def _live() -> Any:
    return select(ReportSchedule.__table__).where(ReportSchedule.deleted_at.is_(None))


def list_schedules(engine: Engine, *, include_paused: bool = True) -> tuple[ScheduleView, ...]:
    """Every schedule not deleted, by name."""
    statement = _live().order_by(ReportSchedule.name, ReportSchedule.id)
    if not include_paused:
        statement = statement.where(ReportSchedule.paused.is_(False))
    with translate_errors(), engine.connect() as connection:
        return tuple(_view(row) for row in connection.execute(statement))


def get_schedule(engine: Engine, schedule_id: int) -> ScheduleView:
    with translate_errors(), engine.connect() as connection:
        return _load(connection, schedule_id)


def _load(connection: Connection, schedule_id: int) -> ScheduleView:
    row = connection.execute(_live().where(ReportSchedule.id == schedule_id)).first()
    if row is None:
        raise NotFound("Cette planification n'existe pas ou a été supprimée.")
    return _view(row)


# --- Writes --------------------------------------------------------------------------


def _stored(spec: ScheduleInput) -> dict[str, Any]:
    values = asdict(spec)
    values["formats"] = list(spec.formats)
    values["recipients"] = list(spec.recipients)
    return values


def create_schedule(
    engine: Engine, *, actor: Actor, spec: ScheduleInput, now: datetime | None = None
) -> ScheduleView:
    """Create a schedule owned by ``actor`` (who is told if its sending fails)."""
    require(actor, CAPABILITY)
    at = now or datetime.now(UTC)
    clean = validate_schedule(spec)
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, CAPABILITY)
        _check_formation(connection, clean.formation_slug)
        schedule_id = connection.execute(
            insert(ReportSchedule)
            .values(
                **_stored(clean),
                paused=False,
                owner_id=actor.id,
                created_at=at,
                updated_at=at,
                active_since=at,
            )
            .returning(ReportSchedule.id)
        ).scalar_one()
        audit.record(
            connection,
            actor=actor,
            action="report_schedule.create",
            entity=ENTITY,
            entity_id=schedule_id,
            details=_stored(clean),
            at=at,
        )
        return _load(connection, schedule_id)


def _guarded_update(
    connection: Connection, schedule_id: int, expected: datetime | None, values: dict[str, Any]
) -> None:
    statement = update(ReportSchedule).where(
        ReportSchedule.id == schedule_id, ReportSchedule.deleted_at.is_(None)
    )
    if expected is not None:
        statement = statement.where(ReportSchedule.updated_at == expected)
    if connection.execute(statement.values(**values)).rowcount != 1:
        _load(connection, schedule_id)  # NotFound when it is gone
        raise gone_meanwhile("Cette planification a été modifiée entre-temps")


def update_schedule(
    engine: Engine,
    *,
    actor: Actor,
    schedule_id: int,
    spec: ScheduleInput,
    expected_updated_at: datetime | None = None,
    now: datetime | None = None,
) -> ScheduleView:
    """Replace a schedule's settings; the scheduler applies them at its next tick."""
    require(actor, CAPABILITY)
    at = now or datetime.now(UTC)
    clean = validate_schedule(spec)
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, CAPABILITY)
        before = _load(connection, schedule_id)
        _check_formation(connection, clean.formation_slug)
        old, new = _stored(before.spec()), _stored(clean)
        changes = {key: [old[key], new[key]] for key in new if old[key] != new[key]}
        values: dict[str, Any] = {**new, "updated_at": at}
        if RECURRENCE_FIELDS & changes.keys():
            values["active_since"] = at  # the old recurrence's due times are not owed
        _guarded_update(connection, schedule_id, expected_updated_at, values)
        audit.record(
            connection,
            actor=actor,
            action="report_schedule.update",
            entity=ENTITY,
            entity_id=schedule_id,
            details=changes,
            at=at,
        )
        return _load(connection, schedule_id)


def _set_paused(
    engine: Engine, actor: Actor, schedule_id: int, paused: bool, at: datetime
) -> ScheduleView:
    require(actor, CAPABILITY)
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, CAPABILITY)
        before = _load(connection, schedule_id)
        if before.paused == paused:
            raise Conflict("Cette planification est déjà " + ("en pause." if paused else "active."))
        values: dict[str, Any] = {"paused": paused, "updated_at": at}
        if not paused:
            values["active_since"] = at  # nothing is owed for the time it was paused
        _guarded_update(connection, schedule_id, before.updated_at, values)
        audit.record(
            connection,
            actor=actor,
            entity=ENTITY,
            entity_id=schedule_id,
            at=at,
            action="report_schedule.pause" if paused else "report_schedule.resume",
            details={"paused": [not paused, paused]},
        )
        return _load(connection, schedule_id)


def pause_schedule(
    engine: Engine, *, actor: Actor, schedule_id: int, now: datetime | None = None
) -> ScheduleView:
    """Stop sending until resumed (runs due meanwhile are not owed afterwards)."""
    return _set_paused(engine, actor, schedule_id, True, now or datetime.now(UTC))


def resume_schedule(
    engine: Engine, *, actor: Actor, schedule_id: int, now: datetime | None = None
) -> ScheduleView:
    """Send again from the next run time after now."""
    return _set_paused(engine, actor, schedule_id, False, now or datetime.now(UTC))


def delete_schedule(
    engine: Engine, *, actor: Actor, schedule_id: int, now: datetime | None = None
) -> ScheduleView:
    """Delete a schedule (kept hidden with its history, never sent again)."""
    require(actor, CAPABILITY)
    at = now or datetime.now(UTC)
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, CAPABILITY)
        before = _load(connection, schedule_id)
        _guarded_update(connection, schedule_id, None, {"deleted_at": at, "updated_at": at})
        audit.record(
            connection,
            actor=actor,
            action="report_schedule.delete",
            entity=ENTITY,
            entity_id=schedule_id,
            details={"name": before.name},
            at=at,
        )
    return before


def describe_recurrence(spec: ScheduleInput | ScheduleView) -> str:
    """``Chaque lundi à 07:00 (heure de Guadeloupe)``."""
    at = f"à {spec.time_of_day} ({timezone_clause(spec.timezone)})"
    if spec.frequency == "weekly" and spec.weekday is not None:
        return f"Chaque {WEEKDAY_LABELS[spec.weekday]} {at}"
    if spec.frequency == "monthly":
        day = "1er" if spec.monthday == 1 else str(spec.monthday)
        return f"Le {day} de chaque mois {at}"
    return f"Tous les jours {at}"
