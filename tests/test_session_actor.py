"""Who acts is decided when the action runs (AppTest, SQLite and PostgreSQL).

A tab stays open while an admin deactivates the account, or gives it a role
that may not write: the next click must write nothing. The session is resolved
once per run and shared by everything in it (gate, page, callbacks).
Dialogs and live fragments do not run in AppTest: tests/test_browser_acting.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update
from streamlit.testing.v1 import AppTest

from data import auth
from data.models import Candidature, Contact, User
from tests import app_session, factories
from tests.page_check import check_page
from ui.session import ACCESS_REFUSED

SECRETARY = "secretariat@cipfaro.fr"
ENDED = "Votre session a pris fin. Reconnectez-vous."


@pytest.fixture
def world(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    app_session.app_env(monkeypatch, db_url)
    secretary = app_session.staff(engine, "secretariat", email=SECRETARY, prenom="Sonia")
    colleague = app_session.staff(engine, "secretariat", email="coll@cipfaro.fr", prenom="Colette")
    now = datetime.now(UTC)
    application = factories.application(
        engine,
        user_id=factories.user(engine),
        formation_id=factories.formation(engine),
        created_at=now,
        updated_at=now,
    )
    return {
        "secretary": secretary,
        "colleague": colleague,
        "application": application,
        "contact": factories.contact(engine, created_at=now),
    }


def _audit_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(text("SELECT count(*) FROM dashboard_audit_log")).scalar_one()
        )


def _signed_in_on(page: str) -> AppTest:
    at = app_session.signed_in_app(SECRETARY)
    at.switch_page(page).run()
    check_page(at)
    return at


def _open_file(at: AppTest, world: dict[str, Any]) -> AppTest:
    at.selectbox(key="triage_open").set_value(world["application"]).run()
    at.selectbox(key=f"triage_assignee_{world['application']}").set_value(world["colleague"])
    check_page(at)
    return at


def _change(engine: Engine, user_id: int, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(update(User).where(User.id == user_id).values(**values))


def _login_form_shown(at: AppTest) -> bool:
    return [t.label for t in at.text_input] == ["Adresse e-mail", "Mot de passe"]


def test_a_deactivated_secretary_clicks_assign_in_an_open_tab(
    engine: Engine, world: dict[str, Any]
) -> None:
    at = _open_file(_signed_in_on("pages/applications.py"), world)
    _change(engine, world["secretary"], actif=False)
    at.button(key="triage_assign_apply").click().run()
    check_page(at)
    assert _login_form_shown(at) and ENDED in [i.value for i in at.info]
    with engine.connect() as connection:
        assigned = connection.execute(
            select(Candidature.assigned_to).where(Candidature.id == world["application"])
        ).scalar_one()
    assert assigned is None and _audit_rows(engine) == 0


def test_a_secretary_demoted_to_direction_clicks_assign(
    engine: Engine, world: dict[str, Any]
) -> None:
    at = _open_file(_signed_in_on("pages/applications.py"), world)
    _change(engine, world["secretary"], role="direction")
    at.button(key="triage_assign_apply").click().run()
    check_page(at, errors=["Action non effectuée."])
    assert "Votre rôle ne permet pas cette action." in [t.value for t in at.text]
    assert not [s.value for s in at.success]
    with engine.connect() as connection:
        assigned = connection.execute(
            select(Candidature.assigned_to).where(Candidature.id == world["application"])
        ).scalar_one()
    assert assigned is None and _audit_rows(engine) == 0


@pytest.mark.parametrize("change", [{"actif": False}, {"role": "direction"}])
def test_a_changed_account_marks_no_message_treated(
    engine: Engine, world: dict[str, Any], change: dict[str, Any]
) -> None:
    at = app_session.page_as(engine, "pages/messages.py", SECRETARY)  # the page on its own
    at.selectbox(key="messages_open").set_value(world["contact"]).run()
    check_page(at)
    _change(engine, world["secretary"], **change)
    at.button(key=f"messages_treat_{world['contact']}").click().run()
    with engine.connect() as connection:
        treated = connection.execute(
            select(Contact.traite_at).where(Contact.id == world["contact"])
        ).scalar_one()
    assert treated is None and _audit_rows(engine) == 0
    if "actif" in change:  # without the gate, the page's own guard refuses
        check_page(at, errors=[ACCESS_REFUSED])
        assert not at.dataframe
    else:
        check_page(at, errors=["Action non effectuée."])


def test_a_revoked_session_writes_nothing(engine: Engine, world: dict[str, Any]) -> None:
    """Signed out elsewhere (all sessions revoked) while the file is open."""
    at = _open_file(_signed_in_on("pages/applications.py"), world)
    with engine.begin() as connection:
        auth.revoke_user_sessions(connection, user_id=world["secretary"], now=datetime.now(UTC))
    at.button(key="triage_assign_apply").click().run()
    check_page(at)
    assert _login_form_shown(at) and _audit_rows(engine) == 0


def test_the_session_is_validated_once_per_run(
    engine: Engine, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gate, page guard, callbacks and fragments share one validation per run."""
    at = _open_file(_signed_in_on("pages/applications.py"), world)
    calls: list[str] = []
    real = auth.validate_session

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("validate")
        return real(*args, **kwargs)

    monkeypatch.setattr(auth, "validate_session", counting)
    at.run()
    assert len(calls) == 1
    at.button(key="triage_assign_apply").click().run()  # a callback, then the page
    check_page(at)
    assert len(calls) == 2
    at.switch_page("pages/overview.py").run()  # the gate, the page and its live fragment
    check_page(at)
    assert len(calls) == 3
