"""Small helpers of the alert tests: evaluate at an instant, read notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from data.alerts.evaluate import EvaluationResult, ensure_builtin_rules, evaluate_all
from data.owned import Alert, AlertRule, Notification
from data.settings import Settings, load_settings


def settings() -> Settings:
    return load_settings()


def only_rules(engine: Engine, *keys: str) -> None:
    """Pause every built-in rule but ``keys`` (tests look at one rule at a time)."""
    ensure_builtin_rules(engine)
    with engine.begin() as connection:
        connection.execute(update(AlertRule).values(paused=AlertRule.key.not_in(keys)))


def evaluate(engine: Engine, now: datetime) -> EvaluationResult:
    return evaluate_all(engine, settings(), now)


def notices(engine: Engine, user_id: int | None = None) -> list[Any]:
    stmt = select(Notification).order_by(Notification.id)
    if user_id is not None:
        stmt = stmt.where(Notification.user_id == user_id)
    with engine.connect() as connection:
        return list(connection.execute(stmt).all())


def alerts(engine: Engine, rule_key: str | None = None) -> list[Any]:
    stmt = select(Alert).order_by(Alert.id)
    if rule_key is not None:
        stmt = stmt.join(AlertRule, AlertRule.id == Alert.rule_id).where(AlertRule.key == rule_key)
    with engine.connect() as connection:
        return list(connection.execute(stmt).all())


def set_rule(engine: Engine, key: str, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(update(AlertRule).where(AlertRule.key == key).values(**values))
