"""Conversion: from application to completion, by formation, source and funding."""

import streamlit as st

from data.kpis import KpiQuery, KpiSet
from reports.tables import FUNNEL, conversion_columns, funnel_stage
from ui import cache_kpis, kpi_titles
from ui import kpi_charts as charts
from ui import kpi_widgets as w
from ui.components import empty_state, guarded
from ui.filters import Filters
from ui.session import require_page

require_page("pages/conversion.py")
st.title("Conversion")

CARDS = (
    w.Card("applications", "Candidatures", "count"),
    w.Card("enrolments", "Inscriptions", "count"),
    w.Card("conversion_rate", "Taux de conversion", "rate"),
    w.Card("refusal_rate", "Taux de refus", "rate", lower_is_better=True),
    w.Card(
        "median_first_response_hours", "1re réponse (médiane)", "hours",
        lower_is_better=True,
        help="Médiane du délai entre la réception d'une candidature et sa première prise en charge.",
    ),
)  # fmt: skip
VIEWS = {"formation": "Par formation", "source": "Par source", "financement": "Par financement"}


def funnel(figures: KpiSet) -> None:
    if not figures.applications:
        st.subheader("Entonnoir de conversion")
        empty_state(w.EMPTY_MESSAGE)
        return
    stages = [(label, int(getattr(figures, kpi_id))) for kpi_id, label in FUNNEL]
    charts.funnel_chart(stages, kpi_titles.funnel(figures), key="conversion_funnel")


def breakdown(query: KpiQuery) -> None:
    dimension = st.segmented_control(
        "Répartition", list(VIEWS), format_func=VIEWS.__getitem__, default="formation",
        required=True, key="conversion_view",
    )  # fmt: skip
    rows = cache_kpis.conversion(query, dimension)
    if rows.empty:
        empty_state(w.EMPTY_MESSAGE)
        return
    charts.bar_chart(rows, "conversion_rate", kind="rate", name="Taux de conversion",
                dimension=dimension, title=kpi_titles.conversion(rows, dimension),
                key=f"conversion_{dimension}_chart")  # fmt: skip
    w.table_block(rows, conversion_columns(dimension), title=f"Conversion {VIEWS[dimension].lower()}",
                  name=f"conversion-par-{dimension}", query=query, key=f"conversion_{dimension}")  # fmt: skip


def drilldown(query: KpiQuery) -> None:
    st.subheader("Détail des candidatures")
    formations = cache_kpis.conversion(query, "formation")
    left, right = st.columns(2)
    with left:
        stage = w.choose(
            "Étape atteinte", [("", "—"), *((funnel_stage(i) or "all", label) for i, label in FUNNEL)],
            key="conversion_drill_stage",
        )  # fmt: skip
    with right:
        formation = w.choose(
            "Formation", [(None, "Toutes les formations"),
                          *zip(formations["key"], formations["label"], strict=True)],
            key="conversion_drill_formation",
        )  # fmt: skip
    if not stage:
        st.caption("Choisissez une étape pour voir les candidatures qui l'ont atteinte.")
        return
    scoped = w.with_formation(query, formation) if formation else query
    w.applications_drilldown(scoped, reached=None if stage == "all" else stage,
                             key="conversion_drill")  # fmt: skip


@st.fragment(run_every=w.live_interval())
def live_figures(filters: Filters) -> None:
    w.updated_caption()
    query = w.kpi_query(filters)
    with guarded(retry_key="conversion_headline_retry"):
        st.subheader(f"Période {filters.label}")
        w.kpi_cards(CARDS, w.compared_kpis(query), query, per_row=len(CARDS))
    with guarded(retry_key="conversion_funnel_retry"):
        funnel(cache_kpis.kpis(query))
    with guarded(retry_key="conversion_breakdown_retry"):
        breakdown(query)
    with guarded(retry_key="conversion_drill_retry"):
        drilldown(query)


live_figures(w.screen_filters("conversion"))
