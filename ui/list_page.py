"""What the secretariat's list pages (Candidatures, Matchings, Messages) share: widgets
seeded from the URL, a keyset pager that goes back to the first page when the filters
change, and a selection for group actions kept to the rows on screen.

State lives in session state under the page's prefix (``triage``, ``matching``…).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st


def seed_from_url(prefix: str, seeded: Mapping[str, object], notices: Sequence[str]) -> None:
    """Start each of the page's widgets whose state is missing from the address.

    The URL follows the widgets, so it is the page's memory: a widget's state is missing
    on the page's first run, on a return to it (Streamlit drops a page's widget states
    when it is left, so a link to « candidatures?dossier=42 » opens file 42 the second
    time too), and after a page change raced a rerun (Streamlit then drops the state of
    widgets the browser had not drawn yet, which closed a file opened from a link). A
    widget the person set keeps its value. A ``None`` is never seeded: in session state
    it would read "no choice". ``notices`` (what the address held that could not be
    used) are shown once, when the person arrives.
    """
    keys = {f"{prefix}_{name}": value for name, value in seeded.items()}
    if all(key not in st.session_state for key in keys):
        st.session_state[f"{prefix}_url_notices"] = tuple(notices)
    for key, value in keys.items():
        if value is not None and key not in st.session_state:
            st.session_state[key] = value


def page_cursor(prefix: str, filters: object) -> tuple[Any | None, int]:
    """The keyset cursor of the page on screen (None: the first) and its index; a
    change of ``filters`` (compared by ``repr``) goes back to the first page."""
    signature = repr(filters)
    if st.session_state.get(f"{prefix}_signature") != signature:
        st.session_state[f"{prefix}_signature"] = signature
        st.session_state[f"{prefix}_cursors"] = []
    cursors = st.session_state.get(f"{prefix}_cursors", [])
    return (cursors[-1] if cursors else None), len(cursors)


def _forward(prefix: str, cursor: object) -> None:
    st.session_state[f"{prefix}_cursors"] = [*st.session_state.get(f"{prefix}_cursors", []), cursor]


def _back(prefix: str) -> None:
    st.session_state[f"{prefix}_cursors"] = st.session_state.get(f"{prefix}_cursors", [])[:-1]


def pager(prefix: str, next_cursor: object | None) -> None:
    """« Page précédente » and « Page suivante » under the table."""
    first = not st.session_state.get(f"{prefix}_cursors")
    left, right = st.columns(2)
    left.button(
        "◀ Page précédente", key=f"{prefix}_prev", on_click=_back, args=(prefix,), disabled=first
    )
    right.button(
        "Page suivante ▶",
        key=f"{prefix}_next",
        on_click=_forward,
        args=(prefix, next_cursor),
        disabled=next_cursor is None,
    )


def selection(prefix: str, labels: Mapping[int, str], *, label: str, placeholder: str) -> None:
    """The rows chosen for a group action (``{prefix}_selected``), kept to those on
    screen: a row that left the page (next page, new filters) is no longer acted on."""
    key = f"{prefix}_selected"
    kept = [i for i in st.session_state.get(key, []) if i in labels]
    if kept != st.session_state.get(key, []):  # only when rows left the page
        st.session_state[key] = kept
    st.multiselect(
        label,
        list(labels),
        format_func=lambda i: labels.get(i, f"n° {i}"),
        placeholder=placeholder,
        key=key,
    )
