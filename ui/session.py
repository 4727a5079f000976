"""Who is using the app in this browser session, asked at the moment it matters.

:func:`current_actor` is the one way to know who is acting. It checks the
session token kept in ``st.session_state`` against the database: a logout, a
revoked or expired session, a deactivated account or a role change counts at
once. It is resolved once per script run and shared by everything in that run;
and every kind of run asks it: the full run (the sign-in gate, then the page),
a widget callback (which runs before the page, in the same run), the body of
an ``st.dialog`` when one of its buttons is clicked, and each rerun of an
``st.fragment(run_every=...)`` (neither of those goes through the gate).

The write functions check the account again in their own transaction
(:mod:`data.acting`); this module decides what the screen shows.
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from typing import Any, Final

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from data import auth
from data.permissions import Actor, can
from ui import state
from ui.auth import SESSION_KEY, login_screen, session_ended, signed_in_sidebar

_RESOLVED_KEY: Final = "auth_actor_this_run"
ACCESS_REFUSED: Final = "Accès refusé : cette page n'est pas ouverte à votre rôle."


def _this_run() -> Any:
    """An object that exists for exactly one script run (None outside a Streamlit run).

    Streamlit creates a fresh ``ParallelFragmentCoordinator`` at the start of
    every run, fragment reruns included (``ScriptRunContext.reset``); it is
    held weakly, so a finished run's object is never taken for a new one's.
    ``tests/test_session_actor.py`` pins this.
    """
    ctx = get_script_run_ctx()
    return getattr(ctx, "parallel_coordinator", None) if ctx is not None else None


def _validated() -> Actor | None:
    token = st.session_state.get(SESSION_KEY)
    if not token:
        return None
    actor = auth.validate_session(state.engine(), token, now=datetime.now(UTC))
    if actor is None:
        session_ended()
    return actor


def current_actor() -> Actor | None:
    """The signed-in staff member as the database says now; None: nobody (any more).

    When a session has just ended, the login screen of the next full run says so.
    """
    run = _this_run()
    resolved = st.session_state.get(_RESOLVED_KEY)
    if run is not None and resolved is not None and resolved[0]() is run:
        return resolved[1]  # type: ignore[no-any-return]
    return _remember(_validated())


def _remember(actor: Actor | None) -> Actor | None:
    """``actor`` is who acts for the rest of this run."""
    run = _this_run()
    if run is not None:
        st.session_state[_RESOLVED_KEY] = (weakref.ref(run), actor)
    return actor


def gate() -> Actor | None:
    """The signed-in actor, or None with the login form drawn.

    Outside demo mode the app refuses to start without a proper COOKIE_KEY
    (:class:`~data.errors.ConfigurationError`, shown by ``ui/app.start``).
    """
    settings = state.settings()
    settings.require_cookie_key()
    actor = current_actor() or _remember(login_screen(settings, state.engine()))
    if actor is not None:
        signed_in_sidebar(actor)
    return actor


def require_page(path: str) -> Actor:
    """Stop the page unless the current actor may see it (defence in depth)."""
    from ui.navigation import page_by_path

    actor = current_actor()
    if actor is None or not can(actor.role, page_by_path(path).capability):
        st.error(ACCESS_REFUSED, icon=":material/block:")
        st.stop()
    return actor


def still_allowed(path: str) -> Actor:
    """For a fragment's rerun (``run_every``) or a dialog's button: the actor, now.

    When the session has ended, or the role no longer opens the page, nothing
    more of the fragment is drawn: the whole app reruns, and the sign-in gate
    shows the login form ("Votre session a pris fin") or the role's own pages.
    """
    from ui.navigation import page_by_path

    actor = current_actor()
    if actor is None or not can(actor.role, page_by_path(path).capability):
        st.rerun(scope="app")
    assert actor is not None  # st.rerun does not return
    return actor
