"""Journal d'audit: who changed what, when; filterable."""

from datetime import datetime, timedelta

import streamlit as st

from data import formatting as fmt
from data.audit import viewing
from ui import state
from ui.components import empty_state, guarded
from ui.exports import dated_stem, download_buttons
from ui.session import require_page

require_page("pages/audit.py")
st.title("Journal d'audit")

with guarded(retry_key="audit_retry"):
    settings = state.settings()
    today = datetime.now(settings.tz).date()
    actions = viewing.audit_actions(state.engine())
    columns = st.columns([1.4, 1.4, 1.2, 1.6])
    chosen = columns[0].date_input(
        "Du … au",
        value=(today - timedelta(days=viewing.DEFAULT_DAYS), today),
        format="DD/MM/YYYY",
        key="audit_dates",
    )
    since, until = (chosen[0], chosen[-1]) if isinstance(chosen, tuple) and chosen else (None, None)
    action = columns[1].selectbox(
        "Action",
        ["", *actions],
        format_func=lambda code: viewing.ACTION_LABELS.get(code, code) if code else "Toutes",
        key="audit_action",
    )
    actor = columns[2].text_input("Utilisateur (e-mail)", key="audit_actor")
    search = columns[3].text_input("Rechercher (objet, identifiant, détails)", key="audit_search")
    entries = viewing.audit_entries(
        state.engine(),
        tz_name=settings.TIMEZONE,
        since=since,
        until=until,
        actor=actor,
        action=action,
        search=search,
    )
    if entries.empty:
        empty_state("Aucune entrée pour ces critères.")
    else:
        table = entries.assign(
            when=[fmt.timestamp(value, settings.tz) for value in entries["created_at"]]
        )[["when", "actor_email", "action_label", "entity", "entity_id", "details"]]
        table.columns = ["Date", "Utilisateur", "Action", "Objet", "Identifiant", "Détails"]
        st.dataframe(table, hide_index=True, width="stretch")
        download_buttons(
            table, title="Journal d'audit", file_stem=dated_stem("journal-audit"), key="audit"
        )
        st.caption(
            f"{fmt.number(len(entries))} entrée(s), les plus récentes d'abord "
            f"(au plus {fmt.number(viewing.DEFAULT_LIMIT)})."
        )
