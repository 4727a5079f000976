"""Notifications: the signed-in user's notices, unread first; read, acknowledge, snooze,
open the subject; and their notification preferences."""

from __future__ import annotations

import streamlit as st

from data.alerts import centre
from data.alerts import lifecycle as lc
from data.alerts.evaluate import MODES
from ui import alert_widgets as w
from ui import state
from ui.components import empty_state, guarded
from ui.notices import show_notices
from ui.session import require_page

actor = require_page("pages/notifications.py")
w.follow_pending_link()
ss = st.session_state
tz = state.settings().tz
st.title("Notifications")
show_notices(w.P)

kinds = w.kind_options()
states = w.state_options()
left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
kind = left.selectbox("Type", list(kinds), format_func=kinds.__getitem__, key=f"{w.P}_f_kind")
wanted_state = middle.selectbox(
    "État de l'alerte", list(states), format_func=states.__getitem__, key=f"{w.P}_f_state"
)
right.button("Tout marquer comme lu", key=f"{w.P}_all_read", on_click=w.mark_all_read)

with guarded(f"{w.P}_retry"):
    notices = centre.user_notifications(
        state.engine(), actor.id, rule_kind=kind, alert_state=wanted_state
    )
    if notices.empty:
        empty_state("Aucune notification.")
    for row in notices.itertuples():
        box = st.container(border=True)
        unread = w.is_unread(row)
        box.markdown(w.notice_title(row.title, unread=unread))
        box.caption(w.notice_caption(row, tz))
        cols = box.columns(5)
        path, _ = w.split_link(row.link)
        if path is not None:
            cols[0].button(
                "Ouvrir",
                key=f"{w.P}_open_{row.id}",
                icon=":material/open_in_new:",
                on_click=w.open_notice,
                args=(row.id, row.link),
            )
        if unread:
            cols[1].button(
                "Marquer lu", key=f"{w.P}_read_{row.id}", on_click=w.mark_read, args=(row.id,)
            )
        if row.alert_state in (lc.FIRING, lc.SNOOZED):
            cols[2].button(
                "Prendre en compte",
                key=f"{w.P}_ack_{row.id}",
                icon=":material/task_alt:",
                on_click=w.acknowledge,
                args=(row.alert_id,),
            )
            choice_key = f"{w.P}_snooze_choice_{row.id}"
            with cols[3].popover("Reporter", icon=":material/snooze:"):
                st.radio(
                    "Jusqu'à",
                    list(centre.SNOOZE_CHOICES),
                    format_func=centre.SNOOZE_CHOICES.__getitem__,
                    key=choice_key,
                )
                st.button(
                    "Reporter",
                    key=f"{w.P}_snooze_{row.id}",
                    on_click=w.snooze,
                    args=(row.alert_id, choice_key),
                )
                day_key = f"{w.P}_snooze_day_{row.id}"
                st.date_input("Ou jusqu'au", value=None, key=day_key, format="DD/MM/YYYY")
                st.button(
                    "Reporter à cette date",
                    key=f"{w.P}_snooze_to_{row.id}",
                    on_click=w.snooze_to_date,
                    args=(row.alert_id, day_key),
                )

st.header("Mes préférences")
st.caption(
    "Pour chaque type d'alerte : dans l'application seulement, un email immédiat, "
    "un résumé quotidien par email, ou rien."
)
with guarded():
    preferences = centre.user_preferences(state.engine(), actor.id, actor.role)
    st.number_input(
        "Heure du résumé quotidien (heure locale)",
        min_value=0,
        max_value=23,
        value=max((p.digest_hour for p in preferences), default=8),
        key=f"{w.P}_pref_hour",
        on_change=w.save_digest_hour,
    )
    for preference in preferences:
        st.selectbox(
            preference.label,
            MODES,
            index=MODES.index(preference.mode),
            format_func=w.mode_label,
            key=f"{w.P}_pref_{preference.rule_kind}",
            on_change=w.save_preference,
            args=(preference.rule_kind,),
        )
