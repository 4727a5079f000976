"""Every write re-reads the acting account in its own transaction (SQLite and PostgreSQL).

An ``Actor`` held by a screen was read when the page ran. Between that and a
click, an admin may deactivate the account or give it a role that no longer
allows the action: each write function must then refuse with ``NotAllowed``
and write nothing at all (no change, no event, no audit row).
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text, update

from data import contacts, matching, team, triage
from data.alerts import centre
from data.alerts.evaluate import ensure_builtin_rules, evaluate_all
from data.db import create_db_engine
from data.errors import NotAllowed
from data.models import Matching, User
from data.owned import Alert, AlertRule, Notification, ReportDelivery
from data.permissions import Actor
from data.settings import load_settings
from reports import manual
from reports.runs import claim_run
from reports.schedules import (
    ScheduleInput,
    create_schedule,
    delete_schedule,
    pause_schedule,
    resume_schedule,
    update_schedule,
)
from tests import factories
from tests.conftest import new_sqlite_database

T0 = factories.T0
ROOT = Path(__file__).resolve().parent.parent
SPEC = ScheduleInput(
    name="Direction mensuel",
    kind="monthly",
    formats=("pdf",),
    frequency="monthly",
    monthday=1,
    time_of_day="07:00",
    timezone="America/Guadeloupe",
    period="previous_month",
    recipients=("direction@cipfaro.fr",),
)
# Everything a write may touch: compared before and after a refused write.
TABLES = (
    "users",
    "candidatures",
    "candidature_events",
    "matchings",
    "contacts",
    "dashboard_audit_log",
    "dashboard_triage_notes",
    "dashboard_report_schedules",
    "dashboard_report_runs",
    "dashboard_report_deliveries",
    "dashboard_auth_sessions",
    "dashboard_alerts",
    "dashboard_alert_rules",
    "dashboard_alert_transitions",
    "dashboard_notifications",
    "dashboard_alert_preferences",
)


@dataclass(frozen=True)
class World:
    """One of each thing a write acts on, and the actor as the page saw them."""

    engine: Engine
    actor: Actor
    application: int
    version: datetime
    refused_application: int
    refused_version: datetime
    session: int
    colleague: int
    match: int
    contact: int
    treated_contact: int
    treated_at: datetime
    schedule: int
    paused_schedule: int
    failed_run: int
    other_staff: int
    inactive_staff: int
    settings: Any
    alert: int
    notification: int
    rule: int


def _actor(engine: Engine, role: str) -> Actor:
    email = f"acting-{role}@cipfaro.fr"
    user_id = factories.user(engine, role=role, email=email, prenom="Ada", nom="Acting")
    return Actor(user_id, email, role, "Ada", "Acting")


def _alert_for(engine: Engine, actor: Actor, settings: Any) -> tuple[int, int, int]:
    """A firing alert addressed to ``actor`` (every staff role receives its rule)."""
    ensure_builtin_rules(engine)
    with engine.begin() as connection:
        connection.execute(
            update(AlertRule)
            .where(AlertRule.key == "contacts_untreated")
            .values(roles=["admin", "direction", "secretariat"])
        )
    now = datetime.now(UTC)
    factories.contact(engine, created_at=now - timedelta(days=3))
    evaluate_all(engine, settings, now, only=("contacts_untreated",))
    with engine.connect() as connection:
        alert, rule = connection.execute(select(Alert.id, Alert.rule_id)).one()
        notification = connection.execute(
            select(Notification.id).where(Notification.user_id == actor.id)
        ).scalar_one()
    return alert, notification, rule


def _world(engine: Engine, role: str, tmp_path: Path) -> World:
    actor = _actor(engine, role)
    formation = factories.formation(engine)
    session = factories.session(engine, formation_id=formation)
    applicant = factories.user(engine)
    application = factories.application(engine, user_id=applicant, formation_id=formation)
    refused = factories.application(
        engine, user_id=factories.user(engine), formation_id=formation, statut="refusee"
    )
    factories.event(
        engine,
        candidature_id=refused,
        from_statut="nouvelle",
        to_statut="refusee",
        changed_at=T0 + timedelta(seconds=1),
    )
    colleague = factories.user(engine, role="secretariat", email="coll@cipfaro.fr")
    company = factories.company(engine)
    offer = factories.offer(engine, entreprise_id=company)
    with engine.begin() as connection:
        match = connection.execute(
            insert(Matching)
            .values(
                candidat_id=applicant,
                offre_id=offer,
                score=Decimal(80),
                criteres={},
                statut="propose",
                date_match=T0,
            )
            .returning(Matching.id)
        ).scalar_one()
    treated_at = T0 + timedelta(hours=1)
    treated = factories.contact(engine, traite_par=colleague, traite_at=treated_at)
    owner = Actor(
        factories.user(engine, role="admin", email="owner@cipfaro.fr"), "o", "admin", "", ""
    )
    schedule = create_schedule(engine, actor=owner, spec=SPEC, now=T0)
    paused = create_schedule(engine, actor=owner, spec=SPEC, now=T0)
    pause_schedule(engine, actor=owner, schedule_id=paused.id, now=T0)
    run = claim_run(
        engine, schedule_id=schedule.id, due_at=T0, trigger="scheduled", now=T0, status="failed"
    )
    assert run is not None
    with engine.begin() as connection:
        connection.execute(
            insert(ReportDelivery).values(
                run_id=run, recipient="direction@cipfaro.fr", status="failed", updated_at=T0
            )
        )
    settings = load_settings(OUTBOX_DIR=str(tmp_path / "outbox"))
    alert, notification, rule = _alert_for(engine, actor, settings)
    return World(
        engine=engine,
        actor=actor,
        application=application,
        version=T0,
        refused_application=refused,
        refused_version=T0,
        session=session,
        colleague=colleague,
        match=match,
        contact=factories.contact(engine),
        treated_contact=treated,
        treated_at=treated_at,
        schedule=schedule.id,
        paused_schedule=paused.id,
        failed_run=run,
        other_staff=factories.user(engine, role="secretariat", email="other@cipfaro.fr"),
        inactive_staff=factories.user(engine, role="secretariat", actif=False),
        settings=settings,
        alert=alert,
        notification=notification,
        rule=rule,
    )


Write = Callable[[World], object]

# name -> (role that may do it, a role that may not, the write)
WRITES: dict[str, tuple[str, str, Write]] = {
    "move": (
        "secretariat",
        "direction",
        lambda w: triage.move_application(
            w.engine,
            actor=w.actor,
            application_id=w.application,
            to_statut="en_etude",
            expected_updated_at=w.version,
        ),
    ),
    "refuse": (
        "secretariat",
        "direction",
        lambda w: triage.refuse_application(
            w.engine,
            actor=w.actor,
            application_id=w.application,
            reason_code="dossier_incomplet",
            expected_updated_at=w.version,
        ),
    ),
    "assign": (
        "secretariat",
        "direction",
        lambda w: triage.assign_application(
            w.engine,
            actor=w.actor,
            application_id=w.application,
            assignee_id=w.colleague,
            expected_updated_at=w.version,
        ),
    ),
    "attach-session": (
        "secretariat",
        "direction",
        lambda w: triage.attach_session(
            w.engine,
            actor=w.actor,
            application_id=w.application,
            session_id=w.session,
            expected_updated_at=w.version,
        ),
    ),
    "undo": (
        "secretariat",
        "direction",
        lambda w: triage.undo_last_status_change(
            w.engine,
            actor=w.actor,
            application_id=w.refused_application,
            expected_updated_at=w.refused_version,
        ),
    ),
    "note": (
        "secretariat",
        "direction",
        lambda w: triage.add_note(
            w.engine, actor=w.actor, application_id=w.application, body="Appelé ce matin"
        ),
    ),
    "bulk-assign": (
        "secretariat",
        "direction",
        lambda w: triage.bulk_assign(
            w.engine, actor=w.actor, items=[(w.application, w.version)], assignee_id=w.colleague
        ),
    ),
    "bulk-move": (
        "secretariat",
        "direction",
        lambda w: triage.bulk_move(w.engine, actor=w.actor, items=[(w.application, w.version)]),
    ),
    "bulk-refuse": (
        "secretariat",
        "direction",
        lambda w: triage.bulk_refuse(
            w.engine,
            actor=w.actor,
            items=[(w.application, w.version)],
            reason_code="dossier_incomplet",
        ),
    ),
    "distribute": (
        "secretariat",
        "direction",
        lambda w: triage.distribute_unassigned(w.engine, actor=w.actor),
    ),
    "decide-match": (
        "secretariat",
        "direction",
        lambda w: matching.decide_match(
            w.engine,
            actor=w.actor,
            match_id=w.match,
            decision="valide",
            expected_statut="propose",
            expected_decided_at=None,
        ),
    ),
    "bulk-decide": (
        "secretariat",
        "direction",
        lambda w: matching.bulk_decide(
            w.engine, actor=w.actor, items=[(w.match, "propose", None)], decision="valide"
        ),
    ),
    "mark-treated": (
        "secretariat",
        "direction",
        lambda w: contacts.mark_treated(w.engine, actor=w.actor, contact_id=w.contact),
    ),
    "mark-untreated": (
        "secretariat",
        "direction",
        lambda w: contacts.mark_untreated(
            w.engine,
            actor=w.actor,
            contact_id=w.treated_contact,
            expected_traite_at=w.treated_at,
        ),
    ),
    "create-schedule": (
        "direction",
        "secretariat",
        lambda w: create_schedule(w.engine, actor=w.actor, spec=SPEC),
    ),
    "update-schedule": (
        "direction",
        "secretariat",
        lambda w: update_schedule(
            w.engine, actor=w.actor, schedule_id=w.schedule, spec=replace(SPEC, name="Autre")
        ),
    ),
    "pause-schedule": (
        "direction",
        "secretariat",
        lambda w: pause_schedule(w.engine, actor=w.actor, schedule_id=w.schedule),
    ),
    "resume-schedule": (
        "direction",
        "secretariat",
        lambda w: resume_schedule(w.engine, actor=w.actor, schedule_id=w.paused_schedule),
    ),
    "delete-schedule": (
        "direction",
        "secretariat",
        lambda w: delete_schedule(w.engine, actor=w.actor, schedule_id=w.schedule),
    ),
    "send-now": (
        "direction",
        "secretariat",
        lambda w: manual.send_now(w.engine, w.settings, actor=w.actor, schedule_id=w.schedule),
    ),
    "resend": (
        "direction",
        "secretariat",
        lambda w: manual.resend_failed(w.engine, w.settings, actor=w.actor, run_id=w.failed_run),
    ),
    "deactivate": (
        "admin",
        "direction",
        lambda w: team.deactivate_account(w.engine, actor=w.actor, user_id=w.other_staff),
    ),
    "reactivate": (
        "admin",
        "direction",
        lambda w: team.reactivate_account(w.engine, actor=w.actor, user_id=w.inactive_staff),
    ),
    "change-role": (
        "admin",
        "direction",
        lambda w: team.change_role(
            w.engine, actor=w.actor, user_id=w.other_staff, role="direction"
        ),
    ),
    "notification-read": (
        "secretariat",
        "formateur",
        lambda w: centre.mark_read(
            w.engine, actor=w.actor, notification_ids=[w.notification], now=datetime.now(UTC)
        ),
    ),
    "notification-read-all": (
        "secretariat",
        "formateur",
        lambda w: centre.mark_all_read(w.engine, actor=w.actor, now=datetime.now(UTC)),
    ),
    "alert-acknowledge": (
        "secretariat",
        "formateur",
        lambda w: centre.acknowledge(
            w.engine, actor=w.actor, alert_id=w.alert, now=datetime.now(UTC)
        ),
    ),
    "alert-snooze": (
        "secretariat",
        "formateur",
        lambda w: centre.snooze(
            w.engine,
            actor=w.actor,
            alert_id=w.alert,
            until=datetime.now(UTC) + timedelta(hours=1),
            now=datetime.now(UTC),
        ),
    ),
    "alert-preference": (
        "secretariat",
        "formateur",
        lambda w: centre.set_preference(
            w.engine, actor=w.actor, rule_kind="contacts_untreated", mode="immediate"
        ),
    ),
    "alert-digest-hour": (
        "direction",
        "formateur",
        lambda w: centre.set_digest_hour(w.engine, actor=w.actor, hour=9),
    ),
    "alert-rule-update": (
        "direction",
        "secretariat",
        lambda w: centre.update_rule(w.engine, actor=w.actor, rule_id=w.rule, paused=True),
    ),
    "alert-kpi-goal": (
        "direction",
        "secretariat",
        lambda w: centre.add_kpi_goal(
            w.engine, actor=w.actor, kpi_id="conversion_rate", direction="below", value=0.55
        ),
    ),
}


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}"))]
            for table in TABLES
        }


def _change_account(engine: Engine, actor: Actor, change: str, demoted_to: str) -> None:
    values: dict[str, Any] = {"actif": False} if change == "deactivated" else {"role": demoted_to}
    with engine.begin() as connection:
        connection.execute(update(User).where(User.id == actor.id).values(**values))


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite only: the variants below need no second run on PostgreSQL (the write's own
    transaction is the same code on both, and the deactivated case runs on both)."""
    engine = create_db_engine(new_sqlite_database(tmp_path))
    yield engine
    engine.dispose()


