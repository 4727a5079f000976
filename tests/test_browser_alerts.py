"""The notification centre in a real browser (Chromium): an application crosses its SLA,
its assignee's badge shows 1, the link opens the application, acknowledging clears it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from data.alerts.evaluate import evaluate_all
from data.db import create_db_engine
from data.models import Formation
from data.settings import load_settings
from tests import factories
from tests.browser import LiveApp
from tests.browser_helpers import sign_in, wait_for_session_cookie, wait_idle
from tests.page_check import check_browser_page

pytestmark = pytest.mark.browser

PASSWORD = "mot-de-passe-navigateur"
RULE = ("triage_sla_breached",)
_accounts = itertools.count(1)


@pytest.fixture
def live_engine(live_app: LiveApp) -> Iterator[Engine]:
    engine = create_db_engine(live_app.database_url)
    yield engine
    engine.dispose()


def test_an_overdue_application_reaches_its_assignee_and_acknowledging_clears_the_badge(
    live_app: LiveApp, live_engine: Engine, page
) -> None:
    settings = load_settings()
    now = datetime.now(UTC)
    evaluate_all(live_engine, settings, now, only=RULE)  # what was overdue before this test
    email = f"alerte-{next(_accounts)}-{now:%H%M%S%f}@cipfaro.fr"
    member = factories.user(live_engine, role="secretariat", email=email, password=PASSWORD)
    with live_engine.connect() as connection:
        formation = connection.execute(select(Formation.id).limit(1)).scalar_one()
    # Long overdue, and outside every period the KPI browser tests compare with the
    # engine: the live app's database is shared by the session's browser tests.
    received = now - timedelta(days=3 * 366)
    app_id = factories.application(
        live_engine,
        user_id=factories.user(live_engine),
        formation_id=formation,
        assigned_to=member,
        created_at=received,
        updated_at=received,
    )
    evaluate_all(live_engine, settings, datetime.now(UTC), only=RULE)

    page.set_default_timeout(60_000)
    page.goto(f"{live_app.url}/candidatures?dossier={app_id}")  # the link an email carries
    page.get_by_label("Adresse e-mail").wait_for()
    wait_idle(page)
    if page.get_by_text("Page not found").count():  # Streamlit's, before sign-in: dismissed
        page.keyboard.press("Escape")
    sign_in(page, email, PASSWORD)  # ... opens the same place after sign-in
    wait_for_session_cookie(page)
    page.get_by_text(f"Dossier n° {app_id}", exact=True).wait_for()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("1 notification non lue").wait_for()

    page.goto(f"{live_app.url}/notifications")
    page.get_by_text(f"Candidature n° {app_id}", exact=False).first.wait_for()
    page.get_by_role("button", name="Prendre en compte").first.click()
    wait_idle(page)
    sidebar.get_by_text("Aucune notification non lue").wait_for()
    page.get_by_text("alerte « Prise en compte »", exact=False).first.wait_for()
    check_browser_page(page)
