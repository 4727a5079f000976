"""Claim a run (a unique insert, committed before anything is built or sent),
then build it: render its files, store them and its message, create its
delivery rows.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from data import audit
from data.acting import acting_account
from data.db import translate_errors
from data.owned import DeliveryStatus, ReportDelivery, ReportFileRow, ReportRun, RunStatus
from data.periods import Period
from data.permissions import Actor
from data.settings import Settings
from reports.alerts import RUN_ENTITY
from reports.builders import build_report
from reports.mail import (
    MailContent,
    ReportFile,
    compose_report_email,
)
from reports.render import render_report
from reports.runs.states import ACTIVE_RUN_STATUSES
from reports.schedules import CAPABILITY as SCHEDULES_CAPABILITY
from reports.schedules import ScheduleView

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def archive_root(settings: Settings) -> Path:
    """Where runs rendered before migration 0006 kept their files, on the disk of the
    machine that built them (read only as a fallback: files now live in the database)."""
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
    status: str = RunStatus.working,
    error: str | None = None,
    actor: Actor | None = None,
) -> int | None:
    """INSERT the run under its unique key, committed on its own; None if already claimed."""
    terminal = status not in ACTIVE_RUN_STATUSES
    with translate_errors(), engine.begin() as connection:
        if actor is not None:  # a person's "envoyer maintenant": may they still?
            actor = acting_account(connection, actor, SCHEDULES_CAPABILITY)
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


def finish_run(engine: Engine, run_id: int, status: str, now: datetime, error: str | None) -> None:
    """Write a run's final status when it ends without deliveries (skipped, failed to build)."""
    with translate_errors(), engine.begin() as connection:
        connection.execute(
            update(ReportRun)
            .where(ReportRun.id == run_id)
            .values(status=status, finished_at=now, error=error)
        )


def _message_payload(on_time: MailContent, late: MailContent) -> dict[str, str]:
    return {
        "subject": on_time.subject,
        "body": on_time.body,
        "late_subject": late.subject,
        "late_body": late.body,
    }


def message_text(payload: dict[str, Any], *, late: bool) -> tuple[str, str]:
    if late and "late_subject" in payload:  # runs built before this have only one version
        return str(payload["late_subject"]), str(payload["late_body"])
    return str(payload["subject"]), str(payload["body"])


def _file_record(file: ReportFile, attached: bool) -> dict[str, Any]:
    return {"filename": file.filename, "size": file.size, "attached": attached}


def stored_files(
    engine: Engine, settings: Settings, run_id: int, records: list[dict[str, Any]]
) -> dict[str, ReportFile | None]:
    """The content of each file a run lists, by name: from the database, or for a run
    rendered before migration 0006 from the disk that built it; None when nowhere."""
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(
            select(ReportFileRow.filename, ReportFileRow.content).where(
                ReportFileRow.run_id == run_id
            )
        ).all()
    found: dict[str, ReportFile | None] = {
        r.filename: ReportFile(r.filename, r.content) for r in rows
    }
    for record in records:
        name = str(record["filename"])
        if name not in found:
            legacy = run_directory(settings, run_id) / name
            found[name] = ReportFile(name, legacy.read_bytes()) if legacy.is_file() else None
    return found


def prepare_run(
    engine: Engine,
    settings: Settings,
    *,
    run_id: int,
    schedule: ScheduleView,
    period: Period,
    recipients: tuple[str, ...],
    now: datetime,
    due_at: datetime,
) -> str | None:
    """Build and render the report, then record its files and one pending row per recipient.

    The message is composed twice, on time and late: which one leaves is
    decided at each hand-over. Returns None when ready to deliver, else the
    run's final status (``skipped`` when there is nothing to report).
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
        finish_run(
            engine, run_id, RunStatus.skipped, now, "Rien à signaler sur la période : aucun envoi."
        )
        return RunStatus.skipped
    files = render_report(report, schedule.formats, settings.tz)
    on_time, late = (
        compose_report_email(
            report,
            files,
            max_attachment_bytes=settings.MAX_ATTACHMENT_BYTES,
            tz=ZoneInfo(schedule.timezone),
            schedule_name=schedule.name,
            late_due_at=late_due_at,
        )
        for late_due_at in (None, due_at)
    )
    records = [_file_record(f, f in on_time.attachments) for f in files]
    with translate_errors(), engine.begin() as connection:
        connection.execute(delete(ReportFileRow).where(ReportFileRow.run_id == run_id))
        for file, record in zip(files, records, strict=True):
            connection.execute(
                insert(ReportFileRow).values(
                    run_id=run_id,
                    filename=file.filename,
                    content=file.content,
                    size=file.size,
                    attached=record["attached"],
                )
            )
        connection.execute(
            update(ReportRun)
            .where(ReportRun.id == run_id)
            .values(
                attachments=records,
                message=_message_payload(on_time, late),
                period_from=period.start,
                period_to=period.end,
            )
        )
        for recipient in recipients:
            connection.execute(
                _insert(connection)(ReportDelivery)
                .values(
                    run_id=run_id,
                    recipient=recipient,
                    status=DeliveryStatus.pending,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["run_id", "recipient"])
            )
    return None
