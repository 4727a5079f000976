"""Steps shared by browser tests (sign-in, waiting for Streamlit to settle)."""

from __future__ import annotations

import time

from data.demo import DEMO_ACCOUNTS
from data.settings import Settings

PASSWORDS = {account.email: account.password for account in DEMO_ACCOUNTS}
SIGNED_IN = "[data-testid='stSidebarNav'], [data-testid='stMetric']"
ATTEMPTS = 3
SESSION_COOKIE = Settings.model_fields["COOKIE_NAME"].default


def wait_idle(page, settle_ms: int = 400) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished running the script (no status widget)."""
    page.wait_for_timeout(settle_ms)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=30_000)


def sign_in(  # type: ignore[no-untyped-def]
    page, email: str, password: str | None = None, *, expect_success: bool = True
) -> None:
    """Sign in through the real login form.

    The session-cookie component reruns the script once it has loaded, which
    redraws the form; typing into the old one is lost. So wait for the app to
    be idle, check what was typed, and try again if the form comes back.
    """
    typed_password = password or PASSWORDS[email]
    if not expect_success:
        page.get_by_label("Adresse e-mail").wait_for()
        wait_idle(page)
        page.get_by_label("Adresse e-mail").fill(email)
        page.get_by_label("Mot de passe").fill(typed_password)
        page.get_by_role("button", name="Se connecter").click()
        return
    for _attempt in range(ATTEMPTS):
        page.get_by_label("Adresse e-mail").wait_for()
        wait_idle(page)
        page.get_by_label("Adresse e-mail").fill(email)
        page.get_by_label("Mot de passe").fill(typed_password)
        if page.get_by_label("Adresse e-mail").input_value() != email:
            continue
        page.get_by_role("button", name="Se connecter").click()
        try:
            page.locator(SIGNED_IN).first.wait_for(timeout=20_000)
            return
        except Exception:
            if page.get_by_test_id("stForm").count() == 0:
                raise
    page.locator(SIGNED_IN).first.wait_for(timeout=20_000)


def sign_in_if_asked(page, email: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in when the app shows its login form (not when a session is live)."""
    page.locator(f"[data-testid='stForm'], {SIGNED_IN}").first.wait_for(timeout=60_000)
    if page.get_by_test_id("stForm").count():
        sign_in(page, email)


def wait_for_session_cookie(page, timeout_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until the browser holds the session cookie, which the cookie component
    writes shortly after sign-in: a reload before that asks to sign in again."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(c["name"] == SESSION_COOKIE for c in page.context.cookies()):
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"no {SESSION_COOKIE} cookie {timeout_s:.0f} s after sign-in")


def open_page(page, url: str, title: str) -> None:  # type: ignore[no-untyped-def]
    """Load ``url`` (a signed-in browser: the cookie re-admits) and wait for its heading.

    Known race, under load only: the session cookie's component may rerun the
    script before the browser has taken in the first run's menu; that rerun then
    names no page the app knows and Streamlit opens the home page instead of the
    one in the address. Until that is fixed in the app, load the address again.
    """
    heading = page.get_by_role("heading", name=title, exact=True).first
    page.goto(url)
    try:
        heading.wait_for(timeout=20_000)
    except Exception:  # noqa: BLE001 - one more load; a real failure fails below
        page.goto(url)
        heading.wait_for()
