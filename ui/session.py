"""Who is using the app in this browser session, and what they may see.

The sign-in gate runs at the start of every run (``ui/app.start``): the
session token kept in ``st.session_state`` is checked against the database
each time, so a logout, a revoked session, a deactivated account or a role
change takes effect at the next run. Without a valid session the login form
is drawn and the run stops. Decisions live in :mod:`data.auth`; the form and
cookie wiring in :mod:`ui.auth`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from data import auth
from data.permissions import Actor, can
from ui import state
from ui.auth import SESSION_KEY, login_screen, session_ended, signed_in_sidebar


def current_actor() -> Actor | None:
    """The signed-in staff member, re-read from the database on every run."""
    token = st.session_state.get(SESSION_KEY)
    if not token:
        return None
    actor = auth.validate_session(state.engine(), token, now=datetime.now(UTC))
    if actor is None:
        session_ended()
    return actor


def gate() -> Actor:
    """The signed-in actor, or the login form and a stopped run.

    Outside demo mode the app refuses to start without a proper COOKIE_KEY
    (:class:`~data.errors.ConfigurationError`, shown by ``ui/app.start``).
    """
    settings = state.settings()
    auth.require_cookie_key(settings)
    actor = current_actor() or login_screen(settings, state.engine())
    if actor is None:
        st.stop()
    signed_in_sidebar(actor)
    return actor


def require_page(path: str) -> Actor:
    """Stop the page unless the current actor may see it (defence in depth)."""
    from ui.navigation import page_by_path

    actor = current_actor()
    if actor is None or not can(actor.role, page_by_path(path).capability):
        st.error(
            "Accès refusé : cette page n'est pas ouverte à votre rôle.", icon=":material/block:"
        )
        st.stop()
    return actor
