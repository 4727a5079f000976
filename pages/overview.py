"""Vue d'ensemble: today's live counts, then the period's headline KPIs."""

import streamlit as st

from data import formatting as fmt
from data.kpis import KpiQuery, trend_grain
from data.permissions import Actor, can
from reports.model import Column
from ui import cache, cache_kpis, kpi_titles, state
from ui import kpi_charts as charts
from ui import kpi_widgets as w
from ui.components import empty_state, guarded
from ui.filters import Filters
from ui.session import require_page, still_allowed

require_page("pages/overview.py")
st.title("Vue d'ensemble")
settings = state.settings()

MONEY_CARDS = ("revenue_invoiced", "revenue_collected")


def cards_for(actor: Actor) -> tuple[str, ...]:
    """The headline cards' KPI ids; money only for the roles that may see it (asked at
    each refresh)."""
    return (
        "applications",
        "enrolments",
        "conversion_rate",
        *(MONEY_CARDS if can(actor.role, "kpi.money") else ()),
        "placement_rate_6m_closed",
        "satisfaction_avg",
    )


TOP_COLUMNS = (Column("label", "Formation"), Column("applications", "Candidatures", "integer"))
COMPANY_COLUMNS = (
    Column("label", "Entreprise"),
    Column("offers_posted", "Offres publiées", "integer"),
    Column("hires", "Embauches", "integer"),
    Column("activity", "Activité", "integer"),
)


def today_strip() -> None:
    st.header("Aujourd'hui")
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


def headline(query: KpiQuery, filters: Filters, cards: tuple[str, ...]) -> None:
    st.header(f"Période {filters.label}")
    figures = w.compared_kpis(query)
    w.kpi_cards(cards, figures, per_row=len(cards) if len(cards) <= 5 else 4)
    w.placement_caption(figures)


def trend(query: KpiQuery) -> None:
    grain = trend_grain(query)
    rows = cache_kpis.trend(query, grain)
    if int(rows["applications"].sum()) == 0:
        empty_state(w.EMPTY_MESSAGE)
        return
    title = kpi_titles.trend(rows, charts.bucket_label(kpi_titles.peak_bucket(rows), grain))
    charts.trend_chart(rows, grain, title, key="overview_trend")


def backlog(query: KpiQuery) -> None:
    figures = cache_kpis.kpis(query)
    st.header("Tri des candidatures")
    left, right = st.columns(2)
    left.metric("Candidatures à traiter", fmt.number(figures.backlog_new), border=True)
    right.metric(
        f"Dont en retard (> {fmt.number(settings.TRIAGE_SLA_HOURS)} h)",
        fmt.number(figures.backlog_overdue),
        border=True,
    )


def top_formations(query: KpiQuery) -> None:
    rows = cache_kpis.formations_top(query, 5)
    st.header("Formations les plus demandées")
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    charts.bar_chart(
        rows,
        "applications",
        kind="count",
        name="Candidatures",
        dimension="formation",
        title=kpi_titles.top_formations(rows),
        key="overview_top_chart",
    )
    w.table_block(
        rows,
        TOP_COLUMNS,
        title="Formations les plus demandées",
        name="formations-les-plus-demandees",
        query=query,
        key="overview_top",
    )
    chosen = w.choose(
        "Voir les candidatures de la formation",
        [(None, "—"), *zip(rows["key"], rows["label"], strict=True)],
        key="overview_drill_formation",
    )
    if chosen is not None:
        w.applications_drilldown(
            w.with_formation(query, chosen), reached=None, key="overview_drill"
        )


def companies(query: KpiQuery) -> None:
    rows = cache_kpis.companies_most_active(query, 10)
    st.header("Entreprises les plus actives")
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    st.text(kpi_titles.companies(rows))
    w.table_block(
        rows,
        COMPANY_COLUMNS,
        title="Entreprises les plus actives",
        name="entreprises-actives",
        query=query,
        key="overview_companies",
    )


@st.fragment(run_every=w.live_interval())
def live_figures(filters: Filters) -> None:
    actor = still_allowed("pages/overview.py")  # every refresh: is the session still live?
    w.updated_caption()
    with guarded(retry_key="overview_today_retry"):
        today_strip()
    query = w.kpi_query(filters)
    with guarded(retry_key="overview_headline_retry"):
        headline(query, filters, cards_for(actor))
    with guarded(retry_key="overview_trend_retry"):
        trend(query)
    with guarded(retry_key="overview_backlog_retry"):
        backlog(query)
    left, right = st.columns(2)
    with left, guarded(retry_key="overview_top_retry"):
        top_formations(query)
    with right, guarded(retry_key="overview_companies_retry"):
        companies(query)


live_figures(w.screen_filters("overview"))
