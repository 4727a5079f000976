"""What a person triggers from the "Rapports" page: "envoyer maintenant" and
"renvoyer aux destinataires en échec".

Both use the run machinery of :mod:`reports.runs` (claim, record before and
after each send) and write an audit row with the acting user. A resend
reopens a failed, interrupted or missed run under a conditional UPDATE (two
people clicking at once: one wins) and targets only recipients that were never
accepted; those already served are never sent to again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, select, update

from data import audit
from data.acting import acting_account
from data.db import translate_errors
from data.errors import Conflict, NotFound
from data.owned import (
    RESENDABLE_DELIVERY_STATUSES,
    RESENDABLE_RUN_STATUSES,
    DeliveryStatus,
    ReportDelivery,
    ReportRun,
    RunStatus,
)
from data.permissions import Actor, require
from data.settings import Settings
from reports.alerts import RUN_ENTITY
from reports.mail import Transport, transport_from_settings
from reports.runs import (
    RunOutcome,
    claim_run,
    deliver_run,
    execute_run,
    worker_name,
)
from reports.schedules import CAPABILITY, get_schedule


def manual_due_at(now: datetime) -> datetime:
    """A manual run's key: now, never exactly on a whole second (scheduled runs are)."""
    return now if now.microsecond else now + timedelta(microseconds=1)


def send_now(
    engine: Engine,
    settings: Settings,
    *,
    actor: Actor,
    schedule_id: int,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> RunOutcome:
    """Envoyer maintenant: a manual run of the schedule, built and sent at once."""
    require(actor, CAPABILITY)
    at = now or datetime.now(UTC)
    schedule = get_schedule(engine, schedule_id)
    due_at = manual_due_at(at)
    run_id = claim_run(
        engine, schedule_id=schedule_id, due_at=due_at, trigger="manual", now=at, actor=actor
    )
    if run_id is None:
        raise Conflict("Un envoi de ce rapport vient d'être lancé : patientez un instant.")
    return execute_run(
        engine,
        settings,
        run_id=run_id,
        schedule=schedule,
        due_at=due_at,
        now=at,
        transport=transport or transport_from_settings(settings),
    )


def _reopen_for_resend(connection: Connection, run_id: int, now: datetime) -> list[str]:
    reopened = connection.execute(
        update(ReportRun)
        .where(ReportRun.id == run_id, ReportRun.status.in_(RESENDABLE_RUN_STATUSES))
        .values(
            status=RunStatus.working, claimed_by=worker_name(), claimed_at=now, finished_at=None
        )
    ).rowcount
    if reopened != 1:
        if connection.execute(select(ReportRun.id).where(ReportRun.id == run_id)).first() is None:
            raise NotFound("Cet envoi n'existe pas.")
        raise Conflict("Rien à renvoyer : cet envoi n'est pas en échec, ou un renvoi est en cours.")
    targets = (
        connection.execute(
            select(ReportDelivery.recipient).where(
                ReportDelivery.run_id == run_id,
                ReportDelivery.status.in_(RESENDABLE_DELIVERY_STATUSES),
            )
        )
        .scalars()
        .all()
    )
    connection.execute(
        update(ReportDelivery)
        .where(
            ReportDelivery.run_id == run_id,
            ReportDelivery.status.in_(RESENDABLE_DELIVERY_STATUSES),
        )
        .values(status=DeliveryStatus.pending, attempts=0, next_attempt_at=None, updated_at=now)
    )
    return list(targets)


def resend_failed(
    engine: Engine,
    settings: Settings,
    *,
    actor: Actor,
    run_id: int,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> RunOutcome:
    """Renvoyer aux destinataires en échec: only those failed or interrupted.

    A run that never got as far as its files (build failure, interruption,
    missed) is built now for its own period and sent to the schedule's
    recipients; recipients already served are never sent to again.
    """
    require(actor, CAPABILITY)
    at = now or datetime.now(UTC)
    with translate_errors(), engine.connect() as connection:
        run = connection.execute(select(ReportRun.__table__).where(ReportRun.id == run_id)).first()
    if run is None:
        raise NotFound("Cet envoi n'existe pas.")
    # A run without files is built again: its schedule must still exist (checked before writing).
    schedule = get_schedule(engine, run.schedule_id) if run.attachments is None else None
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, CAPABILITY)
        targets = _reopen_for_resend(connection, run_id, at)
        audit.record(
            connection,
            actor=actor,
            action="report_run.resend",
            entity=RUN_ENTITY,
            entity_id=run_id,
            details={"recipients": targets or list(schedule.recipients if schedule else ())},
            at=at,
        )
    chosen = transport or transport_from_settings(settings)
    if schedule is not None:
        return execute_run(
            engine,
            settings,
            run_id=run_id,
            schedule=schedule,
            due_at=run.due_at,
            now=at,
            transport=chosen,
        )
    return deliver_run(engine, settings, run_id=run_id, now=at, transport=chosen)
