"""Reading staff accounts (the website's ``users`` table, staff roles only)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from data.db import translate_errors
from data.models import STAFF_ROLES, User
from data.permissions import Actor


def _actor_columns() -> tuple:  # type: ignore[type-arg]
    return (User.id, User.email, User.role, User.prenom, User.nom)


def active_staff_by_email(engine: Engine, email: str) -> Actor | None:
    """The active staff account with this email (case-insensitive), or None."""
    statement = select(*_actor_columns()).where(
        func.lower(User.email) == email.strip().lower(),
        User.role.in_(STAFF_ROLES),
        User.actif.is_(True),
    )
    with translate_errors(), engine.connect() as connection:
        row = connection.execute(statement).first()
    return Actor(*row) if row else None


def active_staff_by_id(engine: Engine, user_id: int) -> Actor | None:
    """The active staff account with this id, as it is now (role changes apply at once)."""
    statement = select(*_actor_columns()).where(
        User.id == user_id, User.role.in_(STAFF_ROLES), User.actif.is_(True)
    )
    with translate_errors(), engine.connect() as connection:
        row = connection.execute(statement).first()
    return Actor(*row) if row else None
