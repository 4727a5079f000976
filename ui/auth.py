"""The login screen: streamlit-authenticator's form and cookie, our decisions.

streamlit-authenticator 0.4.2 draws the form and keeps a signed JWT cookie,
but it would check passwords, count failures and re-admit cookies on its own,
in memory, and its logout does not invalidate the cookie. So two of its
collaborators are replaced on each instance we build:

- its authentication controller by :class:`_GatedController`: a submitted form
  goes to :func:`data.auth.sign_in` (throttling, bcrypt against ``users``, the
  sign-in log, a server-side session); a cookie goes to
  :func:`data.auth.validate_session`, so it re-admits only while the session
  it names is live;
- its cookie writer by :class:`_SessionCookie`: the JWT it writes carries our
  session token (``sid``) and the session's expiry.

The session token lives in ``st.session_state[SESSION_KEY]``; ``ui/session.py``
validates it against the database on every run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd
import streamlit as st
import streamlit_authenticator as stauth
from sqlalchemy import Engine

from data import auth
from data.errors import DashboardError
from data.models import STAFF_ROLES
from data.permissions import ROLE_LABELS, Actor
from data.settings import Settings
from ui import state

log = logging.getLogger(__name__)

SESSION_KEY: Final = "auth_session_token"
_MESSAGE_KEY: Final = "auth_message"
_ENDED_KEY: Final = "auth_session_ended"
_DELETE_COOKIE_KEY: Final = "auth_delete_cookie"
# streamlit-authenticator's own session-state keys.
_AUTHENTICATOR_KEYS: Final = ("name", "username", "authentication_status", "email", "roles")
FORM_FIELDS: Final = {
    "Form name": "Connexion",
    "Username": "Adresse e-mail",
    "Password": "Mot de passe",
    "Login": "Se connecter",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _admit(token: str, actor: Actor) -> None:
    st.session_state[SESSION_KEY] = token
    st.session_state.update(
        authentication_status=True, username=actor.email.lower(), email=actor.email,
        name=actor.display_name, roles=[actor.role],
    )  # fmt: skip


def forget_session() -> None:
    """Drop this browser session's sign-in (our token and the authenticator's state)."""
    st.session_state.pop(SESSION_KEY, None)
    for key in _AUTHENTICATOR_KEYS:
        st.session_state[key] = None


class _SessionCookie:
    """Stands in for the authenticator's cookie controller; writes our signed cookie."""

    def __init__(self, inner: Any, settings: Settings) -> None:
        self._inner = inner
        self._settings = settings
        self.pending: auth.SignInResult | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def set_cookie(self) -> None:
        """Called by the form after a success: deferred to :meth:`write`."""

    def write(self, key: str) -> None:
        """Render the cookie component (outside the login placeholder, which is cleared)."""
        result, self.pending = self.pending, None
        if result is None or result.expires_at is None:
            return
        model = self._inner.cookie_model
        model.cookie_manager.set(
            model.cookie_name, auth.session_cookie(result, key),
            expires_at=result.expires_at, max_age=self._settings.SESSION_HOURS * 3600,
        )  # fmt: skip


class _GatedController:
    """Stands in for the authenticator's controller: data.auth decides every login."""

    def __init__(self, inner: Any, cookie: _SessionCookie, engine: Engine, settings: Settings):
        self._inner = inner
        self._cookie = cookie
        self._engine = engine
        self._settings = settings

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def login(
        self,
        username: str | None = None,
        password: str | None = None,
        *_args: Any,
        token: dict[str, Any] | None = None,
        **_kwargs: Any,
    ) -> bool | None:
        if token is not None:
            self._resume(token)
            return None
        if not username or not password:
            st.session_state[_MESSAGE_KEY] = "Saisissez votre adresse e-mail et votre mot de passe."
            return False
        result = auth.sign_in(
            self._engine, email=username, password=password, now=_now(),
            session_hours=self._settings.SESSION_HOURS,
        )  # fmt: skip
        if not result.ok or result.actor is None or result.session_token is None:
            st.session_state["authentication_status"] = False
            st.session_state[_MESSAGE_KEY] = result.message
            return False
        _admit(result.session_token, result.actor)
        self._cookie.pending = result
        return True

    def _resume(self, payload: dict[str, Any]) -> None:
        """A valid cookie re-admits only while the server-side session it names is live."""
        token = auth.session_token_from_cookie(payload)
        actor = auth.validate_session(self._engine, token, now=_now()) if token else None
        if actor is not None and token is not None:
            _admit(token, actor)


