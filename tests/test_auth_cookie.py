"""What we rely on in streamlit-authenticator 0.4 (and its cookie manager), pinned.

``ui/auth.py`` keeps the library for the signed cookie only: ``CookieModel``
reads the cookie the browser sent with the page (``st.context.cookies``),
verifies its HS256 signature with ``COOKIE_KEY`` and its ``exp_date``, and
stops reading it after a logout (``st.session_state["logout"]``); its cookie
manager's ``set`` takes the options we pass. An upgrade that changes any of
that fails here, loudly, rather than silently re-admitting or locking out.

The library reads ``st.context`` and ``st.session_state`` through its module's
``st``; the tests give it a small stand-in holding the browser's cookies, since
outside a browser session Streamlit has none to offer.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import jwt
import pytest
from extra_streamlit_components import CookieManager
from streamlit_authenticator.models import cookie_model
from streamlit_authenticator.models.cookie_model import CookieModel

from data import auth
from data.permissions import Actor
from ui.auth import cookie_session_token

KEY = "pinned-library-cookie-key-0123456789abcdef"
NAME = "cipfaro_dashboard"


def _result(expires_at: datetime) -> auth.SignInResult:
    actor = Actor(7, "Agent@CIPFARO.fr", "secretariat", "Ada", "Agent")
    return auth.SignInResult(True, "ok", "", actor, "the-session-token", expires_at)


def _read(monkeypatch: pytest.MonkeyPatch, cookies: dict[str, str], *, logout: bool) -> object:
    """What the library's ``get_cookie`` returns for these browser cookies."""
    stand_in = SimpleNamespace(
        context=SimpleNamespace(cookies=cookies), session_state={"logout": logout}
    )
    monkeypatch.setattr(cookie_model, "st", stand_in)
    model = CookieModel.__new__(CookieModel)  # no cookie component outside a browser
    model.cookie_name, model.cookie_key, model.cookie_expiry_days = NAME, KEY, 1 / 3
    return model.get_cookie()


def _token(monkeypatch: pytest.MonkeyPatch, cookies: dict[str, str]) -> str | None:
    """The session token ``ui.auth`` takes from these browser cookies."""
    _read(monkeypatch, {}, logout=False)
    model = CookieModel.__new__(CookieModel)
    model.cookie_name, model.cookie_key, model.cookie_expiry_days = NAME, KEY, 1 / 3
    cookie_model.st.context.cookies.update(cookies)  # type: ignore[attr-defined]
    return cookie_session_token(model)


def test_the_pinned_version() -> None:
    version = importlib.metadata.version("streamlit-authenticator")
    assert version.startswith("0.4."), "check ui/auth.py against this file's tests"


def test_our_cookie_is_read_back_with_its_session_token(monkeypatch: pytest.MonkeyPatch) -> None:
    cookie = auth.session_cookie(_result(datetime.now(UTC) + timedelta(hours=8)), KEY)
    payload = _read(monkeypatch, {NAME: cookie}, logout=False)
    assert isinstance(payload, dict)
    assert auth.session_token_from_cookie(payload) == "the-session-token"
    assert payload["username"] == "agent@cipfaro.fr"


def test_an_expired_cookie_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    cookie = auth.session_cookie(_result(datetime.now(UTC) - timedelta(seconds=1)), KEY)
    assert not _read(monkeypatch, {NAME: cookie}, logout=False)


def test_a_cookie_signed_with_another_key_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    forged = auth.session_cookie(_result(datetime.now(UTC) + timedelta(hours=8)), "x" * 40)
    assert not _read(monkeypatch, {NAME: forged}, logout=False)


def test_an_unsigned_cookie_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library raises on an "alg: none" token (it catches only two error types):
    ui.auth must treat it as no cookie, not as a failure of the login screen."""
    payload = {"username": "a", "exp_date": 9e9, "sid": "the-session-token"}
    unsigned = jwt.encode(payload, key="", algorithm="none")
    with pytest.raises(jwt.InvalidAlgorithmError):
        _read(monkeypatch, {NAME: unsigned}, logout=False)
    assert _token(monkeypatch, {NAME: unsigned}) is None


def test_ui_takes_the_session_token_of_a_good_cookie(monkeypatch: pytest.MonkeyPatch) -> None:
    cookie = auth.session_cookie(_result(datetime.now(UTC) + timedelta(hours=8)), KEY)
    assert _token(monkeypatch, {NAME: cookie}) == "the-session-token"
    garbage = {NAME: "pas-un-jeton"}
    assert _token(monkeypatch, garbage) is None


def test_after_a_logout_the_cookie_is_not_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cookie = auth.session_cookie(_result(datetime.now(UTC) + timedelta(hours=8)), KEY)
    assert not _read(monkeypatch, {NAME: cookie}, logout=True)


def test_only_the_named_cookie_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    cookie = auth.session_cookie(_result(datetime.now(UTC) + timedelta(hours=8)), KEY)
    assert _read(monkeypatch, {"other": cookie}, logout=False) is None


def test_the_cookie_manager_takes_the_options_we_set() -> None:
    parameters = inspect.signature(CookieManager.set).parameters
    assert {"expires_at", "max_age", "secure", "same_site"} <= set(parameters)
    assert callable(CookieModel.get_cookie) and callable(CookieModel.delete_cookie)
