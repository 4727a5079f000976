"""Rapports: a report on demand (PDF / Excel) and, for direction and admin, the schedules."""

from __future__ import annotations

import streamlit as st

from data.errors import Conflict
from data.permissions import Actor, can
from reports.history import delivered_to_outbox
from reports.manual import resend_failed, send_now
from reports.runs import RUN_STATUS_LABELS
from reports.schedules import (
    ScheduleView,
    create_schedule,
    delete_schedule,
    list_schedules,
    pause_schedule,
    resume_schedule,
    update_schedule,
)
from ui import reports_widgets as w
from ui import state
from ui.components import guarded
from ui.exports import dated_stem, download_buttons
from ui.filters import local_today
from ui.notices import push_notice, show_notices
from ui.session import require_page, still_allowed

actor = require_page("pages/reports.py")
st.title("Rapports")

NEW = 0
SELECTED = f"{w.KEY}_selected"
PENDING = f"{w.KEY}_select_next"


def outcome_message(status: str, sent: int, failed: int) -> str:
    label = RUN_STATUS_LABELS.get(status, status)
    return f"Envoi terminé : {label} ({sent} envoyé(s), {failed} en échec)."


@st.dialog("Supprimer la planification")
def confirm_delete(view: ScheduleView) -> None:
    st.write("Cette planification ne sera plus envoyée ; son historique reste consultable.")
    st.text(view.name)
    with guarded():
        if st.button("Supprimer", type="primary", key=f"{w.KEY}_confirm_delete"):
            who = still_allowed("pages/reports.py")  # a dialog's rerun skips the gate
            delete_schedule(state.engine(), actor=who, schedule_id=view.id)
            st.session_state[PENDING] = NEW
            push_notice(w.KEY, "success", "Planification supprimée.")
            st.rerun()


def forget_form(view: ScheduleView) -> None:
    """Drop the edit form's state so it shows the stored schedule again."""
    prefix = f"{w.KEY}_f{view.id}"
    for key in [key for key in st.session_state if str(key).startswith(prefix)]:
        del st.session_state[key]
    st.session_state.pop(f"{w.KEY}_version_{view.id}", None)


def save(view: ScheduleView | None, who: Actor) -> None:
    settings = state.settings()
    if view is None:
        spec = w.schedule_form(None, settings)
        if spec is not None:
            created = create_schedule(state.engine(), actor=who, spec=spec)
            st.session_state[PENDING] = created.id
            push_notice(w.KEY, "success", "Planification créée.")
            st.rerun()
        return
    # The version the person started editing: a change made meanwhile is a Conflict.
    version = st.session_state.setdefault(f"{w.KEY}_version_{view.id}", view.updated_at)
    spec = w.schedule_form(view, settings)
    if spec is None:
        return
    try:
        update_schedule(
            state.engine(),
            actor=who,
            schedule_id=view.id,
            spec=spec,
            expected_updated_at=version,
        )
    except Conflict:
        forget_form(view)
        raise
    forget_form(view)
    push_notice(w.KEY, "success", "Planification enregistrée.")
    st.rerun()


def actions(view: ScheduleView, who: Actor) -> None:
    engine, settings = state.engine(), state.settings()
    columns = st.columns(3)
    if view.paused:
        if columns[0].button("Reprendre", icon=":material/play_arrow:", key=f"{w.KEY}_resume"):
            resume_schedule(engine, actor=who, schedule_id=view.id)
            forget_form(view)
            push_notice(w.KEY, "success", "Planification reprise.")
            st.rerun()
    elif columns[0].button("Mettre en pause", icon=":material/pause:", key=f"{w.KEY}_pause"):
        pause_schedule(engine, actor=who, schedule_id=view.id)
        forget_form(view)
        push_notice(w.KEY, "success", "Planification mise en pause.")
        st.rerun()
    if columns[1].button("Envoyer maintenant", icon=":material/send:", key=f"{w.KEY}_send"):
        with st.spinner("Génération et envoi du rapport…"):
            outcome = send_now(engine, settings, actor=who, schedule_id=view.id)
        push_notice(w.KEY, "info", outcome_message(outcome.status, outcome.sent, outcome.failed))
        st.rerun()
    if columns[2].button("Supprimer", icon=":material/delete:", key=f"{w.KEY}_delete"):
        confirm_delete(view)


def history(view: ScheduleView, who: Actor) -> None:
    settings = state.settings()
    st.header("Historique des envois")
    shown = w.run_detail(view.id, settings, outbox=delivered_to_outbox(settings))
    if shown is None:
        return
    run_id, resendable = shown
    if resendable and st.button(
        "Renvoyer aux destinataires en échec", icon=":material/replay:", key=f"{w.KEY}_resend"
    ):
        with st.spinner("Renvoi en cours…"):
            outcome = resend_failed(state.engine(), settings, actor=who, run_id=run_id)
        push_notice(w.KEY, "info", outcome_message(outcome.status, outcome.sent, outcome.failed))
        st.rerun()


def schedules_section(who: Actor) -> None:
    st.header("Planifications")
    schedules = list_schedules(state.engine())
    if schedules:
        table = w.schedules_table(schedules, state.settings().tz)
        st.dataframe(table, hide_index=True)
        download_buttons(
            table,
            title="Planifications",
            file_stem=dated_stem("planifications"),
            key=f"{w.KEY}_schedules_export",
        )
    else:
        st.info("Aucune planification pour l'instant.", icon=":material/info:")
    by_id = {s.id: s for s in schedules}
    if PENDING in st.session_state:
        st.session_state[SELECTED] = st.session_state.pop(PENDING)
    if st.session_state.get(SELECTED) not in (NEW, *by_id):
        st.session_state[SELECTED] = NEW
    names = {NEW: "Nouvelle planification", **{s.id: s.name for s in schedules}}
    chosen = st.selectbox(
        "Créer ou modifier", list(names), format_func=names.__getitem__, key=SELECTED
    )
    view = by_id.get(chosen)
    if view is None:
        with guarded():
            save(None, who)
        return
    with guarded():
        actions(view, who)
    with st.expander("Modifier la planification", icon=":material/edit:"), guarded():
        save(view, who)
    with guarded(f"{w.KEY}_history_retry"):
        history(view, who)


show_notices(w.KEY)
with guarded(f"{w.KEY}_on_demand_retry"):
    w.on_demand_section(local_today())
if can(actor.role, "schedules.write"):
    with guarded(f"{w.KEY}_schedules_retry"):
        schedules_section(actor)
