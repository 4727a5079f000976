"""One step of the scheduler: everything due at a given instant.

:func:`run_due` is what ``python scheduler.py --once`` runs, what the
long-running loop runs every 30 seconds, and what the tests call with frozen
times. It reads the schedules from the database each time, so a change made
in the dashboard applies at the next step without a restart.

A lost database connection aborts the step (:class:`ConnectionLost` is
raised to the loop, which stands by). Whatever the process had in hand then is resumed
at the start of its next step, before anything else (:mod:`reports.inhand`):
outcomes it could not write are written, runs it claimed are finished.
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
from data.errors import ConnectionLost, DashboardError, DatabaseUnavailable, NotFound
from data.owned import ReportRun, RunStatus
from data.settings import Settings
from reports.alerts import alert_owed
from reports.inhand import WorkInHand
from reports.lease import LeaseLost
from reports.mail import Transport, transport_from_settings
from reports.runs import (
    ACTIVE_RUN_STATUSES,
    LATE_AFTER,
    RUN_TIMEOUT,
    RunOutcome,
    ShouldStop,
    claim_run,
    deliver_run,
    execute_run,
    finish_run,
    interrupt_doubtful,
    process_retries,
    recover,
    worker_name,
)
from reports.schedules import ScheduleView, due_times, get_schedule, list_schedules

log = logging.getLogger(__name__)

MAX_LOOKBACK: Final = timedelta(days=400)  # older due times are not reconstructed
SCHEDULE_GONE: Final = (
    "La planification a été supprimée pendant la préparation de cet envoi : aucun envoi."
)


@dataclass(frozen=True)
class StepResult:
    """What one step did: runs resumed and started, their outcomes, retries, missed and
    recovered runs, owners told."""

    started: tuple[RunOutcome, ...] = ()
    retried: tuple[RunOutcome, ...] = ()
    missed: int = 0
    recovered: int = 0
    resumed: tuple[RunOutcome, ...] = ()
    alerted: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in self._outcomes() if o.status == status)

    def _outcomes(self) -> tuple[RunOutcome, ...]:
        return (*self.resumed, *self.started, *self.retried)

    @property
    def idle(self) -> bool:
        return not (self._outcomes() or self.missed or self.recovered or self.alerted)

    def summary(self) -> str:
        parts = [f"{len(self.started)} run(s) started", f"{len(self.retried)} retried"]
        if self.resumed:
            parts.append(f"{len(self.resumed)} resumed")
        parts += [f"{self.missed} missed", f"{self.recovered} recovered"]
        if self.alerted:
            parts.append(f"{self.alerted} owner alert(s)")
        statuses = sorted({o.status for o in self._outcomes()})
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


def _claim(
    engine: Engine, work: WorkInHand, schedule_id: int, due: datetime, now: datetime, late: bool
) -> int | None:
    """Claim a due run into ``work``; a claim whose commit is unknown is remembered."""
    try:
        run_id = claim_run(
            engine, schedule_id=schedule_id, due_at=due, trigger="scheduled", now=now, late=late
        )
    except DatabaseUnavailable:
        work.claims.add((schedule_id, due))  # it may have committed: the next step looks
        raise
    if run_id is not None:
        work.runs.add(run_id)
    return run_id


def _run_schedule(
    engine: Engine,
    settings: Settings,
    schedule: ScheduleView,
    after: datetime,
    now: datetime,
    transport: Transport,
    work: WorkInHand,
    should_stop: ShouldStop,
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
                status=RunStatus.missed,
                late=True,
                error=_missed_message(late_by, settings.REPORT_GRACE_HOURS),
            )
            missed += claimed is not None
            continue
        if should_stop():
            break
        run_id = _claim(engine, work, schedule.id, due, now, late_by > LATE_AFTER)
        if run_id is None:
            continue  # another worker has it
        outcomes.append(
            execute_run(
                engine,
                settings,
                run_id=run_id,
                schedule=schedule,
                due_at=due,
                now=now,
                transport=transport,
                work=work,
                should_stop=should_stop,
            )
        )
        work.runs.discard(run_id)
    return outcomes, missed


def _adopt_uncertain_claims(engine: Engine, work: WorkInHand) -> None:
    """Claims whose commit went unconfirmed: those that did commit are this process's runs."""
    for schedule_id, due in sorted(work.claims):
        with translate_errors(), engine.connect() as connection:
            run_id = connection.execute(
                select(ReportRun.id).where(
                    ReportRun.schedule_id == schedule_id,
                    ReportRun.due_at == due,
                    ReportRun.status == RunStatus.working,
                    ReportRun.claimed_by == worker_name(),
                )
            ).scalar_one_or_none()
        if run_id is not None:
            work.runs.add(run_id)
        work.claims.discard((schedule_id, due))


