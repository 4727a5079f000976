"""Small shared UI pieces: the error banner, guarded blocks, the empty state, plain text.

Text from the database is always shown as plain text (st.text, dataframes,
metric values), never as markdown or HTML.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from data.errors import DashboardError

log = logging.getLogger(__name__)

GENERIC_ERROR = "Une erreur inattendue est survenue. Elle a été journalisée ; réessayez."
# What makes markdown of a one-line message: emphasis, code, links and images,
# HTML, headings, tables, strikethrough, LaTeX. Other punctuation stays as typed
# ("_" too: setting names such as COOKIE_KEY must read as they are written).
_MARKDOWN_SPECIALS = re.compile(r"([\\`*\[\]<>#|~$])")
# Streamlit's markdown also turns bare web addresses into links (GFM autolinks),
# escaped or not: a zero-width space breaks them without changing what is read.
_AUTOLINK_STARTS = re.compile(r"(://|www\.)")


def as_plain(text: str) -> str:
    """``text`` escaped for a markdown body: a message that repeats what someone typed
    (a URL parameter, a schedule name) shows as typed, never as a link or formatting."""
    unlinked = _AUTOLINK_STARTS.sub(lambda m: m.group(1)[0] + "\u200b" + m.group(1)[1:], text)
    return _MARKDOWN_SPECIALS.sub(r"\\\1", unlinked)


def show_error(error: BaseException, *, retry_key: str | None = None) -> None:
    """A short French message (never a traceback) and, optionally, a retry button."""
    if isinstance(error, DashboardError):
        st.error(as_plain(error.user_message), icon=":material/error:")
    else:
        log.error("unexpected error on screen", exc_info=error)
        st.error(GENERIC_ERROR, icon=":material/error:")
    if retry_key is not None and st.button("Réessayer", key=retry_key, icon=":material/refresh:"):
        st.rerun()


@contextmanager
def guarded(retry_key: str | None = None) -> Iterator[None]:
    """Run a block of a page; any failure becomes :func:`show_error`."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the screen must never show a traceback
        # st.rerun / st.stop raise BaseException subclasses: they pass through.
        show_error(exc, retry_key=retry_key)


def empty_state(message: str = "Aucune donnée pour cette période.") -> None:
    st.info(message, icon=":material/info:")
