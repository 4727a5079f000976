"""The notification centre and « Alertes » through AppTest, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from data.alerts import centre
from data.alerts.evaluate import evaluate_all
from data.settings import load_settings
from tests import app_session, factories
from tests.alert_helpers import alerts, only_rules
from tests.page_check import check_page

SECRETARY = "secretariat@demo.cipfaro.fr"
DIRECTOR = "direction@demo.cipfaro.fr"


@pytest.fixture
def fired(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A secretary with one untreated message alert, firing now."""
    app_session.app_env(monkeypatch, db_url)
    secretary = app_session.staff(engine, "secretariat", email=SECRETARY, prenom="Sonia", nom="S")
    app_session.staff(engine, "direction", email=DIRECTOR, prenom="Denis", nom="D")
    only_rules(engine, "contacts_untreated")
    now = datetime.now(UTC)
    factories.contact(engine, created_at=now - timedelta(days=3), sujet="Demande de devis")
    evaluate_all(engine, load_settings(), now)
    return {"secretary": secretary}


def _texts(at: Any) -> str:
    elements = [*at.markdown, *at.caption, *at.text, *at.success, *at.sidebar.markdown]
    return " ".join(str(e.value) for e in elements)


def test_the_sidebar_shows_the_unread_count_on_every_page(fired: dict[str, Any]) -> None:
    at = app_session.signed_in_app(SECRETARY)
    check_page(at)
    assert "1 notification non lue" in _texts(at)


def test_acknowledging_from_the_centre_clears_the_unread_count(
    engine: Engine, fired: dict[str, Any]
) -> None:
    at = app_session.page_as(engine, "pages/notifications.py", SECRETARY)
    check_page(at)
    assert "1 message de contact non traité" in _texts(at)
    at.button(key=next(b.key for b in at.button if b.key.startswith("notif_ack_"))).click().run()
    check_page(at)
    assert "Alerte prise en compte" in _texts(at)
    assert centre.unread_count(engine, fired["secretary"]) == 0
    assert alerts(engine)[0].state == "acknowledged"


def test_mark_all_read_and_the_state_filter(engine: Engine, fired: dict[str, Any]) -> None:
    at = app_session.page_as(engine, "pages/notifications.py", SECRETARY)
    at.selectbox(key="notif_f_state").set_value("resolved").run()
    check_page(at)
    assert "Aucune notification." in [str(i.value) for i in at.info]
    at.button(key="notif_all_read").click().run()
    check_page(at)
    assert centre.unread_count(engine, fired["secretary"]) == 0


def test_a_preference_is_saved_when_chosen(engine: Engine, fired: dict[str, Any]) -> None:
    at = app_session.page_as(engine, "pages/notifications.py", SECRETARY)
    at.selectbox(key="notif_pref_contacts_untreated").set_value("immediate").run()
    check_page(at)
    prefs = {
        p.rule_kind: p.mode
        for p in centre.user_preferences(engine, fired["secretary"], "secretariat")
    }
    assert prefs["contacts_untreated"] == "immediate"


def test_the_alerts_page_lists_open_alerts_and_rules_for_direction(
    engine: Engine, fired: dict[str, Any]
) -> None:
    at = app_session.page_as(engine, "pages/alerts.py", DIRECTOR)
    check_page(at)
    assert len(at.dataframe) == 3  # open alerts, the team's workload, rules
    assert at.dataframe[1].value["Membre"].tolist() == ["Sonia S"]
    assert "Messages de contact non traités" in at.dataframe[2].value["Règle"].tolist()


def test_the_alerts_page_is_refused_to_the_secretariat(
    engine: Engine, fired: dict[str, Any]
) -> None:
    at = app_session.page_as(engine, "pages/alerts.py", SECRETARY)
    assert [str(e.value) for e in at.error] == [
        "Accès refusé : cette page n'est pas ouverte à votre rôle."
    ]


def test_a_director_pauses_a_rule_and_adds_a_kpi_goal_line(
    engine: Engine, fired: dict[str, Any]
) -> None:
    at = app_session.page_as(engine, "pages/alerts.py", DIRECTOR)
    rules = centre.alert_rules(engine)
    rule_id = int(rules[rules["key"] == "contacts_untreated"]["id"].iloc[0])
    at.selectbox(key="alerts_edit").set_value(rule_id).run()
    at.number_input(key=f"alerts_rule_{rule_id}_hours").set_value(72)
    at.checkbox(key=f"alerts_rule_{rule_id}_paused").check()
    at.multiselect(key=f"alerts_rule_{rule_id}_roles").set_value(["secretariat", "admin"])
    submit = next(b for b in at.button if b.label == "Enregistrer")
    submit.click().run()
    check_page(at)
    rules = centre.alert_rules(engine)
    row = rules[rules["id"] == rule_id].iloc[0]
    assert row["params"]["hours"] == 72 and bool(row["paused"])
    assert list(row["roles"]) == ["admin", "secretariat"]
    at.selectbox(key="alerts_goal_kpi").set_value("conversion_rate")
    at.number_input(key="alerts_goal_value").set_value(0.55)
    next(b for b in at.button if b.label == "Ajouter").click().run()
    check_page(at)
    assert "conversion_rate" in " ".join(centre.alert_rules(engine)["key"])
