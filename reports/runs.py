"""One run of a report schedule: claim, build, deliver, retry, finish.

The guarantees, in the order things happen:

1. **Claim.** A run is an INSERT into ``dashboard_report_runs`` under the
   unique key ``(schedule_id, due_at)``, committed on its own before anything
   is built or sent. Whoever does not get the row does nothing: a restart or a
   second scheduler can never send the same run twice.
2. **Before and after each send.** Each recipient has a delivery row. It is
   set to ``sending`` (committed) *before* the SMTP call and to ``sent``,
   ``retrying`` or ``failed`` after it. A delivery found in ``sending`` later
   means the process died in between: it becomes ``interrupted``, shown for a
   person to check and resend, and is never resent automatically.
3. **Retries.** A temporary SMTP failure is retried after 1, 5 and 15
   minutes, then the recipient is ``failed``; a permanent one (address
   refused) fails at once. A resend targets only failed or interrupted
   recipients, never one already served.
4. **Every run ends visible**: ``sent``, ``sent_late``, ``failed``,
   ``interrupted``, ``missed`` or ``skipped`` (nothing to report); a run left
   ``working`` past :data:`RUN_TIMEOUT` becomes ``interrupted``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from data import audit
from data.db import translate_errors
from data.errors import DashboardError
from data.owned import ReportDelivery, ReportRun
from data.periods import Period
from data.permissions import Actor
from data.settings import Settings
from reports.alerts import RUN_ENTITY, owner_alert
from reports.builders import build_report
from reports.mail import (
    DeliveryError,
    DeliveryUncertain,
    MailContent,
    ReportFile,
    Transport,
    build_message,
    compose_report_email,
    transport_from_settings,
)
from reports.periods import schedule_period
from reports.render import render_files
from reports.schedules import ScheduleView

log = logging.getLogger(__name__)

BACKOFF: Final[tuple[timedelta, ...]] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
)
LATE_AFTER: Final = timedelta(minutes=5)  # later than this after its due time: "sent late"
RUN_TIMEOUT: Final = timedelta(minutes=30)
SENDING_TIMEOUT: Final = timedelta(minutes=10)

RUN_STATUS_LABELS: Final[dict[str, str]] = {
    "working": "En cours",
    "retrying": "Nouvel essai prévu",
    "sent": "Envoyé",
    "sent_late": "Envoyé en retard",
    "failed": "Échec",
    "interrupted": "Interrompu",
    "missed": "Manqué",
    "skipped": "Rien à signaler",
}
DELIVERY_STATUS_LABELS: Final[dict[str, str]] = {
    "pending": "En attente",
    "sending": "Envoi en cours",
    "sent": "Envoyé",
    "retrying": "Nouvel essai prévu",
    "failed": "Échec",
    "interrupted": "Interrompu",
}
ACTIVE_RUN_STATUSES: Final = ("working", "retrying")
RESENDABLE_RUN_STATUSES: Final = ("failed", "interrupted", "missed")
RESENDABLE_DELIVERY_STATUSES: Final = ("failed", "interrupted")
INTERRUPTED_SENDING = (
    "Interrompu pendant l'envoi (arrêt du service) : la réception n'est pas certaine. "
    "Vérifiez auprès du destinataire avant de renvoyer."
)
INTERRUPTED_PENDING = "Interrompu avant l'envoi (arrêt du service) : jamais envoyé."


@dataclass(frozen=True)
class RunOutcome:
    """Where a run stands after a step: its status and its recipients' counts."""

    run_id: int
    status: str
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    interrupted: int = 0
    error: str | None = None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def archive_root(settings: Settings) -> Path:
    """Where run files are kept for download: ``rapports/`` beside the outbox."""
    return settings.outbox_dir.parent / "rapports"


def run_directory(settings: Settings, run_id: int) -> Path:
    return archive_root(settings) / f"run-{run_id}"


def _insert(connection: Connection) -> Any:
    return pg_insert if connection.dialect.name == "postgresql" else sqlite_insert


# --- Claim ---------------------------------------------------------------------------


def claim_run(
    engine: Engine,
    *,
    schedule_id: int,
    due_at: datetime,
    trigger: str,
    now: datetime,
    late: bool = False,
    status: str = "working",
    error: str | None = None,
    actor: Actor | None = None,
) -> int | None:
    """INSERT the run under its unique key, committed on its own; None if already claimed."""
    terminal = status not in ACTIVE_RUN_STATUSES
    with translate_errors(), engine.begin() as connection:
        statement = (
            _insert(connection)(ReportRun)
            .values(
                schedule_id=schedule_id,
                due_at=due_at,
                trigger=trigger,
                status=status,
                late=late,
                claimed_by=worker_name(),
                claimed_at=now,
                finished_at=now if terminal else None,
                error=error,
            )
            .on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
            .returning(ReportRun.id)
        )
        run_id = connection.execute(statement).scalar_one_or_none()
        if run_id is not None and actor is not None:
            audit.record(
                connection,
                actor=actor,
                action="report_run.send_now",
                entity=RUN_ENTITY,
                entity_id=run_id,
                details={"schedule_id": schedule_id},
                at=now,
            )
    return run_id


