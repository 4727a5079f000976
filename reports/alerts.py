"""Telling a schedule's owner, once, that a run of it failed.

"Once" is kept by an audit row (``report_run.owner_alerted``) written before
the single attempt: a run never alerts its owner twice, even if the alert
itself cannot be delivered (the dashboard shows the failure either way).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from data import audit, formatting
from data.db import translate_errors
from data.models import User
from data.owned import AuditLog, ReportDelivery, ReportRun, ReportSchedule
from data.settings import Settings
from reports.mail import DeliveryError, Transport, build_message
from reports.model import CENTRE_NAME

log = logging.getLogger(__name__)

RUN_ENTITY: Final = "dashboard_report_runs"
ALERT_ACTION: Final = "report_run.owner_alerted"


def _alert_body(
    name: str, due_at: datetime, tz: ZoneInfo, error: str | None, failures: Sequence[Any]
) -> str:
    lines = [
        "Bonjour,",
        "",
        f"L'envoi du rapport planifié « {name} » prévu le {formatting.timestamp(due_at, tz)} "
        "a échoué.",
    ]
    if error:
        lines += ["", error]
    if failures:
        lines += ["", "Destinataires en échec :"]
        lines += [f"- {row.recipient} : {row.last_error or 'erreur inconnue'}" for row in failures]
    lines += [
        "",
        "Le rapport reste disponible dans le tableau de bord, page « Rapports », d'où vous "
        "pouvez le renvoyer aux seuls destinataires en échec.",
        "",
        f"Message automatique du tableau de bord du {CENTRE_NAME}.",
    ]
    return "\n".join(lines) + "\n"


def owner_alert(
    engine: Engine, settings: Settings, *, run_id: int, now: datetime, transport: Transport
) -> bool:
    """Alert the owner of ``run_id``'s schedule (once per run); True when accepted."""
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
        failures = connection.execute(
            select(ReportDelivery.recipient, ReportDelivery.last_error)
            .where(ReportDelivery.run_id == run_id, ReportDelivery.status == "failed")
            .order_by(ReportDelivery.recipient)
        ).all()
        audit.record(
            connection,
            actor=None,
            action=ALERT_ACTION,
            entity=RUN_ENTITY,
            entity_id=run_id,
            details={"owner": found.email, "failed_recipients": len(failures)},
            at=now,
        )
    message = build_message(
        sender=settings.SMTP_FROM,
        recipient=found.email,
        subject=f"{CENTRE_NAME} — échec de l'envoi du rapport « {found.name} »",
        body=_alert_body(found.name, found.due_at, ZoneInfo(found.timezone), found.error, failures),
    )
    try:
        transport.send(message)
    except DeliveryError as exc:
        log.warning("run %s: owner alert to %s not delivered: %s", run_id, found.email, exc.message)
        return False
    log.info("run %s: owner %s told of the failure", run_id, found.email)
    return True
