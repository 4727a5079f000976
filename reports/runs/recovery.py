"""Make interrupted work visible (a run left ``working``, a delivery left
``sending``) and tell the schedule's owner, once per run.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update

from data.db import translate_errors
from data.owned import DeliveryStatus, ReportDelivery, ReportRun, RunStatus
from data.settings import Settings
from reports.alerts import ALERTED_RUN_STATUSES
from reports.runs.delivery import alert_owner, finalize_run
from reports.runs.states import (
    INTERRUPTED_PENDING,
    INTERRUPTED_SENDING,
    LOST_DATABASE_SENDING,
    RUN_TIMEOUT,
    SENDING_TIMEOUT,
)

log = logging.getLogger(__name__)


# --- Recovery ----------------------------------------------------------------------------


def _interrupt(connection: Connection, runs: list[int], sending: list[int], now: datetime) -> None:
    if sending:
        connection.execute(
            update(ReportDelivery)
            .where(ReportDelivery.id.in_(sending), ReportDelivery.status == DeliveryStatus.sending)
            .values(
                status=DeliveryStatus.interrupted, last_error=INTERRUPTED_SENDING, updated_at=now
            )
        )
    if runs:
        # A recipient caught mid-send may have received the message: say so.
        for status, text in (
            (DeliveryStatus.sending, INTERRUPTED_SENDING),
            (DeliveryStatus.pending, INTERRUPTED_PENDING),
        ):
            connection.execute(
                update(ReportDelivery)
                .where(ReportDelivery.run_id.in_(runs), ReportDelivery.status == status)
                .values(status=DeliveryStatus.interrupted, last_error=text, updated_at=now)
            )
        connection.execute(
            update(ReportRun)
            .where(ReportRun.id.in_(runs), ReportRun.status == RunStatus.working)
            .values(
                status=RunStatus.interrupted,
                finished_at=now,
                error="Exécution interrompue (arrêt du service ou délai dépassé) : à renvoyer.",
            )
        )


def recover(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    at_start: bool,
    spare: Collection[int] = (),
) -> int:
    """Make interrupted work visible; returns how many runs were affected.

    Every step: deliveries ``sending`` for longer than :data:`SENDING_TIMEOUT`
    and runs ``working`` for longer than :data:`RUN_TIMEOUT`. At the
    scheduler's start (it holds the lease, so nobody else is sending
    scheduled runs): every scheduled run still ``working`` and every delivery
    of a scheduled run still ``sending``, whatever their age, except the
    runs in ``spare`` (this live process's own work in hand, which it resumes
    itself after taking the lease back). The owners are told.
    """
    run_cutoff = now if at_start else now - RUN_TIMEOUT
    send_cutoff = now if at_start else now - SENDING_TIMEOUT
    only_scheduled = [ReportRun.trigger == "scheduled"] if at_start else []
    spared = [ReportRun.id.not_in(list(spare))] if spare else []
    with translate_errors(), engine.begin() as connection:
        runs = (
            connection.execute(
                select(ReportRun.id).where(
                    ReportRun.status == RunStatus.working,
                    ReportRun.claimed_at <= run_cutoff,
                    *only_scheduled,
                    *spared,
                )
            )
            .scalars()
            .all()
        )
        sending = connection.execute(
            select(ReportDelivery.id, ReportDelivery.run_id)
            .join(ReportRun, ReportRun.id == ReportDelivery.run_id)
            .where(
                ReportDelivery.status == DeliveryStatus.sending,
                ReportDelivery.updated_at <= send_cutoff,
            )
            .where(*only_scheduled, *spared)
        ).all()
        _interrupt(connection, list(runs), [row.id for row in sending], now)
    touched = sorted(set(runs) | {row.run_id for row in sending})
    for run_id in touched:
        log.warning("run %s: interrupted work found, marked for a person to resend", run_id)
        outcome = finalize_run(engine, settings, run_id=run_id, now=now, alert=False)
        if outcome.status in ALERTED_RUN_STATUSES:
            alert_owner(engine, settings, run_id=run_id, now=now)
    return len(touched)


def interrupt_doubtful(engine: Engine, run_id: int, now: datetime) -> int:
    """A run this live process resumes: a recipient still ``sending`` whose outcome it does
    not know (the database went away around the hand-over) may have received it."""
    with translate_errors(), engine.begin() as connection:
        return int(
            connection.execute(
                update(ReportDelivery)
                .where(
                    ReportDelivery.run_id == run_id, ReportDelivery.status == DeliveryStatus.sending
                )
                .values(
                    status=DeliveryStatus.interrupted,
                    last_error=LOST_DATABASE_SENDING,
                    updated_at=now,
                )
            ).rowcount
        )
