"""Who is acting, as the database says at the moment of the write.

The :class:`~data.permissions.Actor` a screen holds was read when the page (or
the callback) ran: the account may have been deactivated or given another
role since. Every write function therefore calls :func:`acting_account` first
thing inside its own transaction. It re-reads the account's ``actif`` and
``role`` and refuses with :class:`~data.errors.NotAllowed`, before anything is
written, when the account may no longer do the action.

On PostgreSQL the row is read ``FOR SHARE``: an admin's deactivation or role
change (which updates that row) waits for the write to commit, and a write
that starts after the change sees it. SQLite has no row locks, but it has a
single writer: a write transaction that read the account before a committed
change fails to write (``SQLITE_BUSY_SNAPSHOT``) rather than act on stale rights.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection, select

from data.errors import NotAllowed
from data.models import STAFF_ROLES, User
from data.permissions import ROLE_REFUSAL, Actor, can

INACTIVE_REFUSAL: Final = "Votre compte n'est plus actif : action non effectuée."


def acting_account(connection: Connection, actor: Actor, capability: str) -> Actor:
    """The acting account as it is now, inside the caller's transaction.

    Raises :class:`NotAllowed` when the account is gone, inactive, no longer
    staff, or its role no longer grants ``capability``. Returns the account's
    current values (its email and name as they are now, for the audit row).
    """
    row = connection.execute(
        select(User.id, User.email, User.role, User.prenom, User.nom, User.actif)
        .where(User.id == actor.id)
        .with_for_update(read=True)  # FOR SHARE on PostgreSQL; nothing on SQLite
    ).first()
    if row is None or not row.actif:
        raise NotAllowed(INACTIVE_REFUSAL)
    if row.role not in STAFF_ROLES or not can(row.role, capability):
        raise NotAllowed(ROLE_REFUSAL)
    return Actor(row.id, row.email, row.role, row.prenom, row.nom)
