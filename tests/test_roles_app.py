"""The sign-in gate and the roles, through the app (AppTest, SQLite and PostgreSQL).

Signing in goes through the real streamlit-authenticator form
(:func:`tests.app_session.signed_in_app`); pages run on their own get a real
session opened by data.auth (:func:`tests.app_session.page_as`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from streamlit.testing.v1 import AppTest

from data import auth, team
from data.db import create_db_engine
from data.demo.accounts import DEMO_ACCOUNTS
from data.migrate import upgrade
from data.models import User
from data.owned import AuditLog, AuthSession, SignInEvent
from data.schema import create_operational_tables
from tests import factories
from tests.app_session import (
    APP,
    PASSWORD,
    TIMEOUT,
    app_env,
    page_as,
    signed_in_app,
    staff,
    submit_login,
)
from tests.page_check import check_page
from ui.auth import SESSION_KEY
from ui.navigation import PAGES

# What each role may open, from the issue (not from data/permissions.py, which this checks).
ROLE_MAY = {
    "admin": {
        "kpi.view",
        "kpi.money",
        "kpi.analysis",
        "triage.view",
        "triage.write",
        "matching.view",
        "matching.write",
        "messages.view",
        "messages.write",
        "reports.view",
        "schedules.write",
        "team.manage",
        "audit.view",
        "system.view",  # issue 16: the operations page
        "alerts.view",  # issue 15: the notification centre
        "alerts.manage",  # issue 15: « Alertes »
    },
    "direction": {
        "kpi.view",
        "kpi.money",
        "kpi.analysis",
        "triage.view",
        "matching.view",
        "messages.view",
        "reports.view",
        "schedules.write",
        "alerts.view",
        "alerts.manage",
    },
    "secretariat": {
        "kpi.view",
        "triage.view",
        "triage.write",
        "matching.view",
        "matching.write",
        "messages.view",
        "messages.write",
        "alerts.view",
    },
}
ADMIN_PAGES = ("pages/team.py", "pages/audit.py", "pages/signins.py")
REFUSED = "Accès refusé : cette page n'est pas ouverte à votre rôle."


@pytest.fixture
def app(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The app's environment on the test database; returns its engine."""
    app_env(monkeypatch, db_url)
    return engine


def _navigation(at: AppTest) -> set[str]:
    """The page files the signed-in user's navigation holds (switch_page refuses others)."""
    visible = set()
    for spec in PAGES:
        try:
            at.switch_page(spec.path)
        except ValueError:
            continue
        visible.add(spec.path)
    return visible


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _login_form_shown(at: AppTest) -> bool:
    return [t.label for t in at.text_input] == ["Adresse e-mail", "Mot de passe"]


@pytest.mark.parametrize("role", ["admin", "direction", "secretariat"])
def test_each_role_signs_in_and_sees_only_its_pages(app: Engine, role: str) -> None:
    staff(app, role=role, email=f"{role}@cipfaro.fr")
    at = signed_in_app(f"{role}@cipfaro.fr")
    check_page(at)
    assert not _login_form_shown(at)
    expected = {spec.path for spec in PAGES if spec.capability in ROLE_MAY[role]}
    assert _navigation(at) == expected
    assert ("pages/team.py" in expected) == (role == "admin")
    assert ("pages/revenue.py" in expected) == (role != "secretariat")


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_render_for_an_admin(app: Engine, page: str) -> None:
    staff(app, role="admin", email="admin@cipfaro.fr")
    at = page_as(app, page, "admin@cipfaro.fr")  # a sign-in: one row in the sign-in log
    admin = auth.validate_session(app, at.session_state[SESSION_KEY], now=datetime.now(UTC))
    assert admin is not None
    team.change_role(app, actor=admin, user_id=staff(app, role="secretariat"), role="direction")
    at.run()  # one row in the audit log
    check_page(at)
    assert at.dataframe, f"{page} shows no table"


@pytest.mark.parametrize("page", ADMIN_PAGES)
@pytest.mark.parametrize("role", ["direction", "secretariat", None])
def test_admin_pages_refuse_other_roles_even_when_run_directly(
    app: Engine, page: str, role: str | None
) -> None:
    if role is not None:
        staff(app, role=role, email="agent@cipfaro.fr")
    at = page_as(app, page, "agent@cipfaro.fr" if role else None)
    check_page(at, errors=[REFUSED])
    assert not at.dataframe and not at.button and not at.selectbox