# --- Build ---------------------------------------------------------------------------


def _finish(engine: Engine, run_id: int, status: str, now: datetime, error: str | None) -> None:
    with translate_errors(), engine.begin() as connection:
        connection.execute(
            update(ReportRun)
            .where(ReportRun.id == run_id)
            .values(status=status, finished_at=now, error=error)
        )


def _save_content(directory: Path, content: MailContent) -> None:
    payload = {"subject": content.subject, "body": content.body}
    (directory / "message.json").write_text(json.dumps(payload, ensure_ascii=False), "utf-8")


def _load_content(directory: Path) -> tuple[str, str]:
    payload = json.loads((directory / "message.json").read_text("utf-8"))
    return str(payload["subject"]), str(payload["body"])


def _file_record(file: ReportFile, attached: bool) -> dict[str, Any]:
    return {"filename": file.filename, "size": file.size, "attached": attached}


def prepare_run(
    engine: Engine,
    settings: Settings,
    *,
    run_id: int,
    schedule: ScheduleView,
    period: Period,
    recipients: tuple[str, ...],
    now: datetime,
    late_due_at: datetime | None,
) -> str | None:
    """Build and render the report, then record its files and one pending row per recipient.

    Returns None when ready to deliver, else the run's final status
    (``skipped`` when there is nothing to report).
    """
    report = build_report(
        engine,
        settings,
        kind=schedule.kind,
        period=period,
        formation=schedule.formation_slug,
        now=now,
    )
    if schedule.only_if_content and not report.has_content:
        _finish(engine, run_id, "skipped", now, "Rien à signaler sur la période : aucun envoi.")
        return "skipped"
    directory = run_directory(settings, run_id)
    files = render_files(report, directory, schedule.formats, settings.tz)
    content = compose_report_email(
        report,
        files,
        max_attachment_bytes=settings.MAX_ATTACHMENT_BYTES,
        tz=ZoneInfo(schedule.timezone),
        schedule_name=schedule.name,
        late_due_at=late_due_at,
    )
    _save_content(directory, content)
    records = [_file_record(f, f in content.attachments) for f in files]
    with translate_errors(), engine.begin() as connection:
        connection.execute(
            update(ReportRun)
            .where(ReportRun.id == run_id)
            .values(attachments=records, period_from=period.start, period_to=period.end)
        )
        for recipient in recipients:
            connection.execute(
                _insert(connection)(ReportDelivery)
                .values(run_id=run_id, recipient=recipient, status="pending", updated_at=now)
                .on_conflict_do_nothing(index_elements=["run_id", "recipient"])
            )
    return None


def execute_run(
    engine: Engine,
    settings: Settings,
    *,
    run_id: int,
    schedule: ScheduleView,
    due_at: datetime,
    late: bool,
    now: datetime,
    transport: Transport,
) -> RunOutcome:
    """Build, render and deliver a claimed run. A failure is recorded, never raised."""
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
            late_due_at=due_at if late else None,
        )
    except Exception as exc:
        log.exception("run %s of schedule %s: build failed", run_id, schedule.id)
        reason = str(exc) if isinstance(exc, DashboardError) else f"{type(exc).__name__}: {exc}"
        error = f"Le rapport n'a pas pu être construit : {reason}"[:1000]
        _finish(engine, run_id, "failed", now, error)
        alert_owner(engine, settings, run_id=run_id, now=now, transport=transport)
        return RunOutcome(run_id, "failed", error=error)
    if final is not None:
        return RunOutcome(run_id, final)
    return deliver_run(engine, settings, run_id=run_id, now=now, transport=transport)


# --- Deliver -------------------------------------------------------------------------


def _mark(connection: Connection, delivery_id: int, **values: Any) -> int:
    return connection.execute(
        update(ReportDelivery).where(ReportDelivery.id == delivery_id).values(**values)
    ).rowcount


