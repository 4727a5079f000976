"""The whole app in a real browser: it serves, and the overview shows figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import LiveApp
from tests.page_check import check_browser_page

pytestmark = pytest.mark.browser


def test_overview_shows_figures_in_a_real_browser(
    live_app: LiveApp, page, artifacts_dir: Path
) -> None:
    page.goto(live_app.url)
    from tests.browser_helpers import sign_in_if_asked

    sign_in_if_asked(page, "admin@demo.cipfaro.fr")
    metric = page.get_by_test_id("stMetric").filter(has_text="Candidatures (total)")
    metric.first.wait_for()
    value = metric.first.get_by_test_id("stMetricValue").inner_text()
    assert int(re.sub(r"\D", "", value)) > 0
    check_browser_page(page)
    page.screenshot(path=str(artifacts_dir / "overview.png"), full_page=True)
