"""Who is using the app in this browser session, and what they may see.

Until the sign-in issue lands, the acting user is the demo admin account (the
embedded default) so every screen can be exercised.
"""

from __future__ import annotations

import streamlit as st

from data.permissions import Actor, can
from data.staff import active_staff_by_email
from ui import state

PLACEHOLDER_ACTOR_EMAIL = "admin@demo.cipfaro.fr"


def current_actor() -> Actor | None:
    """The signed-in staff member, re-read from the database on every run."""
    return active_staff_by_email(state.engine(), PLACEHOLDER_ACTOR_EMAIL)


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
