"""The "Rapports" page in Chromium: create a schedule, send it now to a real SMTP server."""

from __future__ import annotations

import time
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.browser import LiveApp, live_app_smtp, smtp_sink_session  # noqa: F401 - fixtures
from tests.browser_helpers import sign_in, wait_for_session_cookie, wait_idle
from tests.page_check import check_browser_page

pytestmark = pytest.mark.browser

DIRECTION = "direction@demo.cipfaro.fr"
RECIPIENT = "conseil.administration@exemple.fr"
SEND_TIMEOUT_SECONDS = 90


def _sign_in(page, email: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in, then wait for the session cookie: the test goes on by URL."""
    sign_in(page, email)
    page.get_by_role("button", name="Se déconnecter").wait_for()
    wait_for_session_cookie(page)


def _wait_for_message(sink, address: str) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + SEND_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        received = sink.received_by(address)
        if received:
            return received[-1]
        time.sleep(0.5)
    raise AssertionError(f"no message for {address} within {SEND_TIMEOUT_SECONDS}s")


def test_direction_creates_a_schedule_and_sends_it_now_to_the_smtp_server(
    live_app_smtp: LiveApp,  # noqa: F811 - fixture
    smtp_sink_session,  # noqa: F811 - fixture
    page,
    artifacts_dir: Path,
) -> None:
    page.set_default_timeout(60_000)  # CI machines are shared: building a report takes a moment
    page.goto(live_app_smtp.url)
    _sign_in(page, DIRECTION)
    page.goto(f"{live_app_smtp.url}/rapports")
    page.get_by_role("heading", name="Planifications").wait_for()
    wait_idle(page)  # the run's stale elements (a second « Nom ») go when it ends

    page.get_by_label("Nom", exact=True).fill("Comité mensuel")
    page.get_by_label("Destinataires (séparés par des virgules ou des retours à la ligne)").fill(
        RECIPIENT
    )
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Planification créée.").wait_for()

    page.get_by_role("button", name="Envoyer maintenant").click()
    try:
        message = _wait_for_message(smtp_sink_session, RECIPIENT)
    finally:
        page.screenshot(path=str(artifacts_dir / "reports.png"), full_page=True)
    check_browser_page(page)
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    [pdf_name] = [name for name in attachments if name.endswith(".pdf")]
    [xlsx_name] = [name for name in attachments if name.endswith(".xlsx")]
    assert attachments[xlsx_name][:2] == b"PK"
    text = PdfReader(BytesIO(attachments[pdf_name])).pages[0].extract_text()
    assert "Rapport mensuel de direction" in text
    assert "Rapport mensuel" in str(message["Subject"])

    page.get_by_text("Envoi terminé : Envoyé (1 envoyé(s), 0 en échec).").wait_for()
    page.get_by_role("heading", name="Historique des envois").wait_for()
    page.set_viewport_size({"width": 1440, "height": 2400})
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts_dir / "reports.png"), full_page=True)
    check_browser_page(page)

    page.set_viewport_size({"width": 1440, "height": 1000})
    page.get_by_role("button", name="Supprimer").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Comité mensuel").wait_for()
    dialog.get_by_role("button", name="Supprimer").click()
    page.get_by_text("Planification supprimée.").wait_for()
    # The list is redrawn after the notice: wait for it rather than read it at once.
    page.get_by_text("Aucune planification pour l'instant.").wait_for()
