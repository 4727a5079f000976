"""Triage actions: each writes the application, one event and one audit row, or nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from data import triage
from data.errors import Conflict, InvalidInput, NotAllowed, NotFound
from data.models import CandidatureEvent
from data.owned import AuditLog, TriageNote
from tests import factories
from tests import triage_data as td

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 11:30 in Guadeloupe


@pytest.fixture
def w(engine: Engine) -> td.World:
    return td.world(engine)


def test_move_writes_status_event_and_audit_in_one_go(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    result = triage.move_application(
        engine,
        actor=w.secretary,
        application_id=app,
        to_statut="en_etude",
        expected_updated_at=td.T0,
        comment="Dossier complet",
        now=NOW,
    )
    row = td.current(engine, app)
    assert (row.statut, row.updated_at) == ("en_etude", NOW)
    assert result.updated_at == NOW and result.from_statut == "nouvelle"
    last = td.events(engine, app)[-1]
    assert (last.from_statut, last.to_statut, last.changed_by) == (
        "nouvelle",
        "en_etude",
        w.secretary.id,
    )
    assert (last.changed_at, last.commentaire) == (NOW, "Dossier complet")
    [entry] = td.audits(engine, "candidatures")
    assert (entry.actor_id, entry.action, entry.entity_id) == (
        w.secretary.id,
        "candidature.move",
        str(app),
    )
    assert entry.details["from_statut"] == "nouvelle" and entry.details["to_statut"] == "en_etude"


@pytest.mark.parametrize(
    ("start", "target"),
    [("nouvelle", "admise"), ("terminee", "en_formation"), ("en_etude", "nouvelle")],
)
def test_impossible_move_is_refused_and_nothing_is_written(
    engine: Engine, w: td.World, start: str, target: str
) -> None:
    app = td.application(engine, w, statut=start)
    with pytest.raises(InvalidInput, match="Passage impossible"):
        triage.move_application(
            engine, actor=w.admin, application_id=app, to_statut=target, expected_updated_at=td.T0
        )
    assert td.current(engine, app).statut == start
    assert len(td.events(engine, app)) == 1 and td.count(engine, AuditLog) == 0


def test_refusal_goes_through_the_refuse_action(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    with pytest.raises(InvalidInput, match="Refuser"):
        triage.move_application(
            engine,
            actor=w.admin,
            application_id=app,
            to_statut="refusee",
            expected_updated_at=td.T0,
        )


def test_refusal_writes_the_reason(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w, statut="en_etude")
    triage.refuse_application(
        engine,
        actor=w.secretary,
        application_id=app,
        reason_code="prerequis",
        detail="Niveau insuffisant",
        expected_updated_at=td.T0,
        now=NOW,
    )
    row = td.current(engine, app)
    assert row.statut == "refusee"
    assert row.motif_refus == "Prérequis non remplis — Niveau insuffisant"
    last = td.events(engine, app)[-1]
    assert (last.from_statut, last.to_statut) == ("en_etude", "refusee")
    assert "Prérequis non remplis" in last.commentaire
    assert td.audits(engine)[-1].action == "candidature.refuse"


@pytest.mark.parametrize(("code", "detail"), [("autre", None), ("inconnu", "x")])
def test_refusal_needs_a_reason(engine: Engine, w: td.World, code: str, detail: str | None) -> None:
    app = td.application(engine, w)
    with pytest.raises(InvalidInput):
        triage.refuse_application(
            engine,
            actor=w.admin,
            application_id=app,
            reason_code=code,
            detail=detail,
            expected_updated_at=td.T0,
        )
    assert td.current(engine, app).statut == "nouvelle"


def test_stale_version_is_refused_naming_who_and_when(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    triage.move_application(
        engine,
        actor=w.admin,
        application_id=app,
        to_statut="en_etude",
        expected_updated_at=td.T0,
        now=NOW,
    )
    with pytest.raises(Conflict) as caught:
        triage.refuse_application(
            engine,
            actor=w.secretary,
            application_id=app,
            reason_code="prerequis",
            expected_updated_at=td.T0,
        )
    assert (
        caught.value.user_message
        == f"Candidature n° {app} modifiée par Ada Admin à 11:30 — rechargez."
    )
    assert td.current(engine, app).statut == "en_etude"
    assert len(td.events(engine, app)) == 2 and td.count(engine, AuditLog) == 1


def test_change_by_the_website_is_named_as_such(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    with pytest.raises(Conflict, match="modifiée par le site web à 10:00"):
        triage.move_application(
            engine,
            actor=w.admin,
            application_id=app,
            to_statut="en_etude",
            expected_updated_at=td.T0 - timedelta(seconds=1),
        )


def test_updated_at_always_moves_forward(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    earlier = td.T0 - timedelta(days=3)  # a server clock behind the stored value
    result = triage.move_application(
        engine,
        actor=w.admin,
        application_id=app,
        to_statut="en_etude",
        expected_updated_at=td.T0,
        now=earlier,
    )
    assert result.updated_at > td.T0
    assert td.current(engine, app).updated_at == result.updated_at


def test_assignment_keeps_the_status_and_writes_an_event(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    result = triage.assign_application(
        engine,
        actor=w.admin,
        application_id=app,
        assignee_id=w.secretary.id,
        expected_updated_at=td.T0,
        now=NOW,
    )
    row = td.current(engine, app)
    assert (row.assigned_to, row.statut, row.updated_at) == (w.secretary.id, "nouvelle", NOW)
    last = td.events(engine, app)[-1]
    assert (last.from_statut, last.to_statut) == ("nouvelle", "nouvelle")
    assert last.commentaire == "Assignée à Sonia Séraphin"
    assert result.message == f"Candidature n° {app} : assignée à Sonia Séraphin."
    entry = td.audits(engine)[-1]
    assert (
        entry.action == "candidature.assign" and entry.details["to_assigned_to"] == w.secretary.id
    )
    triage.assign_application(
        engine, actor=w.admin, application_id=app, assignee_id=None, expected_updated_at=NOW
    )
    assert td.current(engine, app).assigned_to is None


@pytest.mark.parametrize("who", ["director", "trainee", "inactive"])
def test_only_active_triaging_staff_can_be_assigned(engine: Engine, w: td.World, who: str) -> None:
    assignee = {
        "director": w.director.id,
        "trainee": w.applicant_id,
        "inactive": factories.user(engine, role="secretariat", actif=False),
    }[who]
    app = td.application(engine, w)
    with pytest.raises(InvalidInput, match="ne peut pas recevoir"):
        triage.assign_application(
            engine,
            actor=w.admin,
            application_id=app,
            assignee_id=assignee,
            expected_updated_at=td.T0,
        )
    assert td.current(engine, app).assigned_to is None


def test_session_must_belong_to_the_formation(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    foreign = factories.session(engine, formation_id=w.other_formation_id)
    with pytest.raises(InvalidInput, match="formation"):
        triage.attach_session(
            engine, actor=w.admin, application_id=app, session_id=foreign, expected_updated_at=td.T0
        )
    own = factories.session(
        engine, formation_id=w.formation_id, date_debut=date(2027, 1, 4), date_fin=date(2027, 6, 30)
    )
    result = triage.attach_session(
        engine, actor=w.admin, application_id=app, session_id=own, expected_updated_at=td.T0
    )
    assert result.warning is None
    assert td.current(engine, app).session_id == own
    assert td.events(engine, app)[-1].commentaire.startswith("Rattachée à la session du 04/01/2027")


def test_full_session_is_accepted_with_a_warning(engine: Engine, w: td.World) -> None:
    full = factories.session(engine, formation_id=w.formation_id, places=2)
    for statut in ("inscrite", "admise", "refusee"):  # the refusal takes no place
        td.application(engine, w, statut=statut, session_id=full)
    app = td.application(engine, w, statut="admise")
    result = triage.attach_session(
        engine, actor=w.admin, application_id=app, session_id=full, expected_updated_at=td.T0
    )
    assert result.warning == "Attention : cette session est complète (2 places occupées sur 2)."
    assert td.current(engine, app).session_id == full
    assert td.audits(engine)[-1].details["session_full"] is True


def test_undo_goes_back_with_a_new_event_and_clears_the_reason(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w, statut="en_etude")
    factories.event(engine, candidature_id=app, from_statut="nouvelle", to_statut="en_etude")
    refused = triage.refuse_application(
        engine,
        actor=w.admin,
        application_id=app,
        reason_code="financement",
        expected_updated_at=td.T0,
        now=NOW,
    )
    assert triage.application_file(engine, app).undo_target == "en_etude"
    triage.undo_last_status_change(
        engine, actor=w.secretary, application_id=app, expected_updated_at=refused.updated_at
    )
    row = td.current(engine, app)
    assert (row.statut, row.motif_refus) == ("en_etude", None)
    history = td.events(engine, app)
    assert [(e.from_statut, e.to_statut) for e in history[-2:]] == [
        ("en_etude", "refusee"),
        ("refusee", "en_etude"),
    ]
    assert len(history) == 4  # creation, study, refusal, undo: nothing deleted
    assert td.audits(engine)[-1].details["undone_motif_refus"] == "Financement non trouvé"
    # The undo itself cannot be undone, and assignment events do not count as changes.
    assert triage.application_file(engine, app).undo_target is None


def test_undo_skips_assignment_events(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    moved = triage.move_application(
        engine, actor=w.admin, application_id=app, to_statut="en_etude", expected_updated_at=td.T0
    )
    assigned = triage.assign_application(
        engine,
        actor=w.admin,
        application_id=app,
        assignee_id=w.secretary.id,
        expected_updated_at=moved.updated_at,
    )
    undone = triage.undo_last_status_change(
        engine, actor=w.admin, application_id=app, expected_updated_at=assigned.updated_at
    )
    assert undone.to_statut == "nouvelle" and td.current(engine, app).assigned_to == w.secretary.id


@pytest.mark.parametrize(
    ("before", "after"), [("admise", "inscrite"), ("en_formation", "terminee")]
)
def test_undo_is_refused_where_the_workflow_forbids_it(
    engine: Engine, w: td.World, before: str, after: str
) -> None:
    app = td.application(engine, w, statut=after)
    factories.event(engine, candidature_id=app, from_statut=before, to_statut=after)
    with pytest.raises(InvalidInput, match="ne peut pas être annulé"):
        triage.undo_last_status_change(
            engine, actor=w.admin, application_id=app, expected_updated_at=td.T0
        )
    assert td.current(engine, app).statut == after


def test_last_event_matches_the_status_after_a_day_of_work(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    version = td.T0
    for step in (
        lambda v: triage.assign_application(
            engine,
            actor=w.admin,
            application_id=app,
            assignee_id=w.secretary.id,
            expected_updated_at=v,
        ),
        lambda v: triage.move_application(
            engine,
            actor=w.secretary,
            application_id=app,
            to_statut="en_etude",
            expected_updated_at=v,
        ),
        lambda v: triage.move_application(
            engine,
            actor=w.secretary,
            application_id=app,
            to_statut="entretien",
            expected_updated_at=v,
        ),
        lambda v: triage.move_application(
            engine, actor=w.secretary, application_id=app, to_statut="admise", expected_updated_at=v
        ),
    ):
        version = step(version).updated_at
    assert td.events(engine, app)[-1].to_statut == td.current(engine, app).statut == "admise"
    assert td.count(engine, CandidatureEvent) == 5 and td.count(engine, AuditLog) == 4


@pytest.mark.parametrize("role", ["director", "trainee_actor"])
def test_roles_without_triage_write_are_refused(engine: Engine, w: td.World, role: str) -> None:
    app = td.application(engine, w)
    acting = (
        w.director
        if role == "director"
        else td.Actor(w.applicant_id, "x@y.fr", "stagiaire", "J", "H")
    )
    with pytest.raises(NotAllowed):
        triage.move_application(
            engine,
            actor=acting,
            application_id=app,
            to_statut="en_etude",
            expected_updated_at=td.T0,
        )
    assert td.count(engine, AuditLog) == 0


def test_missing_application_is_not_found(engine: Engine, w: td.World) -> None:
    with pytest.raises(NotFound):
        triage.move_application(
            engine,
            actor=w.admin,
            application_id=999_999,
            to_statut="en_etude",
            expected_updated_at=td.T0,
        )


def test_notes_are_stored_with_author_and_audited(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    triage.add_note(
        engine, actor=w.secretary, application_id=app, body="  Rappeler lundi <b>**\x00 ", now=NOW
    )
    notes = triage.application_notes(engine, app)
    assert list(notes["body"]) == ["Rappeler lundi <b>**"]
    assert list(notes["author"]) == ["Sonia Séraphin"] and notes["created_at"][0] == NOW
    assert td.audits(engine)[-1].action == "candidature.note"
    with pytest.raises(InvalidInput):
        triage.add_note(engine, actor=w.secretary, application_id=app, body="   ")
    assert td.count(engine, TriageNote) == 1


def test_file_reads_everything_the_screen_shows(engine: Engine, w: td.World) -> None:
    session = factories.session(engine, formation_id=w.formation_id)
    app = td.application(
        engine,
        w,
        session_id=session,
        motivation="x" * 10_000,
        cv_path="cv/a.pdf",
        financement="cpf",
        assigned_to=w.secretary.id,
    )
    file = triage.application_file(engine, app)
    assert (file.applicant, file.email, file.formation) == (
        "José Hippolyte",
        "jose.h@exemple.fr",
        "Développeur web",
    )
    assert (file.session_start, file.assignee, len(file.motivation or "")) == (
        date(2026, 1, 5),
        "Sonia Séraphin",
        10_000,
    )
    assert file.updated_at == td.T0 and file.last_change is not None
    history = triage.application_history(engine, app)
    assert list(history["to_statut"]) == ["nouvelle"] and history["changed_by"][0] is None
    staff = {s.name for s in triage.assignable_staff(engine)}
    assert staff == {"Ada Admin", "Sonia Séraphin"}
    [option] = triage.session_options(engine, w.formation_id)
    assert (option.places, option.taken, option.full) == (12, 0, False)
