"""Widgets of the "État du système" page: tables in French, the SMTP test button."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from data import formatting as fmt
from data.health import (
    DEGRADED,
    DOWN,
    STATUS_LABELS,
    Health,
    SchedulerView,
)
from data.permissions import require
from reports.mail import DeliveryError, check_smtp
from ui import state
from ui.components import as_plain
from ui.session import current_actor

KEY = "systeme"
CAPABILITY = "system.view"
SMTP_RESULT = f"{KEY}_smtp_result"


def _when(value: Any, tz: ZoneInfo) -> str:
    return fmt.timestamp(None if value is None or pd.isna(value) else value, tz)


def overall_banner(health: Health) -> None:
    if health.status == DOWN:
        st.error("Hors service : la base principale ne répond pas.", icon=":material/error:")
    elif health.status == DEGRADED:
        count = sum(1 for c in health.checks if c.status != "ok")
        st.warning(
            f"Dégradé : {count} point(s) demandent une intervention.", icon=":material/warning:"
        )
    else:
        st.success("Tout fonctionne.", icon=":material/check_circle:")


def checks_table(health: Health) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "État": [STATUS_LABELS[c.status] for c in health.checks],
            "Vérification": [c.label for c in health.checks],
            "Détail": [c.detail for c in health.checks],
        }
    )


def schedulers_table(
    views: tuple[SchedulerView, ...], holder: str | None, tz: ZoneInfo
) -> pd.DataFrame:
    def role(view: SchedulerView) -> str:
        if view.stale:
            return "Ne répond plus"
        if view.worker == holder:
            return "Actif"
        return "Bail expiré" if view.active else "En attente"

    return pd.DataFrame(
        {
            "Processus": [v.worker for v in views],
            "Rôle": [role(v) for v in views],
            "Dernier signe de vie": [_when(v.seen_at, tz) for v in views],
            "Il y a": [fmt.elapsed(v.silent_for.total_seconds()) for v in views],
            "Démarré le": [_when(v.started_at, tz) for v in views],
        }
    )


def last_runs_table(runs: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Planification": runs["name"],
            "En pause": ["oui" if p else "non" for p in runs["paused"]],
            "Dernier envoi prévu le": [_when(v, tz) for v in runs["due_at"]],
            "État": runs["status_label"].fillna("Aucun envoi"),
            "Terminé le": [_when(v, tz) for v in runs["finished_at"]],
            "Erreur": runs["error"].fillna(""),
        }
    )


def waiting_table(waiting: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Envoi": waiting["run_id"],
            "Planification": waiting["name"],
            "Prévu le": [_when(v, tz) for v in waiting["due_at"]],
            "Destinataire": waiting["recipient"],
            "État": waiting["status_label"],
            "Erreur": waiting["last_error"].fillna(""),
        }
    )


def _test_smtp() -> None:
    """The button's callback: who is acting (and the settings) are read when it runs."""
    actor = current_actor()
    if actor is None:
        return
    require(actor, CAPABILITY)
    try:
        st.session_state[SMTP_RESULT] = (True, check_smtp(state.settings()))
    except DeliveryError as exc:
        st.session_state[SMTP_RESULT] = (False, exc.message)


def smtp_test() -> None:
    st.button(
        "Tester la connexion SMTP",
        icon=":material/outgoing_mail:",
        key=f"{KEY}_smtp_test",
        on_click=_test_smtp,
    )
    result = st.session_state.pop(SMTP_RESULT, None)
    if result is None:
        return
    ok, message = result
    if ok:
        st.success(as_plain(message), icon=":material/check_circle:")
    else:
        st.error(as_plain(message), icon=":material/error:")
