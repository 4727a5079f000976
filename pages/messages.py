"""Messages: the website's contact form, untreated first; mark treated, undo, reply."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import streamlit as st

from data import contacts
from data.permissions import can
from ui import list_page as lp
from ui import state
from ui import triage_widgets as tw
from ui.components import guarded
from ui.exports import dated_stem, download_buttons
from ui.notices import show_notices
from ui.session import require_page

actor = require_page("pages/messages.py")
P = "messages"
ss = st.session_state
settings = state.settings()
engine = state.engine()
writer = can(actor.role, "messages.write")

st.title("Messages")
show_notices(P)


def _seed_filters() -> None:
    """The widgets start from the URL (see ``seed_from_url``)."""
    params = tw.read_query_params()
    status = params.get("statut", "a-traiter")
    notices: tuple[str, ...] = ()
    if status not in contacts.STATUS_FILTERS:
        notices = ("Paramètre « statut » invalide dans l'adresse : messages à traiter affichés.",)
        status = "a-traiter"
    lp.seed_from_url(P, {"f_status": status, "f_search": params.get("q", "")[:200]}, notices)
    for notice in ss.pop(f"{P}_url_notices", ()):
        st.warning(notice, icon=":material/link_off:")


def _treat(contact_id: int) -> None:
    tw.attempt(
        P,
        lambda actor: contacts.mark_treated(state.engine(), actor=actor, contact_id=contact_id),
        lambda r: r.message,
    )


def _untreat(contact_id: int, treated_at: datetime) -> None:
    tw.attempt(
        P,
        lambda actor: contacts.mark_untreated(
            state.engine(), actor=actor, contact_id=contact_id, expected_traite_at=treated_at
        ),
        lambda r: r.message,
    )


def _detail(message: contacts.ContactRow) -> None:
    st.divider()
    st.header(f"Message n° {message.id}")
    st.dataframe(tw.contact_details_frame(message, settings.tz), hide_index=True)
    st.markdown("**Message**")
    with st.container(height=260, border=True):
        st.text(message.message)
    cols = st.columns(3)
    link = contacts.reply_link(message)
    if link is None:
        cols[0].caption("Adresse e-mail invalide : pas de réponse possible par e-mail.")
    else:
        cols[0].link_button("Répondre par e-mail", link, icon=":material/reply:")
    if not writer:
        return
    if message.traite_at is None:
        cols[1].button(
            "Marquer comme traité",
            key=f"{P}_treat_{message.id}",
            on_click=_treat,
            args=(message.id,),
            type="primary",
        )
    else:
        cols[1].button(
            "Remettre à traiter",
            key=f"{P}_untreat_{message.id}",
            on_click=_untreat,
            args=(message.id, message.traite_at),
            icon=":material/undo:",
        )


with guarded(retry_key=f"{P}_retry"):
    _seed_filters()
    cols = st.columns([1, 3])
    status = cols[0].segmented_control(
        "Afficher",
        list(contacts.STATUS_FILTERS),
        format_func=contacts.STATUS_FILTERS.__getitem__,
        key=f"{P}_f_status",
        required=True,
    )
    search = cols[1].text_input(
        "Rechercher (nom, e-mail, sujet, message)", key=f"{P}_f_search", max_chars=200
    )
    wanted: dict[str, str] = {"statut": status} if status and status != "a-traiter" else {}
    if search.strip():
        wanted["q"] = search.strip()
    tw.write_query_params(wanted)
    rows = contacts.contact_messages(
        engine, status=cast(contacts.StatusFilter, status or "a-traiter"), search=search
    )
    by_id = {row.id: row for row in rows}
    if not rows:
        st.info("Aucun message.", icon=":material/inbox:")
    else:
        shown = tw.contacts_frame(rows, settings.tz)
        st.dataframe(shown, hide_index=True)
        download_buttons(
            shown, title="Messages", file_stem=dated_stem("messages"), key=f"{P}_export"
        )
    labels = {row.id: f"n° {row.id} — {row.nom} — {row.sujet}"[:120] for row in rows}
    choices: list[int | None] = [None, *labels]
    if ss.get(f"{P}_open") not in choices:
        ss.pop(f"{P}_open", None)
    opened = st.selectbox(
        "Ouvrir un message",
        choices,
        format_func=lambda i: "—" if i is None else labels[i],
        placeholder="—",
        key=f"{P}_open",
    )
    if opened is not None:
        _detail(by_id[opened])
