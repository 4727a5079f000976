"""Sign-in and roles in a real browser (Chromium), through the real login form."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import LiveApp
from tests.browser_helpers import sign_in, wait_for_session_cookie, wait_idle
from tests.page_check import check_browser_page
from tests.test_roles_app import REFUSED, ROLE_MAY
from ui.navigation import PAGES

pytestmark = pytest.mark.browser

ROLE_ACCOUNTS = {
    "admin": "admin@demo.cipfaro.fr",
    "direction": "direction@demo.cipfaro.fr",
    "secretariat": "secretariat@demo.cipfaro.fr",
}


def _navigation(page) -> set[str]:  # type: ignore[no-untyped-def]
    nav = page.get_by_test_id("stSidebarNav")
    nav.wait_for()
    more = page.get_by_test_id("stSidebarNavViewButton")
    if more.count() and any(word in more.inner_text().lower() for word in ("plus", "more")):
        more.click()  # the sidebar folds long menus
    links = page.get_by_test_id("stSidebarNavLink")
    # Each link reads "<icon name>\n\n<title>".
    return {links.nth(i).inner_text().strip().splitlines()[-1] for i in range(links.count())}


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_each_staff_role_signs_in_and_sees_its_navigation(
    live_app: LiveApp, page, artifacts_dir: Path, role: str
) -> None:
    page.goto(live_app.url)
    sign_in(page, ROLE_ACCOUNTS[role])
    page.get_by_role("button", name="Se déconnecter").wait_for()
    expected = {spec.title for spec in PAGES if spec.capability in ROLE_MAY[role]}
    assert _navigation(page) == expected
    check_browser_page(page)
    page.get_by_role("heading", name="Vue d'ensemble").first.wait_for()
    page.screenshot(path=str(artifacts_dir / f"navigation-{role}.png"), full_page=True)


@pytest.mark.parametrize("email", ["inactif@demo.cipfaro.fr", "formateur@demo.cipfaro.fr"])
def test_inactive_and_non_staff_accounts_get_the_neutral_message(
    live_app: LiveApp, page, artifacts_dir: Path, email: str
) -> None:
    page.goto(live_app.url)
    sign_in(page, email, expect_success=False)
    page.get_by_text("Identifiants incorrects.").wait_for()
    assert page.get_by_test_id("stSidebarNav").count() == 0
    assert page.get_by_text("demo-admin").count() == 0  # production: no demo accounts shown
    check_browser_page(page, errors=["Identifiants incorrects."])
    page.screenshot(path=str(artifacts_dir / f"login-refused-{email.split('@')[0]}.png"))


def test_a_forbidden_page_reached_by_url_is_refused_in_french(live_app: LiveApp, page) -> None:
    page.goto(live_app.url)
    sign_in(page, ROLE_ACCOUNTS["secretariat"])
    page.get_by_role("button", name="Se déconnecter").wait_for()
    wait_for_session_cookie(page)
    page.goto(f"{live_app.url}/equipe")
    # Not in the secretariat's menu: the address says so in French, not Streamlit's
    # English "Page not found", and nothing of the team page is drawn.
    page.get_by_role("heading", name="Accès refusé").first.wait_for()
    wait_idle(page, 800)
    check_browser_page(page, errors=[REFUSED])
    body = page.locator("body").inner_text()
    assert "Page not found" not in body
    assert page.get_by_role("heading", name="Équipe").count() == 0
    assert page.get_by_text("admin@demo.cipfaro.fr").count() == 0


def test_the_cookie_keeps_a_session_across_reloads_until_logout(live_app: LiveApp, page) -> None:
    page.goto(live_app.url)
    sign_in(page, ROLE_ACCOUNTS["direction"])
    logout = page.get_by_role("button", name="Se déconnecter")
    logout.wait_for()
    wait_for_session_cookie(page)
    page.reload()
    logout.wait_for()  # re-admitted by the cookie: the session is live
    logout.click()
    page.get_by_label("Adresse e-mail").first.wait_for()  # a rerun's stale twin may linger
    wait_idle(page)
    page.wait_for_timeout(1000)
    page.reload()
    page.get_by_label("Adresse e-mail").wait_for()  # the cookie alone does not re-admit
    page.wait_for_timeout(1500)
    assert page.get_by_role("button", name="Se déconnecter").count() == 0


def test_an_unknown_address_still_offers_the_sign_in_form(live_app: LiveApp, page) -> None:
    page.goto(f"{live_app.url}/nulle-part")
    page.get_by_label("Adresse e-mail").wait_for()


ENGLISH_DEFAULTS = ("Choose an option", "Choose options", "No results", "Page not found")


def test_every_page_speaks_french_and_shows_no_error(live_app: LiveApp, page) -> None:
    """Streamlit's own English placeholders appear wherever a widget has no French one."""
    page.goto(live_app.url)
    sign_in(page, ROLE_ACCOUNTS["admin"])
    page.get_by_role("button", name="Se déconnecter").wait_for()
    nav = page.get_by_test_id("stSidebarNav")
    for spec in PAGES:
        more = page.get_by_test_id("stSidebarNavViewButton")
        if more.count() and any(word in more.inner_text().lower() for word in ("plus", "more")):
            more.click()
        nav.get_by_role("link", name=spec.title, exact=True).click()
        page.get_by_role("heading", name=spec.title, exact=True).first.wait_for()
        wait_idle(page, 800)
        main = page.get_by_test_id("stMain")
        body = main.inner_text()
        # A placeholder shows only in an empty field (a selectbox's input holds its choice).
        # Read in one go in the page: a field a rerun replaces cannot vanish mid-loop.
        placeholders: list[str] = main.locator("input").evaluate_all(
            "els => els.filter(e => !e.value).map(e => e.getAttribute('placeholder') || '')"
        )
        shown = [t for t in ENGLISH_DEFAULTS if t in body or any(t in p for p in placeholders)]
        assert not shown, (spec.title, shown)
        check_browser_page(page)
