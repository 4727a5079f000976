"""Reads for the "Rapports" page: run history, per-recipient outcomes, files to download."""

from __future__ import annotations

from typing import Final

import pandas as pd
from sqlalchemy import ColumnElement, Engine, case, func, select

from data.db import translate_errors
from data.errors import NotFound
from data.owned import ReportDelivery, ReportRun
from data.settings import Settings
from reports.mail import OUTBOX_OUTCOME, ReportFile, uses_outbox
from reports.runs import (
    DELIVERY_STATUS_LABELS,
    RESENDABLE_RUN_STATUSES,
    RUN_STATUS_LABELS,
    run_directory,
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
            _count("sent"),
            _count("failed") + _count("interrupted"),
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
        if status == "sent" and outbox:
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


def run_files(engine: Engine, settings: Settings, run_id: int) -> tuple[ReportFile, ...]:
    """The run's rendered files still on disk (downloadable, attached or not)."""
    with translate_errors(), engine.connect() as connection:
        found = connection.execute(
            select(ReportRun.attachments).where(ReportRun.id == run_id)
        ).first()
    if found is None:
        raise NotFound("Cet envoi n'existe pas.")
    directory = run_directory(settings, run_id)
    files = []
    for record in found[0] or []:
        path = directory / str(record["filename"])
        if path.is_file():
            files.append(ReportFile(path.name, path, path.stat().st_size))
    return tuple(files)


def delivered_to_outbox(settings: Settings) -> bool:
    """Whether "sent" currently means "left in the local outbox" (no SMTP configured)."""
    return uses_outbox(settings)
