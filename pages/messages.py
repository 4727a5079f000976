"""Messages: the website's contact form, untreated first; mark treated, undo, reply."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from data import contacts
from data.permissions import Actor, can
from ui import state
from ui import triage_widgets as tw
from ui.components import guarded
from ui.session import require_page

actor = require_page("pages/messages.py")
P = "messages"
ss = st.session_state
settings = state.settings()
engine = state.engine()
writer = can(actor.role, "messages.write")

st.title("Messages")
tw.show_notices(P)


def _seed_filters() -> None:
    if ss.get(f"{P}_f_ready"):
        return
    params = tw.read_query_params()
    status = params.get("statut", "a-traiter")
    if status not in contacts.STATUS_FILTERS:
        st.warning(
            "Paramètre « statut » invalide dans l'adresse : messages à traiter affichés.",
            icon=":material/link_off:",
        )
        status = "a-traiter"
    ss[f"{P}_f_status"] = status
    ss[f"{P}_f_search"] = params.get("q", "")[:200]
    ss[f"{P}_f_ready"] = True


def _treat(acting: Actor, contact_id: int) -> None:
    tw.attempt(
        P,
        lambda: contacts.mark_treated(state.engine(), actor=acting, contact_id=contact_id),
        lambda r: r.message,
    )


def _untreat(acting: Actor, contact_id: int, treated_at: datetime) -> None:
    tw.attempt(
        P,
        lambda: contacts.mark_untreated(
            state.engine(), actor=acting, contact_id=contact_id, expected_traite_at=treated_at
        ),
        lambda r: r.message,
    )


def _detail(message: contacts.ContactRow) -> None:
    st.divider()
    st.subheader(f"Message n° {message.id}")
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
            args=(actor, message.id),
            type="primary",
        )
    else:
        cols[1].button(
            "Remettre à traiter",
            key=f"{P}_untreat_{message.id}",
            on_click=_untreat,
            args=(actor, message.id, message.traite_at),
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
    wanted = {"statut": status} if status != "a-traiter" else {}
    if search.strip():
        wanted["q"] = search.strip()
    tw.write_query_params(wanted)
    rows = contacts.contact_messages(engine, status=status or "a-traiter", search=search)
    by_id = {row.id: row for row in rows}
    if not rows:
        st.info("Aucun message.", icon=":material/inbox:")
    else:
        st.dataframe(tw.contacts_frame(rows, settings.tz), hide_index=True)
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
