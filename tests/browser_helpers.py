"""Steps shared by browser tests (sign-in, waiting for Streamlit to settle)."""

from __future__ import annotations

DEMO_PASSWORDS: dict[str, str] = {}


def sign_in_if_asked(page, email: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the real login form when the app asks for it."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_timeout(500)
    form = page.get_by_test_id("stForm")
    if form.count() == 0:
        return
    from data.demo import DEMO_ACCOUNTS

    password = next(a.password for a in DEMO_ACCOUNTS if a.email == email)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
