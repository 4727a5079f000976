"""The notification centre: what a user reads and does, and what admin/direction change.

Reads are named functions returning DataFrames or frozen dataclasses; every
write is one transaction that re-reads the acting account
(:func:`data.acting.acting_account`) and writes its audit row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update

from data import audit
from data.acting import acting_account
from data.alerts import lifecycle as lc
from data.alerts.evaluate import MODES, record_transition
from data.alerts.rules import RULE_KINDS
from data.conflicts import gone_meanwhile
from data.db import translate_errors
from data.errors import InvalidInput, NotAllowed, NotFound
from data.kpis.specs import KPI_SPECS
from data.models import STAFF_ROLES, User
from data.owned import Alert, AlertPreference, AlertRule, AlertTransition, Notification
from data.permissions import Actor
from data.workflow import clean_comment

VIEW: Final = "alerts.view"
MANAGE: Final = "alerts.manage"
NOTIFICATION_COLUMNS: Final = (
    "id",
    "created_at",
    "kind",
    "rule_kind",
    "title",
    "link",
    "read_at",
    "alert_id",
    "alert_state",
    "snoozed_until",
)
SNOOZE_CHOICES: Final = {
    "1h": "1 heure",
    "demain": "Demain 08:00",
    "semaine": "Lundi prochain 08:00",
}


# --- Reads ---------------------------------------------------------------------------


def unread_count(engine: Engine, user_id: int) -> int:
    """How many notices ``user_id`` has not read (the sidebar badge)."""
    with translate_errors(), engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).where(
                    Notification.user_id == user_id, Notification.read_at.is_(None)
                )
            ).scalar_one()
        )


def user_notifications(
    engine: Engine,
    user_id: int,
    *,
    rule_kind: str | None = None,
    alert_state: str | None = None,
    limit: int = 200,
) -> pd.DataFrame:
    """The user's notices, unread first, newest first; optionally of one kind or state."""
    n = Notification
    stmt = (
        select(
            n.id,
            n.created_at,
            n.kind,
            n.rule_kind,
            n.title,
            n.link,
            n.read_at,
            n.alert_id,
            Alert.state.label("alert_state"),
            Alert.snoozed_until,
        )
        .join(Alert, Alert.id == n.alert_id)
        .where(n.user_id == user_id)
        .order_by(n.read_at.is_not(None), n.created_at.desc(), n.id.desc())
        .limit(limit)
    )
    if rule_kind is not None:
        stmt = stmt.where(n.rule_kind == rule_kind)
    if alert_state is not None:
        stmt = stmt.where(Alert.state == alert_state)
    with translate_errors(), engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(stmt).mappings()]
    return pd.DataFrame(rows, columns=NOTIFICATION_COLUMNS)


def open_alerts(engine: Engine) -> pd.DataFrame:
    """Every open alert with its rule, state and times (« Alertes »)."""
    stmt = (
        select(
            Alert.id,
            AlertRule.title.label("rule"),
            Alert.subject_label,
            Alert.state,
            Alert.opened_at,
            Alert.firing_at,
            Alert.snoozed_until,
            Alert.acknowledged_at,
            Alert.link,
        )
        .join(AlertRule, AlertRule.id == Alert.rule_id)
        .where(Alert.state.in_(lc.OPEN_STATES))
        .order_by(Alert.opened_at, Alert.id)
    )
    with translate_errors(), engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(stmt).mappings()]
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "rule",
            "subject_label",
            "state",
            "opened_at",
            "firing_at",
            "snoozed_until",
            "acknowledged_at",
            "link",
        ],
    )


def alert_history(engine: Engine, alert_id: int) -> pd.DataFrame:
    """An alert's transitions, oldest first, with who made them (None: the evaluation)."""
    stmt = (
        select(
            AlertTransition.at,
            AlertTransition.from_state,
            AlertTransition.to_state,
            User.email.label("actor"),
            AlertTransition.comment,
        )
        .outerjoin(User, User.id == AlertTransition.actor_id)
        .where(AlertTransition.alert_id == alert_id)
        .order_by(AlertTransition.id)
    )
    with translate_errors(), engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(stmt).mappings()]
    return pd.DataFrame(rows, columns=["at", "from_state", "to_state", "actor", "comment"])


