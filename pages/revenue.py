"""Chiffre d'affaires: invoiced vs collected, overdue receivables, quotes."""

import streamlit as st

from data.kpis import KpiQuery
from reports.model import Column
from reports.tables import revenue_columns
from ui import cache_kpis, kpi_titles
from ui import kpi_charts as charts
from ui import kpi_widgets as w
from ui.components import empty_state, guarded
from ui.filters import Filters
from ui.session import require_page, still_allowed

require_page("pages/revenue.py")
st.title("Chiffre d'affaires")

MONEY_CARDS = ("revenue_invoiced", "revenue_collected", "receivables_overdue")
QUOTE_CARDS = ("quotes_sent", "quotes_accepted", "quote_conversion_rate")
VIEWS = {"month": "Par mois", "financeur": "Par financeur", "formation": "Par formation"}
OVERDUE_COLUMNS = (
    Column("numero", "Facture"),
    Column("financeur", "Financeur"),
    Column("montant", "Montant", "money"),
    Column("date_emission", "Émise le", "date"),
    Column("date_echeance", "Échéance", "date"),
    Column("days_overdue", "Jours de retard", "integer"),
    Column("formation", "Formation"),
)


def breakdown(query: KpiQuery) -> None:
    dimension = st.segmented_control(
        "Répartition",
        list(VIEWS),
        format_func=VIEWS.__getitem__,
        default="month",
        required=True,
        key="revenue_view",
    )
    rows = cache_kpis.revenue(query, dimension)
    if rows.empty or float(rows["invoiced"].sum() + rows["collected"].sum()) == 0:
        empty_state(w.EMPTY_MESSAGE)
        return
    charts.paired_bar_chart(
        rows,
        dimension=dimension,
        title=kpi_titles.revenue(rows, dimension),
        key=f"revenue_{dimension}_chart",
    )
    w.table_block(
        rows,
        revenue_columns(dimension),
        title=f"Chiffre d'affaires {VIEWS[dimension].lower()}",
        name=f"chiffre-affaires-par-{dimension}",
        query=query,
        key=f"revenue_{dimension}",
    )


def overdue(query: KpiQuery) -> None:
    st.header("Factures échues impayées")
    rows = w.labelled_invoices(cache_kpis.invoices_overdue(query))
    st.text(kpi_titles.overdue(cache_kpis.kpis(query), len(rows)))
    w.table_block(
        rows,
        OVERDUE_COLUMNS,
        title="Factures échues impayées",
        name="factures-echues",
        query=query,
        key="revenue_overdue",
    )


@st.fragment(run_every=w.live_interval())
def live_figures(filters: Filters) -> None:
    still_allowed("pages/revenue.py")  # every refresh: is the session still live?
    w.updated_caption()
    query = w.kpi_query(filters)
    with guarded(retry_key="revenue_headline_retry"):
        st.header(f"Période {filters.label}")
        figures = w.compared_kpis(query)
        w.kpi_cards(MONEY_CARDS, figures, per_row=3)
    with guarded(retry_key="revenue_breakdown_retry"):
        breakdown(query)
    with guarded(retry_key="revenue_overdue_retry"):
        overdue(query)
    with guarded(retry_key="revenue_quotes_retry"):
        st.header("Devis")
        w.kpi_cards(QUOTE_CARDS, w.compared_kpis(query), per_row=3, caption=False)


live_figures(w.screen_filters("revenue"))