def attempt_delivery(
    engine: Engine,
    *,
    delivery: Any,
    message_for: Any,
    transport: Transport,
    now: datetime,
) -> str | None:
    """One send to one recipient, recorded before and after. None: someone else has it."""
    try:
        message = message_for(delivery.recipient)
    except (OSError, ValueError, KeyError) as exc:
        with translate_errors(), engine.begin() as connection:
            _mark(
                connection,
                delivery.id,
                status="failed",
                updated_at=now,
                last_error=f"Message impossible à préparer : {exc}"[:1000],
            )
        return "failed"
    with translate_errors(), engine.begin() as connection:
        claimed = connection.execute(
            update(ReportDelivery)
            .where(
                ReportDelivery.id == delivery.id,
                ReportDelivery.status == delivery.status,
                ReportDelivery.attempts == delivery.attempts,
            )
            .values(status="sending", attempts=delivery.attempts + 1, updated_at=now)
        ).rowcount
    if claimed != 1:
        return None
    return _after_send(engine, delivery, message, transport, now)


def _after_send(
    engine: Engine, delivery: Any, message: Any, transport: Transport, now: datetime
) -> str:
    attempts = delivery.attempts + 1
    try:
        outcome = transport.send(message)
    except DeliveryError as exc:
        final = exc.permanent or attempts > len(BACKOFF)
        status = "failed" if final else "retrying"
        retry_at = None if final else now + BACKOFF[attempts - 1]
        with translate_errors(), engine.begin() as connection:
            _mark(
                connection,
                delivery.id,
                status=status,
                next_attempt_at=retry_at,
                last_error=exc.message[:1000],
                updated_at=now,
            )
        log.warning(
            "delivery %s to %s: %s (%s)", delivery.id, delivery.recipient, status, exc.message
        )
        return status
    except DeliveryUncertain as exc:  # may have arrived: a person checks, never a blind retry
        log.warning("delivery %s to %s: %s", delivery.id, delivery.recipient, exc.message)
        with translate_errors(), engine.begin() as connection:
            _mark(
                connection,
                delivery.id,
                status="interrupted",
                updated_at=now,
                last_error=f"{INTERRUPTED_SENDING} ({exc.message})"[:1000],
            )
        return "interrupted"
    except Exception as exc:
        log.exception("delivery %s: unexpected error while sending", delivery.id)
        with translate_errors(), engine.begin() as connection:
            _mark(
                connection,
                delivery.id,
                status="interrupted",
                updated_at=now,
                last_error=f"{INTERRUPTED_SENDING} ({type(exc).__name__})",
            )
        return "interrupted"
    with translate_errors(), engine.begin() as connection:
        _mark(
            connection,
            delivery.id,
            status="sent",
            sent_at=now,
            next_attempt_at=None,
            last_error=None,
            updated_at=now,
        )
    log.info("delivery %s to %s: %s", delivery.id, delivery.recipient, outcome)
    return "sent"


def _message_factory(settings: Settings, run: Any) -> Any:
    directory = run_directory(settings, run.id)
    subject, body = _load_content(directory)
    attached = [
        ReportFile(r["filename"], directory / r["filename"], int(r["size"]))
        for r in (run.attachments or [])
        if r.get("attached")
    ]

    def message_for(recipient: str) -> Any:
        return build_message(
            sender=settings.SMTP_FROM,
            recipient=recipient,
            subject=subject,
            body=body,
            attachments=attached,
        )

    return message_for


def _unavailable(reason: str) -> Any:
    def message_for(_recipient: str) -> Any:
        raise OSError(reason)

    return message_for


def deliver_run(
    engine: Engine, settings: Settings, *, run_id: int, now: datetime, transport: Transport
) -> RunOutcome:
    """Send to every recipient of the run that is pending, or due for a retry."""
    with translate_errors(), engine.connect() as connection:
        run = connection.execute(select(ReportRun.__table__).where(ReportRun.id == run_id)).one()
        due = connection.execute(
            select(
                ReportDelivery.id,
                ReportDelivery.recipient,
                ReportDelivery.status,
                ReportDelivery.attempts,
            )
            .where(ReportDelivery.run_id == run_id)
            .where(
                (ReportDelivery.status == "pending")
                | ((ReportDelivery.status == "retrying") & (ReportDelivery.next_attempt_at <= now))
            )
            .order_by(ReportDelivery.id)
        ).all()
    try:
        message_for = _message_factory(settings, run)
    except (OSError, ValueError, KeyError) as exc:
        log.error("run %s: stored message unreadable: %s", run_id, exc)
        message_for = _unavailable(f"fichiers du rapport introuvables ({exc})")
    for delivery in due:
        attempt_delivery(
            engine, delivery=delivery, message_for=message_for, transport=transport, now=now
        )
    return finalize_run(engine, settings, run_id=run_id, now=now, transport=transport)


# --- Finish ----------------------------------------------------------------------------


def _delivery_counts(connection: Connection, run_id: int) -> dict[str, int]:
    rows = connection.execute(
        select(ReportDelivery.status, func.count())
        .where(ReportDelivery.run_id == run_id)
        .group_by(ReportDelivery.status)
    ).all()
    return {status: int(count) for status, count in rows}


