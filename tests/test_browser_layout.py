"""Every page of every role, at a laptop's and a phone's width, in a real browser:
no KPI figure, card title or filter is cut, no Streamlit English is shown, and the
visitor who is not signed in sees the sign-in form and nothing else.

The screenshots are kept under ``artifacts/layout/`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import LiveApp
from tests.browser_helpers import open_page, sign_in, wait_for_session_cookie, wait_idle
from tests.test_browser_roles import ROLE_ACCOUNTS
from ui.navigation import PAGES, pages_for

pytestmark = pytest.mark.browser

VIEWPORTS = {"laptop": {"width": 1024, "height": 768}, "phone": {"width": 390, "height": 844}}
ENGLISH = ("Page not found", "Running the app's main page", "Choose an option", "No results")

# The text-bearing elements that must never be cut: metric cards (title, value,
# change) and the filter widgets with their labels. Any of them, or anything
# inside them, whose text is wider than its box is cut (clipped, scrolled out
# of view or ended with an ellipsis).
CUT_TEXT_JS = """
() => {
  const watched = [
    "stMetricLabel", "stMetricValue", "stMetricDelta", "stSelectbox", "stMultiSelect",
    "stDateInput", "stTextInput", "stNumberInput", "stWidgetLabel",
  ].map((id) => `[data-testid='stMain'] [data-testid='${id}']`).join(", ");
  const cut = [];
  for (const root of document.querySelectorAll(watched)) {
    for (const el of [root, ...root.querySelectorAll("*")]) {
      const text = (el.value || el.innerText || "").trim();
      if (!text || !el.clientWidth) continue;
      if (el.scrollWidth > el.clientWidth + 1) {
        cut.push(`${root.dataset.testid}: «${text.slice(0, 60)}» ` +
                 `(${el.scrollWidth} px in ${el.clientWidth} px)`);
      }
    }
  }
  return [...new Set(cut)];
}
"""


def _check_drawn(page, where: str) -> None:  # type: ignore[no-untyped-def]
    cut = page.evaluate(CUT_TEXT_JS)
    assert not cut, f"{where}: text cut: {cut}"
    body = page.locator("body").inner_text()
    english = [text for text in ENGLISH if text in body]
    assert not english, f"{where}: Streamlit's English on screen: {english}"


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_no_figure_title_or_filter_is_cut_on_a_laptop_or_a_phone(
    live_app: LiveApp, page, artifacts_dir: Path, role: str
) -> None:
    shots = artifacts_dir / "layout"
    shots.mkdir(exist_ok=True)
    page.set_viewport_size(VIEWPORTS["laptop"])
    page.goto(live_app.url)
    sign_in(page, ROLE_ACCOUNTS[role])
    page.get_by_role("button", name="Se déconnecter").wait_for()
    wait_for_session_cookie(page)
    for spec in pages_for(role):
        for name, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            open_page(page, f"{live_app.url}/{spec.url_path}", spec.title)  # at this width
            wait_idle(page, 600)
            page.screenshot(path=str(shots / f"{role}-{spec.url_path}-{name}.png"))
            _check_drawn(page, f"{role} {spec.url_path} {name}")


def test_a_visitor_sees_only_the_form_then_the_page_the_link_named(
    live_app: LiveApp, page, artifacts_dir: Path
) -> None:
    # The first run of a server process goes through Streamlit's pages/ folder mode,
    # which answers a deep link with its own notice (ui.app.leave_pages_folder_mode):
    # open the app once, as any earlier visitor would have.
    page.goto(live_app.url)
    page.get_by_label("Adresse e-mail").wait_for()
    wait_idle(page)
    page.goto(f"{live_app.url}/candidatures")  # a bookmark, before sign-in
    page.get_by_label("Adresse e-mail").wait_for()
    wait_idle(page, 800)
    assert page.get_by_test_id("stSidebarNav").count() == 0
    assert page.get_by_test_id("stSidebar").count() == 0, "no sidebar before sign-in"
    body = page.locator("body").inner_text()
    raw_names = [p.path.removeprefix("pages/").removesuffix(".py") for p in PAGES]
    assert not [name for name in raw_names if name in body.splitlines()]
    assert "Accès refusé" not in body and "Page not found" not in body
    page.screenshot(path=str(artifacts_dir / "deep-link-before-sign-in.png"))
    sign_in(page, ROLE_ACCOUNTS["secretariat"])
    page.get_by_role("heading", name="Candidatures", exact=True).first.wait_for()
    assert page.url.rstrip("/").endswith("/candidatures")


def test_signing_out_leaves_no_menu_of_the_previous_role(live_app: LiveApp, page) -> None:
    page.goto(live_app.url)
    sign_in(page, ROLE_ACCOUNTS["admin"])
    page.get_by_test_id("stSidebarNav").wait_for()
    wait_for_session_cookie(page)
    wait_idle(page, 800)
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_label("Adresse e-mail").wait_for()
    wait_idle(page, 800)
    assert page.get_by_test_id("stSidebarNav").count() == 0
    assert page.get_by_text("Journal d'audit").count() == 0
