"""One step of the scheduler: everything due at a given instant.

:func:`run_due` is what ``python scheduler.py --once`` runs, what the
long-running loop runs every 30 seconds, and what the tests call with frozen
times. It reads the schedules from the database each time, so a change made
in the dashboard applies at the next step without a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine, func, select

from data import formatting
from data.db import translate_errors
from data.errors import DashboardError
from data.owned import ReportRun
from data.settings import Settings
from reports.mail import Transport, transport_from_settings
from reports.runs import (
    LATE_AFTER,
    RunOutcome,
    claim_run,
    execute_run,
    process_retries,
    recover,
)
from reports.schedules import ScheduleView, due_times, list_schedules

log = logging.getLogger(__name__)

MAX_LOOKBACK: Final = timedelta(days=400)  # older due times are not reconstructed


@dataclass(frozen=True)
class StepResult:
    """What one step did: runs started, their outcomes, retries, missed and recovered runs."""

    started: tuple[RunOutcome, ...] = ()
    retried: tuple[RunOutcome, ...] = ()
    missed: int = 0
    recovered: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in (*self.started, *self.retried) if o.status == status)

    @property
    def idle(self) -> bool:
        return not (self.started or self.retried or self.missed or self.recovered)

    def summary(self) -> str:
        parts = [f"{len(self.started)} run(s) started", f"{len(self.retried)} retried"]
        parts += [f"{self.missed} missed", f"{self.recovered} recovered"]
        statuses = sorted({o.status for o in (*self.started, *self.retried)})
        parts += [f"{status}={self.count(status)}" for status in statuses]
        return ", ".join(parts)


def last_scheduled_due(engine: Engine) -> dict[int, datetime]:
    """The latest scheduled due time already recorded, per schedule."""
    statement = (
        select(ReportRun.schedule_id, func.max(ReportRun.due_at))
        .where(ReportRun.trigger == "scheduled")
        .group_by(ReportRun.schedule_id)
    )
    with translate_errors(), engine.connect() as connection:
        return {sid: due for sid, due in connection.execute(statement).all() if due is not None}


def _missed_message(late_by: timedelta, grace_hours: float) -> str:
    hours = late_by.total_seconds() / 3600
    return (
        "Non envoyé : le service d'envoi était arrêté à l'heure prévue "
        f"(retard de {formatting.hours(hours)}, au-delà de la tolérance de "
        f"{formatting.hours(grace_hours)})."
    )


def _run_schedule(
    engine: Engine,
    settings: Settings,
    schedule: ScheduleView,
    after: datetime,
    now: datetime,
    transport: Transport,
) -> tuple[list[RunOutcome], int]:
    grace = timedelta(hours=settings.REPORT_GRACE_HOURS)
    outcomes: list[RunOutcome] = []
    missed = 0
    for due in due_times(schedule, after, now):
        late_by = now - due
        if late_by > grace:
            claimed = claim_run(
                engine,
                schedule_id=schedule.id,
                due_at=due,
                trigger="scheduled",
                now=now,
                status="missed",
                late=True,
                error=_missed_message(late_by, settings.REPORT_GRACE_HOURS),
            )
            missed += claimed is not None
            continue
        late = late_by > LATE_AFTER
        run_id = claim_run(
            engine, schedule_id=schedule.id, due_at=due, trigger="scheduled", now=now, late=late
        )
        if run_id is None:
            continue  # another worker has it
        outcomes.append(
            execute_run(
                engine,
                settings,
                run_id=run_id,
                schedule=schedule,
                due_at=due,
                late=late,
                now=now,
                transport=transport,
            )
        )
    return outcomes, missed


def run_due(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    transport: Transport | None = None,
    stop: threading.Event | None = None,
    heartbeat: Callable[[], object] | None = None,
) -> StepResult:
    """Do everything due at ``now`` (aware): recover, start due runs, record missed ones, retry.

    ``stop`` is checked between schedules (a run in progress always
    finishes); ``heartbeat`` is called between schedules (lease renewal).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    chosen = transport or transport_from_settings(settings)
    recovered = recover(engine, settings, now=now, at_start=False)
    anchors = last_scheduled_due(engine)
    started: list[RunOutcome] = []
    missed = 0
    for schedule in list_schedules(engine, include_paused=False):
        if stop is not None and stop.is_set():
            break
        after = max(
            schedule.active_since,
            anchors.get(schedule.id, schedule.active_since),
            now - MAX_LOOKBACK,
        )
        try:
            outcomes, missed_here = _run_schedule(engine, settings, schedule, after, now, chosen)
        except DashboardError as exc:  # the database went away mid-step: next tick retries
            log.error("schedule %s: %s", schedule.id, exc)
            continue
        except Exception:  # one broken schedule must not hold back the others
            log.exception("schedule %s: unexpected error, the others go on", schedule.id)
            continue
        started += outcomes
        missed += missed_here
        if heartbeat is not None:
            heartbeat()
    retried = process_retries(engine, settings, now=now, transport=chosen)
    return StepResult(tuple(started), tuple(retried), missed, recovered)