def _resume_run(
    engine: Engine,
    settings: Settings,
    run_id: int,
    now: datetime,
    transport: Transport,
    work: WorkInHand,
    should_stop: ShouldStop,
) -> RunOutcome | None:
    """Finish a run this process started before a database error; None if nothing is left."""
    with translate_errors(), engine.connect() as connection:
        run = connection.execute(
            select(
                ReportRun.status,
                ReportRun.schedule_id,
                ReportRun.due_at,
                ReportRun.attachments,
                ReportRun.claimed_at,
            ).where(ReportRun.id == run_id)
        ).first()
    if run is None or run.status not in ACTIVE_RUN_STATUSES:
        return None  # finished meanwhile (recovered by another scheduler, or by a person)
    if run.status == RunStatus.working and run.claimed_at < now - RUN_TIMEOUT:
        log.error(
            "run %s: still unfinished %s after its claim: left to recovery", run_id, RUN_TIMEOUT
        )
        return None  # recovery, right after, shows it interrupted and tells the owner
    log.info("run %s: resuming what a database error interrupted", run_id)
    if run.status == RunStatus.working and run.attachments is None:  # never got as far as its files
        try:
            schedule = get_schedule(engine, run.schedule_id)
        except NotFound:
            finish_run(engine, run_id, RunStatus.skipped, now, SCHEDULE_GONE)
            return RunOutcome(run_id, RunStatus.skipped, error=SCHEDULE_GONE)
        return execute_run(
            engine,
            settings,
            run_id=run_id,
            schedule=schedule,
            due_at=run.due_at,
            now=now,
            transport=transport,
            work=work,
            should_stop=should_stop,
        )
    if interrupt_doubtful(engine, run_id, now):
        log.warning("run %s: a hand-over of unknown outcome is marked interrupted", run_id)
    return deliver_run(
        engine,
        settings,
        run_id=run_id,
        now=now,
        transport=transport,
        work=work,
        should_stop=should_stop,
    )


def resume_work(
    engine: Engine,
    settings: Settings,
    work: WorkInHand,
    *,
    now: datetime,
    transport: Transport,
    should_stop: ShouldStop,
) -> list[RunOutcome]:
    """Write the outcomes kept, then finish every run in hand (raises while the database is gone)."""
    work.flush(engine)
    _adopt_uncertain_claims(engine, work)
    outcomes = []
    for run_id in sorted(work.runs):
        if should_stop():
            break
        try:
            outcome = _resume_run(engine, settings, run_id, now, transport, work, should_stop)
        except ConnectionLost:  # kept in hand; if the database is gone, the next call says so
            log.warning("run %s: could not be resumed yet", run_id)
            continue
        except LeaseLost:
            raise
        except Exception:  # never holds the step: left to recovery, which shows it interrupted
            log.exception("run %s: unexpected error while resuming it, left to recovery", run_id)
            outcome = None
        work.runs.discard(run_id)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def _pace(stop: threading.Event | None, heartbeat: Callable[[], bool] | None) -> Callable[[], bool]:
    """Asked between schedules and between recipients: True to stop now; the lease is
    renewed each time, and :class:`LeaseLost` raised when it could not be."""

    def should_stop() -> bool:
        if stop is not None and stop.is_set():
            return True
        if heartbeat is not None and not heartbeat():
            raise LeaseLost("the scheduler lease could not be renewed")
        return False

    return should_stop


def run_due(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    transport: Transport | None = None,
    stop: threading.Event | None = None,
    heartbeat: Callable[[], bool] | None = None,
    work: WorkInHand | None = None,
) -> StepResult:
    """Do everything due at ``now`` (aware): resume, recover, start due runs, record missed
    ones, retry, tell owners.

    ``stop`` is checked between schedules and between recipients: the
    hand-over in progress finishes, the recipients not yet served are marked
    interrupted. ``heartbeat`` (lease renewal) is called at the same points;
    when it returns False, :class:`LeaseLost` is raised and the work is left
    as it is. ``work`` is the caller's memory across steps (a live process);
    without it, a step that meets a database error leaves its run for
    recovery.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    chosen = transport or transport_from_settings(settings)
    work = work if work is not None else WorkInHand()
    should_stop = _pace(stop, heartbeat)
    resumed = resume_work(
        engine, settings, work, now=now, transport=chosen, should_stop=should_stop
    )
    recovered = recover(engine, settings, now=now, at_start=False)
    # Runs in hand are finished above: no claimed due time is a starting point before its
    # run is done, so "the next step retries" holds.
    anchors = last_scheduled_due(engine)
    started: list[RunOutcome] = []
    missed = 0
    for schedule in list_schedules(engine, include_paused=False):
        if should_stop():
            break
        after = max(
            schedule.active_since,
            anchors.get(schedule.id, schedule.active_since),
            now - MAX_LOOKBACK,
        )
        try:
            outcomes, missed_here = _run_schedule(
                engine, settings, schedule, after, now, chosen, work, should_stop
            )
        except (ConnectionLost, LeaseLost):
            raise  # the step cannot go on: the loop stands by, the next step resumes
        except DashboardError as exc:
            log.error("schedule %s: %s", schedule.id, exc)
            continue
        except Exception:  # one broken schedule must not hold back the others
            log.exception("schedule %s: unexpected error, the others go on", schedule.id)
            continue
        started += outcomes
        missed += missed_here
    retried = process_retries(
        engine, settings, now=now, transport=chosen, work=work, should_stop=should_stop
    )
    alerted = 0 if should_stop() else alert_owed(engine, settings, now=now, transport=chosen)
    return StepResult(tuple(started), tuple(retried), missed, recovered, tuple(resumed), alerted)
