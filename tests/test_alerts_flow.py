"""The lifecycle in the database: hold, acknowledge, snooze, resolve, quiet period,
one open alert per subject, and two evaluators at once (each notice once)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from data.alerts import centre
from data.alerts.evaluate import evaluate_all
from data.db import create_db_engine
from data.errors import InvalidInput, NotAllowed
from data.models import Contact
from data.owned import Alert, AlertTransition, Notification
from data.permissions import Actor
from tests import factories as f
from tests.alert_helpers import alerts, evaluate, notices, only_rules, set_rule, settings

T0 = f.T0


def _member(engine: Engine, role: str = "secretariat") -> Actor:
    email = f"{role}{f.user.__name__}{id(engine)}{T0.timestamp()}"  # unique enough per call
    uid = f.user(engine, role=role)
    with engine.connect() as connection:
        from data.models import User

        email = connection.execute(select(User.email).where(User.id == uid)).scalar_one()
    return Actor(uid, email, role, "Marie", "Test")


def _untreated(engine: Engine, contact_id: int, treated: bool) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Contact)
            .where(Contact.id == contact_id)
            .values(traite_at=T0 if treated else None)
        )


def test_an_alert_waits_out_its_hold_then_fires_once(engine: Engine) -> None:
    only_rules(engine, "contacts_untreated")
    set_rule(engine, "contacts_untreated", for_minutes=10)
    member = _member(engine)
    f.contact(engine, created_at=T0 - timedelta(days=3))
    evaluate(engine, T0)
    assert alerts(engine)[0].state == "pending"
    assert notices(engine) == []
    evaluate(engine, T0 + timedelta(minutes=9))
    assert alerts(engine)[0].state == "pending"
    evaluate(engine, T0 + timedelta(minutes=10))
    evaluate(engine, T0 + timedelta(minutes=11))
    assert alerts(engine)[0].state == "firing"
    assert [n.kind for n in notices(engine, member.id)] == ["firing"]


def test_the_whole_lifecycle_acknowledge_resolve_quiet_then_fire_anew(engine: Engine) -> None:
    only_rules(engine, "contacts_untreated")
    member = _member(engine)
    contact = f.contact(engine, created_at=T0 - timedelta(days=3))
    evaluate(engine, T0)
    first = alerts(engine)[0]
    assert first.state == "firing"
    assert centre.unread_count(engine, member.id) == 1
    centre.acknowledge(engine, actor=member, alert_id=first.id, now=T0, comment="Je rappelle")
    assert centre.unread_count(engine, member.id) == 0
    evaluate(engine, T0 + timedelta(hours=5))
    assert alerts(engine)[0].state == "acknowledged"  # no reminder once acknowledged
    _untreated(engine, contact, treated=True)
    evaluate(engine, T0 + timedelta(hours=6))
    assert alerts(engine)[0].state == "resolved"
    assert [n.kind for n in notices(engine, member.id)] == ["firing", "resolved"]
    _untreated(engine, contact, treated=False)  # the condition comes back at once
    evaluate(engine, T0 + timedelta(hours=6, minutes=30))
    assert len(alerts(engine)) == 1  # quiet period: no flapping
    evaluate(engine, T0 + timedelta(hours=7))
    found = alerts(engine)
    assert [a.state for a in found] == ["resolved", "firing"]
    with engine.connect() as connection:
        history = (
            connection.execute(
                select(AlertTransition.to_state)
                .where(AlertTransition.alert_id == first.id)
                .order_by(AlertTransition.id)
            )
            .scalars()
            .all()
        )
    assert history == ["firing", "acknowledged", "resolved"]


def test_a_snoozed_alert_reminds_its_recipients_when_the_snooze_ends(engine: Engine) -> None:
    only_rules(engine, "contacts_untreated")
    member = _member(engine)
    f.contact(engine, created_at=T0 - timedelta(days=3))
    evaluate(engine, T0)
    alert = alerts(engine)[0]
    centre.snooze(engine, actor=member, alert_id=alert.id, until=T0 + timedelta(hours=1), now=T0)
    evaluate(engine, T0 + timedelta(minutes=59))
    assert alerts(engine)[0].state == "snoozed"
    evaluate(engine, T0 + timedelta(hours=1))
    assert alerts(engine)[0].state == "firing"
    assert [n.kind for n in notices(engine, member.id)] == ["firing", "reminder"]


def test_only_a_recipient_or_a_manager_may_acknowledge(engine: Engine) -> None:
    only_rules(engine, "contacts_untreated")
    _member(engine)
    f.contact(engine, created_at=T0 - timedelta(days=3))
    evaluate(engine, T0)
    alert = alerts(engine)[0]
    newcomer = _member(engine)  # joined after the alert fired
    with pytest.raises(NotAllowed):
        centre.acknowledge(engine, actor=newcomer, alert_id=alert.id, now=T0)
    director = _member(engine, "direction")
    centre.acknowledge(engine, actor=director, alert_id=alert.id, now=T0)
    with pytest.raises(InvalidInput):
        centre.acknowledge(engine, actor=director, alert_id=alert.id, now=T0)


def test_off_sends_nothing_and_immediate_asks_for_an_email(engine: Engine) -> None:
    only_rules(engine, "contacts_untreated")
    quiet = _member(engine)
    eager = _member(engine)
    centre.set_preference(engine, actor=quiet, rule_kind="contacts_untreated", mode="off")
    centre.set_preference(engine, actor=eager, rule_kind="contacts_untreated", mode="immediate")
    f.contact(engine, created_at=T0 - timedelta(days=3))
    evaluate(engine, T0)
    assert notices(engine, quiet.id) == []
    assert [n.email_status for n in notices(engine, eager.id)] == ["pending"]


def test_mark_all_read_touches_only_the_actors_notices(engine: Engine) -> None:
    only_rules(engine, "contacts_untreated")
    one = _member(engine)
    other = _member(engine)
    only_rules(engine, "contacts_untreated", "triage_sla_breached")
    f.contact(engine, created_at=T0 - timedelta(days=3))
    formation = f.formation(engine)
    f.application(
        engine, user_id=f.user(engine), formation_id=formation, created_at=T0 - timedelta(days=3)
    )
    evaluate(engine, T0)
    assert centre.mark_all_read(engine, actor=one, now=T0) == 2
    assert centre.unread_count(engine, one.id) == 0
    assert centre.unread_count(engine, other.id) == 2


def test_two_evaluators_at_once_write_each_notice_once(pg_url: str) -> None:
    """Two scheduler processes evaluating the same instant on PostgreSQL."""
    engines = [create_db_engine(pg_url) for _ in range(2)]
    try:
        engine = engines[0]
        only_rules(engine, "contacts_untreated", "triage_sla_breached")
        members = [_member(engine) for _ in range(3)]
        f.contact(engine, created_at=T0 - timedelta(days=3))
        formation = f.formation(engine)
        for _ in range(29):
            f.application(
                engine,
                user_id=f.user(engine),
                formation_id=formation,
                created_at=T0 - timedelta(days=3),
            )
        for round_ in range(3):
            now = T0 + timedelta(minutes=round_)
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def run(eng: Engine, now=now, barrier=barrier, errors=errors) -> None:  # type: ignore[no-untyped-def]
                try:
                    barrier.wait()
                    evaluate_all(eng, settings(), now)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(e,)) for e in engines]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
        with engine.connect() as connection:
            open_count = connection.execute(
                select(func.count()).where(Alert.state == "firing")
            ).scalar_one()
            firing = connection.execute(
                select(func.count()).where(AlertTransition.to_state == "firing")
            ).scalar_one()
            per_user = connection.execute(
                select(Notification.user_id, func.count()).group_by(Notification.user_id)
            ).all()
        assert open_count == 30
        assert firing == 30
        assert dict(per_user) == {m.id: 30 for m in members}
    finally:
        for e in engines:
            e.dispose()
