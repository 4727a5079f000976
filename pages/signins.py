"""Connexions: every sign-in attempt and logout (never a password)."""

from datetime import datetime, timedelta

import streamlit as st

from data import formatting as fmt
from data.audit import viewing
from ui import state
from ui.components import empty_state, guarded
from ui.exports import dated_stem, download_buttons
from ui.session import require_page

require_page("pages/signins.py")
st.title("Connexions")

OUTCOME_LABELS = {"all": "Toutes", "success": "Réussies", "failure": "Échouées"}

with guarded(retry_key="signins_retry"):
    settings = state.settings()
    today = datetime.now(settings.tz).date()
    columns = st.columns([1.4, 1.6, 1.4])
    chosen = columns[0].date_input(
        "Du … au",
        value=(today - timedelta(days=viewing.DEFAULT_DAYS), today),
        format="DD/MM/YYYY",
        key="signins_dates",
    )
    since, until = (chosen[0], chosen[-1]) if isinstance(chosen, tuple) and chosen else (None, None)
    email = columns[1].text_input("Adresse e-mail (contient)", key="signins_email")
    outcome = columns[2].radio(
        "Résultat",
        list(OUTCOME_LABELS),
        format_func=OUTCOME_LABELS.__getitem__,
        horizontal=True,
        key="signins_outcome",
    )
    entries = viewing.signin_entries(
        state.engine(),
        tz_name=settings.TIMEZONE,
        since=since,
        until=until,
        email=email,
        outcome=outcome,
    )
    if entries.empty:
        empty_state("Aucune tentative de connexion pour ces critères.")
    else:
        table = entries.assign(
            when=[fmt.timestamp(value, settings.tz) for value in entries["created_at"]],
            address=[value or "—" for value in entries["client_address"]],
        )[["when", "email", "reason_label", "address"]]
        table.columns = ["Date", "Adresse e-mail saisie", "Résultat", "Adresse IP"]
        st.dataframe(table, hide_index=True, width="stretch")
        download_buttons(
            table, title="Connexions", file_stem=dated_stem("connexions"), key="signins"
        )
        st.caption(
            f"{fmt.number(len(entries))} tentative(s), les plus récentes d'abord "
            f"(au plus {fmt.number(viewing.DEFAULT_LIMIT)})."
        )
