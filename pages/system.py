"""État du système (admins): databases, migrations, KPI summary, schedulers, deliveries, mail."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from data.health import DOWN, check_health, current_lease, scheduler_processes
from reports.history import deliveries_waiting, last_runs
from ui import state
from ui import system_widgets as w
from ui.components import empty_state, guarded
from ui.session import require_page

require_page("pages/system.py")
st.title("État du système")
st.caption("Même vérification que « python -m data.health » ; rechargez la page pour la refaire.")

settings = state.settings()
now = datetime.now(UTC)
with guarded(f"{w.KEY}_retry"):
    health = check_health(settings, state.engine(), state.analytics(), now=now)
    w.overall_banner(health)
    st.dataframe(w.checks_table(health), hide_index=True, width="stretch")
    if health.status == DOWN:
        st.stop()

st.header("Services d'envoi des rapports")
with guarded():
    processes = scheduler_processes(state.engine(), now)
    lease = current_lease(state.engine())
    if processes:
        holder = lease[0] if lease is not None and lease[1] > now else None
        st.dataframe(w.schedulers_table(processes, holder, settings.tz), hide_index=True)
    else:
        empty_state("Aucun service d'envoi n'a donné signe de vie ces dernières 24 heures.")

st.header("Dernier envoi de chaque planification")
with guarded():
    runs = last_runs(state.engine())
    if runs.empty:
        empty_state("Aucune planification.")
    else:
        st.dataframe(w.last_runs_table(runs, settings.tz), hide_index=True, width="stretch")

st.header("Envois en attente d'une personne")
with guarded():
    waiting = deliveries_waiting(state.engine(), now)
    if waiting.empty:
        empty_state("Aucun destinataire en échec ces 7 derniers jours.")
    else:
        st.dataframe(w.waiting_table(waiting, settings.tz), hide_index=True, width="stretch")
        st.caption("À renvoyer depuis la page « Rapports », après vérification.")

st.header("Messagerie")
with guarded():
    w.smtp_test()
