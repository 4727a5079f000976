"""Signing in from AppTest tests: through the real login form, or with a real session.

Two ways, both real (no bypass of the gate):

- :func:`signed_in_app` runs ``dashboard.py`` and submits the
  streamlit-authenticator login form, as a person would;
- :func:`page_as` runs one page file directly, with ``st.session_state``
  holding the token of a session opened by :func:`data.auth.sign_in` (what the
  form stores after a successful sign-in). A browser cannot write that key:
  only this test hook and the login form do.

A page file run on its own puts ``pages/`` first on ``sys.path``, where
``pages/reports.py`` would shadow the ``reports`` package: it is imported
here first, as ``dashboard.py`` (at the project root) does in the app.

Both need the app's environment: :func:`app_env` sets DATABASE_URL and a
COOKIE_KEY (outside demo mode the app refuses to start without one).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

import reports.excel  # noqa: F401 - before any page runs: see below
from data import auth
from tests import factories
from ui.auth import SESSION_KEY

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
PASSWORD = "mot-de-passe-de-test"
TEST_COOKIE_KEY = "apptest-cookie-key-0123456789abcdef-xyz"
TIMEOUT = 30


def app_env(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COOKIE_KEY", TEST_COOKIE_KEY)


def staff(engine: Engine, role: str = "admin", **values: Any) -> int:
    """A staff account whose password is :data:`PASSWORD`."""
    return factories.user(engine, role=role, password=PASSWORD, **values)


def submit_login(at: AppTest, email: str, password: str = PASSWORD) -> AppTest:
    at.text_input[0].input(email)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def signed_in_app(email: str, password: str = PASSWORD) -> AppTest:
    """``dashboard.py`` after signing in through its login form."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert [t.label for t in at.text_input] == ["Adresse e-mail", "Mot de passe"], at.error
    return submit_login(at, email, password)


def session_token(engine: Engine, email: str, password: str = PASSWORD) -> str:
    result = auth.sign_in(
        engine, email=email, password=password, now=datetime.now(UTC), session_hours=8
    )
    assert result.ok and result.session_token, result
    return result.session_token


def page_as(engine: Engine, page: str, email: str | None, password: str = PASSWORD) -> AppTest:
    """Run one page file directly, signed in as ``email`` (None: nobody signed in)."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    if email is not None:
        at.session_state[SESSION_KEY] = session_token(engine, email, password)
    return at.run()


def texts_in_markdown(at: AppTest) -> list[str]:
    """Every string Streamlit renders as markdown (titles, captions, alerts, markdown)."""
    elements = [*at.markdown, *at.caption, *at.title, *at.header, *at.subheader]
    elements += [*at.success, *at.info, *at.warning, *at.error]
    return [str(element.value) for element in elements]


def dataframe_cells(at: AppTest) -> list[str]:
    return [str(cell) for frame in at.dataframe for cell in frame.value.to_numpy().ravel()]
