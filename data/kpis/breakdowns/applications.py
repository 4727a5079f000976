"""Applications: conversion by formation, source and funding, the top formations,
the trend by week or month."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Engine,
    case,
    func,
    literal,
    select,
)

from data.db import translate_errors
from data.kpis.breakdowns.common import (
    CONVERSION_COLUMNS,
    TREND_COLUMNS,
    ConversionDimension,
    Grain,
    check_choice,
    first_of_next_month,
    frame_of,
    rows_of,
)
from data.kpis.headline import kpi_connection
from data.kpis.query import KpiQuery, local_midnight_utc
from data.kpis.sql import (
    APPLICATIONS,
    FORMATIONS,
    cohort_base,
    cohort_facts,
    ratio,
    reached_rank_of,
    read_id_bounds,
    stage_rank,
)
from data.kpis.summary import summary_view
from data.labels import funder_label, source_label


def _cohort_groups(engine: Engine, query: KpiQuery, key: ColumnElement[Any]) -> list[Any]:
    """Cohort A grouped by ``key``, ``statut`` and ``max_event_rank``: rows of
    (key, statut, max_event_rank, n), from which enrolments are counted."""
    with translate_errors():
        facts = summary_view(engine)
        with kpi_connection(engine) as connection:
            bounds = read_id_bounds(connection, query, facts)
            cohort = cohort_facts(query, facts, key.label("key"), bounds=bounds).subquery("cohort")
            stmt = select(
                cohort.c.key, cohort.c.statut, cohort.c.max_event_rank, func.count()
            ).group_by(cohort.c.key, cohort.c.statut, cohort.c.max_event_rank)
            return list(connection.execute(stmt))


def _enrolled(statut: str | None, max_event_rank: int | None) -> bool:
    return reached_rank_of(statut, max_event_rank) >= stage_rank("inscrite")


# --- Applications -----------------------------------------------------------


def conversion_by(engine: Engine, query: KpiQuery, dimension: ConversionDimension) -> pd.DataFrame:
    """Applications of the period, enrolments and conversion per formation, source or funding."""
    check_choice(dimension, ("formation", "source", "financement"), "dimension")
    column = {
        "formation": APPLICATIONS.c.formation_id,
        "source": APPLICATIONS.c.source,
        "financement": APPLICATIONS.c.financement,
    }[dimension]
    totals: dict[Any, list[int]] = {}
    for key, statut, max_event_rank, n in _cohort_groups(engine, query, column):
        counts = totals.setdefault(key, [0, 0])
        counts[0] += int(n)
        counts[1] += int(n) if _enrolled(statut, max_event_rank) else 0
    if dimension == "formation":
        titles = _formation_titles(engine, totals)
        labelled = {titles[key]: counts for key, counts in totals.items()}
    else:
        labeller = source_label if dimension == "source" else funder_label
        labelled = {(key, labeller(key)): counts for key, counts in totals.items()}
    records: list[dict[str, Any]] = [
        {
            "key": key,
            "label": label,
            "applications": applications,
            "enrolments": enrolments,
            "conversion_rate": ratio(enrolments, applications),
        }
        for (key, label), (applications, enrolments) in labelled.items()
    ]
    records.sort(key=lambda r: (-r["applications"], r["label"]))
    return frame_of(records, CONVERSION_COLUMNS)


def _formation_titles(engine: Engine, ids: Iterable[Any]) -> dict[Any, tuple[str, str]]:
    """``formation id -> (slug, titre)`` for the given ids."""
    wanted = [key for key in ids if key is not None]
    if not wanted:
        return {}
    stmt = select(FORMATIONS.c.id, FORMATIONS.c.slug, FORMATIONS.c.titre).where(
        FORMATIONS.c.id.in_(wanted)
    )
    return {fid: (slug, titre) for fid, slug, titre in rows_of(engine, stmt)}


def top_formations(engine: Engine, query: KpiQuery, limit: int = 5) -> pd.DataFrame:
    """The formations with the most applications in the period (key, label, applications)."""
    cohort = cohort_base(query, APPLICATIONS.c.formation_id).subquery("cohort")
    applications = func.count().label("applications")
    stmt = (
        select(FORMATIONS.c.slug, FORMATIONS.c.titre, applications)
        .select_from(cohort)
        .join(FORMATIONS, FORMATIONS.c.id == cohort.c.formation_id)
        .group_by(FORMATIONS.c.id, FORMATIONS.c.slug, FORMATIONS.c.titre)
        .order_by(applications.desc(), FORMATIONS.c.titre, FORMATIONS.c.slug)
        .limit(limit)
    )
    records = [
        {"key": slug, "label": titre, "applications": int(count)}
        for slug, titre, count in rows_of(engine, stmt)
    ]
    return frame_of(records, ["key", "label", "applications"])


WEEK_MAX_DAYS = 92
"""Periods up to about 3 months are shown by week, longer ones by month."""


def trend_grain(query: KpiQuery) -> Grain:
    """The bucket of a period's trend: ``week`` up to about 3 months, else ``month``."""
    return "week" if (query.end - query.start).days <= WEEK_MAX_DAYS else "month"


def applications_trend(engine: Engine, query: KpiQuery, grain: Grain) -> pd.DataFrame:
    """Applications and (eventual) enrolments per local week (Monday) or month of creation.

    Every bucket overlapping the period is present, empty ones with zeros.
    """
    check_choice(grain, ("week", "month"), "grain")
    step = _next_week if grain == "week" else first_of_next_month
    first = _week_of(query.start) if grain == "week" else query.start.replace(day=1)
    starts = []
    bucket = first
    while bucket < query.end:
        starts.append(bucket)
        bucket = step(bucket)
    found: dict[int, list[int]] = {}
    for index, statut, max_event_rank, n in _cohort_groups(
        engine, query, _bucket_index(starts, query)
    ):
        counts = found.setdefault(int(index), [0, 0])
        counts[0] += int(n)
        counts[1] += int(n) if _enrolled(statut, max_event_rank) else 0
    if set(found) - set(range(len(starts))):  # the database disagrees with Python on buckets
        raise RuntimeError(f"unexpected buckets {sorted(set(found) - set(range(len(starts))))}")
    records = [
        {
            "bucket": start,
            "applications": found.get(i, [0, 0])[0],
            "enrolments": found.get(i, [0, 0])[1],
        }
        for i, start in enumerate(starts)
    ]
    return frame_of(records, TREND_COLUMNS)


def _bucket_index(starts: list[date], query: KpiQuery) -> ColumnElement[int]:
    """The index in ``starts`` of the bucket of an application's creation: its local
    day compared, as a UTC instant, with the local midnight opening each bucket
    (a CASE over a few dozen bounds instead of a time-zone conversion per row)."""
    created = APPLICATIONS.c.created_at
    bounds = [local_midnight_utc(start, query.tz) for start in starts[1:]]
    whens = [(created < bound, index) for index, bound in enumerate(bounds)]
    return case(*whens, else_=len(starts) - 1) if whens else literal(0)


def _week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _next_week(day: date) -> date:
    return day + timedelta(days=7)
