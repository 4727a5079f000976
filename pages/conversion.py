"""Conversion: from application to completion, by formation, source and funding."""

import streamlit as st

from data.kpis import KpiQuery, KpiSet
from reports.tables import FUNNEL, conversion_columns, funnel_stage
from ui import cache_kpis, kpi_titles
from ui import kpi_charts as charts
from ui import kpi_widgets as w
from ui.components import empty_state, guarded
from ui.filters import Filters
from ui.session import require_page, still_allowed

require_page("pages/conversion.py")
st.title("Conversion")

CARDS = (
    "applications",
    "enrolments",
    "conversion_rate",
    "refusal_rate",
    "median_first_response_hours",
)
VIEWS = {"formation": "Par formation", "source": "Par source", "financement": "Par financement"}


def funnel(figures: KpiSet) -> None:
    if not figures.applications:
        st.header("Entonnoir de conversion")
        empty_state(w.EMPTY_MESSAGE)
        return
    stages = [(label, int(getattr(figures, kpi_id))) for kpi_id, label in FUNNEL]
    charts.funnel_chart(stages, kpi_titles.funnel(figures), key="conversion_funnel")


def breakdown(query: KpiQuery) -> None:
    dimension = st.segmented_control(
        "Répartition",
        list(VIEWS),
        format_func=VIEWS.__getitem__,
        default="formation",
        required=True,
        key="conversion_view",
    )
    rows = cache_kpis.conversion(query, dimension)
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    charts.bar_chart(
        rows,
        "conversion_rate",
        kind="rate",
        name="Taux de conversion",
        dimension=dimension,
        title=kpi_titles.conversion(rows, dimension),
        key=f"conversion_{dimension}_chart",
    )
    w.table_block(
        rows,
        conversion_columns(dimension),
        title=f"Conversion {VIEWS[dimension].lower()}",
        name=f"conversion-par-{dimension}",
        query=query,
        key=f"conversion_{dimension}",
    )


def drilldown(query: KpiQuery) -> None:
    st.header("Détail des candidatures")
    formations = cache_kpis.conversion(query, "formation")
    left, right = st.columns(2)
    with left:
        stage = w.choose(
            "Étape atteinte",
            [("", "—"), *((funnel_stage(i) or "all", label) for i, label in FUNNEL)],
            key="conversion_drill_stage",
        )
    with right:
        formation = w.choose(
            "Formation",
            [
                (None, "Toutes les formations"),
                *zip(formations["key"], formations["label"], strict=True),
            ],
            key="conversion_drill_formation",
        )
    if not stage:
        st.caption("Choisissez une étape pour voir les candidatures qui l'ont atteinte.")
        return
    scoped = w.with_formation(query, formation) if formation else query
    w.applications_drilldown(
        scoped, reached=None if stage == "all" else stage, key="conversion_drill"
    )


@st.fragment(run_every=w.live_interval())
def live_figures(filters: Filters) -> None:
    still_allowed("pages/conversion.py")  # every refresh: is the session still live?
    w.updated_caption()
    query = w.kpi_query(filters)
    with guarded(retry_key="conversion_headline_retry"):
        st.header(f"Période {filters.label}")
        w.kpi_cards(CARDS, w.compared_kpis(query), per_row=len(CARDS))
    with guarded(retry_key="conversion_funnel_retry"):
        funnel(cache_kpis.kpis(query))
    with guarded(retry_key="conversion_breakdown_retry"):
        breakdown(query)
    with guarded(retry_key="conversion_drill_retry"):
        drilldown(query)


live_figures(w.screen_filters("conversion"))
