"""Cached wrappers of the KPI engine (data.kpis) for the screens.

Each public function takes a :class:`KpiQuery` (plus plain parameters) and
calls a ``st.cache_data`` function whose key is made of plain hashable values
only: the URL of the database the figures are read from, the period's dates,
the filters, the time zone and the SLA. Entries live ``KPI_TTL_SECONDS``, so
many directors watching the live screens share one database query per
interval, and each cache is bounded. The scheduler and the CLI never import
this module: they call data.kpis directly.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from data.kpis import (
    KpiQuery,
    KpiSet,
    applications_in_period,
    applications_trend,
    closed_placement_figures,
    compute_kpis,
    conversion_by,
    most_active_companies,
    overdue_invoices,
    placement_by_formation,
    quality_by_formation,
    revenue_by,
    session_fill_rates,
    top_formations,
)
from ui import state

KPI_TTL_SECONDS = 45
MAX_ENTRIES = 64
DRILLDOWN_LIMIT = 5000

# The plain, hashable form of a KpiQuery: (start, end, formation, domaine, timezone, sla_hours).
QueryArgs = tuple[date, date, str | None, str | None, str, float]


def source_url() -> str:
    """The URL of the database KPI reads go to (the replica when one is configured)."""
    settings = state.settings()
    return settings.ANALYTICS_DATABASE_URL or settings.database_url


def query_args(query: KpiQuery) -> QueryArgs:
    return (
        query.start,
        query.end,
        query.formation,
        query.domaine,
        query.timezone,
        float(query.sla_hours),
    )


def _query(args: QueryArgs) -> KpiQuery:
    start, end, formation, domaine, timezone, sla_hours = args
    return KpiQuery(start, end, formation, domaine, timezone, sla_hours)


# --- Cached calls (plain parameters only) -------------------------------------

_cached = st.cache_data(ttl=KPI_TTL_SECONDS, max_entries=MAX_ENTRIES, show_spinner=False)


@_cached
def _kpis(database_url: str, args: QueryArgs) -> KpiSet:
    return compute_kpis(state.analytics(), _query(args))


@_cached
def _closed_placement(database_url: str, args: QueryArgs) -> dict[str, Any]:
    return closed_placement_figures(state.analytics(), _query(args))


@_cached
def _conversion_by(database_url: str, args: QueryArgs, dimension: str) -> pd.DataFrame:
    return conversion_by(state.analytics(), _query(args), dimension)  # type: ignore[arg-type]


@_cached
def _revenue_by(database_url: str, args: QueryArgs, dimension: str) -> pd.DataFrame:
    return revenue_by(state.analytics(), _query(args), dimension)  # type: ignore[arg-type]


@_cached
def _trend(database_url: str, args: QueryArgs, grain: str) -> pd.DataFrame:
    return applications_trend(state.analytics(), _query(args), grain)  # type: ignore[arg-type]


@_cached
def _placement(database_url: str, args: QueryArgs) -> pd.DataFrame:
    return placement_by_formation(state.analytics(), _query(args))


@_cached
def _quality(database_url: str, args: QueryArgs) -> pd.DataFrame:
    return quality_by_formation(state.analytics(), _query(args))


@_cached
def _fill_rates(database_url: str, args: QueryArgs) -> pd.DataFrame:
    return session_fill_rates(state.analytics(), _query(args))


@_cached
def _top_formations(database_url: str, args: QueryArgs, limit: int) -> pd.DataFrame:
    return top_formations(state.analytics(), _query(args), limit)


@_cached
def _companies(database_url: str, args: QueryArgs, limit: int) -> pd.DataFrame:
    return most_active_companies(state.analytics(), _query(args), limit)


@_cached
def _applications(database_url: str, args: QueryArgs, reached: str | None) -> pd.DataFrame:
    return applications_in_period(
        state.analytics(), _query(args), reached=reached, limit=DRILLDOWN_LIMIT
    )


@_cached
def _overdue(database_url: str, args: QueryArgs) -> pd.DataFrame:
    return overdue_invoices(state.analytics(), _query(args), limit=DRILLDOWN_LIMIT)


# --- Public API (what pages and widgets call) ----------------------------------


def kpis(query: KpiQuery) -> KpiSet:
    return _kpis(source_url(), query_args(query))


def closed_placement(query: KpiQuery) -> dict[str, Any]:
    """The ``*_closed`` placement figures with ``query``'s period as the closed cohort."""
    return _closed_placement(source_url(), query_args(query))


def conversion(query: KpiQuery, dimension: str) -> pd.DataFrame:
    return _conversion_by(source_url(), query_args(query), dimension)


def revenue(query: KpiQuery, dimension: str) -> pd.DataFrame:
    return _revenue_by(source_url(), query_args(query), dimension)


def trend(query: KpiQuery, grain: str) -> pd.DataFrame:
    return _trend(source_url(), query_args(query), grain)


def placement(query: KpiQuery) -> pd.DataFrame:
    return _placement(source_url(), query_args(query))


def quality(query: KpiQuery) -> pd.DataFrame:
    return _quality(source_url(), query_args(query))


def fill_rates(query: KpiQuery) -> pd.DataFrame:
    return _fill_rates(source_url(), query_args(query))


def formations_top(query: KpiQuery, limit: int = 5) -> pd.DataFrame:
    return _top_formations(source_url(), query_args(query), limit)


def companies_most_active(query: KpiQuery, limit: int = 10) -> pd.DataFrame:
    return _companies(source_url(), query_args(query), limit)


def applications(query: KpiQuery, reached: str | None = None) -> pd.DataFrame:
    """The applications behind a figure (at most ``DRILLDOWN_LIMIT`` rows)."""
    return _applications(source_url(), query_args(query), reached)


def invoices_overdue(query: KpiQuery) -> pd.DataFrame:
    return _overdue(source_url(), query_args(query))
