"""Bulk triage and "Répartir": row by row, each row reported, nothing half-written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from data import triage
from data.errors import InvalidInput, NotAllowed
from data.models import CandidatureEvent
from data.owned import AuditLog
from tests import factories
from tests import triage_data as td


@pytest.fixture
def w(engine: Engine) -> td.World:
    return td.world(engine)


def test_bulk_move_reports_each_row(engine: Engine, w: td.World) -> None:
    ok = td.application(engine, w)
    stale = td.application(engine, w)
    refused = td.application(engine, w, statut="refusee")
    result = triage.bulk_move(
        engine,
        actor=w.secretary,
        to_statut="en_etude",
        items=[
            (ok, td.T0),
            (stale, td.T0 - timedelta(minutes=1)),
            (refused, td.T0),
            (999_999, td.T0),
        ],
    )
    assert result.succeeded == (ok,)
    failures = {o.id: o.message for o in result.failed}
    assert "rechargez" in failures[stale]
    assert "Passage impossible" in failures[refused]
    assert "n'existe pas" in failures[999_999]
    assert result.summary == "1 réussie(s), 3 en échec."
    assert [td.current(engine, i).statut for i in (ok, stale, refused)] == [
        "en_etude",
        "nouvelle",
        "refusee",
    ]
    assert td.count(engine, AuditLog) == 1


def test_bulk_refuse_checks_the_reason_before_any_row(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    with pytest.raises(InvalidInput):
        triage.bulk_refuse(engine, actor=w.admin, items=[(app, td.T0)], reason_code="autre")
    result = triage.bulk_refuse(
        engine,
        actor=w.admin,
        items=[(app, td.T0)],
        reason_code="session_complete",
        detail="Liste d'attente",
    )
    assert result.succeeded == (app,)
    assert td.current(engine, app).motif_refus == "Session complète — Liste d'attente"


def test_bulk_assign_writes_one_event_per_row(engine: Engine, w: td.World) -> None:
    apps = [td.application(engine, w) for _ in range(3)]
    result = triage.bulk_assign(
        engine, actor=w.admin, items=[(a, td.T0) for a in apps], assignee_id=w.secretary.id
    )
    assert result.succeeded == tuple(apps)
    assert {td.current(engine, a).assigned_to for a in apps} == {w.secretary.id}
    assert td.count(engine, CandidatureEvent) == 6 and td.count(engine, AuditLog) == 3


def test_empty_or_oversized_selection_is_refused(engine: Engine, w: td.World) -> None:
    with pytest.raises(InvalidInput, match="Aucune candidature"):
        triage.bulk_move(engine, actor=w.admin, items=[])
    with pytest.raises(InvalidInput, match="trop grande"):
        triage.bulk_move(engine, actor=w.admin, items=[(i, td.T0) for i in range(1, 502)])


def test_bulk_needs_the_write_capability(engine: Engine, w: td.World) -> None:
    app = td.application(engine, w)
    with pytest.raises(NotAllowed):
        triage.bulk_assign(engine, actor=w.director, items=[(app, td.T0)], assignee_id=w.admin.id)


def test_distribution_goes_to_the_least_loaded_active_members(engine: Engine, w: td.World) -> None:
    second = td.actor(engine, "secretariat", "secretariat2@demo.cipfaro.fr", "Gérard", "Bien-Aimé")
    td.actor(engine, "secretariat", "inactif@demo.cipfaro.fr", "Inès", "Inactive", actif=False)
    # Sonia already has two open applications, Gérard none; closed ones do not count.
    for statut in ("en_etude", "entretien", "terminee", "refusee"):
        td.application(engine, w, statut=statut, assigned_to=w.secretary.id)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    new = [td.application(engine, w, created_at=base + timedelta(hours=i)) for i in range(5)]
    taken = td.application(engine, w, assigned_to=w.admin.id)  # already assigned: left alone
    result = triage.distribute_unassigned(engine, actor=w.admin)
    owners = [td.current(engine, a).assigned_to for a in new]
    # Gérard 0 -> takes the 1st and 2nd (tie 2-2 goes to the lower id: Sonia), then alternate.
    assert owners == [second.id, second.id, w.secretary.id, second.id, w.secretary.id]
    assert dict(result.per_member) == {"Sonia Séraphin": 2, "Gérard Bien-Aimé": 3}
    assert result.result.succeeded == tuple(new) and result.remaining == 0
    assert td.current(engine, taken).assigned_to == w.admin.id
    with pytest.raises(InvalidInput, match="Aucune nouvelle candidature"):
        triage.distribute_unassigned(engine, actor=w.admin)


def test_distribution_limit_reports_what_remains(engine: Engine, w: td.World) -> None:
    for _ in range(3):
        td.application(engine, w)
    result = triage.distribute_unassigned(engine, actor=w.admin, limit=2)
    assert len(result.result.succeeded) == 2 and result.remaining == 1


def test_distribution_needs_an_active_secretariat(engine: Engine) -> None:
    admin = td.actor(engine, "admin", "a@demo.cipfaro.fr", "Ada", "Admin")
    trainee = factories.user(engine)
    formation = factories.formation(engine)
    factories.application(engine, user_id=trainee, formation_id=formation)
    with pytest.raises(InvalidInput, match="Aucun membre actif"):
        triage.distribute_unassigned(engine, actor=admin)
