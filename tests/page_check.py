"""The one check of a drawn page, for AppTest and for the real browser.

Every page body runs inside ``ui.components.guarded``, which turns any
exception into the generic French error: ``not at.exception`` alone checks
nothing there. A page is fine only when it raised nothing, shows no error box
but those the test expects (in order), and nowhere shows the generic error
text (a write's notice shows it as plain text, under "Action non effectuée.").
"""

from __future__ import annotations

from collections.abc import Sequence

from streamlit.testing.v1 import AppTest

from ui.components import GENERIC_ERROR


def _texts(at: AppTest) -> list[str]:
    elements = [*at.markdown, *at.caption, *at.title, *at.header, *at.subheader, *at.text]
    elements += [*at.success, *at.info, *at.warning, *at.error, *at.exception]
    return [str(element.value) for element in elements]


def check_page(at: AppTest, *, errors: Sequence[str] = ()) -> None:
    """Fail on an exception, on any ``st.error`` but ``errors``, and on the generic error."""
    assert not at.exception, [str(e.value) for e in at.exception]
    shown = [str(e.value) for e in at.error]
    assert shown == list(errors), f"errors on the page: {shown}, expected: {list(errors)}"
    generic = [text for text in _texts(at) if GENERIC_ERROR in text]
    assert not generic, f"the generic error is on the page: {generic}"


def check_browser_page(page, *, errors: Sequence[str] = ()) -> None:  # type: ignore[no-untyped-def]
    """The same in the browser: no exception box, only the expected error boxes,
    and the generic error text nowhere on the page."""
    assert page.get_by_test_id("stException").count() == 0, "an exception box is on the page"
    boxes = page.get_by_test_id("stAlertContentError")
    shown = [  # the message, without the box's icon name
        boxes.nth(i).get_by_test_id("stMarkdownContainer").inner_text().strip()
        for i in range(boxes.count())
    ]
    assert shown == list(errors), f"errors on the page: {shown}, expected: {list(errors)}"
    assert GENERIC_ERROR not in page.locator("body").inner_text(), "the generic error is shown"
