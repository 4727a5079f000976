"""The one way a page tells the person what an action did: a notice queued by the
action (a callback, a dialog) and drawn at the top of the page's next run.

A notice has a fixed headline by kind and the message as plain text, so a name typed
by the public never renders as markdown or HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import streamlit as st

Kind = Literal["success", "warning", "error", "info"]
HEADLINES: Mapping[str, str] = {
    "success": "Enregistré.",
    "warning": "Enregistré, avec un avertissement.",
    "error": "Action non effectuée.",
    "info": "Information.",
}


def push_notice(prefix: str, kind: Kind, message: str) -> None:
    """Queue a notice for the next run of the page ``prefix``."""
    st.session_state.setdefault(f"{prefix}_notices", []).append((kind, message))


def show_notices(prefix: str) -> None:
    """Draw and forget the queued notices: a fixed headline, the message as plain text."""
    for kind, message in st.session_state.pop(f"{prefix}_notices", []):
        box = st.container(border=True)
        getattr(box, kind)(HEADLINES[kind], icon=None)
        box.text(message)
