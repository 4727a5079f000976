"""Vue d'ensemble: the centre at a glance."""

import streamlit as st

from data import formatting as fmt
from ui import cache, state
from ui.components import guarded
from ui.session import require_page

require_page("pages/overview.py")
st.title("Vue d'ensemble")

with guarded(retry_key="overview_retry"):
    settings = state.settings()
    counts = cache.cached_live_counts(settings.database_url, settings.TRIAGE_SLA_HOURS)
    columns = st.columns(5)
    columns[0].metric("Candidatures (total)", fmt.number(counts.applications_total))
    columns[1].metric("Nouvelles à traiter", fmt.number(counts.applications_new))
    columns[2].metric(
        f"En retard (> {fmt.number(settings.TRIAGE_SLA_HOURS)} h)",
        fmt.number(counts.applications_overdue),
    )
    columns[3].metric("Offres d'emploi ouvertes", fmt.number(counts.offers_open))
    columns[4].metric("Messages non traités", fmt.number(counts.contacts_untreated))
