"""The audit log: every write of the dashboard records who did what, when.

:func:`record` is called *inside* the write's own transaction, so the change
and its audit row commit or roll back together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from data.owned import AuditLog
from data.permissions import Actor


def record(
    connection: Connection,
    *,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: int | str,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one audit row on ``connection`` (the caller's open transaction).

    ``actor`` None means the system (the scheduler). ``details`` must be
    JSON-serialisable: old and new values, counts, reasons.
    """
    connection.execute(
        insert(AuditLog).values(
            created_at=at or datetime.now(UTC),
            actor_id=actor.id if actor else None,
            actor_email=actor.email if actor else None,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            details=details,
        )
    )
