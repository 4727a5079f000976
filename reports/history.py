"""Reads for the "Rapports" page: run history, per-recipient outcomes, files to download."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import pandas as pd
from sqlalchemy import ColumnElement, Engine, case, func, select

from data.db import translate_errors
from data.errors import NotFound
from data.health import WAITING_WINDOW
from data.owned import (
    RESENDABLE_DELIVERY_STATUSES,
    RESENDABLE_RUN_STATUSES,
    DeliveryStatus,
    ReportDelivery,
    ReportRun,
    ReportSchedule,
)
from data.settings import Settings
from reports.mail import OUTBOX_OUTCOME, uses_outbox
from reports.runs import (
    DELIVERY_STATUS_LABELS,
    RUN_STATUS_LABELS,
    stored_files,
)

RUN_COLUMNS: Final = [
    "id",
    "due_at",
    "trigger",
    "status",
    "status_label",
    "late",
    "period_from",
    "period_to",
    "finished_at",
    "error",
    "recipients",
    "sent",
    "failed",
    "resendable",
]
DELIVERY_COLUMNS: Final = [
    "recipient",
    "status",
    "status_label",
    "attempts",
    "next_attempt_at",
    "last_error",
    "sent_at",
]


def _count(status: str) -> ColumnElement[int]:
    return func.count(case((ReportDelivery.status == status, 1)))


def run_history(engine: Engine, schedule_id: int, *, limit: int = 50) -> pd.DataFrame:
    """The schedule's latest runs, newest first, with their recipients' counts."""
    r = ReportRun
    statement = (
        select(
            r.id,
            r.due_at,
            r.trigger,
            r.status,
            r.late,
            r.period_from,
            r.period_to,
            r.finished_at,
            r.error,
            func.count(ReportDelivery.id),
            _count(DeliveryStatus.sent),
            _count(DeliveryStatus.failed) + _count(DeliveryStatus.interrupted),
        )
        .outerjoin(ReportDelivery, ReportDelivery.run_id == r.id)
        .where(r.schedule_id == schedule_id)
        .group_by(r.id)
        .order_by(r.due_at.desc(), r.id.desc())
        .limit(limit)
    )
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement).all()
    records = [
        {
            "id": row[0],
            "due_at": row[1],
            "trigger": row[2],
            "status": row[3],
            "status_label": RUN_STATUS_LABELS.get(row[3], row[3]),
            "late": bool(row[4]),
            "period_from": row[5],
            "period_to": row[6],
            "finished_at": row[7],
            "error": row[8],
            "recipients": int(row[9]),
            "sent": int(row[10]),
            "failed": int(row[11]),
            "resendable": row[3] in RESENDABLE_RUN_STATUSES,
        }
        for row in rows
    ]
    return pd.DataFrame(records, columns=RUN_COLUMNS)


def run_deliveries(engine: Engine, run_id: int, *, outbox: bool = False) -> pd.DataFrame:
    """Each recipient of a run: status (French), attempts, next retry, SMTP error."""
    d = ReportDelivery
    statement = (
        select(d.recipient, d.status, d.attempts, d.next_attempt_at, d.last_error, d.sent_at)
        .where(d.run_id == run_id)
        .order_by(d.recipient)
    )
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement).all()
    records = []
    for recipient, status, attempts, retry_at, error, sent_at in rows:
        label = DELIVERY_STATUS_LABELS.get(status, status)
        if status == DeliveryStatus.sent and outbox:
            label = OUTBOX_OUTCOME[0].upper() + OUTBOX_OUTCOME[1:]
        records.append(
            {
                "recipient": recipient,
                "status": status,
                "status_label": label,
                "attempts": attempts,
                "next_attempt_at": retry_at,
                "last_error": error,
                "sent_at": sent_at,
            }
        )
    return pd.DataFrame(records, columns=DELIVERY_COLUMNS)


@dataclass(frozen=True)
class RunFile:
    """A file a run produced, as the history shows it: its content, or None when it
    cannot be found (a run built before files were kept in the database, on another
    machine's disk)."""

    filename: str
    size: int
    content: bytes | None = field(repr=False)

    @property
    def missing(self) -> bool:
        return self.content is None


def run_files(engine: Engine, settings: Settings, run_id: int) -> tuple[RunFile, ...]:
    """Every file the run lists, downloadable or plainly missing."""
    with translate_errors(), engine.connect() as connection:
        found = connection.execute(
            select(ReportRun.attachments).where(ReportRun.id == run_id)
        ).first()
    if found is None:
        raise NotFound("Cet envoi n'existe pas.")
    records = list(found[0] or [])
    stored = stored_files(engine, settings, run_id, records)
    files = []
    for record in records:
        file = stored.get(str(record["filename"]))
        size = file.size if file is not None else int(record.get("size") or 0)
        files.append(
            RunFile(str(record["filename"]), size, file.content if file is not None else None)
        )
    return tuple(files)


def delivered_to_outbox(settings: Settings) -> bool:
    """Whether "sent" currently means "left in the local outbox" (no SMTP configured)."""
    return uses_outbox(settings)


LAST_RUN_COLUMNS: Final = [
    "schedule_id",
    "name",
    "paused",
    "due_at",
    "status",
    "status_label",
    "finished_at",
    "error",
]
WAITING_COLUMNS: Final = [
    "run_id",
    "name",
    "due_at",
    "recipient",
    "status",
    "status_label",
    "last_error",
    "updated_at",
]


def last_runs(engine: Engine) -> pd.DataFrame:
    """Every schedule (not deleted) with its latest run, if any: what the operations page
    shows to see at a glance that each one goes out."""
    latest = (
        select(ReportRun.schedule_id, func.max(ReportRun.due_at).label("due_at"))
        .group_by(ReportRun.schedule_id)
        .subquery()
    )
    statement = (
        select(
            ReportSchedule.id,
            ReportSchedule.name,
            ReportSchedule.paused,
            ReportRun.due_at,
            ReportRun.status,
            ReportRun.finished_at,
            ReportRun.error,
        )
        .outerjoin(latest, latest.c.schedule_id == ReportSchedule.id)
        .outerjoin(
            ReportRun,
            (ReportRun.schedule_id == ReportSchedule.id) & (ReportRun.due_at == latest.c.due_at),
        )
        .where(ReportSchedule.deleted_at.is_(None))
        .order_by(ReportSchedule.name, ReportSchedule.id)
    )
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement).all()
    records = [
        {
            "schedule_id": row.id,
            "name": row.name,
            "paused": bool(row.paused),
            "due_at": row.due_at,
            "status": row.status,
            "status_label": RUN_STATUS_LABELS.get(row.status, row.status) if row.status else None,
            "finished_at": row.finished_at,
            "error": row.error,
        }
        for row in rows
    ]
    return pd.DataFrame(records, columns=LAST_RUN_COLUMNS)


