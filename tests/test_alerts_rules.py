"""Each rule's threshold edges, with frozen instants, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert

from data.models import Devis, Facture, Matching
from data.owned import ReportRun, ReportSchedule, SchedulerProcess
from tests import factories as f
from tests.alert_helpers import alerts, evaluate, notices, only_rules, set_rule

T0 = f.T0


def _new_application(engine: Engine, created: datetime, **values: object) -> int:
    person = f.user(engine)
    formation = f.formation(engine)
    return f.application(
        engine, user_id=person, formation_id=formation, created_at=created, **values
    )


@pytest.mark.parametrize(
    ("age", "soon", "breached"),
    [
        (timedelta(hours=36), 0, 0),  # the queue's rule: strictly older than the threshold
        (timedelta(hours=36, seconds=1), 1, 0),
        (timedelta(hours=48), 1, 0),
        (timedelta(hours=48, seconds=1), 1, 1),
    ],
)
def test_triage_sla_fires_at_36_hours_and_at_the_breach(
    engine: Engine, age: timedelta, soon: int, breached: int
) -> None:
    only_rules(engine, "triage_sla_soon", "triage_sla_breached")
    f.user(engine, role="secretariat")
    _new_application(engine, T0 - age)
    evaluate(engine, T0)
    assert len(alerts(engine, "triage_sla_soon")) == soon
    assert len(alerts(engine, "triage_sla_breached")) == breached


def test_triage_sla_goes_to_the_assignee_or_else_every_active_secretariat_member(
    engine: Engine,
) -> None:
    only_rules(engine, "triage_sla_breached")
    first = f.user(engine, role="secretariat")
    second = f.user(engine, role="secretariat")
    f.user(engine, role="secretariat", actif=False)
    f.user(engine, role="direction")
    assigned = _new_application(engine, T0 - timedelta(hours=50), assigned_to=second)
    unassigned = _new_application(engine, T0 - timedelta(hours=50))
    evaluate(engine, T0)
    by_link = {}
    for row in notices(engine):
        by_link.setdefault(row.link, set()).add(row.user_id)
    assert by_link[f"candidatures?dossier={assigned}"] == {second}
    assert by_link[f"candidatures?dossier={unassigned}"] == {first, second}


def test_a_treated_application_resolves_and_its_assignee_is_told(engine: Engine) -> None:
    only_rules(engine, "triage_sla_breached")
    member = f.user(engine, role="secretariat")
    application = _new_application(engine, T0 - timedelta(hours=50), assigned_to=member)
    evaluate(engine, T0)
    with engine.begin() as connection:
        from sqlalchemy import update

        from data.models import Candidature

        connection.execute(
            update(Candidature).where(Candidature.id == application).values(statut="en_etude")
        )
    evaluate(engine, T0 + timedelta(minutes=1))
    assert [row.kind for row in notices(engine, member)] == ["firing", "resolved"]
    assert alerts(engine)[0].state == "resolved"


def test_new_applications_are_announced_as_one_grouped_notice(engine: Engine) -> None:
    only_rules(engine, "new_applications")
    member = f.user(engine, role="secretariat")
    for minutes in (30, 20, 10):
        _new_application(engine, T0 - timedelta(minutes=minutes))
    evaluate(engine, T0)
    evaluate(engine, T0 + timedelta(minutes=1))
    got = notices(engine, member)
    assert len(got) == 1
    assert "3 nouvelles candidatures reçues" in got[0].title
    _new_application(engine, T0 + timedelta(minutes=2))
    evaluate(engine, T0 + timedelta(minutes=3))
    got = notices(engine, member)
    assert len(got) == 2
    assert "1 nouvelle candidature reçue" in got[1].title


@pytest.mark.parametrize(
    ("age", "fires"), [(timedelta(hours=47), False), (timedelta(hours=49), True)]
)
def test_untreated_contact_messages_fire_after_48_hours(
    engine: Engine, age: timedelta, fires: bool
) -> None:
    only_rules(engine, "contacts_untreated")
    f.user(engine, role="secretariat")
    f.contact(engine, created_at=T0 - age)
    f.contact(engine, created_at=T0 - timedelta(days=5), traite_at=T0 - timedelta(days=4))
    evaluate(engine, T0)
    assert len(alerts(engine, "contacts_untreated")) == int(fires)


@pytest.mark.parametrize(
    ("age", "fires"), [(timedelta(days=6, hours=23), False), (timedelta(days=7, minutes=1), True)]
)
def test_proposed_matches_fire_after_7_days(engine: Engine, age: timedelta, fires: bool) -> None:
    only_rules(engine, "matches_waiting")
    f.user(engine, role="secretariat")
    company = f.company(engine)
    offer = f.offer(engine, entreprise_id=company)
    candidate = f.user(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(Matching).values(
                candidat_id=candidate,
                offre_id=offer,
                score=80,
                statut="propose",
                date_match=T0 - age,
            )
        )
    evaluate(engine, T0)
    assert len(alerts(engine, "matches_waiting")) == int(fires)


def _schedule(engine: Engine, owner: int) -> int:
    with engine.begin() as connection:
        return int(
            connection.execute(
                insert(ReportSchedule)
                .values(
                    name="Mensuel direction",
                    kind="monthly",
                    formats=["pdf"],
                    frequency="monthly",
                    monthday=1,
                    time_of_day="07:00",
                    timezone="America/Guadeloupe",
                    period="previous_month",
                    recipients=["d@exemple.fr"],
                    owner_id=owner,
                )
                .returning(ReportSchedule.id)
            ).scalar_one()
        )


@pytest.mark.parametrize("status", ["failed", "interrupted", "missed"])
def test_a_failed_report_run_goes_to_admins_and_the_schedule_owner(
    engine: Engine, status: str
) -> None:
    only_rules(engine, "report_run_problems")
    admin = f.user(engine, role="admin")
    owner = f.user(engine, role="direction")
    f.user(engine, role="secretariat")
    schedule = _schedule(engine, owner)
    with engine.begin() as connection:
        connection.execute(
            insert(ReportRun).values(
                schedule_id=schedule,
                due_at=T0 - timedelta(hours=1),
                trigger="scheduled",
                status=status,
                finished_at=T0,
            )
        )
        connection.execute(
            insert(ReportRun).values(
                schedule_id=schedule,
                due_at=T0 - timedelta(days=1),
                trigger="scheduled",
                status="sent",
                finished_at=T0,
            )
        )
    evaluate(engine, T0)
    assert {row.user_id for row in notices(engine)} == {admin, owner}


@pytest.mark.parametrize(
    ("silent", "fires"), [(timedelta(minutes=9), False), (timedelta(minutes=11), True)]
)
def test_a_silent_scheduler_fires_after_10_minutes(
    engine: Engine, silent: timedelta, fires: bool
) -> None:
    only_rules(engine, "scheduler_silent")
    f.user(engine, role="admin")
    with engine.begin() as connection:
        connection.execute(
            insert(SchedulerProcess).values(
                worker="h:1",
                started_at=T0 - timedelta(days=1),
                seen_at=T0 - silent,
                tick_seconds=30,
                lease_seconds=75,
                active=True,
            )
        )
    evaluate(engine, T0)
    assert len(alerts(engine, "scheduler_silent")) == int(fires)


def test_a_failing_rule_is_recorded_and_does_not_stop_the_others(engine: Engine) -> None:
    only_rules(engine, "session_fill", "contacts_untreated", "rules_failing")
    admin = f.user(engine, role="admin")
    f.user(engine, role="secretariat")
    set_rule(engine, "session_fill", params={"days": "quatorze"})  # a broken threshold
    f.contact(engine, created_at=T0 - timedelta(days=3))
    result = evaluate(engine, T0)
    assert result.failed == ("session_fill",)
    assert len(alerts(engine, "contacts_untreated")) == 1
    failing = alerts(engine, "rules_failing")
    assert [a.subject_key for a in failing] == ["rule:session_fill"]
    assert admin in failing[0].recipients


@pytest.mark.parametrize(("taken", "fires"), [(7, True), (8, False)])
def test_a_session_starting_soon_under_60_percent_fires(
    engine: Engine, taken: int, fires: bool
) -> None:
    only_rules(engine, "session_fill")
    f.user(engine, role="direction")
    formation = f.formation(engine)
    session = f.session(
        engine,
        formation_id=formation,
        date_debut=date(2026, 12, 1),
        date_fin=date(2027, 3, 1),
        places=12,
    )
    far = f.session(
        engine,
        formation_id=formation,
        date_debut=date(2027, 1, 15),
        date_fin=date(2027, 3, 1),
        places=12,
    )
    for _ in range(taken):
        f.application(
            engine,
            user_id=f.user(engine),
            formation_id=formation,
            session_id=session,
            statut="admise",
        )
    evaluate(engine, T0)
    keys = [a.subject_key for a in alerts(engine, "session_fill")]
    assert keys == ([f"session:{session}"] if fires else [])
    assert f"session:{far}" not in keys


def _invoice(engine: Engine, due: date, amount: int, statut: str = "emise") -> int:
    person = f.user(engine)
    formation = f.formation(engine)
    application = f.application(engine, user_id=person, formation_id=formation, statut="inscrite")
    with engine.begin() as connection:
        return int(
            connection.execute(
                insert(Facture)
                .values(
                    numero=f"F-{application}",
                    candidature_id=application,
                    financeur="cpf",
                    montant=amount,
                    date_emission=due - timedelta(days=30),
                    date_echeance=due,
                    statut=statut,
                    date_paiement=due if statut == "payee" else None,
                )
                .returning(Facture.id)
            ).scalar_one()
        )


def test_an_invoice_falls_overdue_the_day_after_its_due_date(engine: Engine) -> None:
    only_rules(engine, "invoices_overdue", "overdue_total")
    f.user(engine, role="direction")
    today = date(2026, 11, 20)  # T0 is 10:00 in Guadeloupe
    _invoice(engine, today, 6000)  # due today: not overdue yet
    yesterday = today - timedelta(days=1)
    _invoice(engine, yesterday, 6000)
    _invoice(engine, today - timedelta(days=9), 9000, statut="payee")
    _invoice(engine, today - timedelta(days=31), 100)  # overdue, not newly: in the total only
    evaluate(engine, T0)
    assert [a.subject_key for a in alerts(engine, "invoices_overdue")] == [
        f"echeance:{yesterday.isoformat()}"
    ]
    assert alerts(engine, "overdue_total") == []  # 6 100 € is under 10 000 €
    set_rule(engine, "overdue_total", params={"amount": 6099})
    evaluate(engine, T0 + timedelta(minutes=1))
    assert len(alerts(engine, "overdue_total")) == 1


@pytest.mark.parametrize(
    ("age", "fires"), [(timedelta(days=14, hours=23), False), (timedelta(days=15, minutes=1), True)]
)
def test_a_quote_unanswered_for_15_days_fires(engine: Engine, age: timedelta, fires: bool) -> None:
    only_rules(engine, "quotes_unanswered")
    f.user(engine, role="direction")
    formation = f.formation(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(Devis).values(
                numero="D-1",
                contact_email="x@exemple.fr",
                formation_id=formation,
                nb_stagiaires=3,
                montant=9000,
                statut="envoye",
                created_at=T0 - age,
                sent_at=T0 - age,
            )
        )
    evaluate(engine, T0)
    assert len(alerts(engine, "quotes_unanswered")) == int(fires)


@pytest.mark.parametrize(("held", "fires"), [(3, False), (4, True)])
def test_staff_workload_fires_above_the_open_threshold(
    engine: Engine, held: int, fires: bool
) -> None:
    only_rules(engine, "staff_workload")
    director = f.user(engine, role="direction")
    admin = f.user(engine, role="admin")
    member = f.user(engine, role="secretariat")
    set_rule(engine, "staff_workload", params={"max_open": 3, "max_overdue": 5})
    for _ in range(held):
        _new_application(engine, T0 - timedelta(hours=1), assigned_to=member, statut="en_etude")
    evaluate(engine, T0)
    found = alerts(engine, "staff_workload")
    assert [a.subject_key for a in found] == ([f"user:{member}"] if fires else [])
    if fires:
        assert set(found[0].recipients) == {director, admin}


def test_a_kpi_goal_line_fires_through_the_kpi_engine(engine: Engine) -> None:
    from data.alerts import centre
    from data.permissions import Actor

    only_rules(engine)
    director = f.user(engine, role="direction", email="dir@exemple.fr")
    actor = Actor(director, "dir@exemple.fr", "direction", "Marie", "D")
    for _ in range(3):
        _new_application(engine, T0 - timedelta(days=2))
    centre.add_kpi_goal(
        engine, actor=actor, kpi_id="applications", direction="below", value=4, window_days=30
    )
    evaluate(engine, T0)
    assert len(alerts(engine)) == 1
    _new_application(engine, T0 - timedelta(days=1))
    _new_application(engine, T0 - timedelta(days=1))
    evaluate(engine, T0 + timedelta(hours=2))
    assert alerts(engine)[0].state == "resolved"


def test_a_threshold_missing_from_a_stored_rule_falls_back_to_its_default(engine: Engine) -> None:
    """A rule row written by an earlier version lacks a threshold added since."""
    only_rules(engine, "invoices_overdue")
    f.user(engine, role="direction")
    set_rule(engine, "invoices_overdue", params={})
    _invoice(engine, date(2026, 11, 19), 500)
    result = evaluate(engine, T0)
    assert result.failed == ()
    assert len(alerts(engine, "invoices_overdue")) == 1


def test_team_workload_counts_open_overdue_oldest_and_recent_decisions(engine: Engine) -> None:

    from data.triage.workload import team_workload

    busy = f.user(engine, role="secretariat", prenom="Léa", nom="Occupée")
    f.user(engine, role="secretariat", prenom="Paul", nom="Libre")
    f.user(engine, role="secretariat", actif=False)
    oldest = T0 - timedelta(hours=60)
    _new_application(engine, oldest, assigned_to=busy)  # overdue
    _new_application(engine, T0 - timedelta(hours=47, minutes=59), assigned_to=busy)  # not yet
    _new_application(engine, T0 - timedelta(hours=50), assigned_to=busy, statut="en_etude")
    decided = _new_application(engine, T0 - timedelta(days=20), assigned_to=busy, statut="refusee")
    f.event(
        engine,
        candidature_id=decided,
        from_statut="nouvelle",
        to_statut="refusee",
        changed_by=busy,
        changed_at=T0 - timedelta(days=2),
    )
    f.event(
        engine,
        candidature_id=decided,
        from_statut="nouvelle",
        to_statut="en_etude",
        changed_by=busy,
        changed_at=T0 - timedelta(days=8),
    )  # too old to count
    frame = team_workload(engine, now=T0, sla_hours=48)
    rows = frame.to_dict("records")
    assert [(r["name"], r["open"], r["overdue"], r["decisions_7d"]) for r in rows] == [
        ("Léa Occupée", 3, 1, 1),
        ("Paul Libre", 0, 0, 0),
    ]
    assert rows[0]["oldest"] == oldest