def alert_rules(engine: Engine) -> pd.DataFrame:
    """The rules with their thresholds and last evaluation."""
    r = AlertRule
    stmt = select(
        r.id,
        r.key,
        r.kind,
        r.title,
        r.roles,
        r.params,
        r.for_minutes,
        r.quiet_minutes,
        r.paused,
        r.last_evaluated_at,
        r.last_duration_ms,
        r.last_outcome,
        r.last_error,
    ).order_by(r.id)
    with translate_errors(), engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(stmt).mappings()]
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "key",
            "kind",
            "title",
            "roles",
            "params",
            "for_minutes",
            "quiet_minutes",
            "paused",
            "last_evaluated_at",
            "last_duration_ms",
            "last_outcome",
            "last_error",
        ],
    )


@dataclass(frozen=True)
class Preference:
    rule_kind: str
    label: str
    mode: str
    digest_hour: int


def user_preferences(engine: Engine, user_id: int, role: str) -> tuple[Preference, ...]:
    """The user's mode per kind of rule (their choice, or their role's default)."""
    from data.alerts.evaluate import default_mode

    with translate_errors(), engine.connect() as connection:
        chosen = {
            row.rule_kind: row
            for row in connection.execute(
                select(AlertPreference).where(AlertPreference.user_id == user_id)
            )
        }
    return tuple(
        Preference(
            kind,
            spec.label,
            chosen[kind].mode if kind in chosen else default_mode(role, kind),
            chosen[kind].digest_hour if kind in chosen else 8,
        )
        for kind, spec in RULE_KINDS.items()
    )


# --- Writes ----------------------------------------------------------------------------


def mark_read(engine: Engine, *, actor: Actor, notification_ids: list[int], now: datetime) -> int:
    """Mark some of the actor's own notices read; returns how many changed."""
    with translate_errors(), engine.begin() as connection:
        account = acting_account(connection, actor, VIEW)
        changed = connection.execute(
            update(Notification)
            .where(
                Notification.user_id == account.id,
                Notification.id.in_(notification_ids),
                Notification.read_at.is_(None),
            )
            .values(read_at=now)
        ).rowcount
        audit.record(
            connection,
            actor=account,
            action="notification.read",
            entity="dashboard_notifications",
            entity_id=",".join(str(i) for i in notification_ids)[:200],
            details={"changed": int(changed)},
            at=now,
        )
    return int(changed)


def mark_all_read(engine: Engine, *, actor: Actor, now: datetime) -> int:
    with translate_errors(), engine.begin() as connection:
        account = acting_account(connection, actor, VIEW)
        changed = connection.execute(
            update(Notification)
            .where(Notification.user_id == account.id, Notification.read_at.is_(None))
            .values(read_at=now)
        ).rowcount
        audit.record(
            connection,
            actor=account,
            action="notification.read_all",
            entity="dashboard_notifications",
            entity_id=account.id,
            details={"changed": int(changed)},
            at=now,
        )
    return int(changed)


def _alert_for(connection: Any, alert_id: int, account: Actor) -> Any:
    row = connection.execute(
        select(Alert.id, Alert.state, Alert.recipients).where(Alert.id == alert_id)
    ).first()
    if row is None:
        raise NotFound("Alerte introuvable.")
    from data.permissions import can

    if account.id not in (row.recipients or []) and not can(account.role, MANAGE):
        raise NotAllowed("Cette alerte ne vous est pas adressée.")
    return row


def acknowledge(
    engine: Engine, *, actor: Actor, alert_id: int, now: datetime, comment: str | None = None
) -> None:
    """Take an alert into account: no more reminders; the actor's notices of it are read."""
    text = clean_comment(comment)
    with translate_errors(), engine.begin() as connection:
        account = acting_account(connection, actor, VIEW)
        alert = _alert_for(connection, alert_id, account)
        lc.check_acknowledge(alert.state)
        moved = record_transition(
            connection,
            alert_id=alert_id,
            from_state=alert.state,
            to_state=lc.ACKNOWLEDGED,
            now=now,
            values={
                "acknowledged_at": now,
                "acknowledged_by": account.id,
                "ack_comment": text,
                "snoozed_until": None,
            },
            actor_id=account.id,
            comment=text,
        )
        _after_person_moved(
            connection, account, alert_id, moved, "alert.acknowledge", {"comment": text}, now
        )