def deliveries_waiting(engine: Engine, now: datetime) -> pd.DataFrame:
    """Recipients failed or interrupted in the last week on runs nobody resent yet
    (the operations page's list; :func:`data.health.check_deliveries` counts them)."""
    d = ReportDelivery
    statement = (
        select(
            ReportRun.id,
            ReportSchedule.name,
            ReportRun.due_at,
            d.recipient,
            d.status,
            d.last_error,
            d.updated_at,
        )
        .join(ReportRun, ReportRun.id == d.run_id)
        .join(ReportSchedule, ReportSchedule.id == ReportRun.schedule_id)
        .where(
            d.status.in_(RESENDABLE_DELIVERY_STATUSES),
            ReportRun.status.in_(RESENDABLE_RUN_STATUSES),
            d.updated_at >= now - WAITING_WINDOW,
        )
        .order_by(d.updated_at.desc(), d.id)
    )
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement).all()
    records = [
        {
            "run_id": row[0],
            "name": row[1],
            "due_at": row[2],
            "recipient": row[3],
            "status": row[4],
            "status_label": DELIVERY_STATUS_LABELS.get(row[4], row[4]),
            "last_error": row[5],
            "updated_at": row[6],
        }
        for row in rows
    ]
    return pd.DataFrame(records, columns=WAITING_COLUMNS)
