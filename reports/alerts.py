"""Telling a schedule's owner, once, that a run of it failed or was interrupted.

"Once" is kept by an audit row (``report_run.owner_alerted``) written before
the single attempt: a run never alerts its owner twice, even if the alert
itself cannot be delivered (the dashboard shows the failure either way).

An alert is normally sent right after the run's final status is written. When
that moment was lost (the process stopped or crashed, or the database went
away in between) :func:`alert_owed` sends it at a later step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, String, cast, select

from data import audit, formatting
from data.db import translate_errors
from data.models import User
from data.owned import (
    AuditLog,
    DeliveryStatus,
    ReportDelivery,
    ReportRun,
    ReportSchedule,
    RunStatus,
)
from data.settings import Settings
from reports.mail import (
    DeliveryError,
    DeliveryUncertain,
    Transport,
    build_message,
    run_reference,
)
from reports.model import CENTRE_NAME

log = logging.getLogger(__name__)

RUN_ENTITY: Final = "dashboard_report_runs"
ALERT_ACTION: Final = "report_run.owner_alerted"
ALERTED_RUN_STATUSES: Final = (RunStatus.failed, RunStatus.interrupted)
# The sweep leaves alone runs finished in the last ALERT_SETTLE (their own process is
# alerting right now) and forgets those finished more than ALERT_WINDOW ago.
ALERT_SETTLE: Final = timedelta(minutes=2)
ALERT_WINDOW: Final = timedelta(days=1)
_WHAT: Final[dict[str, str]] = {
    RunStatus.failed: "a échoué",
    RunStatus.interrupted: "a été interrompu",
}
_SUBJECT: Final[dict[str, str]] = {
    RunStatus.failed: "échec de l'envoi",
    RunStatus.interrupted: "envoi interrompu",
}


def _alert_body(
    status: str,
    name: str,
    due_at: datetime,
    tz: ZoneInfo,
    error: str | None,
    problems: Sequence[Any],
) -> str:
    lines = [
        "Bonjour,",
        "",
        f"L'envoi du rapport planifié « {name} » prévu le {formatting.timestamp(due_at, tz)} "
        f"{_WHAT.get(status, 'a échoué')}.",
    ]
    if error:
        lines += ["", error]
    failed = [row for row in problems if row.status == DeliveryStatus.failed]
    interrupted = [row for row in problems if row.status == DeliveryStatus.interrupted]
    if failed:
        lines += ["", "Destinataires en échec :"]
        lines += [f"- {row.recipient} : {row.last_error or 'erreur inconnue'}" for row in failed]
    if interrupted:
        lines += ["", "Envois interrompus (à vérifier avant de renvoyer) :"]
        lines += [
            f"- {row.recipient} : {row.last_error or 'cause inconnue'}" for row in interrupted
        ]
    lines += [
        "",
        "Le rapport reste disponible dans le tableau de bord, page « Rapports », d'où vous "
        "pouvez le renvoyer aux seuls destinataires en échec ou interrompus.",
        "",
        f"Message automatique du tableau de bord du {CENTRE_NAME}.",
    ]
    return "\n".join(lines) + "\n"


def owner_alert(
    engine: Engine, settings: Settings, *, run_id: int, now: datetime, transport: Transport
) -> bool:
    """Alert the owner of ``run_id``'s schedule (once per run); True when accepted.

    Whatever goes wrong with the alert's own hand-over (refused, server gone,
    connection lost after the message) is logged, never raised: the run's
    status already says what happened.
    """
    with translate_errors(), engine.begin() as connection:
        already = connection.execute(
            select(AuditLog.id).where(
                AuditLog.action == ALERT_ACTION,
                AuditLog.entity == RUN_ENTITY,
                AuditLog.entity_id == str(run_id),
            )
        ).first()
        found = connection.execute(
            select(
                ReportRun.status,
                ReportRun.schedule_id,
                ReportRun.due_at,
                ReportRun.error,
                ReportSchedule.name,
                ReportSchedule.timezone,
                User.email,
            )
            .join(ReportSchedule, ReportSchedule.id == ReportRun.schedule_id)
            .outerjoin(User, User.id == ReportSchedule.owner_id)
            .where(ReportRun.id == run_id)
        ).first()
        if already is not None or found is None or found.email is None:
            return False
        problems = connection.execute(
            select(ReportDelivery.recipient, ReportDelivery.status, ReportDelivery.last_error)
            .where(
                ReportDelivery.run_id == run_id,
                ReportDelivery.status.in_(ALERTED_RUN_STATUSES),
            )
            .order_by(ReportDelivery.recipient)
        ).all()
        audit.record(
            connection,
            actor=None,
            action=ALERT_ACTION,
            entity=RUN_ENTITY,
            entity_id=run_id,
            details={
                "owner": found.email,
                "status": found.status,
                "failed_recipients": sum(
                    1 for row in problems if row.status == DeliveryStatus.failed
                ),
                "interrupted_recipients": sum(
                    1 for row in problems if row.status != DeliveryStatus.failed
                ),
            },
            at=now,
        )
    message = build_message(
        sender=settings.SMTP_FROM,
        recipient=found.email,
        subject=(
            f"{CENTRE_NAME} — {_SUBJECT.get(found.status, _SUBJECT['failed'])} "
            f"du rapport « {found.name} »"
        ),
        body=_alert_body(
            found.status,
            found.name,
            found.due_at,
            ZoneInfo(found.timezone),
            found.error,
            problems,
        ),
        run=run_reference(found.schedule_id, found.due_at),
    )
    try:
        transport.send(message)
    except (DeliveryError, DeliveryUncertain) as exc:
        log.warning("run %s: owner alert to %s not delivered: %s", run_id, found.email, exc.message)
        return False
    except Exception:  # whatever else the hand-over raises: logged, never escapes the step
        log.exception("run %s: owner alert to %s failed", run_id, found.email)
        return False
    log.info("run %s: owner %s told (%s)", run_id, found.email, found.status)
    return True


def alert_owed(engine: Engine, settings: Settings, *, now: datetime, transport: Transport) -> int:
    """Tell the owners of runs that ended failed or interrupted and were never alerted.

    Runs finished less than :data:`ALERT_SETTLE` ago are left to the process
    that finished them; those older than :data:`ALERT_WINDOW` are not
    brought up again. Returns how many alerts were accepted.
    """
    alerted = (
        select(AuditLog.id)
        .where(
            AuditLog.action == ALERT_ACTION,
            AuditLog.entity == RUN_ENTITY,
            AuditLog.entity_id == cast(ReportRun.id, String),
        )
        .exists()
    )
    with translate_errors(), engine.connect() as connection:
        owed = (
            connection.execute(
                select(ReportRun.id)
                .where(
                    ReportRun.status.in_(ALERTED_RUN_STATUSES),
                    ReportRun.finished_at > now - ALERT_WINDOW,
                    ReportRun.finished_at <= now - ALERT_SETTLE,
                    ~alerted,
                )
                .order_by(ReportRun.id)
            )
            .scalars()
            .all()
        )
    return sum(
        owner_alert(engine, settings, run_id=run_id, now=now, transport=transport)
        for run_id in owed
    )
