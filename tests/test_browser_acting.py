"""Access is checked when the action happens, in a real browser (Chromium).

What AppTest cannot run: a confirmation dialog opened before the account was
deactivated, and a live fragment that refreshes on its own after it was. Each
test signs in with an account of its own (the live database is shared).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine, select

from data import team
from data.db import create_db_engine
from data.models import Candidature, User
from data.owned import AuditLog
from data.permissions import Actor
from tests import factories
from tests.browser import LIVE_REFRESH_SECONDS, LiveApp
from tests.browser_helpers import SESSION_COOKIE, sign_in, wait_for_session_cookie, wait_idle
from tests.page_check import check_browser_page
from tests.test_triage_browser import _open_bulk_actions, fresh_new_applications, pick_for_bulk

pytestmark = pytest.mark.browser

PASSWORD = "mot-de-passe-navigateur"
ENDED = "Votre session a pris fin. Reconnectez-vous."
_accounts = itertools.count(1)


@pytest.fixture
def live_engine(live_app: LiveApp) -> Iterator[Engine]:
    engine = create_db_engine(live_app.database_url)
    yield engine
    engine.dispose()


def _account(engine: Engine, role: str) -> tuple[int, str]:
    email = f"acting-{role}-{next(_accounts)}-{datetime.now(UTC):%H%M%S%f}@cipfaro.fr"
    return factories.user(
        engine, role=role, email=email, password=PASSWORD, nom="Navigateur"
    ), email


def _deactivate(engine: Engine, user_id: int) -> None:
    """What an admin does on the Équipe page, through the same write."""
    with engine.connect() as connection:
        row = connection.execute(
            select(User.id, User.email, User.role, User.prenom, User.nom).where(
                User.email == "admin@demo.cipfaro.fr"
            )
        ).one()
    team.deactivate_account(engine, actor=Actor(*row), user_id=user_id)


def test_a_bulk_dialog_opened_before_the_deactivation_writes_nothing(
    live_app: LiveApp, live_engine: Engine, page
) -> None:
    user_id, email = _account(live_engine, "secretariat")
    [fresh] = fresh_new_applications(live_engine, 1)
    page.set_default_timeout(60_000)
    page.goto(live_app.url)
    sign_in(page, email, PASSWORD)
    wait_for_session_cookie(page)
    page.goto(f"{live_app.url}/candidatures?statut=nouvelle")
    page.get_by_test_id("stDataFrame").first.wait_for()
    _open_bulk_actions(page)
    picker = page.get_by_test_id("stMultiSelect").filter(
        has=page.get_by_text("Sélection pour les actions groupées", exact=True)
    )
    [chosen] = pick_for_bulk(page, picker, 1)
    assert chosen == fresh  # a new application: the move would succeed if it ran
    page.get_by_role("button", name="Passer la sélection en étude").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Passer 1 candidature(s) en étude ?").wait_for()

    _deactivate(live_engine, user_id)  # meanwhile, on the admin's screen
    dialog.get_by_role("button", name="Confirmer").click()

    page.get_by_text(ENDED).wait_for()
    expect(page.get_by_label("Adresse e-mail")).to_be_visible()
    check_browser_page(page)
    with live_engine.connect() as connection:
        statut = connection.execute(
            select(Candidature.statut).where(Candidature.id == chosen)
        ).scalar_one()
        written = connection.execute(select(AuditLog.id).where(AuditLog.actor_id == user_id)).all()
    assert statut == "nouvelle" and written == []


def test_a_live_screen_stops_when_the_session_ends(live_app_fast_refresh: LiveApp, page) -> None:
    """A director deactivated while on "Chiffre d'affaires": at the next refresh of the
    live figures (every 5 s here) the figures go and the login form asks to sign in."""
    engine = create_db_engine(live_app_fast_refresh.database_url)
    try:
        user_id, email = _account(engine, "direction")
        page.set_default_timeout(60_000)
        page.goto(live_app_fast_refresh.url)
        sign_in(page, email, PASSWORD)
        page.get_by_test_id("stSidebarNav").get_by_text("Chiffre d'affaires").click()
        invoiced = page.get_by_test_id("stMetricLabel").get_by_text(
            "Chiffre d'affaires facturé", exact=True
        )
        invoiced.first.wait_for()
        wait_idle(page)
        check_browser_page(page)

        _deactivate(engine, user_id)  # nobody touches the page from here on

        page.get_by_text(ENDED).wait_for(timeout=(3 * LIVE_REFRESH_SECONDS + 30) * 1000)
        expect(invoiced).to_have_count(0)
        expect(page.get_by_test_id("stMetric")).to_have_count(0)
        check_browser_page(page)
    finally:
        engine.dispose()


def test_the_session_cookie_is_secure_when_the_setting_says_so(
    live_app: LiveApp, live_app_fast_refresh: LiveApp, page
) -> None:
    """COOKIE_SECURE = true (the second server): the cookie is sent over HTTPS only.
    The default (the first server) leaves it as it was."""
    flags = {}
    page.set_default_timeout(60_000)  # a server's first run is slow on a shared machine
    for name, app in (("default", live_app), ("secure", live_app_fast_refresh)):
        page.goto("about:blank")  # the previous app's scripts stop before the cookies go
        page.context.clear_cookies()
        page.goto(app.url)
        sign_in(page, "direction@demo.cipfaro.fr")
        wait_for_session_cookie(page)
        [cookie] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
        flags[name] = (cookie["secure"], cookie["sameSite"])
    assert flags == {"default": (False, "Strict"), "secure": (True, "Strict")}


def test_streamlits_own_table_download_is_not_offered(live_app: LiveApp, page) -> None:
    """The toolbar over a table (search, full screen) has no "Download as CSV"; the
    page's own CSV and Excel buttons are there."""
    page.set_default_timeout(60_000)
    page.goto(live_app.url)
    sign_in(page, "admin@demo.cipfaro.fr")
    page.get_by_test_id("stSidebarNav").get_by_text("Connexions").click()  # never empty
    table = page.get_by_test_id("stDataFrame").first
    table.wait_for()
    wait_idle(page)
    table.hover()
    toolbar = page.get_by_test_id("stElementToolbar").first
    toolbar.wait_for()
    buttons = toolbar.get_by_role("button")
    labels = [
        (buttons.nth(i).get_attribute("aria-label") or buttons.nth(i).inner_text())
        for i in range(buttons.count())
    ]
    assert labels, "the toolbar shows (search, full screen)"
    assert not [label for label in labels if "download" in label.lower()], labels
    page.get_by_role("button", name="CSV").first.wait_for()
    page.get_by_role("button", name="Excel").first.wait_for()
    check_browser_page(page)
