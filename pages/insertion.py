"""Insertion et qualité: placement at 6 months, completion, satisfaction, session fill."""

import streamlit as st

from data.kpis import Compared, KpiQuery, closed_cohort_text
from reports.model import Column
from reports.tables import COMPLETION_COLUMNS, PLACEMENT_COLUMNS, SATISFACTION_COLUMNS
from ui import cache_kpis, kpi_titles
from ui import kpi_charts as charts
from ui import kpi_widgets as w
from ui.components import empty_state, guarded
from ui.filters import Filters
from ui.session import require_page, still_allowed

require_page("pages/insertion.py")
st.title("Insertion et qualité")

VIEWS = {
    "insertion": "Insertion à 6 mois",
    "reussite": "Réussite et abandons",
    "satisfaction": "Satisfaction",
    "remplissage": "Remplissage des sessions",
}
SESSION_COLUMNS = (
    Column("session_id", "Session", "integer"),
    Column("formation", "Formation"),
    Column("date_debut", "Début", "date"),
    Column("date_fin", "Fin", "date"),
    Column("places", "Places", "integer"),
    Column("enrolled", "Inscrits", "integer"),
    Column("fill_rate", "Taux de remplissage", "percent"),
)


CARDS = (
    "placement_rate_6m_closed",
    "durable_placement_rate_6m_closed",
    "completion_rate",
    "dropouts",
    "satisfaction_avg",
    "satisfaction_rate",
    "fill_rate",
    "completions",
)


def placement(query: KpiQuery, figures: Compared) -> None:
    """Placement by formation over the closed cohort period (the final figures)."""
    st.caption(f"Insertion à 6 mois : {closed_cohort_text(query, figures.current)}.")
    closed = figures.closed
    rows = cache_kpis.placement(closed) if closed is not None else None
    if closed is None or rows is None or rows.empty:
        empty_state("Aucun parcours terminé dans la cohorte close.")
        return
    series = (("placement_rate", "Tous emplois", ""), ("durable_rate", "Emploi durable", "/"))
    charts.paired_bar_chart(
        rows,
        dimension="formation",
        title=kpi_titles.placement(rows, figures.current),
        key="insertion_placement_chart",
        series=series,
        kind="rate",
        axis_title="Part des parcours terminés (%)",
    )
    w.table_block(
        rows,
        PLACEMENT_COLUMNS,
        title="Insertion à 6 mois par formation",
        name="insertion-6-mois",
        query=closed,
        key="insertion_placement",
    )


def completion(query: KpiQuery, compared: Compared) -> None:
    figures = compared.current
    rows = cache_kpis.quality(query)
    rows = rows[(rows["completions"] + rows["dropouts"]) > 0]
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    charts.bar_chart(
        rows,
        "completion_rate",
        kind="rate",
        name="Taux de réussite",
        dimension="formation",
        title=kpi_titles.completion(figures),
        key="insertion_completion_chart",
    )
    w.table_block(
        rows,
        COMPLETION_COLUMNS,
        title="Réussite et abandons par formation",
        name="reussite-abandons",
        query=query,
        key="insertion_completion",
    )


def satisfaction(query: KpiQuery, compared: Compared) -> None:
    figures = compared.current
    rows = cache_kpis.quality(query)
    rows = rows[rows["evaluations"] > 0]
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    charts.bar_chart(
        rows,
        "satisfaction_avg",
        kind="score",
        name="Note moyenne",
        dimension="formation",
        title=kpi_titles.satisfaction(figures),
        key="insertion_satisfaction_chart",
    )
    w.table_block(
        rows,
        SATISFACTION_COLUMNS,
        title="Satisfaction par formation",
        name="satisfaction",
        query=query,
        key="insertion_satisfaction",
    )


def fill(query: KpiQuery, compared: Compared) -> None:
    figures = compared.current
    rows = w.sessions_labelled(cache_kpis.fill_rates(query))
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    charts.bar_chart(
        rows,
        "fill_rate",
        kind="rate",
        name="Taux de remplissage",
        dimension="formation",
        title=kpi_titles.fill(figures),
        key="insertion_fill_chart",
    )
    w.table_block(
        rows,
        SESSION_COLUMNS,
        title="Remplissage des sessions",
        name="remplissage-sessions",
        query=query,
        key="insertion_fill",
    )


VIEW_BLOCKS = {
    "insertion": placement,
    "reussite": completion,
    "satisfaction": satisfaction,
    "remplissage": fill,
}


@st.fragment(run_every=w.live_interval())
def live_figures(filters: Filters) -> None:
    still_allowed("pages/insertion.py")  # every refresh: is the session still live?
    w.updated_caption()
    query = w.kpi_query(filters)
    with guarded(retry_key="insertion_headline_retry"):
        st.header(f"Période {filters.label}")
        w.kpi_cards(CARDS, w.compared_kpis(query), per_row=4)
        w.placement_caption(w.compared_kpis(query))
    view = st.segmented_control(
        "Vue",
        list(VIEWS),
        format_func=VIEWS.__getitem__,
        default="insertion",
        required=True,
        key="insertion_view",
    )
    with guarded(retry_key="insertion_view_retry"):
        VIEW_BLOCKS[view](query, w.compared_kpis(query))


live_figures(w.screen_filters("insertion"))
