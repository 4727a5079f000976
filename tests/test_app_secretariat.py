"""The secretariat's screens through AppTest, end to end on a seeded database.

Actions behind a confirmation dialog cannot be clicked in AppTest (known
gap): those are tested through the data layer (tests/test_triage_*.py); here
we check the dialog is requested and nothing is written before confirmation.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reportlab.pdfgen import canvas
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from data import contacts, triage
from data.owned import AuditLog
from tests import app_session, factories
from tests import triage_data as td
from tests.page_check import check_page

HOSTILE_NAME = "<script>alert(1)</script> **N'Diaye** [lien](javascript:alert(1))"
LONG_MOTIVATION = "# Titre\n" + "Je suis *motivée* <b>vraiment</b>. " * 300  # ~10 000 characters
ADMIN = "admin@demo.cipfaro.fr"


def _cv(upload_root: Path) -> str:
    path = upload_root / "cv" / "2026" / "11" / "a1.pdf"
    path.parent.mkdir(parents=True)
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "CV")
    page.save()
    path.write_bytes(buffer.getvalue())
    return "cv/2026/11/a1.pdf"


@pytest.fixture
def seeded(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, Any]:
    app_session.app_env(monkeypatch, db_url)
    monkeypatch.setenv("UPLOAD_ROOT", str(tmp_path / "uploads"))
    admin_id = app_session.staff(engine, "admin", email=ADMIN, prenom="Ada", nom="Admin")
    secretary_id = app_session.staff(
        engine, "secretariat", email="secretariat@demo.cipfaro.fr", prenom="Sonia", nom="Séraphin"
    )
    app_session.staff(
        engine, "direction", email="direction@demo.cipfaro.fr", prenom="Denis", nom="Directeur"
    )
    hostile = factories.user(
        engine, prenom="Aïssatou", nom=HOSTILE_NAME, email="hostile@exemple.fr"
    )
    jose = factories.user(engine, prenom="José", nom="Hippolyte", email="jose@exemple.fr")
    formation = factories.formation(engine, titre="Développeur web")
    now = datetime.now(UTC)
    old = now - timedelta(hours=72)
    apps = {
        "hostile": factories.application(
            engine,
            user_id=hostile,
            formation_id=formation,
            created_at=old,
            updated_at=old,
            motivation=LONG_MOTIVATION,
            cv_path="../../etc/passwd",
        ),
        "jose": factories.application(
            engine,
            user_id=jose,
            formation_id=formation,
            created_at=now - timedelta(hours=2),
            updated_at=now - timedelta(hours=2),
            cv_path=_cv(tmp_path / "uploads"),
        ),
        "admise": factories.application(
            engine,
            user_id=jose,
            formation_id=formation,
            statut="admise",
            created_at=now - timedelta(hours=1),
            updated_at=now - timedelta(hours=1),
        ),
    }
    return {"apps": apps, "admin": admin_id, "secretary": secretary_id, "formation": formation}


def _page(engine: Engine, page: str, email: str = ADMIN) -> AppTest:
    at = app_session.page_as(engine, page, email)
    check_page(at)
    return at


def _open(at: AppTest, application_id: int) -> AppTest:
    at.selectbox(key="triage_open").set_value(application_id).run()
    check_page(at)
    return at


def _frame(at: AppTest, column: str) -> Any:
    """The dataframe on screen that has ``column``."""
    return next(f.value for f in at.dataframe if column in f.value.columns)


def _texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def _notices(at: AppTest) -> str:
    return "\n".join(_texts(at))


def test_queue_shows_hostile_text_as_plain_text(engine: Engine, seeded: dict[str, Any]) -> None:
    at = _page(engine, "pages/applications.py")
    frame = at.dataframe[0].value
    assert list(frame["N°"]) == [
        seeded["apps"]["hostile"],
        seeded["apps"]["jose"],
        seeded["apps"]["admise"],
    ]
    assert f"Aïssatou {HOSTILE_NAME}" in list(frame["Candidat"])
    late, in_time, handled = frame["Délai"]
    assert late.startswith("En retard de ") and in_time.startswith("Reste ")
    assert handled == "Prise en charge"  # every row says something
    at = _open(at, seeded["apps"]["hostile"])
    assert LONG_MOTIVATION.strip() in _texts(at)
    assert any("Chemin de CV refusé" in info.value for info in at.info)
    markdown = " ".join(app_session.texts_in_markdown(at))
    assert "<script>" not in markdown and "motivée" not in markdown and "N'Diaye" not in markdown


def test_triage_actions_end_to_end(engine: Engine, seeded: dict[str, Any]) -> None:
    app = seeded["apps"]["jose"]
    at = _open(_page(engine, "pages/applications.py"), app)
    assert at.get("download_button"), "the CV can be downloaded"
    # Assign.
    at.selectbox(key=f"triage_assignee_{app}").set_value(seeded["secretary"])
    at.button(key="triage_assign_apply").click().run()
    assert td.current(engine, app).assigned_to == seeded["secretary"]
    assert "assignée à Sonia Séraphin" in _notices(at)
    # Move to "en étude" with a comment.
    at.selectbox(key=f"triage_move_target_{app}").set_value("en_etude")
    at.text_input(key=f"triage_move_comment_{app}").input("Dossier complet")
    at.button(key="triage_move_apply").click().run()
    assert td.current(engine, app).statut == "en_etude"
    # Refuse with a reason.
    at.selectbox(key=f"triage_refuse_reason_{app}").set_value("prerequis")
    at.text_input(key=f"triage_refuse_detail_{app}").input("Niveau B1 requis")
    at.button(key="triage_refuse_apply").click().run()
    # A refusal waits for its confirmation (the dialog's button runs in the browser:
    # tests/test_triage_browser.py); confirmed, it is this write.
    pending = at.session_state["triage_pending"]
    assert pending.title == f"Refuser la candidature n° {app} ?"
    assert pending.lines == ("Motif : Prérequis non remplis — Niveau B1 requis",)
    assert td.current(engine, app).statut == "en_etude"
    at.session_state["triage_pending"] = None
    admin = td.Actor(seeded["admin"], ADMIN, "admin", "Ada", "Admin")
    triage.refuse_application(
        engine,
        actor=admin,
        application_id=app,
        reason_code="prerequis",
        detail="Niveau B1 requis",
        expected_updated_at=td.version(engine, app),
    )
    at.run()
    row = td.current(engine, app)
    assert (row.statut, row.motif_refus) == ("refusee", "Prérequis non remplis — Niveau B1 requis")
    history = [(e.from_statut, e.to_statut, e.changed_by) for e in td.events(engine, app)]
    assert history == [
        (None, "nouvelle", None),
        ("nouvelle", "nouvelle", seeded["admin"]),
        ("nouvelle", "en_etude", seeded["admin"]),
        ("en_etude", "refusee", seeded["admin"]),
    ]
    actions = [a.action for a in td.audits(engine, "candidatures")]
    assert actions == ["candidature.assign", "candidature.move", "candidature.refuse"]
    timeline = [t for t in _texts(at) if " · par " in t]
    assert [line.split(" · ")[1] for line in timeline] == [
        "Création — Nouvelle",
        "Nouvelle (statut inchangé)",
        "Nouvelle → En étude",
        "En étude → Refusée",
    ]
    assert timeline[-1].endswith("par Ada Admin · Refus : Prérequis non remplis — Niveau B1 requis")
    # Undo the refusal: back to "en étude", by a new event.
    at.button(key="triage_undo").click().run()
    assert td.current(engine, app).statut == "en_etude"
    assert len(td.events(engine, app)) == 5
    # An internal note.
    at.text_area(key="triage_note_body").input("Rappeler lundi **sans faute**")
    at.button(key="triage_note_add").click().run()
    notes = triage.application_notes(engine, app)
    assert list(notes["body"]) == ["Rappeler lundi **sans faute**"]


def test_stale_screen_is_refused_and_nothing_written(
    engine: Engine, seeded: dict[str, Any]
) -> None:
    app = seeded["apps"]["jose"]
    at = _open(_page(engine, "pages/applications.py"), app)
    colleague = td.Actor(
        seeded["secretary"], "secretariat@demo.cipfaro.fr", "secretariat", "Sonia", "Séraphin"
    )
    triage.move_application(
        engine,
        actor=colleague,
        application_id=app,
        to_statut="en_etude",
        expected_updated_at=td.version(engine, app),
    )
    at.selectbox(key=f"triage_move_target_{app}").set_value("en_etude")
    at.button(key="triage_move_apply").click().run()
    assert td.current(engine, app).statut == "en_etude"
    assert "modifiée par Sonia Séraphin à" in _notices(at) and "rechargez" in _notices(at)
    assert td.count(engine, AuditLog) == 1


def test_irreversible_and_bulk_actions_wait_for_confirmation(
    engine: Engine, seeded: dict[str, Any]
) -> None:
    admise = seeded["apps"]["admise"]
    at = _open(_page(engine, "pages/applications.py"), admise)
    at.selectbox(key=f"triage_move_target_{admise}").set_value("inscrite")
    at.button(key="triage_move_apply").click().run()
    check_page(at)
    assert at.session_state["triage_pending"].title.startswith(f"Passer la candidature n° {admise}")
    assert td.current(engine, admise).statut == "admise"
    at.session_state["triage_pending"] = None
    at.multiselect(key="triage_selected").set_value(
        [seeded["apps"]["hostile"], seeded["apps"]["jose"]]
    )
    at.button(key="triage_bulk_study").click().run()
    assert at.session_state["triage_pending"].title == "Passer 2 candidature(s) en étude ?"
    assert {td.current(engine, a).statut for a in seeded["apps"].values()} == {"nouvelle", "admise"}


def test_filters_live_in_the_url_and_bad_values_fall_back(
    engine: Engine, seeded: dict[str, Any]
) -> None:
    at = AppTest.from_file(str(app_session.ROOT / "pages/applications.py"), default_timeout=30)
    at.session_state[app_session.SESSION_KEY] = app_session.session_token(engine, ADMIN)
    at.query_params["q"] = "JOSE"
    at.query_params["statut"] = "nouvelle,<b>"
    at.query_params["retard"] = "peut-être"
    at.run()
    check_page(at)
    warnings = [w.value for w in at.warning]
    assert any("« statut »" in w for w in warnings) and any("« retard »" in w for w in warnings)
    assert list(at.dataframe[0].value["N°"]) == [seeded["apps"]["jose"], seeded["apps"]["admise"]]
    assert at.query_params == {"q": "JOSE"}  # the bad values are gone from the URL
    at.selectbox(key="triage_open").set_value(seeded["apps"]["jose"]).run()
    assert at.query_params == {"q": "JOSE", "dossier": str(seeded["apps"]["jose"])}
    at.selectbox(key="triage_open").set_value(None).run()
    at.toggle(key="triage_f_overdue").set_value(True).run()
    assert at.query_params == {"q": "JOSE", "retard": "1"}
    assert any("Aucune candidature" in info.value for info in at.info)  # José is not overdue


def test_a_file_opens_from_its_link(engine: Engine, seeded: dict[str, Any]) -> None:
    at = AppTest.from_file(str(app_session.ROOT / "pages/applications.py"), default_timeout=30)
    at.session_state[app_session.SESSION_KEY] = app_session.session_token(engine, ADMIN)
    at.query_params["dossier"] = str(seeded["apps"]["admise"])
    at.run()
    check_page(at)
    assert at.selectbox(key="triage_open").value == seeded["apps"]["admise"]
    assert any(s.value == f"Dossier n° {seeded['apps']['admise']}" for s in at.header)


def test_direction_reads_without_actions(engine: Engine, seeded: dict[str, Any]) -> None:
    at = _open(
        _page(engine, "pages/applications.py", "direction@demo.cipfaro.fr"), seeded["apps"]["jose"]
    )
    keys = {button.key for button in at.button}
    assert "triage_move_apply" not in keys and "triage_bulk_study" not in keys
    assert any("Lecture seule" in c.value for c in at.caption)


def test_matchings_review_end_to_end(engine: Engine, seeded: dict[str, Any]) -> None:
    company = factories.company(engine, nom="Karukera <i>Digital</i>")
    offers = [factories.offer(engine, entreprise_id=company, titre=f"Poste {i}") for i in range(2)]
    jose = td.current(engine, seeded["apps"]["jose"]).user_id
    low = td.match(engine, candidat_id=jose, offre_id=offers[0], score=55)
    high = td.match(
        engine,
        candidat_id=jose,
        offre_id=offers[1],
        score=91,
        criteres={"competences": 0.9, "<b>clé</b>": 0.4, "distance_km": 14, "bizarre": [1, 2]},
    )
    at = _page(engine, "pages/matchings.py")
    assert list(at.dataframe[0].value["N°"]) == [high, low]
    at.selectbox(key="matchings_open").set_value(high).run()
    check_page(at)
    assert at.get("plotly_chart"), "the score breakdown is charted"
    facts = _frame(at, "Critère")
    assert sorted(facts["Critère"]) == ["Distance (km)", "bizarre"]  # jsonb reorders keys
    at.selectbox(key=f"matchings_decision_{high}").set_value("valide")
    at.button(key=f"matchings_decide_{high}").click().run()
    row = td.audits(engine, "matchings")[-1]
    assert (row.action, row.details["to_statut"], row.actor_id) == (
        "matching.decide",
        "valide",
        seeded["admin"],
    )
    assert list(at.dataframe[0].value["N°"]) == [low]  # only proposed ones remain listed


def test_messages_end_to_end(engine: Engine, seeded: dict[str, Any]) -> None:
    waiting = factories.contact(
        engine,
        nom="Hélène **D'Alembert**",
        email="helene@exemple.fr",
        sujet="Devis <b>",
        message="Bonjour\n<script>x</script>",
    )
    factories.contact(engine, nom="Ancien", traite_par=seeded["admin"], traite_at=td.T0)
    at = _page(engine, "pages/messages.py")
    assert list(at.dataframe[0].value["N°"]) == [waiting]  # untreated only, by default
    at.selectbox(key="messages_open").set_value(waiting).run()
    assert "Bonjour\n<script>x</script>" in _texts(at)
    link = at.get("link_button")[0].proto.url
    assert link.startswith("mailto:helene@exemple.fr?subject=Re%20%3A%20Devis%20%3Cb%3E")
    at.button(key=f"messages_treat_{waiting}").click().run()
    assert contacts.contact_message(engine, waiting).traite_par == "Ada Admin"
    at.segmented_control(key="messages_f_status").set_value("tous").run()
    at.selectbox(key="messages_open").set_value(waiting).run()
    at.button(key=f"messages_untreat_{waiting}").click().run()
    assert contacts.contact_message(engine, waiting).traite_at is None
    assert [a.action for a in td.audits(engine, "contacts")] == [
        "contact.treated",
        "contact.untreated",
    ]


def test_a_bulk_action_where_every_row_fails_says_nothing_was_done(
    engine: Engine, seeded: dict[str, Any]
) -> None:
    admise = seeded["apps"]["admise"]  # "en étude" is not a move an admitted file can make
    at = _page(engine, "pages/applications.py")
    at.multiselect(key="triage_selected").set_value([admise])
    at.button(key="triage_bulk_study").click().run()
    at.button(key="triage_confirm").click().run()
    check_page(at, errors=["Action non effectuée."])
    assert "0 réussie(s), 1 en échec." in _notices(at)
    assert not [s.value for s in at.success]  # no "Enregistré." beside the failure
    assert td.current(engine, admise).statut == "admise"
