"""The work one live scheduler process has in hand, so that a database error never abandons it.

Rule 17: a lost database connection is thrown away and rebuilt, and the work
in hand is finished. What a process must remember across that gap:

- the runs it claimed (or was retrying) and has not seen through, and the
  claims whose commit it could not confirm: the next step resumes them before
  anything else (:func:`reports.step.run_due`);
- delivery outcomes it knows but could not write: the SMTP server accepted a
  message, then the database refused the "sent" write. They are written first
  when the database answers, so the recipient shows as sent rather than as an
  uncertain "sending".

Only this process's memory holds them: if it dies first, the restart's
recovery shows that work as interrupted (the truth as far as the database
knows), and :meth:`WorkInHand.unwritten` lets the log name every outcome that
was never written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, update

from data.db import translate_errors
from data.owned import DeliveryStatus, ReportDelivery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What became of one hand-over (``attempt`` of ``delivery_id``), as columns to write."""

    delivery_id: int
    attempt: int
    recipient: str
    values: dict[str, Any]


def write_outcome(connection: Connection, outcome: Outcome) -> bool:
    """Record ``outcome`` if the delivery is still in that hand-over; False if it moved on.

    The hand-over is named by its attempt number: an outcome is never written
    over a delivery that recovery, another process or a person has changed
    since (marked interrupted, reopened for a resend).
    """
    return (
        connection.execute(
            update(ReportDelivery)
            .where(
                ReportDelivery.id == outcome.delivery_id,
                ReportDelivery.status == DeliveryStatus.sending,
                ReportDelivery.attempts == outcome.attempt,
            )
            .values(**outcome.values)
        ).rowcount
        == 1
    )


@dataclass
class WorkInHand:
    """Runs started and not finished, uncertain claims, outcomes known but not written."""

    runs: set[int] = field(default_factory=set)
    claims: set[tuple[int, datetime]] = field(default_factory=set)
    unrecorded: dict[int, Outcome] = field(default_factory=dict)

    def keep(self, outcome: Outcome) -> None:
        log.error(
            "delivery %s to %s: outcome %s known but not written (database unreachable): "
            "kept to write as soon as it answers",
            outcome.delivery_id,
            outcome.recipient,
            outcome.values.get("status"),
        )
        self.unrecorded[outcome.delivery_id] = outcome

    def flush(self, engine: Engine) -> int:
        """Write the outcomes kept; raises :class:`DatabaseUnavailable` while it is still gone."""
        written = 0
        for delivery_id, outcome in sorted(self.unrecorded.items()):
            with translate_errors(), engine.begin() as connection:
                done = write_outcome(connection, outcome)
            del self.unrecorded[delivery_id]
            if done:
                written += 1
                log.info(
                    "delivery %s to %s: outcome %s written now that the database answers",
                    delivery_id,
                    outcome.recipient,
                    outcome.values.get("status"),
                )
            else:
                log.warning(
                    "delivery %s to %s: outcome %s not written, the delivery was changed "
                    "meanwhile (recovered by another scheduler, or resent)",
                    delivery_id,
                    outcome.recipient,
                    outcome.values.get("status"),
                )
        return written

    def unwritten(self) -> list[str]:
        """One line per outcome still unwritten (for the log at exit)."""
        return [
            f"delivery {o.delivery_id} to {o.recipient}: {o.values.get('status')} "
            f"(attempt {o.attempt}) never written"
            for o in self.unrecorded.values()
        ]