@pytest.mark.parametrize(
    ("account", "password"),
    [
        ({"role": "admin"}, "faux"),
        (None, PASSWORD),
        ({"role": "secretariat", "actif": False}, PASSWORD),
        ({"role": "formateur"}, PASSWORD),
        ({"role": "stagiaire"}, PASSWORD),
    ],
    ids=["wrong-password", "unknown", "inactive", "formateur", "stagiaire"],
)
def test_refused_sign_ins_show_the_same_neutral_message(
    app: Engine, account: dict | None, password: str
) -> None:
    if account is not None:
        staff(app, email="x@cipfaro.fr", **account)
    at = signed_in_app("x@cipfaro.fr", password)
    check_page(at, errors=["Identifiants incorrects."])
    assert _login_form_shown(at)
    with app.connect() as connection:
        assert connection.execute(select(AuthSession.id)).all() == []


def test_the_form_delays_after_five_failures(app: Engine) -> None:
    staff(app, role="admin", email="a@cipfaro.fr")
    at = signed_in_app("a@cipfaro.fr", "faux")
    for _ in range(4):
        submit_login(at, "a@cipfaro.fr", "faux")
    check_page(at, errors=["Identifiants incorrects."])
    submit_login(at, "a@cipfaro.fr", PASSWORD)  # right, but within the delay: not checked
    check_page(at, errors=["Trop de tentatives de connexion. Réessayez dans 1 minute."])
    assert _login_form_shown(at)
    with app.connect() as connection:
        reasons = connection.execute(select(SignInEvent.reason).order_by(SignInEvent.id))
        assert list(reasons.scalars()) == ["bad_credentials"] * 5 + ["throttled"]


def test_logout_revokes_the_session_server_side(app: Engine) -> None:
    staff(app, role="direction", email="d@cipfaro.fr")
    at = signed_in_app("d@cipfaro.fr")
    token = at.session_state[SESSION_KEY]
    assert auth.validate_session(app, token, now=datetime.now(UTC)) is not None
    at.button(key="auth_logout").click().run()
    check_page(at)
    assert _login_form_shown(at)
    assert auth.validate_session(app, token, now=datetime.now(UTC)) is None
    with app.connect() as connection:
        assert connection.execute(select(AuthSession.revoked_at)).scalar_one() is not None
        last = connection.execute(select(SignInEvent.reason).order_by(SignInEvent.id.desc()))
        assert last.scalars().first() == "logout"


def test_a_deactivated_account_is_out_at_its_next_run(app: Engine) -> None:
    admin_id = staff(app, role="admin", email="admin@cipfaro.fr")
    target = staff(app, role="secretariat", email="s@cipfaro.fr")
    at = signed_in_app("s@cipfaro.fr")
    assert not _login_form_shown(at)
    admin = auth.validate_session(
        app,
        page_as(app, "pages/team.py", "admin@cipfaro.fr").session_state[SESSION_KEY],
        now=datetime.now(UTC),
    )
    assert admin is not None and admin.id == admin_id
    team.deactivate_account(app, actor=admin, user_id=target)
    at.run()
    assert _login_form_shown(at)
    assert "Votre session a pris fin. Reconnectez-vous." in [i.value for i in at.info]


def test_a_role_change_applies_at_the_next_run(app: Engine) -> None:
    target = staff(app, role="secretariat", email="s@cipfaro.fr")
    at = signed_in_app("s@cipfaro.fr")
    assert "pages/team.py" not in _navigation(at)
    with app.begin() as connection:
        connection.execute(update(User).where(User.id == target).values(role="admin"))
    at.run()
    assert "pages/team.py" in _navigation(at)


def test_an_admin_deactivates_and_reactivates_through_the_team_page(app: Engine) -> None:
    staff(app, role="admin", email="admin@cipfaro.fr", nom="Admin")
    target = staff(app, role="secretariat", email="s@cipfaro.fr", nom="Zoé")
    at = page_as(app, "pages/team.py", "admin@cipfaro.fr")
    at.selectbox(key="team_account").set_value(target).run()
    at.button(key="team_deactivate").click().run()
    check_page(at)
    assert [s.value for s in at.success] == ["Enregistré."]  # the one notice helper
    assert "Compte désactivé ; ses sessions sont fermées." in [t.value for t in at.text]
    at.button(key="team_reactivate").click().run()
    with app.connect() as connection:
        assert connection.execute(select(User.actif).where(User.id == target)).scalar_one()
        actions = connection.execute(select(AuditLog.action).order_by(AuditLog.id)).scalars()
        assert list(actions) == ["user.deactivate", "user.reactivate"]


