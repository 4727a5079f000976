"""Deliver a run, recipient by recipient (``sending`` committed before each
hand-over, the outcome after it), retry temporary failures, and finish the run
with the status its deliveries give it.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select, update

from data.db import translate_errors
from data.errors import ConnectionLost, DashboardError, DatabaseUnavailable
from data.owned import DeliveryStatus, ReportDelivery, ReportRun, RunStatus
from data.periods import schedule_period
from data.settings import Settings
from reports.alerts import ALERTED_RUN_STATUSES, owner_alert
from reports.inhand import Outcome, WorkInHand, write_outcome
from reports.mail import (
    DeliveryError,
    DeliveryUncertain,
    Transport,
    build_message,
    run_reference,
    transport_from_settings,
)
from reports.runs.claim import finish_run, message_text, prepare_run, run_directory, stored_files
from reports.runs.states import (
    ACTIVE_RUN_STATUSES,
    BACKOFF,
    INTERRUPTED_PENDING,
    LATE_AFTER,
    LOST_DURING_HANDOVER,
    UNEXPECTED_DURING_HANDOVER,
    RunOutcome,
    ShouldStop,
)
from reports.schedules import ScheduleView

log = logging.getLogger(__name__)


def execute_run(
    engine: Engine,
    settings: Settings,
    *,
    run_id: int,
    schedule: ScheduleView,
    due_at: datetime,
    now: datetime,
    transport: Transport,
    work: WorkInHand | None = None,
    should_stop: ShouldStop | None = None,
) -> RunOutcome:
    """Build, render and deliver a claimed run. A failure of the report is recorded, never raised.

    With ``work`` (a live scheduler), a lost connection is not the report's
    failure: :class:`ConnectionLost` is raised, the run stays in hand and the
    next step resumes it. A statement the database rejects is.
    """
    try:
        period = schedule_period(
            schedule.period, due_at.astimezone(ZoneInfo(schedule.timezone)).date()
        )
        final = prepare_run(
            engine,
            settings,
            run_id=run_id,
            schedule=schedule,
            period=period,
            recipients=schedule.recipients,
            now=now,
            due_at=due_at,
        )
    except Exception as exc:
        if work is not None and isinstance(exc, ConnectionLost):
            raise  # not the report's fault: resumed once the database answers
        log.exception("run %s of schedule %s: build failed", run_id, schedule.id)
        reason = str(exc) if isinstance(exc, DashboardError) else f"{type(exc).__name__}: {exc}"
        error = f"Le rapport n'a pas pu être construit : {reason}"[:1000]
        finish_run(engine, run_id, RunStatus.failed, now, error)
        alert_owner(engine, settings, run_id=run_id, now=now, transport=transport)
        return RunOutcome(run_id, RunStatus.failed, error=error)
    if final is not None:
        return RunOutcome(run_id, final)
    return deliver_run(
        engine,
        settings,
        run_id=run_id,
        now=now,
        transport=transport,
        work=work,
        should_stop=should_stop,
    )


# --- Deliver -------------------------------------------------------------------------


def _mark(connection: Connection, delivery_id: int, **values: Any) -> int:
    return connection.execute(
        update(ReportDelivery).where(ReportDelivery.id == delivery_id).values(**values)
    ).rowcount


def is_late(trigger: str, due_at: datetime, now: datetime) -> bool:
    """Whether a hand-over at ``now`` is late for its run (scheduled runs only)."""
    return trigger == "scheduled" and now - due_at > LATE_AFTER


def attempt_delivery(
    engine: Engine,
    *,
    delivery: Any,
    message_for: Any,
    transport: Transport,
    now: datetime,
    late: bool = False,
    work: WorkInHand | None = None,
) -> str | None:
    """One send to one recipient, recorded before and after. None: someone else has it.

    ``late``: this hand-over is late; the late message leaves and the run is
    marked late in the same transaction that marks the recipient ``sending``.
    """
    try:
        message = message_for(delivery.recipient, late)
    except (OSError, ValueError, KeyError) as exc:
        with translate_errors(), engine.begin() as connection:
            _mark(
                connection,
                delivery.id,
                status=DeliveryStatus.failed,
                updated_at=now,
                last_error=f"Message impossible à préparer : {exc}"[:1000],
            )
        return DeliveryStatus.failed
    attempt = delivery.attempts + 1
    try:
        with translate_errors(), engine.begin() as connection:
            claimed = connection.execute(
                update(ReportDelivery)
                .where(
                    ReportDelivery.id == delivery.id,
                    ReportDelivery.status == delivery.status,
                    ReportDelivery.attempts == delivery.attempts,
                )
                .values(status=DeliveryStatus.sending, attempts=attempt, updated_at=now)
            ).rowcount
            if claimed == 1 and late:
                connection.execute(
                    update(ReportRun).where(ReportRun.id == delivery.run_id).values(late=True)
                )
    except DatabaseUnavailable:
        if work is not None:  # if the commit did happen: nothing was handed over, undo it
            undo = {"status": delivery.status, "attempts": delivery.attempts, "updated_at": now}
            work.keep(Outcome(delivery.id, attempt, delivery.recipient, undo))
        raise
    if claimed != 1:
        return None
    return _after_send(engine, delivery, attempt, message, transport, now, work)


def _outcome_of_send(
    delivery: Any, attempt: int, message: Any, transport: Transport, now: datetime
) -> dict[str, Any]:
    """Hand the message over; the columns that say what became of it (never raises)."""
    try:
        outcome = transport.send(message)
    except DeliveryError as exc:
        final = exc.permanent or attempt > len(BACKOFF)
        status = DeliveryStatus.failed if final else DeliveryStatus.retrying
        log.warning(
            "delivery %s to %s: %s (%s)", delivery.id, delivery.recipient, status, exc.message
        )
        return {
            "status": status,
            "next_attempt_at": None if final else now + BACKOFF[attempt - 1],
            "last_error": exc.message[:1000],
            "updated_at": now,
        }
    except DeliveryUncertain as exc:  # may have arrived: a person checks, never a blind retry
        log.warning(
            "delivery %s to %s: connection lost during the hand-over (%s): it may have arrived",
            delivery.id,
            delivery.recipient,
            exc.message,
        )
        return {
            "status": DeliveryStatus.interrupted,
            "last_error": f"{LOST_DURING_HANDOVER} ({exc.message})"[:1000],
            "updated_at": now,
        }
    except Exception as exc:
        log.exception("delivery %s: unexpected error while sending", delivery.id)
        return {
            "status": DeliveryStatus.interrupted,
            "last_error": UNEXPECTED_DURING_HANDOVER.format(error=type(exc).__name__)[:1000],
            "updated_at": now,
        }
    log.info("delivery %s to %s: %s", delivery.id, delivery.recipient, outcome)
    return {
        "status": DeliveryStatus.sent,
        "sent_at": now,
        "next_attempt_at": None,
        "last_error": None,
        "updated_at": now,
    }


def _after_send(
    engine: Engine,
    delivery: Any,
    attempt: int,
    message: Any,
    transport: Transport,
    now: datetime,
    work: WorkInHand | None,
) -> str:
    outcome = Outcome(
        delivery.id,
        attempt,
        delivery.recipient,
        _outcome_of_send(delivery, attempt, message, transport, now),
    )
    try:
        with translate_errors(), engine.begin() as connection:
            written = write_outcome(connection, outcome)
    except DatabaseUnavailable:
        if work is not None:  # the truth is known here only: kept until it can be written
            work.keep(outcome)
        raise
    if not written:
        log.warning(
            "delivery %s: changed meanwhile by another process; outcome %s not written",
            delivery.id,
            outcome.values["status"],
        )
    return str(outcome.values["status"])


def _legacy_message(settings: Settings, run_id: int) -> dict[str, Any]:
    """A run built before migration 0006 kept its message beside its files, on disk."""
    payload = json.loads((run_directory(settings, run_id) / "message.json").read_text("utf-8"))
    return dict(payload)


def _message_factory(engine: Engine, settings: Settings, run: Any) -> Any:
    payload = run.message if run.message is not None else _legacy_message(settings, run.id)
    contents = {late: message_text(payload, late=late) for late in (False, True)}
    records = [r for r in (run.attachments or []) if r.get("attached")]
    files = stored_files(engine, settings, run.id, records)
    attached = []
    for record in records:
        file = files.get(str(record["filename"]))
        if file is None:
            raise KeyError(f"fichier {record['filename']} introuvable")
        attached.append(file)
    reference = run_reference(run.schedule_id, run.due_at)

    def message_for(recipient: str, late: bool) -> Any:
        subject, body = contents[late]
        return build_message(
            sender=settings.SMTP_FROM,
            recipient=recipient,
            subject=subject,
            body=body,
            attachments=attached,
            run=reference,
        )

    return message_for


def _unavailable(reason: str) -> Any:
    def message_for(_recipient: str, _late: bool) -> Any:
        raise OSError(reason)

    return message_for


def _stop_before_sending(engine: Engine, run_id: int, now: datetime) -> int:
    """Asked to stop: the recipients not yet handed over are interrupted, never sent."""
    with translate_errors(), engine.begin() as connection:
        stopped = connection.execute(
            update(ReportDelivery)
            .where(ReportDelivery.run_id == run_id, ReportDelivery.status == DeliveryStatus.pending)
            .values(
                status=DeliveryStatus.interrupted, last_error=INTERRUPTED_PENDING, updated_at=now
            )
        ).rowcount
    log.warning("run %s: stop asked, %d recipient(s) left unsent (interrupted)", run_id, stopped)
    return int(stopped)


def deliver_run(
    engine: Engine,
    settings: Settings,
    *,
    run_id: int,
    now: datetime,
    transport: Transport,
    work: WorkInHand | None = None,
    should_stop: ShouldStop | None = None,
) -> RunOutcome:
    """Send to every recipient of the run that is pending, or due for a retry.

    ``should_stop`` is asked before each recipient: when it says so, the
    recipients still pending are marked interrupted and the run finishes
    (its owner is told by the next step, not during the stop).
    """
    with translate_errors(), engine.connect() as connection:
        run = connection.execute(select(ReportRun.__table__).where(ReportRun.id == run_id)).one()
        due = connection.execute(
            select(
                ReportDelivery.id,
                ReportDelivery.run_id,
                ReportDelivery.recipient,
                ReportDelivery.status,
                ReportDelivery.attempts,
            )
            .where(ReportDelivery.run_id == run_id)
            .where(
                (ReportDelivery.status == DeliveryStatus.pending)
                | (
                    (ReportDelivery.status == DeliveryStatus.retrying)
                    & (ReportDelivery.next_attempt_at <= now)
                )
            )
            .order_by(ReportDelivery.id)
        ).all()
    try:
        message_for = _message_factory(engine, settings, run)
    except (OSError, ValueError, KeyError) as exc:
        log.error("run %s: stored message unreadable: %s", run_id, exc)
        message_for = _unavailable(f"fichiers du rapport introuvables ({exc})")
    late = is_late(run.trigger, run.due_at, now)
    stopped = False
    for delivery in due:
        if should_stop is not None and should_stop():
            _stop_before_sending(engine, run_id, now)
            stopped = True
            break
        attempt_delivery(
            engine,
            delivery=delivery,
            message_for=message_for,
            transport=transport,
            now=now,
            late=late,
            work=work,
        )
    return finalize_run(
        engine, settings, run_id=run_id, now=now, transport=transport, alert=not stopped
    )


# --- Finish ----------------------------------------------------------------------------


def _delivery_counts(connection: Connection, run_id: int) -> dict[str, int]:
    rows = connection.execute(
        select(ReportDelivery.status, func.count())
        .where(ReportDelivery.run_id == run_id)
        .group_by(ReportDelivery.status)
    ).all()
    return {status: int(count) for status, count in rows}


def _final_status(counts: dict[str, int], late: bool) -> tuple[str | None, str | None]:
    if counts.get(DeliveryStatus.pending) or counts.get(DeliveryStatus.sending):
        return None, None
    if counts.get(DeliveryStatus.retrying):
        return (
            RunStatus.retrying,
            f"{counts['retrying']} destinataire(s) en attente d'un nouvel essai.",
        )
    if counts.get(DeliveryStatus.failed):
        return RunStatus.failed, f"{counts['failed']} destinataire(s) en échec."
    if counts.get(DeliveryStatus.interrupted):
        return RunStatus.interrupted, f"{counts['interrupted']} envoi(s) interrompu(s)."
    if not counts:
        return RunStatus.failed, "Aucun destinataire."
    return (RunStatus.sent_late if late else RunStatus.sent), None


def finalize_run(
    engine: Engine,
    settings: Settings,
    *,
    run_id: int,
    now: datetime,
    transport: Transport | None = None,
    alert: bool = True,
) -> RunOutcome:
    """Set the run's status from its recipients'; tell the owner once if it failed or was
    interrupted (``alert=False``: leave that to the next step's sweep of owed alerts)."""
    with translate_errors(), engine.begin() as connection:
        counts = _delivery_counts(connection, run_id)
        run = connection.execute(
            select(ReportRun.status, ReportRun.late).where(ReportRun.id == run_id)
        ).one()
        status, error = _final_status(counts, bool(run.late))
        changed = False
        if status is not None and run.status in ACTIVE_RUN_STATUSES:
            finished = None if status in ACTIVE_RUN_STATUSES else now
            changed = (
                connection.execute(
                    update(ReportRun)
                    .where(ReportRun.id == run_id, ReportRun.status.in_(ACTIVE_RUN_STATUSES))
                    .values(status=status, finished_at=finished, error=error)
                ).rowcount
                == 1
            )
    if alert and changed and status in ALERTED_RUN_STATUSES:
        alert_owner(engine, settings, run_id=run_id, now=now, transport=transport)
    return RunOutcome(
        run_id,
        status or run.status,
        sent=counts.get(DeliveryStatus.sent, 0),
        failed=counts.get(DeliveryStatus.failed, 0),
        retrying=counts.get(DeliveryStatus.retrying, 0),
        interrupted=counts.get(DeliveryStatus.interrupted, 0),
        error=error,
    )


def process_retries(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    transport: Transport,
    work: WorkInHand | None = None,
    should_stop: ShouldStop | None = None,
) -> list[RunOutcome]:
    """Retry every delivery whose backoff has elapsed; finish a retrying run left with none.

    (A run is left ``retrying`` with nothing to retry when the database went
    away between its last outcome and its final status.)
    """
    open_statuses = (DeliveryStatus.pending, DeliveryStatus.sending, DeliveryStatus.retrying)
    with translate_errors(), engine.connect() as connection:
        due = select(ReportDelivery.run_id).where(
            ReportDelivery.status == DeliveryStatus.retrying, ReportDelivery.next_attempt_at <= now
        )
        unfinished = select(ReportRun.id).where(
            ReportRun.status == RunStatus.retrying,
            ~select(ReportDelivery.id)
            .where(
                ReportDelivery.run_id == ReportRun.id,
                ReportDelivery.status.in_(open_statuses),
            )
            .exists(),
        )
        run_ids = sorted(
            set(connection.execute(due).scalars()) | set(connection.execute(unfinished).scalars())
        )
    outcomes = []
    for run_id in run_ids:
        if should_stop is not None and should_stop():
            break  # the retries left keep their time: the next start picks them up
        if work is not None:
            work.runs.add(run_id)
        outcomes.append(
            deliver_run(
                engine,
                settings,
                run_id=run_id,
                now=now,
                transport=transport,
                work=work,
                should_stop=should_stop,
            )
        )
        if work is not None:
            work.runs.discard(run_id)
    return outcomes


# --- Owner alert -----------------------------------------------------------------------------


def alert_owner(
    engine: Engine,
    settings: Settings,
    *,
    run_id: int,
    now: datetime,
    transport: Transport | None = None,
) -> bool:
    """Tell the schedule's owner, once per run, that it failed. True when sent."""
    return owner_alert(
        engine,
        settings,
        run_id=run_id,
        now=now,
        transport=transport or transport_from_settings(settings),
    )
