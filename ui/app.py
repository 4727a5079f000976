"""Start-up of every app run: settings, database, sign-in; then the menu."""

from __future__ import annotations

import logging

import streamlit as st

from data.errors import DashboardError
from data.permissions import Actor
from ui import session, state
from ui.components import show_error
from ui.navigation import pages_for

log = logging.getLogger(__name__)


def start() -> Actor:
    """Validate settings, prepare the database, identify the user; or stop with a message."""
    try:
        state.settings()
        state.prepare_database()
        actor = session.gate()
    except DashboardError as exc:
        show_error(exc, retry_key="app_start_retry")
        st.stop()
    except Exception as exc:  # noqa: BLE001 - never a traceback on screen
        show_error(exc, retry_key="app_start_retry")
        st.stop()
    return actor


def navigation_for(actor: Actor) -> dict[str, list[st.Page]]:
    """The st.Page objects of the actor's role, grouped by menu section."""
    sections: dict[str, list[st.Page]] = {}
    for index, spec in enumerate(pages_for(actor.role)):
        page = st.Page(
            spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=index == 0
        )
        sections.setdefault(spec.section, []).append(page)
    return sections
