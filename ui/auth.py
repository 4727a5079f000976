"""The login screen and the session cookie.

The form is drawn here and a submitted form goes straight to
:func:`data.auth.sign_in` (throttling, bcrypt against ``users``, the sign-in
log, a server-side session), with the client's address. streamlit-authenticator
is kept for the one thing we use it for, the signed cookie: its ``CookieModel``
reads the cookie back (HS256 with ``COOKIE_KEY``, ``exp_date`` not passed) and
its cookie manager writes and deletes it. The JWT we write
(:func:`data.auth.session_cookie`) carries our session token (``sid``), so a
cookie re-admits only while the server-side session it names is live.
``tests/test_auth_cookie.py`` pins the library behaviour this relies on.

The session token lives in ``st.session_state[SESSION_KEY]``; ``ui/session.py``
validates it against the database in every run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Final

import jwt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine
from streamlit_authenticator.models.cookie_model import CookieModel

from data import auth
from data.db import check_connection
from data.errors import DashboardError
from data.models import STAFF_ROLES
from data.permissions import ROLE_LABELS, Actor, role_label
from data.settings import Settings
from ui import state

log = logging.getLogger(__name__)

SESSION_KEY: Final = "auth_session_token"
_ENDED_KEY: Final = "auth_session_ended"
_DELETE_COOKIE_KEY: Final = "auth_delete_cookie"
# CookieModel.get_cookie reads this key: True after a logout, so the cookie the
# browser sent when the page was loaded is not read again in this session.
LOGGED_OUT_KEY: Final = "logout"
FORM_KEY: Final = "auth_login"


def _now() -> datetime:
    return datetime.now(UTC)


def cookie_model(settings: Settings) -> CookieModel:
    """streamlit-authenticator's cookie reader/writer (renders its cookie component)."""
    st.session_state.setdefault(LOGGED_OUT_KEY, False)
    return CookieModel(
        cookie_name=settings.COOKIE_NAME,
        cookie_key=settings.require_cookie_key(),
        cookie_expiry_days=settings.SESSION_HOURS / 24,
    )


def write_cookie(cookie: CookieModel, result: auth.SignInResult, settings: Settings) -> None:
    """Store the signed session cookie in the browser (``Secure`` when COOKIE_SECURE)."""
    if result.expires_at is None:
        return
    cookie.cookie_manager.set(
        settings.COOKIE_NAME,
        auth.session_cookie(result, settings.require_cookie_key()),
        expires_at=result.expires_at,
        max_age=settings.SESSION_HOURS * 3600,
        secure=True if settings.COOKIE_SECURE else None,
        same_site="strict",
    )


def forget_session() -> None:
    """Drop this browser session's sign-in."""
    st.session_state.pop(SESSION_KEY, None)


def client_address(settings: Settings) -> str:
    """The address sign-in attempts are counted under (see :func:`data.auth.client_address`)."""
    header = settings.FORWARDED_FOR_HEADER
    forwarded = st.context.headers.get_all(header) if header else []
    remote = st.context.ip_address  # None on localhost (and not a str under AppTest)
    return auth.client_address(
        remote if isinstance(remote, str) else None,
        [value for value in forwarded if isinstance(value, str)],
        trust_forwarded=header is not None,
    )


def cookie_session_token(cookie: CookieModel) -> str | None:
    """The session token of the cookie the browser sent, if it is ours, signed and unexpired."""
    try:
        payload = cookie.get_cookie()
    except jwt.PyJWTError:  # the library lets some malformed tokens through (alg "none")
        log.warning("a malformed session cookie was ignored")
        return None
    return auth.session_token_from_cookie(payload or None)


def _resume(cookie: CookieModel, engine: Engine) -> Actor | None:
    """A valid cookie re-admits only while the server-side session it names is live."""
    token = cookie_session_token(cookie)
    actor = auth.validate_session(engine, token, now=_now()) if token else None
    if actor is not None and token is not None:
        st.session_state[SESSION_KEY] = token
        st.session_state.pop(_ENDED_KEY, None)
    return actor


def _demo_accounts_table() -> None:
    from data.demo.accounts import DEMO_ACCOUNTS

    st.info("Base de démonstration : comptes d'essai.", icon=":material/info:")
    rows = [
        (
            a.email,
            a.password,
            role_label(a.role),
            "oui" if a.actif and a.role in STAFF_ROLES else "non",
        )
        for a in DEMO_ACCOUNTS
    ]
    frame = pd.DataFrame(rows, columns=["Adresse e-mail", "Mot de passe", "Rôle", "Accès"])
    st.dataframe(frame, hide_index=True)


def _form(settings: Settings, engine: Engine) -> auth.SignInResult | None:
    """The login form; the outcome of this run's submission, if there was one."""
    with st.form(FORM_KEY):
        st.header("Connexion")
        email = st.text_input("Adresse e-mail", max_chars=auth.EMAIL_MAX_CHARS)
        password = st.text_input("Mot de passe", type="password", max_chars=1024)
        submitted = st.form_submit_button("Se connecter", type="primary")
    if not submitted:
        return None
    if not email.strip() or not password:
        st.error("Saisissez votre adresse e-mail et votre mot de passe.", icon=":material/lock:")
        return None
    result = auth.sign_in(
        engine,
        email=email,
        password=password,
        now=_now(),
        session_hours=settings.SESSION_HOURS,
        client_address=client_address(settings),
        limits=auth.SignInLimits.from_settings(settings),
    )
    if not result.ok:
        st.error(result.message, icon=":material/lock:")
    return result


def login_screen(settings: Settings, engine: Engine) -> Actor | None:
    """The login form (or a re-admission by cookie); the actor when this run signed them in."""
    check_connection(engine)  # a database that does not answer is said before the form
    cookie = cookie_model(settings)
    if st.session_state.pop(_DELETE_COOKIE_KEY, False):
        cookie.delete_cookie()
    elif not st.session_state[LOGGED_OUT_KEY] and (actor := _resume(cookie, engine)):
        return actor
    placeholder = st.empty()
    with placeholder.container(), st.columns([1, 2, 1])[1]:
        st.title("CIP FARO — Tableau de bord")
        if st.session_state.get(_ENDED_KEY):  # until the next sign-in (the cookie
            # component reruns the script once it has loaded: a pop would lose it)
            st.info("Votre session a pris fin. Reconnectez-vous.", icon=":material/logout:")
        result = _form(settings, engine)
        if settings.demo_mode:
            _demo_accounts_table()
    if result is None or not result.ok or result.actor is None or not result.session_token:
        return None
    placeholder.empty()
    st.session_state[SESSION_KEY] = result.session_token
    st.session_state[LOGGED_OUT_KEY] = False
    st.session_state.pop(_ENDED_KEY, None)
    write_cookie(cookie, result, settings)  # outside the placeholder, which is cleared
    return result.actor


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
    st.session_state[LOGGED_OUT_KEY] = True  # the cookie sent with the page is not read again
    st.session_state[_DELETE_COOKIE_KEY] = True


def signed_in_sidebar(actor: Actor) -> None:
    """Who is signed in (plain text) and the logout button."""
    with st.sidebar:
        st.text(actor.display_name)
        st.caption(ROLE_LABELS.get(actor.role, "Rôle inconnu"))
        st.button(
            "Se déconnecter",
            key="auth_logout",
            icon=":material/logout:",
            on_click=_logout,
            width="stretch",
        )
