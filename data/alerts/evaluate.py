"""Evaluating the rules and applying the lifecycle to the database (the scheduler's job).

Each rule is evaluated on its own: a failure is recorded on the rule
(``last_outcome = 'error'``, shown on « Alertes », raised as an alert of rule
``rules_failing``) and the other rules go on. Each transition is one
transaction: a conditional UPDATE of the alert (its state must still be the one
read), the transition row under its unique claim key, and the notices. Two
evaluators at once (two scheduler processes, or a restart) can therefore never
write the same transition, nor its notices, twice; a new alert is kept unique
per (rule, subject) by a partial unique index.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Engine, Select, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from data.alerts import lifecycle as lc
from data.alerts.rules import BUILTIN_RULES, RULE_KINDS, BuiltinRule, RuleContext, Subject
from data.db import translate_errors
from data.errors import ConnectionLost
from data.models import STAFF_ROLES, User
from data.owned import Alert, AlertPreference, AlertRule, AlertTransition, Notification
from data.settings import Settings

log = logging.getLogger(__name__)

MODES: Final = ("app", "immediate", "digest", "off")
MODE_LABELS: Final = {
    "app": "Dans l'application seulement",
    "immediate": "Email immédiat",
    "digest": "Résumé quotidien par email",
    "off": "Désactivé",
}
# What a user gets when they chose nothing, by role.
DEFAULT_MODE: Final = {"admin": "immediate", "direction": "digest", "secretariat": "app"}
# Kinds whose default is the app only for everyone: a failed report run already
# emails its schedule's owner (``reports.alerts``); a second email would be noise.
KIND_DEFAULT_MODE: Final = {"report_run_problems": "app"}
EMAIL_STATUS_FOR_MODE: Final = {"app": "none", "immediate": "pending", "digest": "digest"}
LAST_RULE: Final = "rules_failing"
_DEFAULT_PARAMS: Final = {
    rule.key: dict(rule.params) for rule in BUILTIN_RULES
}  # evaluated after the others: it reads their outcome


@dataclass(frozen=True)
class RuleOutcome:
    key: str
    ok: bool
    subjects: int = 0
    transitions: int = 0
    error: str | None = None


@dataclass(frozen=True)
class EvaluationResult:
    outcomes: tuple[RuleOutcome, ...]

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(o.key for o in self.outcomes if not o.ok)

    @property
    def transitions(self) -> int:
        return sum(o.transitions for o in self.outcomes)

    def summary(self) -> str:
        return (
            f"{len(self.outcomes)} rule(s), {self.transitions} transition(s), "
            f"{len(self.failed)} failed"
        )


@dataclass(frozen=True)
class _Rule:
    id: int
    key: str
    kind: str
    title: str
    roles: tuple[str, ...]
    params: Mapping[str, Any]
    memory: Mapping[str, Any]
    timing: lc.Timing


def ensure_builtin_rules(engine: Engine) -> int:
    """Insert the built-in rules missing from the table; returns how many."""
    with translate_errors(), engine.connect() as connection:
        present = set(connection.execute(select(AlertRule.key)).scalars())
    added = 0
    with translate_errors():
        for rule in BUILTIN_RULES:
            added += _insert_rule(engine, rule, present)
    return added


def _insert_rule(engine: Engine, rule: BuiltinRule, present: set[str]) -> int:
    if rule.key in present:
        return 0
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(AlertRule).values(
                    key=rule.key,
                    kind=rule.kind,
                    title=rule.title,
                    roles=list(rule.roles),
                    params=dict(rule.params),
                    for_minutes=rule.for_minutes,
                    quiet_minutes=rule.quiet_minutes,
                )
            )
    except IntegrityError:  # another process inserted it meanwhile
        return 0
    return 1


def effective_params(key: str, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """A rule's parameters: those stored, over the built-in defaults of its key."""
    return {**_DEFAULT_PARAMS.get(key, {}), **(stored or {})}