def _final_status(counts: dict[str, int], late: bool) -> tuple[str | None, str | None]:
    if counts.get("pending") or counts.get("sending"):
        return None, None
    if counts.get("retrying"):
        return "retrying", f"{counts['retrying']} destinataire(s) en attente d'un nouvel essai."
    if counts.get("failed"):
        return "failed", f"{counts['failed']} destinataire(s) en échec."
    if counts.get("interrupted"):
        return "interrupted", f"{counts['interrupted']} envoi(s) interrompu(s)."
    if not counts:
        return "failed", "Aucun destinataire."
    return ("sent_late" if late else "sent"), None


def finalize_run(
    engine: Engine,
    settings: Settings,
    *,
    run_id: int,
    now: datetime,
    transport: Transport | None = None,
) -> RunOutcome:
    """Set the run's status from its recipients'; tell the owner once if it failed."""
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
    if changed and status == "failed":
        alert_owner(engine, settings, run_id=run_id, now=now, transport=transport)
    return RunOutcome(
        run_id,
        status or run.status,
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
        retrying=counts.get("retrying", 0),
        interrupted=counts.get("interrupted", 0),
        error=error,
    )


def process_retries(
    engine: Engine, settings: Settings, *, now: datetime, transport: Transport
) -> list[RunOutcome]:
    """Retry every delivery whose backoff has elapsed."""
    with translate_errors(), engine.connect() as connection:
        run_ids = (
            connection.execute(
                select(ReportDelivery.run_id)
                .where(ReportDelivery.status == "retrying", ReportDelivery.next_attempt_at <= now)
                .distinct()
                .order_by(ReportDelivery.run_id)
            )
            .scalars()
            .all()
        )
    return [
        deliver_run(engine, settings, run_id=run_id, now=now, transport=transport)
        for run_id in run_ids
    ]


# --- Recovery ----------------------------------------------------------------------------


def _interrupt(connection: Connection, runs: list[int], sending: list[int], now: datetime) -> None:
    if sending:
        connection.execute(
            update(ReportDelivery)
            .where(ReportDelivery.id.in_(sending), ReportDelivery.status == "sending")
            .values(status="interrupted", last_error=INTERRUPTED_SENDING, updated_at=now)
        )
    if runs:
        # A recipient caught mid-send may have received the message: say so.
        for status, text in (("sending", INTERRUPTED_SENDING), ("pending", INTERRUPTED_PENDING)):
            connection.execute(
                update(ReportDelivery)
                .where(ReportDelivery.run_id.in_(runs), ReportDelivery.status == status)
                .values(status="interrupted", last_error=text, updated_at=now)
            )
        connection.execute(
            update(ReportRun)
            .where(ReportRun.id.in_(runs), ReportRun.status == "working")
            .values(
                status="interrupted",
                finished_at=now,
                error="Exécution interrompue (arrêt du service ou délai dépassé) : à renvoyer.",
            )
        )


def recover(engine: Engine, settings: Settings, *, now: datetime, at_start: bool) -> int:
    """Make interrupted work visible; returns how many runs were affected.

    Every step: deliveries ``sending`` for longer than :data:`SENDING_TIMEOUT`
    and runs ``working`` for longer than :data:`RUN_TIMEOUT`. At the
    scheduler's start (it holds the lease, so nobody else is sending
    scheduled runs): every scheduled run still ``working`` and every delivery
    of a scheduled run still ``sending``, whatever their age.
    """
    run_cutoff = now if at_start else now - RUN_TIMEOUT
    send_cutoff = now if at_start else now - SENDING_TIMEOUT
    only_scheduled = [ReportRun.trigger == "scheduled"] if at_start else []
    with translate_errors(), engine.begin() as connection:
        runs = (
            connection.execute(
                select(ReportRun.id).where(
                    ReportRun.status == "working",
                    ReportRun.claimed_at <= run_cutoff,
                    *only_scheduled,
                )
            )
            .scalars()
            .all()
        )
        sending = connection.execute(
            select(ReportDelivery.id, ReportDelivery.run_id)
            .join(ReportRun, ReportRun.id == ReportDelivery.run_id)
            .where(ReportDelivery.status == "sending", ReportDelivery.updated_at <= send_cutoff)
            .where(*only_scheduled)
        ).all()
        _interrupt(connection, list(runs), [row.id for row in sending], now)
    touched = sorted(set(runs) | {row.run_id for row in sending})
    for run_id in touched:
        log.warning("run %s: interrupted work found, marked for a person to resend", run_id)
        finalize_run(engine, settings, run_id=run_id, now=now)
    return len(touched)


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
