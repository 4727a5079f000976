"""One application's file on the Candidatures page: details, CV, history, notes, actions.

Every action button is wired with ``on_click`` and receives, bound when the
file was drawn, the ``updated_at`` the user saw; the data layer refuses the
action if the application changed since ("modifiée par X à HH:MM — rechargez").
Who acts is not bound: the callback asks for the current actor when it runs.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st
from sqlalchemy import Engine
from streamlit.errors import StreamlitAPIException

from data import formatting as fmt
from data import triage
from data.cv_files import read_cv
from data.errors import DashboardError
from data.labels import funder_label, source_label, status_label
from data.permissions import Actor, can
from data.workflow import REFUSAL_REASONS, REFUSED, needs_confirmation, next_statuses
from ui import cache_secretariat as options
from ui import state
from ui import triage_widgets as tw
from ui.components import as_plain
from ui.notices import push_notice

P = "triage"
ss = st.session_state


def file_panel(engine: Engine, actor: Actor, application_id: int) -> None:
    settings = state.settings()
    tz = settings.tz
    file = triage.application_file(engine, application_id)
    st.divider()
    st.header(f"Dossier n° {file.id}")
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(_details(file, tz), hide_index=True)
        st.markdown("**Motivation**")
        with st.container(height=220, border=True):
            st.text(file.motivation or "—")
    with right:
        _cv(file)
    if can(actor.role, "triage.write"):
        _actions(engine, actor, file)
    st.markdown("**Historique des statuts**")
    history = triage.application_history(engine, file.id)
    if history.empty:
        st.caption("Aucun événement enregistré (candidature ancienne).")
    else:
        with st.container(border=True, key=f"{P}_timeline"):
            for line in tw.history_lines(history, tz):
                st.text(line)
    _notes(engine, actor, file.id)


def _details(file: triage.ApplicationFile, tz) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    session = (
        f"du {fmt.day(file.session_start)} au {fmt.day(file.session_end)}"
        if file.session_id is not None
        else "—"
    )
    rows = [
        ("Candidat", file.applicant),
        ("E-mail", file.email),
        ("Téléphone", file.telephone or "—"),
        ("Commune", file.commune or "—"),
        ("Date de naissance", fmt.day(file.date_naissance)),
        ("Formation", file.formation),
        ("Session", session),
        ("Statut", status_label(file.statut)),
        ("Motif de refus", file.motif_refus or "—"),
        ("Source", source_label(file.source)),
        ("Financement", funder_label(file.financement)),
        ("Reçue le", fmt.timestamp(file.created_at, tz)),
        ("Modifiée le", fmt.timestamp(file.updated_at, tz)),
        ("Assignée à", file.assignee or "—"),
    ]
    return pd.DataFrame(rows, columns=["Champ", "Valeur"])


def _cv(file: triage.ApplicationFile) -> None:
    settings = state.settings()
    st.markdown("**CV**")
    try:
        cv = read_cv(
            settings.upload_root,
            file.cv_path,
            max_bytes=settings.CV_MAX_BYTES,
            application_id=file.id,
        )
    except DashboardError as exc:
        st.info(as_plain(exc.user_message), icon=":material/description:")
        return
    st.download_button(
        "Télécharger le CV",
        cv.data,
        file_name=cv.download_name,
        mime="application/pdf",
        key=f"{P}_cv_download_{file.id}",
        on_click="ignore",
        icon=":material/download:",
    )
    try:
        st.pdf(cv.data, height=520, key=f"{P}_cv_preview_{file.id}")
    except StreamlitAPIException:
        st.caption("Aperçu indisponible sur ce serveur : téléchargez le CV.")


# --- Actions -----------------------------------------------------------------------------
# Callbacks get the row as drawn (its id and updated_at: a change made meanwhile is
# refused, no lost update); who acts is asked when they run (tw.attempt).


def _do(action, describe=lambda r: r.message) -> None:  # type: ignore[no-untyped-def]
    tw.attempt(P, action, describe)


def _move(app_id: int, drawn_at: datetime, current: str) -> None:
    target = ss.get(f"{P}_move_target_{app_id}")
    comment = ss.get(f"{P}_move_comment_{app_id}") or None
    if target is None:
        push_notice(P, "error", "Choisissez le nouveau statut.")
        return
    engine = state.engine()

    def run() -> None:
        _do(
            lambda actor: triage.move_application(
                engine,
                actor=actor,
                application_id=app_id,
                to_statut=target,
                expected_updated_at=drawn_at,
                comment=comment,
            )
        )

    if needs_confirmation(current, target):
        title = f"Passer la candidature n° {app_id} à « {status_label(target)} » ?"
        lines = ("Ce changement ne pourra pas être annulé depuis le tableau de bord.",)
        tw.request_confirmation(P, tw.Pending(title, lines, run))
    else:
        run()


def _refuse(app_id: int, drawn_at: datetime) -> None:
    """A refusal names its reason (none is chosen in advance) and is confirmed."""
    reason = ss.get(f"{P}_refuse_reason_{app_id}")
    detail = ss.get(f"{P}_refuse_detail_{app_id}") or None
    if not reason:
        push_notice(P, "error", "Choisissez le motif du refus.")
        return
    engine = state.engine()

    def run() -> None:
        _do(
            lambda actor: triage.refuse_application(
                engine,
                actor=actor,
                application_id=app_id,
                reason_code=reason,
                detail=detail,
                expected_updated_at=drawn_at,
            )
        )

    motive = REFUSAL_REASONS[reason] + (f" — {detail}" if detail else "")
    title = f"Refuser la candidature n° {app_id} ?"
    tw.request_confirmation(P, tw.Pending(title, (f"Motif : {motive}",), run))


def _assign(app_id: int, drawn_at: datetime) -> None:
    assignee = ss.get(f"{P}_assignee_{app_id}")
    _do(
        lambda actor: triage.assign_application(
            state.engine(),
            actor=actor,
            application_id=app_id,
            assignee_id=assignee,
            expected_updated_at=drawn_at,
        )
    )


def _attach(app_id: int, drawn_at: datetime) -> None:
    session_id = ss.get(f"{P}_session_{app_id}")
    _do(
        lambda actor: triage.attach_session(
            state.engine(),
            actor=actor,
            application_id=app_id,
            session_id=session_id,
            expected_updated_at=drawn_at,
        )
    )


def _undo(app_id: int, drawn_at: datetime) -> None:
    _do(
        lambda actor: triage.undo_last_status_change(
            state.engine(),
            actor=actor,
            application_id=app_id,
            expected_updated_at=drawn_at,
        )
    )


def _actions(engine: Engine, actor: Actor, file: triage.ApplicationFile) -> None:
    drawn = (file.id, file.updated_at)
    st.markdown("**Actions**")
    cols = st.columns(4)
    with cols[0]:
        targets = [s for s in next_statuses(file.statut) if s != REFUSED]
        st.selectbox(
            "Nouveau statut",
            targets,
            format_func=status_label,
            key=f"{P}_move_target_{file.id}",
            index=None,
            placeholder="Choisir…",
            disabled=not targets,
        )
        st.text_input("Commentaire (facultatif)", key=f"{P}_move_comment_{file.id}", max_chars=500)
        st.button(
            "Appliquer",
            key=f"{P}_move_apply",
            on_click=_move,
            args=(*drawn, file.statut),
            disabled=not targets,
        )
    with cols[1]:
        can_refuse = REFUSED in next_statuses(file.statut)
        st.selectbox(
            "Motif de refus",
            list(REFUSAL_REASONS),
            index=None,
            placeholder="Choisissez un motif…",
            format_func=REFUSAL_REASONS.__getitem__,
            key=f"{P}_refuse_reason_{file.id}",
            disabled=not can_refuse,
        )
        st.text_input(
            "Précision", key=f"{P}_refuse_detail_{file.id}", max_chars=500, disabled=not can_refuse
        )
        st.button(
            "Refuser",
            key=f"{P}_refuse_apply",
            on_click=_refuse,
            args=drawn,
            disabled=not can_refuse,
        )
    with cols[2]:
        staff = options.cached_assignable_staff(state.settings().database_url)
        names = {s.id: s.name for s in staff}
        choices: list[int | None] = [None, *names]
        if file.assigned_to is not None and file.assigned_to not in names:
            choices.append(file.assigned_to)
        st.selectbox(
            "Assigner à",
            choices,
            key=f"{P}_assignee_{file.id}",
            index=choices.index(file.assigned_to),
            format_func=lambda v: "Personne" if v is None else names.get(v, file.assignee or "?"),
            placeholder="Personne",
        )
        st.button("Assigner", key=f"{P}_assign_apply", on_click=_assign, args=drawn)
    with cols[3]:
        today = datetime.now(state.settings().tz).date()
        sessions = triage.session_options(
            engine, file.formation_id, ending_from=today, include=file.session_id
        )
        labels = {s.id: tw.session_label(s) for s in sessions}
        session_choices: list[int | None] = [None, *labels]
        st.selectbox(
            "Session",
            session_choices,
            key=f"{P}_session_{file.id}",
            index=session_choices.index(file.session_id)
            if file.session_id in session_choices
            else 0,
            format_func=lambda v: "Aucune session" if v is None else labels[v],
            placeholder="Aucune session",
        )
        st.button("Rattacher", key=f"{P}_session_apply", on_click=_attach, args=drawn)
    target = file.undo_target
    if target is not None:
        st.button(
            f"Annuler le dernier changement (retour à « {status_label(target)} »)",
            key=f"{P}_undo",
            on_click=_undo,
            args=drawn,
            icon=":material/undo:",
        )


# --- Notes ---------------------------------------------------------------------------------


def _add_note(app_id: int) -> None:
    body = ss.get(f"{P}_note_body", "")
    _do(
        lambda actor: triage.add_note(
            state.engine(), actor=actor, application_id=app_id, body=body
        ),
        lambda _r: "Note ajoutée.",
    )


def _notes(engine: Engine, actor: Actor, app_id: int) -> None:
    st.markdown("**Notes internes**")
    notes = triage.application_notes(engine, app_id)
    if notes.empty:
        st.caption("Aucune note.")
    else:
        st.dataframe(tw.notes_frame(notes, state.settings().tz), hide_index=True)
    if not can(actor.role, "triage.write"):
        return
    with st.form(f"{P}_note_form", clear_on_submit=True):
        st.text_area("Nouvelle note", key=f"{P}_note_body", max_chars=2000)
        st.form_submit_button(
            "Ajouter la note", on_click=_add_note, args=(app_id,), key=f"{P}_note_add"
        )
