"""Staff accounts ("Équipe"): the list, and the dashboard's only writes to ``users``.

An admin may deactivate and reactivate a staff account and change its role
among the staff roles. Each change is one transaction with its audit row;
deactivation also revokes the account's open sessions. Nobody may leave the
centre without an active admin, and an admin may not deactivate themself.

Concurrency: each write first locks every staff row (``FOR UPDATE``, in id
order, so two writes never deadlock) and decides on what it locked, so two
admins deactivating each other at the same moment cannot both succeed. SQLite
has no row locks; there the second writer fails with a busy error instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select, update

from data import audit
from data.acting import acting_account
from data.auth import OK, revoke_user_sessions
from data.db import translate_errors
from data.errors import Conflict, InvalidInput, NotFound
from data.models import STAFF_ROLES, User
from data.owned import SignInEvent
from data.permissions import ROLE_LABELS, Actor, require

CAPABILITY = "team.manage"
ACCOUNT_COLUMNS = ("id", "email", "prenom", "nom", "role", "actif", "last_sign_in")


@dataclass(frozen=True)
class AccountChange:
    """What a write changed on one account."""

    user_id: int
    email: str
    field: str  # "actif" | "role"
    old: Any
    new: Any
    sessions_revoked: int = 0


def staff_accounts(engine: Engine) -> pd.DataFrame:
    """Every staff account, active or not, with its last successful sign-in.

    Columns: id, email, prenom, nom, role, actif, last_sign_in (aware UTC or
    None), role_label.
    """
    last_sign_in = (
        select(SignInEvent.user_id, func.max(SignInEvent.created_at).label("last_sign_in"))
        .where(SignInEvent.reason == OK)
        .group_by(SignInEvent.user_id)
        .subquery()
    )
    statement = (
        select(
            User.id,
            User.email,
            User.prenom,
            User.nom,
            User.role,
            User.actif,
            last_sign_in.c.last_sign_in,
        )
        .outerjoin(last_sign_in, last_sign_in.c.user_id == User.id)
        .where(User.role.in_(STAFF_ROLES))
        .order_by(User.actif.desc(), User.nom, User.prenom, User.id)
    )
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement).all()
    records = [(*tuple(row), ROLE_LABELS.get(row.role, row.role)) for row in rows]
    frame = pd.DataFrame(records, columns=[*ACCOUNT_COLUMNS, "role_label"], dtype=object)
    return frame.astype({"id": "int64", "actif": "bool"})


def _locked_staff(connection: Connection) -> dict[int, Any]:
    """Every staff row, locked until the end of the transaction (PostgreSQL)."""
    rows = connection.execute(
        select(User.id, User.email, User.role, User.actif)
        .where(User.role.in_(STAFF_ROLES))
        .order_by(User.id)
        .with_for_update()
    ).all()
    return {row.id: row for row in rows}


def _target(staff: dict[int, Any], user_id: int) -> Any:
    row = staff.get(user_id)
    if row is None:
        raise NotFound("Compte du personnel introuvable.")
    return row


def _other_active_admins(staff: dict[int, Any], user_id: int) -> int:
    return sum(
        1 for row in staff.values() if row.role == "admin" and row.actif and row.id != user_id
    )


LAST_ADMIN_MESSAGE = "Impossible : ce compte est le dernier administrateur actif."


def deactivate_account(
    engine: Engine, *, actor: Actor, user_id: int, now: datetime | None = None
) -> AccountChange:
    """Deactivate a staff account and revoke its sessions (it is refused at its next run)."""
    require(actor, CAPABILITY)
    at = now or datetime.now(UTC)
    if user_id == actor.id:
        raise InvalidInput("Vous ne pouvez pas désactiver votre propre compte.")
    with translate_errors(), engine.begin() as connection:
        staff = _locked_staff(connection)
        actor = acting_account(connection, actor, CAPABILITY)
        target = _target(staff, user_id)
        if not target.actif:
            raise Conflict("Ce compte est déjà désactivé.")
        if target.role == "admin" and _other_active_admins(staff, user_id) == 0:
            raise InvalidInput(LAST_ADMIN_MESSAGE)
        connection.execute(update(User).where(User.id == user_id).values(actif=False))
        revoked = revoke_user_sessions(connection, user_id=user_id, now=at)
        audit.record(
            connection,
            actor=actor,
            action="user.deactivate",
            entity="users",
            entity_id=user_id,
            details={"email": target.email, "actif": [True, False], "sessions_revoked": revoked},
            at=at,
        )
    return AccountChange(user_id, target.email, "actif", True, False, revoked)


def reactivate_account(
    engine: Engine, *, actor: Actor, user_id: int, now: datetime | None = None
) -> AccountChange:
    """Reactivate a staff account (its owner signs in again with their password)."""
    require(actor, CAPABILITY)
    at = now or datetime.now(UTC)
    with translate_errors(), engine.begin() as connection:
        staff = _locked_staff(connection)
        actor = acting_account(connection, actor, CAPABILITY)
        target = _target(staff, user_id)
        if target.actif:
            raise Conflict("Ce compte est déjà actif.")
        connection.execute(update(User).where(User.id == user_id).values(actif=True))
        audit.record(
            connection,
            actor=actor,
            action="user.reactivate",
            entity="users",
            entity_id=user_id,
            details={"email": target.email, "actif": [False, True]},
            at=at,
        )
    return AccountChange(user_id, target.email, "actif", False, True)


def change_role(
    engine: Engine, *, actor: Actor, user_id: int, role: str, now: datetime | None = None
) -> AccountChange:
    """Give a staff account another staff role (applies at its next page run)."""
    require(actor, CAPABILITY)
    if role not in STAFF_ROLES:
        raise InvalidInput(
            "Rôle non autorisé : choisissez " + ", ".join(ROLE_LABELS[r] for r in STAFF_ROLES) + "."
        )
    at = now or datetime.now(UTC)
    with translate_errors(), engine.begin() as connection:
        staff = _locked_staff(connection)
        actor = acting_account(connection, actor, CAPABILITY)
        target = _target(staff, user_id)
        if target.role == role:
            raise Conflict("Ce compte a déjà ce rôle.")
        demoting_admin = target.role == "admin" and target.actif
        if demoting_admin and _other_active_admins(staff, user_id) == 0:
            raise InvalidInput(LAST_ADMIN_MESSAGE)
        connection.execute(update(User).where(User.id == user_id).values(role=role))
        audit.record(
            connection,
            actor=actor,
            action="user.role_change",
            entity="users",
            entity_id=user_id,
            details={"email": target.email, "role": [target.role, role]},
            at=at,
        )
    return AccountChange(user_id, target.email, "role", target.role, role)