def test_the_team_page_preselects_no_account_and_never_offers_to_deactivate_oneself(
    app: Engine,
) -> None:
    admin_id = staff(app, role="admin", email="admin@cipfaro.fr", nom="Admin")
    staff(app, role="secretariat", email="s@cipfaro.fr", nom="Zoé")
    at = page_as(app, "pages/team.py", "admin@cipfaro.fr")
    check_page(at)
    assert at.selectbox(key="team_account").value is None
    assert not [b for b in at.button if b.key == "team_deactivate"]
    at.selectbox(key="team_account").set_value(admin_id).run()
    check_page(at)
    assert not [b for b in at.button if b.key == "team_deactivate"]
    assert "Votre propre compte ne peut pas être désactivé d'ici." in [c.value for c in at.caption]


def test_the_team_page_changes_a_role_and_refuses_the_last_admin(app: Engine) -> None:
    admin_id = staff(app, role="admin", email="admin@cipfaro.fr", nom="Admin")
    target = staff(app, role="secretariat", email="s@cipfaro.fr", nom="Zoé")
    at = page_as(app, "pages/team.py", "admin@cipfaro.fr")
    at.selectbox(key="team_account").set_value(target).run()
    at.selectbox(key=f"team_role_{target}").set_value("direction").run()
    at.button(key="team_change_role").click().run()
    assert "Rôle modifié ; il s'applique dès la prochaine action." in [t.value for t in at.text]
    at.selectbox(key="team_account").set_value(admin_id).run()
    at.selectbox(key=f"team_role_{admin_id}").set_value("direction").run()
    at.button(key="team_change_role").click().run()
    assert _errors(at) == ["Impossible : ce compte est le dernier administrateur actif."]
    with app.connect() as connection:
        roles = dict(connection.execute(select(User.id, User.role)).all())
    assert roles == {admin_id: "admin", target: "direction"}


def test_the_app_refuses_to_start_without_a_cookie_key(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)  # production mode, no COOKIE_KEY
    staff(engine, role="admin", email="admin@cipfaro.fr")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    [message] = _errors(at)
    check_page(at, errors=[message])
    assert "COOKIE_KEY manquant" in message
    assert not at.text_input


def test_production_login_page_never_lists_demo_accounts(app: Engine) -> None:
    factories.user(app, role="admin", email="admin@demo.cipfaro.fr", password="demo-admin")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert _login_form_shown(at)
    shown = [str(e.value) for e in at.main if hasattr(e, "value")]
    shown += [str(frame.value) for frame in at.dataframe]
    assert not [text for text in shown if "demo" in text.lower()]
    assert not at.dataframe


def test_demo_login_page_lists_the_demo_accounts_and_they_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Demo mode (no DATABASE_URL) on a small prepared demo database."""
    demo_file = tmp_path / "demo.sqlite3"
    engine = create_db_engine(f"sqlite:///{demo_file}")
    create_operational_tables(engine)
    upgrade(engine)
    admin = next(a for a in DEMO_ACCOUNTS if a.role == "admin")
    factories.user(engine, role="admin", email=admin.email, password=admin.password)
    trainee = factories.user(engine)  # an application: the demo is "already built"
    factories.application(engine, user_id=trainee, formation_id=factories.formation(engine))
    engine.dispose()
    monkeypatch.setattr("data.settings.DEMO_DATABASE_FILE", demo_file)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert _login_form_shown(at), _errors(at)
    [accounts] = at.dataframe
    listed = accounts.value.set_index("Adresse e-mail")
    assert set(listed.index) == {a.email for a in DEMO_ACCOUNTS}
    assert listed.loc[admin.email, "Mot de passe"] == admin.password
    assert listed.loc["inactif@demo.cipfaro.fr", "Accès"] == "non"
    assert listed.loc["formateur@demo.cipfaro.fr", "Rôle"] == "Formateur"  # no raw role code
    submit_login(at, admin.email, admin.password)
    assert not _login_form_shown(at) and not at.exception


def test_both_log_viewers_open_on_the_same_period(app: Engine) -> None:
    staff(app, role="admin", email="admin@cipfaro.fr")
    periods = {}
    for page, key in (("pages/audit.py", "audit_dates"), ("pages/signins.py", "signins_dates")):
        at = page_as(app, page, "admin@cipfaro.fr")
        check_page(at)
        since, until = at.date_input(key=key).value
        periods[page] = (until - since).days
    assert periods == {"pages/audit.py": 30, "pages/signins.py": 30}