def _rules(engine: Engine) -> list[_Rule]:
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(
            select(AlertRule).where(AlertRule.paused.is_(False)).order_by(AlertRule.id)
        ).all()
    rules = [
        _Rule(
            id=row.id,
            key=row.key,
            kind=row.kind,
            title=row.title,
            roles=tuple(row.roles or ()),
            # A threshold a later version added is read from the built-in default.
            params=effective_params(row.key, row.params),
            memory=dict(row.memory or {}),
            timing=lc.Timing(
                hold=timedelta(minutes=row.for_minutes),
                quiet=timedelta(minutes=row.quiet_minutes),
            ),
        )
        for row in rows
    ]
    return sorted(rules, key=lambda r: r.kind == LAST_RULE)


def role_members_statement(roles: Sequence[str]) -> Select[int]:
    """The active accounts of ``roles`` (staff roles: read on migration 0009's index)."""
    return select(User.id).where(User.role.in_(roles), User.actif.is_(True)).order_by(User.id)


def _role_members(connection: Connection, roles: Sequence[str]) -> list[int]:
    return list(connection.execute(role_members_statement(roles)).scalars())


def _recipients(connection: Connection, rule: _Rule, subject: Subject) -> list[int]:
    """Active staff the subject is addressed to (its own people, or the rule's roles)."""
    wanted = (
        list(subject.recipients)
        if subject.recipients is not None
        else _role_members(connection, rule.roles)
    )
    wanted += list(subject.also)
    if not wanted:
        return []
    active = set(
        connection.execute(
            select(User.id).where(
                User.id.in_(wanted), User.actif.is_(True), User.role.in_(STAFF_ROLES)
            )
        ).scalars()
    )
    if subject.recipients is not None and not active & set(subject.recipients):
        # The assignee left: fall back to the rule's roles, so the subject is not orphaned.
        active |= set(_role_members(connection, rule.roles))
    return sorted(active)


def preference_modes(
    connection: Connection, user_ids: Iterable[int], rule_kind: str
) -> dict[int, str]:
    """Each user's mode for ``rule_kind``: their choice, or their role's default."""
    ids = list(user_ids)
    if not ids:
        return {}
    chosen = dict(
        connection.execute(
            select(AlertPreference.user_id, AlertPreference.mode).where(
                AlertPreference.user_id.in_(ids), AlertPreference.rule_kind == rule_kind
            )
        ).all()
    )
    roles = dict(connection.execute(select(User.id, User.role).where(User.id.in_(ids))).all())
    return {uid: chosen.get(uid) or default_mode(roles.get(uid, ""), rule_kind) for uid in ids}


def default_mode(role: str, rule_kind: str) -> str:
    """What a user gets for ``rule_kind`` when they chose nothing."""
    return KIND_DEFAULT_MODE.get(rule_kind) or DEFAULT_MODE.get(role, "app")


def notice_title(kind: str, rule_title: str, subject_label: str) -> str:
    return f"{lc.NOTICE_LABELS[kind]} — {rule_title} : {subject_label}"


def write_notices(
    connection: Connection,
    *,
    alert_id: int,
    transition_id: int,
    rule_kind: str,
    notice: str,
    title: str,
    link: str | None,
    user_ids: Sequence[int],
    now: datetime,
) -> int:
    """One notice per user (none for those who turned the kind off)."""
    modes = preference_modes(connection, user_ids, rule_kind)
    rows = [
        {
            "user_id": uid,
            "alert_id": alert_id,
            "transition_id": transition_id,
            "rule_kind": rule_kind,
            "kind": notice,
            "title": title,
            "link": link,
            "created_at": now,
            "email_status": EMAIL_STATUS_FOR_MODE[mode],
        }
        for uid, mode in modes.items()
        if mode != "off"
    ]
    if rows:
        connection.execute(insert(Notification), rows)
    return len(rows)