def _refused_writing_nothing(engine: Engine, tmp_path: Path, name: str, change: str) -> None:
    role, lesser, write = WRITES[name]
    world = _world(engine, role, tmp_path)
    _change_account(engine, world.actor, change, lesser)
    before = _snapshot(engine)
    with pytest.raises(NotAllowed) as refused:
        write(world)
    assert refused.value.user_message in (
        "Votre compte n'est plus actif : action non effectuée.",
        "Votre rôle ne permet pas cette action.",
    )
    assert _snapshot(engine) == before


@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_refuses_an_account_deactivated_since_the_page_ran(
    engine: Engine, tmp_path: Path, name: str
) -> None:
    _refused_writing_nothing(engine, tmp_path, name, "deactivated")


@pytest.mark.parametrize("name", list(WRITES))
def test_a_write_refuses_an_account_demoted_since_the_page_ran(
    sqlite_engine: Engine, tmp_path: Path, name: str
) -> None:
    _refused_writing_nothing(sqlite_engine, tmp_path, name, "demoted")


@pytest.mark.parametrize("name", list(WRITES))
def test_the_same_write_succeeds_for_an_unchanged_account(
    sqlite_engine: Engine, tmp_path: Path, name: str
) -> None:
    """The refusals above are about the account, not a broken write."""
    role, _lesser, write = WRITES[name]
    world = _world(sqlite_engine, role, tmp_path)
    before = _snapshot(sqlite_engine)
    write(world)
    assert _snapshot(sqlite_engine)["dashboard_audit_log"] != before["dashboard_audit_log"]


