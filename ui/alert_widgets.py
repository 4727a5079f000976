"""Widgets of the notification centre and of « Alertes »: the sidebar badge, the notice
cards, their buttons (each write asks for the current actor when it runs), tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from data import formatting as fmt
from data.alerts import centre
from data.alerts import lifecycle as lc
from data.alerts.evaluate import MODE_LABELS
from data.alerts.rules import RULE_KINDS
from data.permissions import ROLE_LABELS, Actor, can
from ui import state
from ui import triage_widgets as tw
from ui.components import as_plain
from ui.navigation import PAGES

P: Final = "notif"
NOTIFICATIONS_PAGE: Final = "pages/notifications.py"
PARAM_LABELS: Final = {
    "hours": "Heures",
    "days": "Jours",
    "minutes": "Minutes",
    "min_rate": "Taux minimal (0 à 1)",
    "amount": "Montant (€)",
    "max_open": "Candidatures ouvertes, au plus",
    "max_overdue": "Candidatures hors délai, au plus",
    "lookback_hours": "Première lecture : heures en arrière",
    "value": "Objectif",
    "window_days": "Fenêtre (jours)",
}


def unread_badge(actor: Actor) -> None:
    """The signed-in user's unread count, in the sidebar of every page."""
    if not can(actor.role, centre.VIEW):
        return
    try:
        count = centre.unread_count(state.engine(), actor.id)
    except Exception:  # noqa: BLE001 - a badge never breaks a page
        return
    label = (
        "Aucune notification non lue"
        if count == 0
        else f"{fmt.number(count)} notification{'s' if count > 1 else ''} non lue"
        + ("s" if count > 1 else "")
    )
    st.sidebar.badge(
        label, icon=":material/notifications:", color="red" if count else "gray", width="stretch"
    )


def notifications_title(count: int) -> str:
    return f"Notifications ({fmt.number(count)})" if count else "Notifications"


def split_link(link: str | None) -> tuple[str | None, dict[str, str]]:
    """A notice's link (``candidatures?dossier=42``) as a page path and query parameters."""
    if not link:
        return None, {}
    url_path, _, query = link.partition("?")
    for page in PAGES:
        if page.url_path == url_path:
            return page.path, dict(parse_qsl(query))
    return None, {}


def kind_options() -> dict[str | None, str]:
    return {None: "Tous les types"} | {kind: spec.label for kind, spec in RULE_KINDS.items()}


def state_options() -> dict[str | None, str]:
    return {None: "Tous les états"} | dict(lc.STATE_LABELS)


def is_unread(row: Any) -> bool:
    return row.read_at is None or bool(pd.isna(row.read_at))


def notice_title(title: str, *, unread: bool) -> str:
    """A notice's title as markdown: plain text (never a link), bold while unread."""
    return f"**{as_plain(title)}**" if unread else as_plain(title)


def notice_caption(row: Any, tz: ZoneInfo) -> str:
    parts = [
        fmt.timestamp(row.created_at, tz),
        lc.NOTICE_LABELS.get(row.kind, row.kind),
        f"alerte « {lc.STATE_LABELS.get(row.alert_state, row.alert_state)} »",
    ]
    if row.alert_state == lc.SNOOZED and row.snoozed_until is not None:
        parts.append(f"jusqu'au {fmt.timestamp(row.snoozed_until, tz)}")
    if is_unread(row):
        parts.insert(0, "Non lue")
    return " · ".join(parts)


# --- Writes (callbacks) -------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def open_notice(notice_id: int, link: str | None) -> None:
    """Mark the notice read, then open its subject."""
    mark_read(notice_id)
    st.session_state[f"{P}_goto"] = link


def follow_pending_link() -> None:
    """After a click on « Ouvrir »: switch to the subject's page (outside the callback)."""
    link = st.session_state.pop(f"{P}_goto", None)
    if link is None:
        return
    path, params = split_link(link)
    if path is not None:
        st.switch_page(path, query_params=params)


def mark_read(notice_id: int) -> None:
    tw.attempt(
        P,
        lambda a: centre.mark_read(
            state.engine(), actor=a, notification_ids=[notice_id], now=_now()
        ),
        lambda _: None,
    )


def mark_all_read() -> None:
    tw.attempt(
        P,
        lambda a: centre.mark_all_read(state.engine(), actor=a, now=_now()),
        lambda n: f"{fmt.number(n)} notification(s) marquée(s) comme lue(s).",
    )


def acknowledge(alert_id: int) -> None:
    tw.attempt(
        P,
        lambda a: centre.acknowledge(state.engine(), actor=a, alert_id=alert_id, now=_now()),
        lambda _: "Alerte prise en compte : plus de rappel.",
    )


def snooze(alert_id: int, key: str) -> None:
    choice = st.session_state.get(key, "1h")
    tz = state.settings().tz

    def action(a: Actor) -> None:
        now = _now()
        centre.snooze(
            state.engine(),
            actor=a,
            alert_id=alert_id,
            until=centre.snooze_until(choice, now, tz),
            now=now,
        )

    tw.attempt(P, action, lambda _: "Alerte reportée.")


def snooze_to_date(alert_id: int, key: str) -> None:
    day = st.session_state.get(key)
    if not isinstance(day, date):
        return
    tz = state.settings().tz
    tw.attempt(
        P,
        lambda a: centre.snooze(
            state.engine(),
            actor=a,
            alert_id=alert_id,
            until=centre.snooze_to_day(day, tz),
            now=_now(),
        ),
        lambda _: "Alerte reportée.",
    )


