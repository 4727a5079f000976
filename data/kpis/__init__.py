"""The KPI engine: every figure of ``shared/kpi-definitions.md``, computed in SQL.

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
)
from data.kpis.drilldown import applications_in_period, overdue_invoices
from data.kpis.headline import (
    KPI_IDS,
    MONEY_KPIS,
    RATE_KPIS,
    KpiSet,
    compute_kpis,
    formation_exists,
)
from data.kpis.period import KpiQuery

__all__ = [
    "KPI_IDS",
    "MONEY_KPIS",
    "RATE_KPIS",
    "KpiQuery",
    "KpiSet",
    "applications_in_period",
    "applications_trend",
    "compute_kpis",
    "conversion_by",
    "formation_exists",
    "most_active_companies",
    "overdue_invoices",
    "placement_by_formation",
    "quality_by_formation",
    "revenue_by",
    "session_fill_rates",
    "top_formations",
]
