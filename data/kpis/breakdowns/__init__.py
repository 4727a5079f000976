"""Breakdowns of the headline figures: small DataFrames of aggregates, by topic.

Same definitions and filters as :mod:`data.kpis.headline`; every aggregate
is computed in the database, pandas only receives the grouped rows. Each
function's rows add up to the matching headline figure.
"""

from data.kpis.breakdowns.applications import (
    applications_trend,
    conversion_by,
    top_formations,
    trend_grain,
)
from data.kpis.breakdowns.common import Grain
from data.kpis.breakdowns.companies import most_active_companies
from data.kpis.breakdowns.outcomes import (
    placement_by_formation,
    quality_by_formation,
    session_fill_rates,
)
from data.kpis.breakdowns.revenue import revenue_by

__all__ = [
    "Grain",
    "applications_trend",
    "conversion_by",
    "most_active_companies",
    "placement_by_formation",
    "quality_by_formation",
    "revenue_by",
    "session_fill_rates",
    "top_formations",
    "trend_grain",
]
