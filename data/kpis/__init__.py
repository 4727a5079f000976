"""The KPI engine: every figure of ``contract/kpi-definitions.md``, computed in SQL.

``compute_kpis`` gives the headline :class:`KpiSet` of a :class:`KpiQuery`;
the breakdowns and drill-downs give the rows behind it, with the same
definitions and filters. ``python -m data.kpis`` prints the headline as JSON.
"""

from data.kpis.breakdowns import (
    applications_trend,
    conversion_by,
    most_active_companies,
    placement_by_formation,
    quality_by_formation,
    revenue_by,
    session_fill_rates,
    top_formations,
    trend_grain,
)
from data.kpis.compare import Compared, closed_cohort_text, compare_periods, provisional_text
from data.kpis.drilldown import applications_in_period, overdue_invoices
from data.kpis.headline import (
    KPI_IDS,
    KpiSet,
    closed_placement_figures,
    compute_kpis,
    formation_exists,
)
from data.kpis.query import KpiQuery
from data.kpis.specs import KPI_LABELS, KPI_SPECS, Change, KpiSpec

__all__ = [
    "KPI_IDS",
    "KPI_LABELS",
    "KPI_SPECS",
    "Change",
    "Compared",
    "KpiQuery",
    "KpiSet",
    "KpiSpec",
    "applications_in_period",
    "applications_trend",
    "closed_cohort_text",
    "closed_placement_figures",
    "compare_periods",
    "compute_kpis",
    "conversion_by",
    "formation_exists",
    "most_active_companies",
    "overdue_invoices",
    "placement_by_formation",
    "provisional_text",
    "quality_by_formation",
    "revenue_by",
    "session_fill_rates",
    "top_formations",
    "trend_grain",
]
