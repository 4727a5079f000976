"""Insertion et qualité: placement at 6 months, completion, satisfaction, session fill."""

import streamlit as st

from data import formatting as fmt
from data.kpis import KpiQuery, KpiSet
from reports.model import Column
from reports.tables import COMPLETION_COLUMNS, PLACEMENT_COLUMNS, SATISFACTION_COLUMNS
from ui import cache_kpis, kpi_titles
from ui import kpi_charts as charts
from ui import kpi_widgets as w
from ui.components import empty_state, guarded
from ui.filters import Filters
from ui.session import require_page

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


def cards(figures: KpiSet) -> tuple[w.Card, ...]:
    provisional = "" if figures.placement_window_complete else " (provisoire)"
    return (
        w.Card("placement_rate_6m", f"Insertion à 6 mois{provisional}", "rate"),
        w.Card("durable_placement_rate_6m", f"Insertion durable{provisional}", "rate"),
        w.Card("completion_rate", "Taux de réussite", "rate"),
        w.Card("dropouts", "Abandons", "count", lower_is_better=True),
        w.Card("satisfaction_avg", "Satisfaction moyenne", "score"),
        w.Card("satisfaction_rate", "Taux de satisfaction (≥ 4/5)", "rate"),
        w.Card("fill_rate", "Taux de remplissage des sessions", "rate"),
        w.Card("placement_cohort", "Parcours terminés", "count"),
    )


def provisional_notice(query: KpiQuery, figures: KpiSet) -> None:
    if figures.placement_window_complete or not figures.placement_cohort:
        return
    final_on = w.placement_final_after(query)
    st.info(
        "Taux d'insertion provisoires : les stagiaires sortis en fin de période n'ont pas "
        f"encore eu leurs 6 mois. Ils seront définitifs après le {fmt.day(final_on)}.",
        icon=":material/hourglass_top:",
    )


def placement(query: KpiQuery, figures: KpiSet) -> None:
    rows = cache_kpis.placement(query)
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    series = (("placement_rate", "Tous emplois", ""), ("durable_rate", "Emploi durable", "/"))
    charts.paired_bar_chart(rows, dimension="formation", title=kpi_titles.placement(rows, figures),
                       key="insertion_placement_chart", series=series, kind="rate",
                       axis_title="Part des parcours terminés (%)")  # fmt: skip
    w.table_block(rows, PLACEMENT_COLUMNS, title="Insertion à 6 mois par formation",
                  name="insertion-6-mois", query=query, key="insertion_placement")  # fmt: skip


def completion(query: KpiQuery, figures: KpiSet) -> None:
    rows = cache_kpis.quality(query)
    rows = rows[(rows["completions"] + rows["dropouts"]) > 0]
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    charts.bar_chart(rows, "completion_rate", kind="rate", name="Taux de réussite",
                dimension="formation", title=kpi_titles.completion(figures),
                key="insertion_completion_chart")  # fmt: skip
    w.table_block(rows, COMPLETION_COLUMNS, title="Réussite et abandons par formation",
                  name="reussite-abandons", query=query, key="insertion_completion")  # fmt: skip


def satisfaction(query: KpiQuery, figures: KpiSet) -> None:
    rows = cache_kpis.quality(query)
    rows = rows[rows["evaluations"] > 0]
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    charts.bar_chart(rows, "satisfaction_avg", kind="score", name="Note moyenne",
                dimension="formation", title=kpi_titles.satisfaction(figures),
                key="insertion_satisfaction_chart")  # fmt: skip
    w.table_block(rows, SATISFACTION_COLUMNS, title="Satisfaction par formation",
                  name="satisfaction", query=query, key="insertion_satisfaction")  # fmt: skip


def fill(query: KpiQuery, figures: KpiSet) -> None:
    rows = w.sessions_labelled(cache_kpis.fill_rates(query))
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    charts.bar_chart(rows, "fill_rate", kind="rate", name="Taux de remplissage",
                dimension="formation", title=kpi_titles.fill(figures),
                key="insertion_fill_chart")  # fmt: skip
    w.table_block(rows, SESSION_COLUMNS, title="Remplissage des sessions",
                  name="remplissage-sessions", query=query, key="insertion_fill")  # fmt: skip


VIEW_BLOCKS = {
    "insertion": placement,
    "reussite": completion,
    "satisfaction": satisfaction,
    "remplissage": fill,
}


@st.fragment(run_every=w.live_interval())
def live_figures(filters: Filters) -> None:
    w.updated_caption()
    query = w.kpi_query(filters)
    with guarded(retry_key="insertion_headline_retry"):
        st.subheader(f"Période {filters.label}")
        figures = w.compared_kpis(query)
        provisional_notice(query, figures.current)
        w.kpi_cards(cards(figures.current), figures, query, per_row=4)
    view = st.segmented_control(
        "Vue", list(VIEWS), format_func=VIEWS.__getitem__, default="insertion",
        required=True, key="insertion_view",
    )  # fmt: skip
    with guarded(retry_key="insertion_view_retry"):
        VIEW_BLOCKS[view](query, cache_kpis.kpis(query))


live_figures(w.screen_filters("insertion"))
