"""The "Rapports" page through AppTest, signed in for real (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from streamlit.testing.v1 import AppTest

from data.owned import AuditLog, ReportFileRow, ReportSchedule
from data.permissions import Actor
from reports.schedules import ScheduleInput, create_schedule, list_schedules
from tests import factories
from tests.app_session import app_env, page_as, staff, texts_in_markdown
from tests.page_check import check_page

PAGE = "pages/reports.py"
DIRECTION = "direction@demo.cipfaro.fr"
FORM = "rapports_fnew"


@pytest.fixture
def signed_up(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    app_env(monkeypatch, db_url)
    staff(engine, "direction", email=DIRECTION, prenom="Denis", nom="Directeur")
    staff(engine, "secretariat", email="secretariat@demo.cipfaro.fr", prenom="Sonia", nom="S")
    factories.formation(engine, slug="developpeur-web", titre="Développeur web")
    return engine


def _fill_schedule_form(at: AppTest, name: str, recipients: str) -> AppTest:
    at.text_input(key=f"{FORM}_name").input(name)
    at.text_area(key=f"{FORM}_recipients").input(recipients)
    at.text_input(key=f"{FORM}_time").input("07:30")
    at.selectbox(key=f"{FORM}_freq").set_value("weekly")
    at.selectbox(key=f"{FORM}_weekday").set_value(0)
    submit = next(b for b in at.button if b.label == "Enregistrer")
    return submit.click().run()


def _audit_actions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(AuditLog.action)).scalars())


def test_direction_creates_a_schedule_through_the_form(signed_up: Engine) -> None:
    at = page_as(signed_up, PAGE, DIRECTION)
    check_page(at)
    at = _fill_schedule_form(at, "Hebdo du lundi", "a@exemple.fr; b@exemple.fr")
    check_page(at)
    [saved] = list_schedules(signed_up)
    assert (saved.name, saved.frequency, saved.weekday, saved.time_of_day) == (
        "Hebdo du lundi",
        "weekly",
        0,
        "07:30",
    )
    assert saved.recipients == ("a@exemple.fr", "b@exemple.fr")
    assert "report_schedule.create" in _audit_actions(signed_up)
    assert "Planification créée." in [t.value for t in at.text]
    frame = at.dataframe[0].value
    assert list(frame["Nom"]) == ["Hebdo du lundi"]
    assert frame["Récurrence"][0] == "Chaque lundi à 07:30 (heure de Guadeloupe)"
    assert "Prochain envoi (heure de Guadeloupe)" in frame.columns  # every time says its zone
    zones = next(s for s in at.selectbox if s.key.endswith("_tz"))
    assert list(zones.options[:5]) == [
        "Guadeloupe",
        "Paris",
        "Martinique",
        "Guyane",
        "UTC",
    ]


def test_a_bad_recipient_shows_the_french_error_and_writes_nothing(signed_up: Engine) -> None:
    at = page_as(signed_up, PAGE, DIRECTION)
    at = _fill_schedule_form(at, "Mensuel", "direction@exemple.fr, pas-une-adresse")
    assert [e.value for e in at.error] == ["Adresse e-mail invalide : « pas-une-adresse »."]
    with signed_up.connect() as connection:
        assert connection.execute(select(ReportSchedule.id)).first() is None
    assert _audit_actions(signed_up) == []


def test_an_address_outside_the_allowed_domains_is_refused_with_the_reason(
    signed_up: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORT_RECIPIENT_DOMAINS", "cipfaro.fr")
    at = page_as(signed_up, PAGE, DIRECTION)
    at = _fill_schedule_form(at, "Mensuel", "direction@cipfaro.fr, moi@gmail.com")
    check_page(
        at,
        errors=[
            "Adresse refusée : « moi@gmail.com ». Les rapports contiennent le chiffre "
            "d'affaires et des noms de candidats : ils ne partent que vers @cipfaro.fr "
            "(réglage REPORT_RECIPIENT_DOMAINS)."
        ],
    )
    assert list_schedules(signed_up) == () and _audit_actions(signed_up) == []
    at = _fill_schedule_form(at, "Mensuel", "direction@CIPFARO.fr")
    check_page(at)
    assert [s.recipients for s in list_schedules(signed_up)] == [("direction@CIPFARO.fr",)]


def test_the_secretariat_is_refused_the_page(signed_up: Engine) -> None:
    at = page_as(signed_up, PAGE, "secretariat@demo.cipfaro.fr")
    assert [e.value for e in at.error] == [
        "Accès refusé : cette page n'est pas ouverte à votre rôle."
    ]
    assert not [b for b in at.button if b.label == "Générer"]


def test_on_demand_generation_offers_the_pdf_and_the_excel_file(signed_up: Engine) -> None:
    at = page_as(signed_up, PAGE, DIRECTION)
    assert not at.get("download_button")
    generate = next(b for b in at.button if b.label == "Générer")
    at = generate.click().run()
    check_page(at)
    downloads = at.get("download_button")
    assert len(downloads) == 2
    generated = at.session_state["rapports_generated"]
    assert generated.pdf.startswith(b"%PDF")
    assert generated.xlsx.startswith(b"PK")
    assert generated.title == "Rapport mensuel de direction"


def test_send_now_without_smtp_lands_in_the_local_outbox(
    signed_up: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    at = _fill_schedule_form(page_as(signed_up, PAGE, DIRECTION), "Hebdo", "chef@exemple.fr")
    send = next(b for b in at.button if b.label == "Envoyer maintenant")
    at = send.click().run()
    check_page(at)
    assert "Envoi terminé : Envoyé (1 envoyé(s), 0 en échec)." in [t.value for t in at.text]
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    assert "chef@exemple.fr" in eml.read_text(errors="replace")
    recipients = at.dataframe[-1].value
    assert list(recipients["Destinataire"]) == ["chef@exemple.fr"]
    assert list(recipients["État"]) == ["Déposé dans la boîte d'envoi locale"]
    assert len(_run_files(at)) == 2  # the run's PDF and Excel files


def test_direction_edits_and_pauses_a_schedule(signed_up: Engine) -> None:
    at = _fill_schedule_form(page_as(signed_up, PAGE, DIRECTION), "Hebdo", "chef@exemple.fr")
    [created] = list_schedules(signed_up)
    form = f"rapports_f{created.id}"
    at.text_input(key=f"{form}_time").input("08:15")
    at = next(b for b in at.button if b.label == "Enregistrer").click().run()
    check_page(at)
    assert list_schedules(signed_up)[0].time_of_day == "08:15"
    assert at.text_input(key=f"{form}_time").value == "08:15"

    at = at.button(key="rapports_pause").click().run()
    assert list_schedules(signed_up)[0].paused
    assert "Planification mise en pause." in [t.value for t in at.text]
    assert list(at.dataframe[0].value["État"]) == ["En pause"]

    # Deleting goes through an st.dialog, which AppTest cannot rerun as a fragment:
    # tests/test_browser_reports.py deletes through the dialog in Chromium.
    assert _audit_actions(signed_up) == [
        "report_schedule.create",
        "report_schedule.update",
        "report_schedule.pause",
    ]


def test_a_hostile_schedule_name_is_shown_as_plain_text(signed_up: Engine) -> None:
    hostile = "**Gras** <b>x</b> [lien](javascript:alert(1))"
    director_id = staff(signed_up, "direction", email="autre.direction@exemple.fr")
    director = Actor(
        id=director_id, email="autre.direction@exemple.fr", role="direction", prenom="A", nom="D"
    )
    spec = ScheduleInput(
        name=hostile,
        kind="weekly",
        formats=("pdf",),
        frequency="daily",
        time_of_day="06:00",
        timezone="Europe/Paris",
        period="previous_day",
        recipients=("a@exemple.fr",),
    )
    create_schedule(signed_up, actor=director, spec=spec)
    at = page_as(signed_up, PAGE, DIRECTION)
    check_page(at)
    assert list(at.dataframe[0].value["Nom"]) == [hostile]
    assert not [text for text in texts_in_markdown(at) if "Gras" in text or "lien" in text]


def test_a_run_file_that_cannot_be_found_is_said_plainly(
    signed_up: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    at = _fill_schedule_form(page_as(signed_up, PAGE, DIRECTION), "Hebdo", "chef@exemple.fr")
    at = next(b for b in at.button if b.label == "Envoyer maintenant").click().run()
    assert len(_run_files(at)) == 2
    with signed_up.begin() as connection:  # as for a run built on another machine's disk
        connection.execute(delete(ReportFileRow).where(ReportFileRow.filename.endswith(".pdf")))
    at = at.run()
    assert len(_run_files(at)) == 1  # the Excel file is still offered
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("Le fichier « ") and "introuvable" in warning
    assert ".pdf" in warning


def _run_files(at: AppTest) -> list[Any]:
    """The selected run's file download buttons (not the tables' CSV/Excel exports)."""
    return [b for b in at.get("download_button") if str(b.key).startswith("rapports_file_")]
