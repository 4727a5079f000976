"""Start-up of every app run: settings, database, sign-in; then the menu.

Every run ends in ``st.navigation``, signed in or not: a run that stopped
before it would leave Streamlit to list the files of ``pages/`` (raw English
names) and to answer an address it does not know with its English "Page not
found". So the menu always names every page's address:

- signed out, every address leads to the sign-in form, with no menu; once
  signed in, the same run opens the page the address named (a bookmark or an
  email link survives the sign-in);
- signed in, the role's pages make the menu, and the others stay reachable by
  address only to say, in French, that the role may not open them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from data.errors import DashboardError
from data.permissions import Actor, can
from ui import alert_widgets, chrome, session, state
from ui.components import show_error
from ui.navigation import PAGES, PageSpec, pages_for

log = logging.getLogger(__name__)

Menu = dict[str, list[st.Page]]
# The default page is served at "/"; Streamlit keys pages by this path, so the
# home page's usual address (``/vue-ensemble``) can be served by a hidden twin.
HOME_PATH = "accueil"


def leave_pages_folder_mode() -> None:
    """Leave Streamlit's ``pages/`` folder mode before anything is drawn.

    Because a ``pages/`` folder sits beside ``dashboard.py``, Streamlit runs the
    first script of a server process (and every AppTest run) through its old
    multipage mode: a menu of the raw file names, with this script run as one of
    its pages. The mode ends as soon as ``st.navigation`` is called; calling it
    here, before the first element, resolves the address the visitor asked for
    to this app's own pages, so nothing of the run is drawn under the old mode's
    page. (A deep link opened by the very first visitor of a process may still get
    Streamlit's "Page not found" notice: the old mode sends it before this script.)
    """
    try:  # a private attribute of Streamlit's: if an upgrade removes it, do nothing
        from streamlit.runtime.pages_manager import PagesManager

        folder_mode = bool(getattr(PagesManager, "uses_pages_directory", False))
    except ImportError:
        folder_mode = False
    if folder_mode:
        st.navigation(navigation_for(None), position="hidden")


def start() -> Actor | None:
    """Validate settings, prepare the database, identify the user.

    None when nobody is signed in (the login form is drawn); on a start-up
    failure the message is shown and the run stops, with no menu.
    """
    chrome.draw()
    try:
        state.settings()
        state.prepare_database()
        actor = session.gate()
        if actor is not None:
            alert_widgets.unread_badge(actor)
        return actor
    except DashboardError as exc:
        show_error(exc, retry_key="app_start_retry")
    except Exception as exc:  # noqa: BLE001 - never a traceback on screen
        show_error(exc, retry_key="app_start_retry")
    st.navigation(navigation_for(None), position="hidden")
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def _signed_out() -> None:
    """A page's address before sign-in: the login form above is all there is."""


def _refused(spec: PageSpec) -> Callable[[], None]:
    def page() -> None:
        st.title("Accès refusé")
        st.error(session.ACCESS_REFUSED, icon=":material/block:")
        st.caption(f"« {spec.title} » est réservée à d'autres rôles ; votre menu est à gauche.")

    return page


def navigation_for(actor: Actor | None) -> Menu:
    """The st.Page objects of the actor's role, grouped by menu section; every other
    page's address is a hidden page (the sign-in form, or the French refusal)."""
    if actor is None:
        home = st.Page(_signed_out, title=PAGES[0].title, url_path=HOME_PATH, default=True)
        hidden = [
            st.Page(_signed_out, title=spec.title, url_path=spec.url_path, visibility="hidden")
            for spec in PAGES
        ]
        return {"": [home, *hidden]}
    sections: Menu = {}
    allowed = pages_for(actor.role)
    for index, spec in enumerate(allowed):
        page = st.Page(
            spec.path,
            title=spec.title,
            icon=spec.icon,
            url_path=HOME_PATH if index == 0 else spec.url_path,
            default=index == 0,
        )
        sections.setdefault(spec.section, []).append(page)
    first = next(iter(sections))
    # The home page's own address (Streamlit serves the default page at "/" only).
    home_spec = allowed[0]
    sections[first].append(
        st.Page(
            home_spec.path, title=home_spec.title, url_path=home_spec.url_path, visibility="hidden"
        )
    )
    refused = [spec for spec in PAGES if not can(actor.role, spec.capability)]
    sections[first] += [
        st.Page(_refused(spec), title=spec.title, url_path=spec.url_path, visibility="hidden")
        for spec in refused
    ]
    return sections


def menu_position(actor: Actor | None) -> str:
    """No menu at all before sign-in."""
    return "sidebar" if actor is not None else "hidden"