def record_transition(
    connection: Connection,
    *,
    alert_id: int,
    from_state: str | None,
    to_state: str,
    now: datetime,
    values: Mapping[str, Any] | None = None,
    actor_id: int | None = None,
    comment: str | None = None,
) -> int | None:
    """Move the alert from ``from_state`` (None: just inserted) and write the transition.

    Returns the transition's id, or None when the alert was no longer in
    ``from_state`` (someone else moved it first: nothing is written).
    """
    if from_state is not None:
        moved = connection.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.state == from_state)
            .values(state=to_state, **(values or {}))
        )
        if moved.rowcount != 1:
            return None
    count = connection.execute(
        select(func.count()).where(AlertTransition.alert_id == alert_id)
    ).scalar_one()
    return int(
        connection.execute(
            insert(AlertTransition)
            .values(
                alert_id=alert_id,
                claim_key=f"{alert_id}:{count}:{to_state}",
                from_state=from_state,
                to_state=to_state,
                at=now,
                actor_id=actor_id,
                comment=comment,
            )
            .returning(AlertTransition.id)
        ).scalar_one()
    )


def _open(engine: Engine, rule: _Rule, subject: Subject, state: str, now: datetime) -> bool:
    """A new alert for ``subject``; False when another evaluator opened it first."""
    with translate_errors():
        return _insert_alert(engine, rule, subject, state, now)


def _insert_alert(engine: Engine, rule: _Rule, subject: Subject, state: str, now: datetime) -> bool:
    try:
        with engine.begin() as connection:
            recipients = _recipients(connection, rule, subject) if state == lc.FIRING else []
            alert_id = int(
                connection.execute(
                    insert(Alert)
                    .values(
                        rule_id=rule.id,
                        subject_key=subject.key,
                        subject_label=subject.label,
                        link=subject.link,
                        state=state,
                        details=dict(subject.details),
                        recipients=recipients,
                        opened_at=now,
                        firing_at=now if state == lc.FIRING else None,
                    )
                    .returning(Alert.id)
                ).scalar_one()
            )
            transition_id = record_transition(
                connection, alert_id=alert_id, from_state=None, to_state=state, now=now
            )
            if state == lc.FIRING and transition_id is not None:
                write_notices(
                    connection,
                    alert_id=alert_id,
                    transition_id=transition_id,
                    rule_kind=rule.kind,
                    notice=lc.NOTICE_FIRING,
                    title=notice_title(lc.NOTICE_FIRING, rule.title, subject.label),
                    link=subject.link,
                    user_ids=recipients,
                    now=now,
                )
    except IntegrityError:
        return False
    return True


def _move(
    engine: Engine,
    rule: _Rule,
    alert: Any,
    to_state: str,
    subject: Subject | None,
    now: datetime,
) -> bool:
    """Apply one evaluation transition of an open alert, with its notices."""
    notice = lc.notice_for(alert.state, to_state)
    if notice == lc.NOTICE_RESOLVED and not RULE_KINDS[rule.kind].announces_resolution:
        notice = None
    values: dict[str, Any] = {}
    with translate_errors(), engine.begin() as connection:
        recipients: list[int] = list(alert.recipients or [])
        if to_state == lc.FIRING:
            values["firing_at"] = now
            values["snoozed_until"] = None
            if alert.state == lc.PENDING and subject is not None:
                recipients = _recipients(connection, rule, subject)
                values["recipients"] = recipients
        if to_state == lc.RESOLVED:
            values["resolved_at"] = now
        if subject is not None:
            values["subject_label"] = subject.label
        transition_id = record_transition(
            connection,
            alert_id=alert.id,
            from_state=alert.state,
            to_state=to_state,
            now=now,
            values=values,
        )
        if transition_id is None:
            return False
        if notice is not None:
            label = subject.label if subject is not None else alert.subject_label
            write_notices(
                connection,
                alert_id=alert.id,
                transition_id=transition_id,
                rule_kind=rule.kind,
                notice=notice,
                title=notice_title(notice, rule.title, label),
                link=alert.link,
                user_ids=recipients,
                now=now,
            )
    return True