def _authenticator(settings: Settings, engine: Engine) -> tuple[Any, _SessionCookie]:
    authenticator = stauth.Authenticate(
        auth.staff_credentials(engine),
        cookie_name=settings.COOKIE_NAME,
        cookie_key=auth.require_cookie_key(settings),
        cookie_expiry_days=settings.SESSION_HOURS / 24,
        auto_hash=False,
        login_sleep_time=0,
    )
    cookie = _SessionCookie(authenticator.cookie_controller, settings)
    authenticator.cookie_controller = cookie
    authenticator.authentication_controller = _GatedController(
        authenticator.authentication_controller, cookie, engine, settings
    )
    return authenticator, cookie


def _demo_accounts_table() -> None:
    from data.demo.accounts import DEMO_ACCOUNTS

    st.info("Base de démonstration : comptes d'essai.", icon=":material/info:")
    rows = [
        (a.email, a.password, ROLE_LABELS.get(a.role, a.role),
         "oui" if a.actif and a.role in STAFF_ROLES else "non")
        for a in DEMO_ACCOUNTS
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["Adresse e-mail", "Mot de passe", "Rôle", "Accès"])
    st.dataframe(frame, hide_index=True)


def login_screen(settings: Settings, engine: Engine) -> Actor | None:
    """Draw the login form; return the actor when this run signed them in."""
    key = auth.require_cookie_key(settings)
    if st.session_state.get(SESSION_KEY) is None:
        forget_session()
    authenticator, cookie = _authenticator(settings, engine)
    if st.session_state.pop(_DELETE_COOKIE_KEY, False):
        authenticator.cookie_controller.delete_cookie()
    placeholder = st.empty()
    with placeholder.container(), st.columns([1, 2, 1])[1]:
        st.title("CIP FARO — Tableau de bord")
        if st.session_state.pop(_ENDED_KEY, False):
            st.info("Votre session a pris fin. Reconnectez-vous.", icon=":material/logout:")
        authenticator.login(location="main", fields=FORM_FIELDS, key="auth_login")
        message = st.session_state.pop(_MESSAGE_KEY, None)
        if message:
            st.error(message, icon=":material/lock:")
        if settings.demo_mode:
            _demo_accounts_table()
    token = st.session_state.get(SESSION_KEY)
    actor = auth.validate_session(engine, token, now=_now()) if token else None
    if actor is None:
        return None
    placeholder.empty()
    cookie.write(key)
    return actor


def session_ended() -> None:
    """Note for the login screen that a session was refused (revoked, expired...)."""
    forget_session()
    st.session_state[_ENDED_KEY] = True


def _logout() -> None:
    token = st.session_state.get(SESSION_KEY)
    if token:
        try:
            auth.sign_out(state.engine(), token=token, now=_now())
        except DashboardError:  # the database is down: still sign this browser out
            log.exception("sign-out could not be recorded")
    forget_session()
    st.session_state["logout"] = True  # the authenticator stops reading its cookie
    st.session_state[_DELETE_COOKIE_KEY] = True


def signed_in_sidebar(actor: Actor) -> None:
    """Who is signed in (plain text) and the logout button."""
    with st.sidebar:
        st.text(actor.display_name)
        st.caption(ROLE_LABELS.get(actor.role, "Rôle inconnu"))
        st.button(
            "Se déconnecter", key="auth_logout", icon=":material/logout:", on_click=_logout,
            width="stretch",
        )  # fmt: skip
