"""Shared pieces of the secretariat's screens (Candidatures, Matchings, Messages).

- outcome notices that show database text as plain text (never markdown);
- a confirmation dialog for irreversible and bulk actions;
- the display frames of the queue, the history, notes and bulk outcomes,
  formatted by :mod:`data.formatting`;
- URL parameters written back only when they change.

Writes are triggered from widget callbacks that receive, as arguments bound
when the screen was drawn, the version of the row the user saw: that is what
makes "no lost update" hold across Streamlit's reruns. Who acts is never bound
then: :func:`attempt` asks for the current actor when the write runs.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data import formatting as fmt
from data.contacts import ContactRow
from data.errors import DashboardError
from data.labels import funder_label, source_label, status_label
from data.matching import Breakdown, MatchRow
from data.permissions import Actor
from data.triage import Distribution, QueueRow, SessionOption
from data.triage.queue import COUNT_CAP, PAGE_SIZE
from data.workflow import match_label
from ui.components import GENERIC_ERROR
from ui.notices import Kind, push_notice
from ui.session import current_actor

log = logging.getLogger(__name__)


def attempt(
    prefix: str, action: Callable[[Actor], Any], describe: Callable[[Any], str | None]
) -> Any:
    """Run a write as the current actor, asked now (:func:`ui.session.current_actor`);
    queue a success notice (``describe(result)``, none when it gives None) or the
    error's message. A session that has ended writes nothing: the next full run
    shows the login form."""
    actor = current_actor()
    if actor is None:
        return None
    try:
        result = action(actor)
    except DashboardError as exc:
        push_notice(prefix, "error", exc.user_message)
        return None
    except Exception:  # never a traceback on screen (logged)
        log.exception("write failed on page %s", prefix)
        push_notice(prefix, "error", GENERIC_ERROR)
        return None
    warning = getattr(result, "warning", None)
    described = describe(result)
    if described is not None:
        push_notice(prefix, "success", described)
    if warning:
        push_notice(prefix, "warning", warning)
    return result


def push_bulk_summary(prefix: str, succeeded: int, failed: int, summary: str) -> None:
    """One notice for a bulk action, headed by what happened: all done, some rows
    refused, or nothing done."""
    kind: Kind = "success" if not failed else ("warning" if succeeded else "error")
    push_notice(prefix, kind, summary)


# --- Confirmation dialog ---------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """An action waiting for confirmation: what to show, and what to run."""

    title: str
    lines: tuple[str, ...]
    run: Callable[[], None]  # performs the write and queues notices


def request_confirmation(prefix: str, pending: Pending) -> None:
    st.session_state[f"{prefix}_pending"] = pending


def _forget(prefix: str) -> None:
    st.session_state.pop(f"{prefix}_pending", None)


def confirmation_dialog(prefix: str) -> None:
    """Open the dialog of the pending action, if any (call once per run, at the end)."""
    pending: Pending | None = st.session_state.get(f"{prefix}_pending")
    if pending is None:
        return

    @st.dialog("Confirmation", on_dismiss=lambda: _forget(prefix))
    def _dialog() -> None:
        st.text(pending.title)
        for line in pending.lines:
            st.text(line)
        left, right = st.columns(2)
        if left.button("Confirmer", type="primary", key=f"{prefix}_confirm"):
            _forget(prefix)
            pending.run()  # asks for the current actor: a dialog's rerun skips the gate
            st.rerun()  # the whole app: the login form if the session has ended
        if right.button("Annuler", key=f"{prefix}_cancel"):
            _forget(prefix)
            st.rerun()

    _dialog()


# --- Frames ------------------------------------------------------------------------


def queue_frame(rows: Sequence[QueueRow], tz: ZoneInfo, *, sla_hours: float) -> pd.DataFrame:
    """The queue as shown: French labels, formatted ages and dates, an SLA badge."""
    records = [
        {
            "N°": row.id,
            "Reçue le": fmt.timestamp(row.created_at, tz),
            "Âge": fmt.hours(row.age_hours),
            "Délai": sla_badge(row, sla_hours),
            "Candidat": row.applicant,
            "E-mail": row.email,
            "Formation": row.formation,
            "Statut": status_label(row.statut),
            "Source": source_label(row.source),
            "Financement": funder_label(row.financement),
            "Assignée à": row.assignee or "—",
        }
        for row in rows
    ]
    return pd.DataFrame.from_records(records, columns=QUEUE_COLUMNS)


QUEUE_COLUMNS = (
    "N°",
    "Reçue le",
    "Âge",
    "Délai",
    "Candidat",
    "E-mail",
    "Formation",
    "Statut",
    "Source",
    "Financement",
    "Assignée à",
)


HANDLED: Final = "Prise en charge"


def sla_badge(row: QueueRow, sla_hours: float) -> str:
    """What the first-response deadline says of a row: late by how long, time left,
    or that the application is past that step (every row says something)."""
    if row.statut != "nouvelle":
        return HANDLED
    if row.overdue:
        return f"En retard de {fmt.hours(max(row.age_hours - sla_hours, 0))}"
    return f"Reste {fmt.hours(max(sla_hours - row.age_hours, 0))}"


def history_lines(history: pd.DataFrame, tz: ZoneInfo) -> list[str]:
    """The status timeline, oldest first, one plain-text line per event."""
    lines = []
    for changed_at, before, after, by, comment in history.itertuples(index=False):
        if before is None:
            change = f"Création — {status_label(after)}"
        elif before == after:
            change = f"{status_label(after)} (statut inchangé)"
        else:
            change = f"{status_label(before)} → {status_label(after)}"
        who = by or "site web / candidat"
        line = f"{fmt.timestamp(changed_at, tz)} · {change} · par {who}"
        lines.append(f"{line} · {comment}" if comment else line)
    return lines


def notes_frame(notes: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Date": [fmt.timestamp(value, tz) for value in notes["created_at"]],
            "Auteur": [v or "—" for v in notes["author"]],
            "Note": list(notes["body"]),
        }
    )


def outcomes_frame(outcomes: Sequence[tuple[int, bool, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "N°": [o[0] for o in outcomes],
            "Résultat": ["Fait" if o[1] else "Échec" for o in outcomes],
            "Détail": [o[2] for o in outcomes],
        }
    )


def plot_text(value: str) -> str:
    """Text for a plotly label: its pseudo-HTML is escaped, so it shows as typed."""
    return html.escape(value, quote=False)


# --- URL -------------------------------------------------------------------------


def write_query_params(wanted: Mapping[str, str]) -> None:
    """Put the filters in the URL (only when they differ, to avoid needless reruns)."""
    if dict(st.query_params.to_dict()) != dict(wanted):
        st.query_params.from_dict(dict(wanted))


def read_query_params() -> dict[str, str]:
    return {key: str(value) for key, value in st.query_params.to_dict().items()}


def session_label(option: SessionOption) -> str:
    """``du 05/01/2026 au 30/06/2026 — 10/12 places`` (``complète`` when full)."""
    places = f"{option.taken}/{option.places} places"
    full = " — complète" if option.full else ""
    return f"du {fmt.day(option.date_debut)} au {fmt.day(option.date_fin)} — {places}{full}"


def queue_caption(total: int | None, page_index: int, shown: int) -> str:
    if total is None:
        count = "De nombreuses"
    else:
        count = f"Plus de {fmt.number(COUNT_CAP)}" if total > COUNT_CAP else fmt.number(total)
    first = page_index * PAGE_SIZE + 1 if shown else 0
    last = page_index * PAGE_SIZE + shown
    return f"{count} candidature(s) — affichées : {fmt.number(first)} à {fmt.number(last)}, les plus anciennes d'abord."


def distribution_text(distribution: Distribution) -> str:
    shares = ", ".join(f"{name} : {count}" for name, count in distribution.per_member)
    rest = (
        f" Il reste {fmt.number(distribution.remaining)} candidature(s) à répartir."
        if distribution.remaining
        else ""
    )
    return f"Répartition — {shares}.{rest}"


# --- Matchings ---------------------------------------------------------------------------


def matches_frame(rows: Sequence[MatchRow]) -> pd.DataFrame:
    records = [
        {
            "N°": row.id,
            "Score": fmt.number(row.score, decimals=1),
            "Candidat": row.candidate,
            "Offre": row.offer,
            "Entreprise": row.company,
            "Contrat": CONTRACT_LABELS.get(row.contract, row.contract),
            "Lieu": row.place or "—",
            "Statut": match_label(row.statut),
        }
        for row in rows
    ]
    columns = ("N°", "Score", "Candidat", "Offre", "Entreprise", "Contrat", "Lieu", "Statut")
    return pd.DataFrame.from_records(records, columns=columns)


def match_details_frame(row: MatchRow, tz: ZoneInfo) -> pd.DataFrame:
    rows = [
        ("Candidat", row.candidate),
        ("E-mail", row.candidate_email),
        ("Offre", row.offer),
        ("Entreprise", row.company),
        ("Contrat", CONTRACT_LABELS.get(row.contract, row.contract)),
        ("Lieu", row.place or "—"),
        ("Score", fmt.number(row.score, decimals=1)),
        ("Statut", match_label(row.statut)),
        ("Proposé le", fmt.timestamp(row.date_match, tz)),
        ("Décidé le", fmt.timestamp(row.decided_at, tz)),
        ("Décidé par", row.decided_by or "—"),
    ]
    return pd.DataFrame(rows, columns=["Champ", "Valeur"])


def facts_frame(facts: Sequence[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(list(facts), columns=["Critère", "Valeur"])


CONTRACT_LABELS: Mapping[str, str] = {
    "cdi": "CDI",
    "cdd": "CDD",
    "interim": "Intérim",
    "alternance": "Alternance",
    "stage": "Stage",
}


# --- Messages ----------------------------------------------------------------------------


def contacts_frame(rows: Sequence[ContactRow], tz: ZoneInfo) -> pd.DataFrame:
    records = [
        {
            "N°": row.id,
            "Reçu le": fmt.timestamp(row.created_at, tz),
            "État": "Traité" if row.treated else "À traiter",
            "Nom": row.nom,
            "E-mail": row.email,
            "Sujet": row.sujet,
            "Traité par": row.traite_par or "—",
        }
        for row in rows
    ]
    columns = ("N°", "Reçu le", "État", "Nom", "E-mail", "Sujet", "Traité par")
    return pd.DataFrame.from_records(records, columns=columns)


def contact_details_frame(row: ContactRow, tz: ZoneInfo) -> pd.DataFrame:
    rows = [
        ("Nom", row.nom),
        ("E-mail", row.email),
        ("Téléphone", row.telephone or "—"),
        ("Sujet", row.sujet),
        ("Reçu le", fmt.timestamp(row.created_at, tz)),
        ("Traité le", fmt.timestamp(row.traite_at, tz)),
        ("Traité par", row.traite_par or "—"),
    ]
    return pd.DataFrame(rows, columns=["Champ", "Valeur"])


def match_breakdown_figure(breakdown: Breakdown) -> go.Figure | None:
    """ "Pourquoi ce matching": one horizontal bar per scored criterion, in percent;
    None when the score's detail holds no figure."""
    if not breakdown.bars:
        return None
    labels = [plot_text(label) for label, _value in breakdown.bars]
    values = [value for _label, value in breakdown.bars]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            text=[fmt.percent(v / 100, decimals=0) for v in values],
            textposition="auto",
            hoverinfo="skip",
        )
    )
    figure.update_layout(
        title="Pourquoi ce matching",
        xaxis={"range": [0, 100], "title": "%"},
        height=80 + 40 * len(values),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        separators=", ",
    )
    return figure