def test_a_deactivation_in_progress_holds_the_write_until_it_commits(
    pg_url: str, tmp_path: Path
) -> None:
    """PostgreSQL: the account is read FOR SHARE inside the write's transaction, so a
    deactivation being committed at that moment is waited for and then seen."""
    engine = create_db_engine(pg_url)
    try:
        world = _world(engine, "secretariat", tmp_path)
        outcome: list[BaseException | object] = []
        with engine.connect() as admin:
            admin.execute(update(User).where(User.id == world.actor.id).values(actif=False))
            writer = threading.Thread(
                target=lambda: outcome.append(_capture(lambda: WRITES["assign"][2](world)))
            )
            writer.start()
            writer.join(timeout=1.5)
            assert writer.is_alive(), "the write did not wait for the account's row"
            admin.commit()
        writer.join(timeout=30)
        assert isinstance(outcome[0], NotAllowed)
        with engine.connect() as connection:
            audited = connection.execute(text("SELECT count(*) FROM dashboard_audit_log"))
            assert audited.scalar_one() == 3  # the schedules' creation and pause only
            assert (
                connection.execute(select(User.actif).where(User.id == world.actor.id)).scalar_one()
                is False
            )
    finally:
        engine.dispose()


def _capture(action: Callable[[], object]) -> BaseException | object:
    try:
        return action()
    except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
        return exc