def save_preference(kind: str) -> None:
    mode = st.session_state.get(f"{P}_pref_{kind}", "app")
    hour = int(st.session_state.get(f"{P}_pref_hour", 8))
    tw.attempt(
        P,
        lambda a: centre.set_preference(
            state.engine(), actor=a, rule_kind=kind, mode=mode, digest_hour=hour
        ),
        lambda _: "Préférence enregistrée.",
    )


def save_digest_hour() -> None:
    hour = int(st.session_state.get(f"{P}_pref_hour", 8))
    tw.attempt(
        P,
        lambda a: centre.set_digest_hour(state.engine(), actor=a, hour=hour),
        lambda _: "Heure du résumé enregistrée.",
    )


def mode_label(mode: str) -> str:
    return MODE_LABELS.get(mode, mode)


# --- « Alertes » -------------------------------------------------------------------------


def open_alerts_frame(alerts: pd.DataFrame, now: datetime, tz: ZoneInfo) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "N°": alerts["id"],
            "Règle": alerts["rule"],
            "Sujet": alerts["subject_label"],
            "État": [lc.STATE_LABELS.get(s, s) for s in alerts["state"]],
            "Ouverte le": [fmt.timestamp(t, tz) for t in alerts["opened_at"]],
            "Depuis": [fmt.elapsed((now - t).total_seconds()) for t in alerts["opened_at"]],
        }
    )


def history_frame(history: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Quand": [fmt.timestamp(t, tz) for t in history["at"]],
            "De": [lc.STATE_LABELS.get(s, "—") if s else "—" for s in history["from_state"]],
            "Vers": [lc.STATE_LABELS.get(s, s) for s in history["to_state"]],
            "Par": [
                a if isinstance(a, str) else "Évaluation automatique" for a in history["actor"]
            ],
            "Commentaire": [c if isinstance(c, str) else "" for c in history["comment"]],
        }
    )


def params_text(params: dict[str, Any]) -> str:
    shown = []
    for name, value in (params or {}).items():
        if value is None or name in ("kpi_id", "direction", "formation"):
            continue
        shown.append(
            f"{PARAM_LABELS.get(name, name)} : {fmt.number(value, decimals=2 if isinstance(value, float) and value < 1 else 0)}"
        )
    return " ; ".join(shown) or "—"


def numeric_params(params: dict[str, Any]) -> dict[str, float]:
    """The thresholds of a rule a person may edit (its numbers)."""
    return {
        name: float(value)
        for name, value in (params or {}).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def rules_frame(rules: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    def last(row: Any) -> str:
        if row.last_evaluated_at is None or pd.isna(row.last_evaluated_at):
            return "jamais"
        outcome = "en échec" if row.last_outcome == "error" else "réussie"
        return (
            f"{fmt.timestamp(row.last_evaluated_at, tz)} ({fmt.number(row.last_duration_ms)} ms, "
            f"{outcome})"
        )

    return pd.DataFrame(
        {
            "Règle": rules["title"],
            "Seuils": [params_text(p) for p in rules["params"]],
            "Destinataires": [", ".join(ROLE_LABELS.get(x, x) for x in r) for r in rules["roles"]],
            "En pause": ["oui" if p else "non" for p in rules["paused"]],
            "Dernière évaluation": [last(row) for row in rules.itertuples()],
            "Erreur": [e if isinstance(e, str) else "" for e in rules["last_error"]],
        }
    )


def save_rule(rule_id: int, numeric: tuple[str, ...]) -> None:
    params: dict[str, Any] = {}
    for name in numeric:
        value = float(st.session_state.get(f"alerts_rule_{rule_id}_{name}", 0.0))
        params[name] = int(value) if value.is_integer() and name != "min_rate" else value
    paused = bool(st.session_state.get(f"alerts_rule_{rule_id}_paused"))
    roles = list(st.session_state.get(f"alerts_rule_{rule_id}_roles", []))
    tw.attempt(
        "alerts",
        lambda a: centre.update_rule(
            state.engine(), actor=a, rule_id=rule_id, params=params, paused=paused, roles=roles
        ),
        lambda _: "Règle enregistrée ; elle s'applique à la prochaine évaluation.",
    )


def add_goal() -> None:
    ss = st.session_state
    tw.attempt(
        "alerts",
        lambda a: centre.add_kpi_goal(
            state.engine(),
            actor=a,
            kpi_id=ss.get("alerts_goal_kpi", ""),
            direction=ss.get("alerts_goal_direction", "below"),
            value=float(ss.get("alerts_goal_value", 0.0)),
            window_days=int(ss.get("alerts_goal_window", 30)),
            formation=ss.get("alerts_goal_formation") or None,
        ),
        lambda _: "Ligne d'objectif ajoutée.",
    )


def workload_frame(workload: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    """« Charge de l'équipe » for the screen."""
    return pd.DataFrame(
        {
            "Membre": workload["name"],
            "Candidatures ouvertes": workload["open"],
            "Hors délai": workload["overdue"],
            "Plus ancienne reçue le": [
                fmt.timestamp(t, tz) if t is not None and not pd.isna(t) else "—"
                for t in workload["oldest"]
            ],
            "Décisions (7 jours)": workload["decisions_7d"],
        }
    )