def snooze_until(choice: str, now: datetime, tz: ZoneInfo) -> datetime:
    """The end of a snooze: ``1h``, ``demain`` (08:00 local), ``semaine`` (next Monday 08:00)."""
    local = now.astimezone(tz)
    if choice == "1h":
        return now + timedelta(hours=1)
    if choice == "demain":
        day = local.date() + timedelta(days=1)
    elif choice == "semaine":
        day = local.date() + timedelta(days=7 - local.weekday())
    else:
        raise InvalidInput("Durée de report inconnue.")
    return datetime.combine(day, time(8, 0), tz)


def snooze_to_day(day: date, tz: ZoneInfo) -> datetime:
    """A snooze to a chosen date: 08:00 local that day."""
    return datetime.combine(day, time(8, 0), tz)


def snooze(engine: Engine, *, actor: Actor, alert_id: int, until: datetime, now: datetime) -> None:
    """Snooze a firing alert until ``until`` (aware); it fires again then if still true."""
    with translate_errors(), engine.begin() as connection:
        account = acting_account(connection, actor, VIEW)
        alert = _alert_for(connection, alert_id, account)
        lc.check_snooze(alert.state, until, now)
        moved = record_transition(
            connection,
            alert_id=alert_id,
            from_state=alert.state,
            to_state=lc.SNOOZED,
            now=now,
            values={"snoozed_until": until},
            actor_id=account.id,
        )
        _after_person_moved(
            connection, account, alert_id, moved, "alert.snooze", {"until": until.isoformat()}, now
        )


def _after_person_moved(
    connection: Connection,
    account: Actor,
    alert_id: int,
    moved: int | None,
    action: str,
    details: dict[str, Any],
    now: datetime,
) -> None:
    """After a person acknowledged or snoozed an alert: refuse if someone else moved it
    first (nothing written); else their notices of it are read, and it is audited."""
    if moved is None:
        raise gone_meanwhile("Cette alerte vient de changer")
    connection.execute(
        update(Notification)
        .where(
            Notification.alert_id == alert_id,
            Notification.user_id == account.id,
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
    )
    audit.record(
        connection,
        actor=account,
        action=action,
        entity="dashboard_alerts",
        entity_id=alert_id,
        details=details,
        at=now,
    )


def set_preference(
    engine: Engine, *, actor: Actor, rule_kind: str, mode: str, digest_hour: int = 8
) -> None:
    """The actor's own choice for one kind of rule."""
    if rule_kind not in RULE_KINDS:
        raise InvalidInput("Type d'alerte inconnu.")
    if mode not in MODES:
        raise InvalidInput("Mode de notification inconnu.")
    if not 0 <= digest_hour <= 23:
        raise InvalidInput("L'heure du résumé doit être entre 0 et 23.")
    with translate_errors(), engine.begin() as connection:
        account = acting_account(connection, actor, VIEW)
        updated = connection.execute(
            update(AlertPreference)
            .where(AlertPreference.user_id == account.id, AlertPreference.rule_kind == rule_kind)
            .values(mode=mode, digest_hour=digest_hour)
        ).rowcount
        if not updated:
            connection.execute(
                insert(AlertPreference).values(
                    user_id=account.id, rule_kind=rule_kind, mode=mode, digest_hour=digest_hour
                )
            )
        audit.record(
            connection,
            actor=account,
            action="alert_preference.update",
            entity="dashboard_alert_preferences",
            entity_id=account.id,
            details={"rule_kind": rule_kind, "mode": mode, "digest_hour": digest_hour},
        )


def set_digest_hour(engine: Engine, *, actor: Actor, hour: int) -> None:
    """The local hour of the actor's daily digest (every kind keeps its mode)."""
    from data.alerts.evaluate import default_mode

    if not 0 <= hour <= 23:
        raise InvalidInput("L'heure du résumé doit être entre 0 et 23.")
    with translate_errors(), engine.begin() as connection:
        account = acting_account(connection, actor, VIEW)
        connection.execute(
            update(AlertPreference)
            .where(AlertPreference.user_id == account.id)
            .values(digest_hour=hour)
        )
        chosen = set(
            connection.execute(
                select(AlertPreference.rule_kind).where(AlertPreference.user_id == account.id)
            ).scalars()
        )
        missing = [
            {
                "user_id": account.id,
                "rule_kind": kind,
                "mode": default_mode(account.role, kind),
                "digest_hour": hour,
            }
            for kind in RULE_KINDS
            if kind not in chosen
        ]
        if missing:
            connection.execute(insert(AlertPreference), missing)
        audit.record(
            connection,
            actor=account,
            action="alert_preference.digest_hour",
            entity="dashboard_alert_preferences",
            entity_id=account.id,
            details={"digest_hour": hour},
        )


def _check_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str | None):
            raise InvalidInput(f"Valeur invalide pour « {name} ».")
        if isinstance(value, int | float) and value < 0:
            raise InvalidInput(f"« {name} » doit être positif.")
        cleaned[name] = value
    return cleaned