def _functions_taking_an_actor() -> set[str]:
    """Public functions of data/ and reports/ with a keyword-only ``actor`` parameter."""
    found = set()
    for folder in ("data", "reports"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.FunctionDef)
                    and not node.name.startswith("_")
                    and any(arg.arg == "actor" for arg in node.args.kwonlyargs)
                ):
                    found.add(node.name)
    return found


# Functions that take an actor but are not writes of their own.
NOT_WRITES = {
    "record",  # data.audit: the audit row, inside the caller's transaction
    "claim_run",  # reports.runs: the run row of send_now (checked there)
    "audit_entries",  # data.audit.viewing: a read; ``actor`` is an email filter
}


def test_every_write_function_is_in_the_table() -> None:
    """A new write function must join WRITES, so it gets the checks above."""
    covered = {
        triage.move_application,
        triage.refuse_application,
        triage.assign_application,
        triage.attach_session,
        triage.undo_last_status_change,
        triage.add_note,
        triage.bulk_assign,
        triage.bulk_move,
        triage.bulk_refuse,
        triage.distribute_unassigned,
        matching.decide_match,
        matching.bulk_decide,
        contacts.mark_treated,
        contacts.mark_untreated,
        create_schedule,
        update_schedule,
        pause_schedule,
        resume_schedule,
        delete_schedule,
        manual.send_now,
        manual.resend_failed,
        team.deactivate_account,
        team.reactivate_account,
        team.change_role,
        centre.mark_read,
        centre.mark_all_read,
        centre.acknowledge,
        centre.snooze,
        centre.set_preference,
        centre.set_digest_hour,
        centre.update_rule,
        centre.add_kpi_goal,
    }
    assert len(covered) == len(WRITES)
    assert {f.__name__ for f in covered} | NOT_WRITES == _functions_taking_an_actor()
