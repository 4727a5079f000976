"""Candidatures: the secretariat's triage queue, bulk actions and one application's file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import streamlit as st

from data import triage
from data.errors import InvalidInput
from data.labels import FUNDER_LABELS, SOURCE_LABELS, STATUS_LABELS
from data.models import APPLICATION_SOURCES, APPLICATION_STATUSES, FUNDERS
from data.permissions import Actor, can
from data.workflow import REFUSAL_REASONS
from ui import cache_secretariat as options
from ui import list_page as lp
from ui import state
from ui import triage_widgets as tw
from ui.components import as_plain, guarded
from ui.exports import dated_stem, download_buttons
from ui.notices import push_notice, show_notices
from ui.session import require_page
from ui.triage_file import file_panel

actor = require_page("pages/applications.py")
P = "triage"
ss = st.session_state
settings = state.settings()
engine = state.engine()
writer = can(actor.role, "triage.write")

st.title("Candidatures")
show_notices(P)


# --- Filters (in the URL) --------------------------------------------------------------


def _seed_filters(choices: tuple[triage.FormationChoice, ...]) -> None:
    """The widgets start from the URL (see ``seed_from_url``), the open file included."""
    params = tw.read_query_params()
    filters, notices = triage.filters_from_params(params, {c.slug: c.id for c in choices})
    opened, file_id = params.get("dossier", ""), None
    if opened.isdigit() and 0 < len(opened) < 19:
        file_id = int(opened)
    elif opened:
        notices += ("Paramètre « dossier » invalide dans l'adresse : ignoré.",)
    seeded = {
        "f_statuses": list(filters.statuses),
        "f_formation": filters.formation_id,
        "f_session": filters.session_id,
        "f_source": filters.source,
        "f_funding": filters.financement,
        "f_assignment": filters.assignment,
        "f_overdue": filters.overdue_only,
        "f_from": filters.received_from,
        "f_to": filters.received_to,
        "f_search": filters.search,
        "open": file_id,
    }
    lp.seed_from_url(P, seeded, notices)


def _first_row(titles: dict[int, str]) -> tuple[list[str], int | None, int | None, str]:
    top = st.columns([3, 2, 2, 2])
    statuses = top[0].multiselect(
        "Statuts (aucun : tous)",
        list(APPLICATION_STATUSES),
        format_func=STATUS_LABELS.__getitem__,
        placeholder="Tous les statuts",
        key=f"{P}_f_statuses",
    )
    formation = top[1].selectbox(
        "Formation",
        [None, *titles],
        format_func=lambda v: "Toutes les formations" if v is None else titles[v],
        placeholder="Toutes les formations",
        key=f"{P}_f_formation",
    )
    sessions: dict[int, str] = {}
    if formation is not None:
        for option in options.cached_session_options(settings.database_url, formation):
            sessions[option.id] = tw.session_label(option)
    session_ids: list[int | None] = [None, *sessions]
    if ss.get(f"{P}_f_session") not in session_ids:
        session_ids.append(ss[f"{P}_f_session"])  # from the URL
    session = top[2].selectbox(
        "Session",
        session_ids,
        format_func=lambda v: "Toutes les sessions" if v is None else sessions.get(v, f"n° {v}"),
        placeholder="Toutes les sessions",
        key=f"{P}_f_session",
    )
    assignment = top[3].selectbox(
        "Assignation",
        list(triage.ASSIGNMENTS),
        format_func=triage.ASSIGNMENTS.__getitem__,
        key=f"{P}_f_assignment",
    )
    return statuses, formation, session, assignment


def _funding_label(code: str | None) -> str:
    if code is None:
        return "Tous"
    return "Non renseigné" if code == triage.NO_FUNDING else FUNDER_LABELS[code]


def _filter_bar(choices: tuple[triage.FormationChoice, ...]) -> triage.QueueFilters:
    statuses, formation, session, assignment = _first_row({c.id: c.titre for c in choices})
    cols = st.columns([3, 2, 2, 1.5, 1.5, 1.5])
    search = cols[0].text_input("Rechercher (nom ou e-mail)", key=f"{P}_f_search", max_chars=200)
    source = cols[1].selectbox(
        "Source",
        [None, *APPLICATION_SOURCES],
        format_func=lambda v: "Toutes" if v is None else SOURCE_LABELS[v],
        placeholder="Toutes",
        key=f"{P}_f_source",
    )
    funding = cols[2].selectbox(
        "Financement",
        [None, *FUNDERS, triage.NO_FUNDING],
        format_func=_funding_label,
        placeholder="Tous",
        key=f"{P}_f_funding",
    )
    start = cols[3].date_input("Reçues du", value=None, format="DD/MM/YYYY", key=f"{P}_f_from")
    end = cols[4].date_input("au", value=None, format="DD/MM/YYYY", key=f"{P}_f_to")
    overdue = cols[5].toggle("En retard seulement", key=f"{P}_f_overdue")
    return triage.QueueFilters(
        statuses=tuple(statuses),
        formation_id=formation,
        session_id=session,
        source=source,
        financement=funding,
        assignment=assignment,
        overdue_only=overdue,
        received_from=start if isinstance(start, date) else None,
        received_to=end if isinstance(end, date) else None,
        search=search,
    )


# --- Queue ----------------------------------------------------------------------------


def _on_table_select() -> None:
    rows = ss[f"{P}_table"].selection.rows
    ids = ss.get(f"{P}_row_ids", [])
    chosen = [ids[i] for i in rows if i < len(ids)]
    ss[f"{P}_selected"] = chosen
    if len(chosen) == 1:
        ss[f"{P}_open"] = chosen[0]


def _queue(filters: triage.QueueFilters) -> triage.QueuePage:
    after, page_index = lp.page_cursor(P, filters)
    try:
        page = triage.queue_page(
            engine,
            filters,
            actor_id=actor.id,
            now=datetime.now(UTC),
            sla_hours=settings.TRIAGE_SLA_HOURS,
            tz=settings.tz,
            after=after,
            with_total=True,
        )
    except InvalidInput as exc:  # a search too short to be served by an index
        st.warning(as_plain(exc.user_message), icon=":material/search_off:")
        page = triage.QueuePage((), None, 0)
    ss[f"{P}_row_ids"] = [row.id for row in page.rows]
    ss[f"{P}_drawn"] = {row.id: row.updated_at for row in page.rows}  # as drawn
    ss[f"{P}_row_labels"] = {row.id: f"n° {row.id} — {row.applicant}" for row in page.rows}
    st.caption(tw.queue_caption(page.total, page_index, len(page.rows)))
    if not page.rows:
        st.info("Aucune candidature ne correspond à ces filtres.", icon=":material/inbox:")
        return page
    shown = tw.queue_frame(page.rows, settings.tz, sla_hours=settings.TRIAGE_SLA_HOURS)
    st.dataframe(
        shown,
        key=f"{P}_table",
        on_select=_on_table_select,
        selection_mode="multi-row",
        hide_index=True,
    )
    download_buttons(
        shown, title="Candidatures", file_stem=dated_stem("candidatures"), key=f"{P}_export"
    )
    lp.pager(P, page.next_cursor)
    return page


# --- Bulk actions -----------------------------------------------------------------------


def _selected_as_drawn() -> list[tuple[int, datetime]]:
    """The selection, each row with its updated_at as it was drawn (a change made meanwhile is refused)."""
    drawn = ss.get(f"{P}_drawn", {})
    return [(i, drawn[i]) for i in ss.get(f"{P}_selected", []) if i in drawn]


def _store_bulk(result: triage.BulkResult) -> None:
    outcomes = [(o.id, o.ok, o.message) for o in result.outcomes]
    ss[f"{P}_bulk_outcomes"] = outcomes
    tw.push_bulk_summary(P, len(result.succeeded), len(result.failed), result.summary)


def _bulk_action(
    kind: str, items: list[tuple[int, datetime]]
) -> tuple[str, Callable[[Actor], object]]:
    """The confirmation question and the write of a bulk action."""
    eng = state.engine()
    count = len(items)
    if kind == "assign":
        assignee = ss.get(f"{P}_bulk_assignee")
        names = {s.id: s.name for s in options.cached_assignable_staff(settings.database_url)}
        return (
            f"Assigner {count} candidature(s) à {names.get(assignee, '?') if assignee else '?'} ?",
            lambda actor: triage.bulk_assign(eng, actor=actor, items=items, assignee_id=assignee),
        )
    if kind == "study":
        return f"Passer {count} candidature(s) en étude ?", lambda actor: triage.bulk_move(
            eng, actor=actor, items=items, to_statut="en_etude"
        )
    if kind == "refuse":
        reason, detail = ss.get(f"{P}_bulk_reason", ""), ss.get(f"{P}_bulk_detail") or None
        return (
            f"Refuser {count} candidature(s) — {REFUSAL_REASONS.get(reason, '?')} ?",
            lambda actor: triage.bulk_refuse(
                eng, actor=actor, items=items, reason_code=reason, detail=detail
            ),
        )
    question = (
        "Répartir les nouvelles candidatures non assignées entre les membres du secrétariat ?"
    )
    return question, lambda actor: triage.distribute_unassigned(eng, actor=actor)


def _request_bulk(kind: str) -> None:
    """Button callback: ask for confirmation of a bulk action on the selection as displayed."""
    items = [] if kind == "repartir" else _selected_as_drawn()
    if kind != "repartir" and not items:
        push_notice(P, "error", "Sélectionnez au moins une candidature.")
        return
    if kind == "assign" and ss.get(f"{P}_bulk_assignee") is None:
        push_notice(P, "error", "Choisissez la personne à qui assigner la sélection.")
        return
    question, write = _bulk_action(kind, items)

    def run() -> None:
        result = tw.attempt(P, write, lambda _r: None)  # the summary below says it all
        if isinstance(result, triage.Distribution):
            _store_bulk(result.result)
            push_notice(P, "info", tw.distribution_text(result))
        elif isinstance(result, triage.BulkResult):
            _store_bulk(result)

    lines = tuple(ss.get(f"{P}_row_labels", {}).get(i, f"n° {i}") for i, _v in items[:20])
    tw.request_confirmation(P, tw.Pending(question, lines, run))


def _bulk_bar() -> None:
    lp.selection(
        P,
        ss.get(f"{P}_row_labels", {}),
        label="Sélection pour les actions groupées",
        placeholder="Cochez des lignes du tableau ou choisissez ici",
    )
    staff = options.cached_assignable_staff(settings.database_url)
    names = {s.id: s.name for s in staff}
    cols = st.columns(4)
    cols[0].selectbox(
        "Assigner à",
        list(names),
        format_func=names.__getitem__,
        key=f"{P}_bulk_assignee",
        placeholder="Personne à qui assigner" if names else "Aucun membre actif à qui assigner",
    )

    def bulk_button(column: Any, label: str, kind: str, key: str) -> None:
        column.button(label, key=f"{P}_{key}", on_click=_request_bulk, args=(kind,))

    bulk_button(cols[0], "Assigner la sélection", "assign", "bulk_assign")
    bulk_button(cols[1], "Passer la sélection en étude", "study", "bulk_study")
    cols[2].selectbox(
        "Motif de refus",
        list(REFUSAL_REASONS),
        format_func=REFUSAL_REASONS.__getitem__,
        key=f"{P}_bulk_reason",
    )
    cols[2].text_input("Précision (facultative)", key=f"{P}_bulk_detail", max_chars=500)
    bulk_button(cols[2], "Refuser la sélection", "refuse", "bulk_refuse")
    bulk_button(cols[3], "Répartir les nouvelles non assignées", "repartir", "distribute")
    outcomes = ss.get(f"{P}_bulk_outcomes")
    if outcomes:
        st.dataframe(tw.outcomes_frame(outcomes), hide_index=True)


# --- Page ----------------------------------------------------------------------------------

opened: int | None = None
with guarded(retry_key=f"{P}_retry"):
    choices = options.cached_formation_choices(settings.database_url)
    _seed_filters(choices)
    for notice in ss.pop(f"{P}_url_notices", ()):
        st.warning(as_plain(notice), icon=":material/link_off:")
    filters = _filter_bar(choices)
    _queue(filters)
    if writer:
        with st.expander("Actions groupées"):
            _bulk_bar()
    else:
        st.caption("Lecture seule : votre rôle ne permet pas de modifier les candidatures.")
    labels = ss.get(f"{P}_row_labels", {})
    open_ids: list[int | None] = [None, *labels]
    if ss.get(f"{P}_open") is not None and ss[f"{P}_open"] not in open_ids:
        open_ids.append(ss[f"{P}_open"])
    # Streamlit finds a selectbox's value again by its label: a label that changes
    # between runs (a file opened from a link, then listed with its applicant's
    # name) made it return the label itself. Once shown, a label stays as it was.
    shown = ss.setdefault(f"{P}_open_labels", {})
    for application_id, text in labels.items():
        shown.setdefault(application_id, text)
    opened = st.selectbox(
        "Ouvrir le dossier",
        open_ids,
        format_func=lambda i: "—" if i is None else shown.setdefault(i, f"n° {i}"),
        placeholder="—",
        key=f"{P}_open",
    )
    if opened is not None and not isinstance(opened, int):
        opened = None  # never a label where an id is expected
    wanted = triage.params_from_filters(filters, {c.id: c.slug for c in choices})
    tw.write_query_params(wanted | ({"dossier": str(opened)} if opened is not None else {}))

if opened is not None:
    with guarded(retry_key=f"{P}_file_retry"):
        file_panel(engine, actor, opened)

tw.confirmation_dialog(P)