def _apply(engine: Engine, rule: _Rule, subjects: Sequence[Subject], now: datetime) -> int:
    by_key = {s.key: s for s in subjects}
    with translate_errors(), engine.connect() as connection:
        open_alerts = connection.execute(
            select(
                Alert.id,
                Alert.subject_key,
                Alert.subject_label,
                Alert.link,
                Alert.state,
                Alert.opened_at,
                Alert.snoozed_until,
                Alert.recipients,
            ).where(Alert.rule_id == rule.id, Alert.state.in_(lc.OPEN_STATES))
        ).all()
        recently = dict(
            connection.execute(
                select(Alert.subject_key, func.max(Alert.resolved_at))
                .where(
                    Alert.rule_id == rule.id,
                    Alert.state == lc.RESOLVED,
                    Alert.resolved_at > now - rule.timing.quiet,
                )
                .group_by(Alert.subject_key)
            ).all()
        )
    moved = 0
    opened = {row.subject_key: row for row in open_alerts}
    for key, subject in by_key.items():
        alert = opened.get(key)
        if alert is None:
            state = lc.next_state(None, True, now, rule.timing, recently.get(key))
            moved += state is not None and _open(engine, rule, subject, state, now)
            continue
        snapshot = lc.OpenAlert(alert.state, alert.opened_at, alert.snoozed_until)
        state = lc.next_state(snapshot, True, now, rule.timing)
        if state is not None:
            moved += _move(engine, rule, alert, state, subject, now)
    for key, alert in opened.items():
        if key not in by_key:
            moved += _move(engine, rule, alert, lc.RESOLVED, None, now)
    return moved


def _record_outcome(
    engine: Engine,
    rule: _Rule,
    *,
    now: datetime,
    elapsed_ms: int,
    error: str | None,
    memory: Mapping[str, Any] | None,
) -> None:
    values: dict[str, Any] = {
        "last_evaluated_at": now,
        "last_duration_ms": elapsed_ms,
        "last_outcome": "error" if error else "ok",
        "last_error": error,
    }
    if memory is not None:
        values["memory"] = dict(memory)
    with translate_errors(), engine.begin() as connection:
        connection.execute(update(AlertRule).where(AlertRule.id == rule.id).values(**values))


def _memory_after(rule: _Rule, subjects: Sequence[Subject]) -> Mapping[str, Any] | None:
    """What a grouped rule remembers once it has announced its subjects."""
    if rule.kind != "new_applications" or not subjects:
        return None
    return {**rule.memory, "last_id": max(int(s.details["last_id"]) for s in subjects)}


def evaluate_rule(engine: Engine, settings: Settings, rule: _Rule, now: datetime) -> RuleOutcome:
    started = time.perf_counter()
    try:
        kind = RULE_KINDS.get(rule.kind)
        if kind is None:
            raise ValueError(f"unknown rule kind {rule.kind!r}")
        context = RuleContext(rule.params, now, settings, engine, rule.memory)
        with translate_errors(), engine.connect() as connection:
            subjects = kind.evaluate(connection, context)
        moved = _apply(engine, rule, subjects, now)
    except ConnectionLost:
        raise  # the database is gone: the scheduler stands by
    except Exception as exc:  # a broken rule is recorded; the others go on
        log.exception("alert rule %s failed", rule.key)
        elapsed = int((time.perf_counter() - started) * 1000)
        message = f"{type(exc).__name__}: {exc}"[:1000]
        _record_outcome(engine, rule, now=now, elapsed_ms=elapsed, error=message, memory=None)
        return RuleOutcome(rule.key, ok=False, error=message)
    elapsed = int((time.perf_counter() - started) * 1000)
    _record_outcome(
        engine,
        rule,
        now=now,
        elapsed_ms=elapsed,
        error=None,
        memory=_memory_after(rule, subjects),
    )
    return RuleOutcome(rule.key, ok=True, subjects=len(subjects), transitions=moved)


def evaluate_all(
    engine: Engine, settings: Settings, now: datetime, *, only: Sequence[str] | None = None
) -> EvaluationResult:
    """Evaluate every rule that is not paused at ``now`` (aware); ``only``: those rule keys."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ensure_builtin_rules(engine)
    rules = [r for r in _rules(engine) if only is None or r.key in only]
    outcomes = [evaluate_rule(engine, settings, rule, now) for rule in rules]
    return EvaluationResult(tuple(outcomes))
