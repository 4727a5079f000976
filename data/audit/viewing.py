"""Reading the audit log and the sign-in log, for the admin's viewers.

Filters are plain values (dates, strings) so the pages can pass widget values
straight through. Text filters go through :mod:`data.text_search`, like every
search box of the app: plain text (``%``, ``_``, quotes and backslashes match
themselves), accent- and case-insensitive, every word must appear.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import ColumnElement, Engine, Text, cast, func, select

from data.audit.labels import details_text, entity_label
from data.db import translate_errors
from data.owned import AuditLog, SignInEvent
from data.text_search import matches_search, normalise_search

DEFAULT_LIMIT: Final = 500
DEFAULT_DAYS: Final = 30
"""The period both log viewers (audit, sign-ins) open on: the last 30 days."""
OUTCOMES: Final = ("all", "success", "failure")

# Every action code a dashboard write records (tests/test_audit_viewer checks none is missing).
ACTION_LABELS: Final[dict[str, str]] = {
    "candidature.move": "Changement de statut d'une candidature",
    "candidature.refuse": "Refus d'une candidature",
    "candidature.assign": "Assignation d'une candidature",
    "candidature.session": "Rattachement à une session",
    "candidature.undo": "Annulation d'un changement de statut",
    "candidature.note": "Note de suivi",
    "contact.treated": "Message marqué traité",
    "contact.untreated": "Message remis à traiter",
    "matching.decide": "Décision sur un matching",
    "report_schedule.create": "Création d'une planification de rapport",
    "report_schedule.update": "Modification d'une planification de rapport",
    "report_schedule.pause": "Mise en pause d'une planification",
    "report_schedule.resume": "Reprise d'une planification",
    "report_schedule.delete": "Suppression d'une planification",
    "report_run.send_now": "Envoi immédiat d'un rapport",
    "report_run.resend": "Renvoi d'un rapport aux destinataires en échec",
    "report_run.owner_alerted": "Alerte d'échec envoyée au responsable",
    "user.deactivate": "Désactivation d'un compte",
    "user.reactivate": "Réactivation d'un compte",
    "user.role_change": "Changement de rôle",
    "alert.acknowledge": "Alerte prise en compte",
    "alert.snooze": "Alerte reportée",
    "alert_rule.update": "Modification d'une règle d'alerte",
    "alert_rule.add_kpi_goal": "Ajout d'une ligne d'objectif",
    "alert_preference.update": "Préférence de notification",
    "alert_preference.digest_hour": "Heure du résumé quotidien",
    "notification.read": "Notification marquée lue",
    "notification.read_all": "Toutes les notifications marquées lues",
}
REASON_LABELS: Final[dict[str, str]] = {
    "ok": "Connexion réussie",
    "bad_credentials": "Identifiants incorrects",
    "inactive": "Compte désactivé",
    "not_staff": "Rôle sans accès",
    "pending": "Vérification en cours",
    "throttled": "Refusée : trop de tentatives pour ce compte",
    "throttled_address": "Refusée : trop de tentatives depuis cette adresse",
    "busy": "Refusée : trop de connexions sur le serveur",
    "logout": "Déconnexion",
}
AUDIT_COLUMNS: Final = (
    "created_at",
    "actor_email",
    "action",
    "action_label",
    "entity",
    "entity_id",
    "details",
)
SIGNIN_COLUMNS: Final = (
    "created_at",
    "email",
    "user_id",
    "success",
    "reason",
    "client_address",
    "reason_label",
)


def _utc_bounds(
    since: date | None, until: date | None, tz_name: str
) -> tuple[datetime | None, datetime | None]:
    """[since 00:00, until + 1 day 00:00) in the centre's zone, as UTC instants."""
    tz = ZoneInfo(tz_name)

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)

    return (
        start_of(since) if since else None,
        start_of(until + timedelta(days=1)) if until else None,
    )


def _in_period(
    column: Any, since: date | None, until: date | None, tz_name: str
) -> list[ColumnElement[bool]]:
    lower, upper = _utc_bounds(since, until, tz_name)
    clauses: list[ColumnElement[bool]] = []
    if lower is not None:
        clauses.append(column >= lower)
    if upper is not None:
        clauses.append(column < upper)
    return clauses


def audit_actions(engine: Engine) -> tuple[str, ...]:
    """The distinct action codes present, for the viewer's filter."""
    statement = select(AuditLog.action).distinct().order_by(AuditLog.action)
    with translate_errors(), engine.connect() as connection:
        return tuple(connection.execute(statement).scalars())


def audit_entries(
    engine: Engine,
    *,
    tz_name: str,
    since: date | None = None,
    until: date | None = None,
    actor: str = "",
    action: str = "",
    search: str = "",
    limit: int = DEFAULT_LIMIT,
) -> pd.DataFrame:
    """Audit rows, newest first: who (email contains ``actor``), what (``action``
    exactly); ``search`` looks in the object, its id and the details.

    On SQLite the details are stored as ASCII-escaped JSON, so a search for an
    accented word only finds it in the object and id there (demo database).
    """
    statement = select(
        AuditLog.created_at,
        AuditLog.actor_email,
        AuditLog.action,
        AuditLog.entity,
        AuditLog.entity_id,
        AuditLog.details,
    )
    statement = statement.where(*_in_period(AuditLog.created_at, since, until, tz_name))
    if what := normalise_search(action):
        statement = statement.where(AuditLog.action == what)
    haystack = (
        AuditLog.entity
        + " "
        + AuditLog.entity_id
        + " "
        + func.coalesce(cast(AuditLog.details, Text), "")
    )
    for condition in (
        matches_search(func.coalesce(AuditLog.actor_email, ""), actor),
        matches_search(haystack, search),
    ):
        if condition is not None:
            statement = statement.where(condition)
    statement = statement.order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(limit)
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement).all()
    return pd.DataFrame([_audit_record(row) for row in rows], columns=list(AUDIT_COLUMNS))


def _audit_record(row: Any) -> tuple[Any, ...]:
    """One row as the screen shows it: French labels, never a table name or raw JSON."""
    label = ACTION_LABELS.get(row.action, row.action)
    return (
        row.created_at,
        row.actor_email or "Système",
        row.action,
        label,
        entity_label(row.entity),
        row.entity_id,
        details_text(row.details),
    )


def signin_entries(
    engine: Engine,
    *,
    tz_name: str,
    since: date | None = None,
    until: date | None = None,
    email: str = "",
    outcome: str = "all",
    limit: int = DEFAULT_LIMIT,
) -> pd.DataFrame:
    """Sign-in attempts and logouts, newest first; ``outcome``: all | success | failure."""
    if outcome not in OUTCOMES:
        outcome = "all"
    statement = select(
        SignInEvent.created_at,
        SignInEvent.email,
        SignInEvent.user_id,
        SignInEvent.success,
        SignInEvent.reason,
        SignInEvent.client_address,
    )
    statement = statement.where(*_in_period(SignInEvent.created_at, since, until, tz_name))
    if (typed := matches_search(SignInEvent.email.expression, email)) is not None:
        statement = statement.where(typed)
    if outcome != "all":
        statement = statement.where(SignInEvent.success.is_(outcome == "success"))
    statement = statement.order_by(SignInEvent.created_at.desc(), SignInEvent.id.desc())
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement.limit(limit)).all()
    records = [(*tuple(row), REASON_LABELS.get(row.reason, row.reason)) for row in rows]
    return pd.DataFrame(records, columns=list(SIGNIN_COLUMNS), dtype=object)