def update_rule(
    engine: Engine,
    *,
    actor: Actor,
    rule_id: int,
    params: Mapping[str, Any] | None = None,
    paused: bool | None = None,
    for_minutes: int | None = None,
    quiet_minutes: int | None = None,
    roles: list[str] | None = None,
) -> None:
    """Change a rule's thresholds, recipients (roles), hold, quiet period or pause
    (admin and direction)."""
    with translate_errors(), engine.begin() as connection:
        account = acting_account(connection, actor, MANAGE)
        row = connection.execute(
            select(AlertRule.kind, AlertRule.params).where(AlertRule.id == rule_id)
        ).first()
        if row is None:
            raise NotFound("Règle introuvable.")
        values: dict[str, Any] = {}
        if params is not None:
            values["params"] = {**(row.params or {}), **_check_params(row.kind, params)}
        if paused is not None:
            values["paused"] = paused
        if roles is not None:
            if not roles or not set(roles) <= set(STAFF_ROLES):
                raise InvalidInput("Choisissez au moins un rôle destinataire.")
            values["roles"] = [r for r in STAFF_ROLES if r in roles]
        for name, minutes in (("for_minutes", for_minutes), ("quiet_minutes", quiet_minutes)):
            if minutes is not None:
                if minutes < 0:
                    raise InvalidInput("Une durée ne peut pas être négative.")
                values[name] = minutes
        if not values:
            return
        connection.execute(update(AlertRule).where(AlertRule.id == rule_id).values(**values))
        audit.record(
            connection,
            actor=account,
            action="alert_rule.update",
            entity="dashboard_alert_rules",
            entity_id=rule_id,
            details={k: v for k, v in values.items()},
        )


def add_kpi_goal(
    engine: Engine,
    *,
    actor: Actor,
    kpi_id: str,
    direction: str,
    value: float,
    window_days: int = 30,
    formation: str | None = None,
) -> int:
    """A KPI goal line: alert when ``kpi_id`` over the last ``window_days`` goes
    below/above ``value``. Returns the new rule's id."""
    if kpi_id not in KPI_SPECS:
        raise InvalidInput(f"Indicateur inconnu « {kpi_id} ».")
    if direction not in ("below", "above"):
        raise InvalidInput("Choisissez « en dessous » ou « au-dessus ».")
    if not 1 <= window_days <= 366:
        raise InvalidInput("La fenêtre doit compter de 1 à 366 jours.")
    spec = KPI_SPECS[kpi_id]
    word = "sous" if direction == "below" else "au-dessus de"
    with translate_errors(), engine.begin() as connection:
        account = acting_account(connection, actor, MANAGE)
        count = connection.execute(
            select(func.count()).where(AlertRule.kind == "kpi_goal")
        ).scalar_one()
        rule_id = int(
            connection.execute(
                insert(AlertRule)
                .values(
                    key=f"kpi_goal_{count + 1}_{kpi_id}",
                    kind="kpi_goal",
                    title=f"{spec.label} {word} {spec.value_text(value)} ({window_days} j)",
                    roles=["direction"],
                    params={
                        "kpi_id": kpi_id,
                        "direction": direction,
                        "value": value,
                        "window_days": window_days,
                        "formation": formation,
                    },
                    for_minutes=0,
                    quiet_minutes=24 * 60,
                    created_by=account.id,
                )
                .returning(AlertRule.id)
            ).scalar_one()
        )
        audit.record(
            connection,
            actor=account,
            action="alert_rule.add_kpi_goal",
            entity="dashboard_alert_rules",
            entity_id=rule_id,
            details={"kpi_id": kpi_id, "direction": direction, "value": value},
        )
    return rule_id
