"""Contact messages: untreated first, search, treated and back (audited), reply link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import Engine

from data import contacts
from data.errors import Conflict, NotAllowed
from data.owned import AuditLog
from tests import factories
from tests import triage_data as td

NOW = datetime(2026, 11, 24, 13, 5, tzinfo=UTC)  # 09:05 in Guadeloupe
DAY = timedelta(days=1)


@pytest.fixture
def w(engine: Engine) -> td.World:
    return td.world(engine)


def test_untreated_first_oldest_waiting_first(engine: Engine, w: td.World) -> None:
    t = td.T0
    treated_old = factories.contact(
        engine, created_at=t - 3 * DAY, traite_par=w.admin.id, traite_at=t
    )
    treated_new = factories.contact(engine, created_at=t - DAY, traite_par=w.admin.id, traite_at=t)
    waiting_new = factories.contact(engine, created_at=t)
    waiting_old = factories.contact(engine, created_at=t - 2 * DAY)
    ids = [row.id for row in contacts.contact_messages(engine)]
    assert ids == [waiting_old, waiting_new, treated_new, treated_old]
    assert [r.id for r in contacts.contact_messages(engine, status="a-traiter")] == [
        waiting_old,
        waiting_new,
    ]
    assert [r.id for r in contacts.contact_messages(engine, status="traites")] == [
        treated_new,
        treated_old,
    ]
    assert contacts.contact_messages(engine, status="traites")[0].traite_par == "Ada Admin"


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("helene", True),
        ("DEVIS", True),
        ("cpf", True),
        ("100%", True),
        ("100_", False),
        ("<img", True),
        ("zzz", False),
    ],
)
def test_search_reads_name_email_subject_and_message(
    engine: Engine, w: td.World, search: str, found: bool
) -> None:
    message = factories.contact(
        engine,
        nom="Hélène D'Alembert",
        email="helene@exemple.fr",
        sujet="Demande de devis",
        message="Financement CPF à 100% ? <img src=x onerror=alert(1)>",
    )
    factories.contact(
        engine, nom="Autre", email="autre@exemple.fr", sujet="Rien", message="Bonjour"
    )
    ids = [row.id for row in contacts.contact_messages(engine, search=search)]
    assert ids == ([message] if found else [])


def test_mark_treated_and_undo_are_audited_and_guarded(engine: Engine, w: td.World) -> None:
    message = factories.contact(engine)
    done = contacts.mark_treated(engine, actor=w.secretary, contact_id=message, now=NOW)
    row = contacts.contact_message(engine, message)
    assert (row.traite_at, row.traite_par) == (NOW, "Sonia Séraphin")
    with pytest.raises(Conflict, match="traité par Sonia Séraphin à 09:05 — rechargez"):
        contacts.mark_treated(engine, actor=w.admin, contact_id=message)
    with pytest.raises(Conflict):
        contacts.mark_untreated(
            engine, actor=w.admin, contact_id=message, expected_traite_at=NOW - timedelta(seconds=1)
        )
    contacts.mark_untreated(
        engine, actor=w.admin, contact_id=message, expected_traite_at=done.traite_at
    )
    row = contacts.contact_message(engine, message)
    assert (row.traite_at, row.traite_par) == (None, None)
    actions = [(a.action, a.actor_id) for a in td.audits(engine, "contacts")]
    assert actions == [("contact.treated", w.secretary.id), ("contact.untreated", w.admin.id)]
    assert td.audits(engine)[-1].details["previous_traite_par"] == w.secretary.id


def test_direction_cannot_mark_messages(engine: Engine, w: td.World) -> None:
    message = factories.contact(engine)
    with pytest.raises(NotAllowed):
        contacts.mark_treated(engine, actor=w.director, contact_id=message)
    assert td.count(engine, AuditLog) == 0


def _row(**values: object) -> contacts.ContactRow:
    base = {
        "id": 1,
        "created_at": td.T0,
        "nom": "Jean Dupont",
        "email": "jean@exemple.fr",
        "telephone": None,
        "sujet": "Inscription",
        "message": "Bonjour,\nune question.",
        "traite_at": None,
        "traite_par": None,
    } | values
    return contacts.ContactRow(**base)  # type: ignore[arg-type]


def test_reply_link_is_a_prefilled_encoded_mailto() -> None:
    link = contacts.reply_link(_row(sujet="Tarifs & dates ? <b>", message="Ligne 1\nLigne 2 & 3"))
    assert link is not None
    parts = urlsplit(link)
    assert (parts.scheme, unquote(parts.path)) == ("mailto", "jean@exemple.fr")
    query = parse_qs(parts.query)
    assert query["subject"] == ["Re : Tarifs & dates ? <b>"]
    assert query["body"][0].startswith("Bonjour Jean Dupont,")
    assert "> Ligne 2 & 3" in query["body"][0] and "20/11/2026" in query["body"][0]
    assert " " not in link and "\n" not in link


@pytest.mark.parametrize(
    "email",
    [
        "pas-une-adresse",
        "a@b.fr?cc=victime@x.fr",
        "a@b.fr\nBcc: x@y.fr",
        "javascript:alert(1)//@x.fr",
        "a b@c.fr",
    ],
)
def test_no_reply_link_for_a_malformed_address(email: str) -> None:
    assert contacts.reply_link(_row(email=email)) is None
