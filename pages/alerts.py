"""Alertes (direction and admin): open alerts and their history; the team's workload;
the rules, their thresholds and last evaluation; edit thresholds, pause a rule, add a
KPI goal line."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from data.alerts import centre
from data.kpis import KPI_LABELS
from data.models import STAFF_ROLES
from data.permissions import ROLE_LABELS
from data.triage.workload import team_workload
from ui import alert_widgets as w
from ui import state
from ui.components import empty_state, guarded
from ui.notices import show_notices
from ui.session import require_page

require_page("pages/alerts.py")
tz = state.settings().tz
now = datetime.now(UTC)
st.title("Alertes")
show_notices("alerts")

st.header("Alertes ouvertes")
with guarded("alerts_retry"):
    alerts = centre.open_alerts(state.engine())
    if alerts.empty:
        empty_state("Aucune alerte ouverte.")
    else:
        st.dataframe(w.open_alerts_frame(alerts, now, tz), hide_index=True, width="stretch")
        chosen = st.selectbox(
            "Historique de l'alerte n°",
            list(alerts["id"]),
            index=None,
            placeholder="Choisissez une alerte…",
            key="alerts_history",
        )
        if chosen is not None:
            history = centre.alert_history(state.engine(), int(chosen))
            st.dataframe(w.history_frame(history, tz), hide_index=True, width="stretch")

st.header("Charge de l'équipe")
with guarded():
    workload = team_workload(state.engine(), now=now, sla_hours=state.settings().TRIAGE_SLA_HOURS)
    if workload.empty:
        empty_state("Aucun membre actif du secrétariat.")
    else:
        st.dataframe(w.workload_frame(workload, tz), hide_index=True, width="stretch")

st.header("Règles")
with guarded():
    rules = centre.alert_rules(state.engine())
    if rules.empty:
        empty_state("Les règles apparaissent après la première évaluation du service d'envoi.")
    else:
        st.dataframe(w.rules_frame(rules, tz), hide_index=True, width="stretch")
        titles = dict(zip(rules["id"], rules["title"], strict=True))
        rule_id = st.selectbox(
            "Modifier la règle",
            list(titles),
            format_func=titles.__getitem__,
            index=None,
            placeholder="Choisissez une règle…",
            key="alerts_edit",
        )
        if rule_id is not None:
            row = rules[rules["id"] == rule_id].iloc[0]
            numeric = w.numeric_params(row["params"])
            with st.form(f"alerts_rule_form_{rule_id}"):
                for name, value in numeric.items():
                    st.number_input(
                        w.PARAM_LABELS.get(name, name),
                        min_value=0.0,
                        value=float(value),
                        key=f"alerts_rule_{rule_id}_{name}",
                    )
                st.multiselect(
                    "Destinataires (rôles ; une candidature assignée va à son assignée)",
                    list(STAFF_ROLES),
                    default=list(row["roles"]),
                    format_func=ROLE_LABELS.__getitem__,
                    key=f"alerts_rule_{rule_id}_roles",
                )
                st.checkbox(
                    "En pause", value=bool(row["paused"]), key=f"alerts_rule_{rule_id}_paused"
                )
                st.form_submit_button(
                    "Enregistrer", on_click=w.save_rule, args=(int(rule_id), tuple(numeric))
                )

st.header("Ajouter une ligne d'objectif")
st.caption("Par exemple : alerter quand le taux de conversion sur 30 jours passe sous 55 %.")
with st.form("alerts_goal_form"):
    st.selectbox(
        "Indicateur", list(KPI_LABELS), format_func=KPI_LABELS.__getitem__, key="alerts_goal_kpi"
    )
    st.radio(
        "Alerter quand il passe",
        ["below", "above"],
        format_func={"below": "en dessous", "above": "au-dessus"}.__getitem__,
        horizontal=True,
        key="alerts_goal_direction",
    )
    st.number_input("de la valeur (un taux entre 0 et 1)", value=0.5, key="alerts_goal_value")
    st.number_input(
        "sur les derniers (jours)", min_value=1, max_value=366, value=30, key="alerts_goal_window"
    )
    st.text_input("Formation (identifiant, facultatif)", key="alerts_goal_formation")
    st.form_submit_button("Ajouter", on_click=w.add_goal)
