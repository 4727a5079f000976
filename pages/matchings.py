"""Matchings: review the website's candidate <-> job-offer suggestions."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from data import matching
from data.models import MATCH_STATUSES
from data.permissions import Actor, can
from data.workflow import MATCH_ACTION_LABELS, match_label, next_match_statuses
from ui import cache, state
from ui import cache_secretariat as options
from ui import list_page as lp
from ui import triage_widgets as tw
from ui.components import as_plain, guarded
from ui.exports import dated_stem, download_buttons
from ui.notices import push_notice, show_notices
from ui.session import require_page

actor = require_page("pages/matchings.py")
P = "matchings"
ss = st.session_state
settings = state.settings()
engine = state.engine()
writer = can(actor.role, "matching.write")

st.title("Matchings")
show_notices(P)


def _seed_filters(choices: matching.FilterOptions) -> None:
    """The widgets start from the URL (see ``seed_from_url``)."""
    filters, notices = matching.filters_from_params(tw.read_query_params(), choices)
    seeded = {
        "f_statuses": list(filters.statuses),
        "f_formation": filters.formation_id,
        "f_offer": filters.offre_id,
        "f_company": filters.entreprise_id,
        "f_score": int(filters.min_score),
    }
    lp.seed_from_url(P, seeded, notices)


def _filter_bar(choices: matching.FilterOptions) -> matching.MatchFilters:
    formations, companies = dict(choices.formations), dict(choices.companies)
    current = ss.get(f"{P}_f_company")
    company_ids: list[int | None] = [None, *companies]
    if current is not None and current not in companies:
        company_ids.append(current)  # from the URL: not among the busiest
    cols = st.columns([2, 2, 2, 2, 1.5])
    statuses = cols[0].multiselect(
        "Statuts (aucun : tous)",
        list(MATCH_STATUSES),
        format_func=match_label,
        placeholder="Tous les statuts",
        key=f"{P}_f_statuses",
    )
    formation = cols[1].selectbox(
        "Formation du candidat",
        [None, *formations],
        format_func=lambda v: "Toutes" if v is None else formations[v],
        placeholder="Toutes",
        key=f"{P}_f_formation",
    )
    company = cols[2].selectbox(
        "Entreprise",
        company_ids,
        format_func=lambda v: "Toutes" if v is None else companies.get(v, f"Entreprise n° {v}"),
        placeholder="Toutes",
        key=f"{P}_f_company",
    )
    offers = dict(matching.company_offers(engine, company)) if company is not None else {}
    offer_ids: list[int | None] = [None, *offers]
    if ss.get(f"{P}_f_offer") not in offer_ids:
        if company is None and ss.get(f"{P}_f_offer") is not None:
            offer_ids.append(ss[f"{P}_f_offer"])  # from the URL, without its company
        else:
            ss.pop(f"{P}_f_offer", None)
    offer = cols[3].selectbox(
        "Offre",
        offer_ids,
        format_func=lambda v: "Toutes" if v is None else offers.get(v, f"Offre n° {v}"),
        placeholder="Toutes",
        key=f"{P}_f_offer",
        help="Choisissez d'abord l'entreprise.",
    )
    score = cols[4].slider("Score minimum", 0, 100, step=5, key=f"{P}_f_score")
    return matching.MatchFilters(tuple(statuses), formation, offer, company, float(score))


def _breakdown_chart(breakdown: matching.Breakdown) -> None:
    figure = tw.match_breakdown_figure(breakdown)
    if figure is None:
        st.caption("Pas de critère chiffré dans le détail du score.")
    else:
        st.plotly_chart(figure, key=f"{P}_chart")
    if breakdown.facts:
        st.dataframe(tw.facts_frame(breakdown.facts), hide_index=True)


def _decide(match_id: int, statut: str, decided_at: datetime | None) -> None:
    decision = ss.get(f"{P}_decision_{match_id}")
    if decision is None:
        push_notice(P, "error", "Choisissez une décision.")
        return
    eng = state.engine()

    def run() -> None:
        tw.attempt(
            P,
            lambda actor: matching.decide_match(
                eng,
                actor=actor,
                match_id=match_id,
                decision=decision,
                expected_statut=statut,
                expected_decided_at=decided_at,
            ),
            lambda r: r.message,
        )

    if decision in ("embauche", "rejete"):
        title = f"Marquer le matching n° {match_id} « {match_label(decision)} » ?"
        tw.request_confirmation(P, tw.Pending(title, ("Cette décision est définitive.",), run))
    else:
        run()


def _request_bulk(decision: str) -> None:
    drawn = ss.get(f"{P}_drawn", {})
    items = [drawn[i] for i in ss.get(f"{P}_selected", []) if i in drawn]
    if not items:
        push_notice(P, "error", "Sélectionnez au moins un matching.")
        return
    eng = state.engine()

    def run() -> None:
        def bulk(actor: Actor) -> None:
            result = matching.bulk_decide(eng, actor=actor, items=items, decision=decision)
            ss[f"{P}_bulk_outcomes"] = list(result.outcomes)
            tw.push_bulk_summary(P, len(result.succeeded), len(result.failed), result.summary)

        tw.attempt(P, bulk, lambda _r: None)  # the summary says it all

    title = f"{MATCH_ACTION_LABELS[decision]} {len(items)} matching(s) ?"
    lines = tuple(f"n° {item[0]}" for item in items[:20])
    tw.request_confirmation(P, tw.Pending(title, lines, run))


def _detail(row: matching.MatchRow) -> None:
    st.divider()
    st.header(f"Matching n° {row.id}")
    left, right = st.columns([2, 3])
    left.dataframe(tw.match_details_frame(row, settings.tz), hide_index=True)
    with right:
        titles = {o.slug: o.titre for o in cache.cached_formation_options(settings.database_url)}
        _breakdown_chart(matching.score_breakdown(row.criteres, titles))
    if not writer:
        return
    allowed = list(next_match_statuses(row.statut))
    if not allowed:
        st.caption("Décision définitive : plus d'action possible sur ce matching.")
        return
    cols = st.columns([2, 1])
    cols[0].selectbox(
        "Décision",
        allowed,
        format_func=MATCH_ACTION_LABELS.__getitem__,
        index=None,
        placeholder="Choisir…",
        key=f"{P}_decision_{row.id}",
    )
    cols[1].button(
        "Enregistrer la décision",
        key=f"{P}_decide_{row.id}",
        on_click=_decide,
        args=(row.id, row.statut, row.decided_at),
    )


with guarded(retry_key=f"{P}_retry"):
    choices = options.cached_match_filter_options(settings.database_url)
    _seed_filters(choices)
    for notice in ss.pop(f"{P}_url_notices", ()):
        st.warning(as_plain(notice), icon=":material/link_off:")
    filters = _filter_bar(choices)
    tw.write_query_params(matching.params_from_filters(filters))
    after = lp.page_cursor(P, filters)[0]
    page = matching.match_page(engine, filters, after=after)
    rows = {row.id: row for row in page.rows}
    ss[f"{P}_drawn"] = {row.id: (row.id, row.statut, row.decided_at) for row in page.rows}
    if not page.rows:
        st.info("Aucun matching ne correspond à ces filtres.", icon=":material/inbox:")
    else:
        shown = tw.matches_frame(page.rows)
        st.dataframe(shown, hide_index=True)
        download_buttons(
            shown, title="Matchings", file_stem=dated_stem("matchings"), key=f"{P}_export"
        )
        lp.pager(P, page.next_cursor)
    labels = {row.id: f"n° {row.id} — {row.candidate} — {row.offer}" for row in page.rows}
    if writer and page.rows:
        with st.expander("Décisions groupées"):
            lp.selection(P, labels, label="Sélection", placeholder="Choisissez des matchings")
            bulk_cols = st.columns(2)
            bulk_cols[0].button(
                "Valider la sélection",
                key=f"{P}_bulk_valide",
                on_click=_request_bulk,
                args=("valide",),
            )
            bulk_cols[1].button(
                "Rejeter la sélection",
                key=f"{P}_bulk_rejete",
                on_click=_request_bulk,
                args=("rejete",),
            )
            if ss.get(f"{P}_bulk_outcomes"):
                st.dataframe(tw.outcomes_frame(ss[f"{P}_bulk_outcomes"]), hide_index=True)
    open_ids: list[int | None] = [None, *labels]
    if ss.get(f"{P}_open") not in open_ids:
        ss.pop(f"{P}_open", None)
    opened = st.selectbox(
        "Examiner un matching",
        open_ids,
        format_func=lambda i: "—" if i is None else labels[i],
        placeholder="—",
        key=f"{P}_open",
    )
    if opened is not None:
        _detail(rows[opened])

tw.confirmation_dialog(P)
