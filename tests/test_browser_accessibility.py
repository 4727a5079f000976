"""axe-core (bundled by axe-playwright-python: nothing is downloaded) on the sign-in
page and on every page of each role, in Chromium. A serious or critical violation
caused by the app's own content fails the test; those that come from Streamlit's
own markup, which the app cannot change, are listed below with their reason."""

from __future__ import annotations

import pytest

from tests.browser import LiveApp
from tests.browser_helpers import open_page, sign_in, wait_for_session_cookie, wait_idle
from tests.test_browser_roles import ROLE_ACCOUNTS
from ui.navigation import pages_for

pytestmark = pytest.mark.browser

FAILING_IMPACTS = ("serious", "critical")
# Rule id -> why Streamlit, not the app, causes it (each is checked to stay in Streamlit's markup).
STREAMLIT_CAUSED = {
    "list": "the sidebar menu's <ul> holds Streamlit's section headers as <div> children",
    "listitem": "the same menu's <li> items sit under those <div> wrappers, not under the <ul>",
}
# Where those Streamlit-caused violations may be: inside the sidebar's page menu.
STREAMLIT_NAV = "[data-testid='stSidebarNav']"


def _app_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The app's serious violations; a scan that overlapped a rerun (the figures
    refresh by themselves) saw Streamlit's faded, stale elements: scan once more."""
    found = _scan(page)
    if found:
        wait_idle(page, 800)
        found = _scan(page)
    return found


def _scan(page) -> list[str]:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    found = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] not in FAILING_IMPACTS:
            continue
        for node in violation["nodes"]:
            target = ", ".join(str(t) for t in node["target"])
            if (
                violation["id"] in STREAMLIT_CAUSED
                and page.locator(f"{STREAMLIT_NAV} {target}, {target}:is({STREAMLIT_NAV})").count()
            ):
                continue  # Streamlit's own menu markup: see STREAMLIT_CAUSED
            if violation["id"] in STREAMLIT_CAUSED and target in ("ul", "li"):
                continue  # axe's shortest selector for the same menu elements
            found.append(
                f"{violation['id']} ({violation['impact']}) at {target}: "
                f"{node.get('failureSummary', '')[:200]}"
            )
    return found


HEADING_LEVELS_JS = """
() => [...document.querySelectorAll(
  "[data-testid='stMain'] h1, [data-testid='stMain'] h2, [data-testid='stMain'] h3, " +
  "[data-testid='stMain'] h4, [data-testid='stMain'] h5, [data-testid='stMain'] h6"
)].filter((h) => h.innerText.trim()).map((h) => [Number(h.tagName[1]), h.innerText.trim()])
"""


def _skipped_heading_levels(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Headings that go down more than one level (h1 then h3): the outline a screen
    reader announces must start at h1 and never skip a level."""
    headings = page.evaluate(HEADING_LEVELS_JS)
    skipped, previous = [], 0
    for level, text in headings:
        if level > previous + 1:
            skipped.append(f"h{level} « {text[:40]} » after h{previous}")
        previous = level
    return skipped


def test_the_sign_in_page_has_no_serious_accessibility_violation(live_app: LiveApp, page) -> None:
    page.goto(live_app.url)
    page.get_by_label("Adresse e-mail").wait_for()
    wait_idle(page, 800)
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert _app_violations(page) + _skipped_heading_levels(page) == []


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_every_page_has_no_serious_accessibility_violation(
    live_app: LiveApp, page, role: str
) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(live_app.url)
    sign_in(page, ROLE_ACCOUNTS[role])
    page.get_by_role("button", name="Se déconnecter").wait_for()
    wait_for_session_cookie(page)
    problems: dict[str, list[str]] = {}
    for spec in pages_for(role):
        open_page(page, f"{live_app.url}/{spec.url_path}", spec.title)
        wait_idle(page, 600)
        assert page.evaluate("document.documentElement.lang") == "fr", spec.url_path
        found = _app_violations(page) + _skipped_heading_levels(page)
        if found:
            problems[spec.url_path] = found
    assert problems == {}
