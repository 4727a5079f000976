"""Outcomes: placement at 6 months, completion and satisfaction by formation, and
the fill rate of each session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    Engine,
    case,
    distinct,
    func,
    select,
)

from data.db import translate_errors
from data.kpis.breakdowns.common import (
    PLACEMENT_COLUMNS,
    QUALITY_COLUMNS,
    SESSION_COLUMNS,
    frame_of,
    rows_of,
)
from data.kpis.headline import kpi_connection
from data.kpis.query import KpiQuery, aware
from data.kpis.sql import (
    APPLICATIONS,
    EVALUATIONS,
    FORMATIONS,
    SESSIONS,
    count_if,
    date_in_period,
    finished_base,
    formation_conditions,
    placements_in_window,
    ratio,
    reached_stage,
    ts_in_period,
)
from data.kpis.summary import summary_view

# --- Outcomes ---------------------------------------------------------------


def placement_by_formation(
    engine: Engine, query: KpiQuery, *, now: datetime | None = None
) -> pd.DataFrame:
    """Placement cohort, placed and durably placed within 6 months, per formation.

    ``now`` is accepted for symmetry with :func:`compute_kpis`; the rates do
    not depend on it (see ``placement_window_complete`` for their finality).
    """
    aware(now)
    finished = finished_base(query, APPLICATIONS.c.formation_id).subquery("finished")
    cohort = (
        select(finished.c.formation_id, count_if(finished.c.statut == "terminee").label("cohort"))
        .group_by(finished.c.formation_id)
        .subquery("per_formation")
    )
    joined = placements_in_window(query, APPLICATIONS.c.formation_id).subquery("joined")
    placed_totals = (
        select(
            joined.c.formation_id,
            func.count(distinct(joined.c.id)).label("placed"),
            func.count(distinct(case((joined.c.durable == 1, joined.c.id)))).label("durable"),
        )
        .group_by(joined.c.formation_id)
        .subquery("placed_totals")
    )
    stmt = (
        select(
            FORMATIONS.c.slug,
            FORMATIONS.c.titre,
            cohort.c.cohort,
            func.coalesce(placed_totals.c.placed, 0),
            func.coalesce(placed_totals.c.durable, 0),
        )
        .select_from(cohort)
        .join(FORMATIONS, FORMATIONS.c.id == cohort.c.formation_id)
        .outerjoin(placed_totals, placed_totals.c.formation_id == cohort.c.formation_id)
        .where(cohort.c.cohort > 0)
    )
    records = [
        {
            "key": slug,
            "label": titre,
            "cohort": int(size),
            "placed": int(placed_count),
            "placement_rate": ratio(int(placed_count), int(size)),
            "durable": int(durable),
            "durable_rate": ratio(int(durable), int(size)),
        }
        for slug, titre, size, placed_count, durable in rows_of(engine, stmt)
    ]
    records.sort(key=lambda r: (-r["cohort"], r["label"]))
    return frame_of(records, PLACEMENT_COLUMNS)


def quality_by_formation(engine: Engine, query: KpiQuery) -> pd.DataFrame:
    """Completions, dropouts and satisfaction per formation (of the application)."""
    finished = finished_base(query, APPLICATIONS.c.formation_id).subquery("finished")
    outcomes = (
        select(
            FORMATIONS.c.id,
            FORMATIONS.c.slug,
            FORMATIONS.c.titre,
            count_if(finished.c.statut == "terminee"),
            count_if(finished.c.statut == "abandon"),
        )
        .select_from(finished)
        .join(FORMATIONS, FORMATIONS.c.id == finished.c.formation_id)
        .group_by(FORMATIONS.c.id, FORMATIONS.c.slug, FORMATIONS.c.titre)
    )
    surveys = (
        select(
            FORMATIONS.c.id,
            FORMATIONS.c.slug,
            FORMATIONS.c.titre,
            func.count(),
            func.sum(EVALUATIONS.c.note),
            count_if(EVALUATIONS.c.note >= 4),
        )
        .select_from(EVALUATIONS)
        .join(APPLICATIONS, APPLICATIONS.c.id == EVALUATIONS.c.candidature_id)
        .join(FORMATIONS, FORMATIONS.c.id == APPLICATIONS.c.formation_id)
        .where(
            ts_in_period(EVALUATIONS.c.created_at, query),
            *formation_conditions(APPLICATIONS.c.formation_id, query),
        )
        .group_by(FORMATIONS.c.id, FORMATIONS.c.slug, FORMATIONS.c.titre)
    )
    with translate_errors(), kpi_connection(engine) as connection:
        outcome_rows = list(connection.execute(outcomes))
        survey_rows = list(connection.execute(surveys))
    merged: dict[int, dict[str, Any]] = {}
    for fid, slug, titre, completions, dropouts in outcome_rows:
        merged[fid] = _quality_record(slug, titre)
        merged[fid].update(completions=int(completions), dropouts=int(dropouts))
    for fid, slug, titre, evaluations, total, satisfied in survey_rows:
        record = merged.setdefault(fid, _quality_record(slug, titre))
        record.update(
            evaluations=int(evaluations),
            satisfaction_avg=ratio(int(total), int(evaluations)),
            satisfaction_rate=ratio(int(satisfied), int(evaluations)),
        )
    for record in merged.values():
        done = record["completions"] + record["dropouts"]
        record["completion_rate"] = ratio(record["completions"], done)
    records = sorted(merged.values(), key=lambda r: r["label"])
    return frame_of(records, QUALITY_COLUMNS)


def _quality_record(slug: str, titre: str) -> dict[str, Any]:
    return {
        "key": slug,
        "label": titre,
        "completions": 0,
        "dropouts": 0,
        "completion_rate": None,
        "evaluations": 0,
        "satisfaction_avg": None,
        "satisfaction_rate": None,
    }


def session_fill_rates(engine: Engine, query: KpiQuery) -> pd.DataFrame:
    """Sessions starting in the period, with their enrolled applications and fill rate.

    ``formation`` and ``label`` both hold the formation's title.
    """
    with translate_errors():
        facts = summary_view(engine)
    started = select(SESSIONS.c.id).where(
        date_in_period(SESSIONS.c.date_debut, query),
        *formation_conditions(SESSIONS.c.formation_id, query),
    )
    enrolled = (
        select(APPLICATIONS.c.session_id, func.count().label("n"))
        .where(
            APPLICATIONS.c.session_id.in_(started),
            reached_stage("inscrite", APPLICATIONS, facts),
        )
        .group_by(APPLICATIONS.c.session_id)
        .subquery("enrolled")
    )
    stmt = (
        select(
            SESSIONS.c.id,
            FORMATIONS.c.titre,
            SESSIONS.c.date_debut,
            SESSIONS.c.date_fin,
            SESSIONS.c.places,
            func.coalesce(enrolled.c.n, 0),
        )
        .select_from(SESSIONS)
        .join(FORMATIONS, FORMATIONS.c.id == SESSIONS.c.formation_id)
        .outerjoin(enrolled, enrolled.c.session_id == SESSIONS.c.id)
        .where(SESSIONS.c.id.in_(started))
        .order_by(SESSIONS.c.date_debut, SESSIONS.c.id)
    )
    records = [
        {
            "session_id": int(session_id),
            "formation": titre,
            "label": titre,
            "date_debut": date_debut,
            "date_fin": date_fin,
            "places": int(places),
            "enrolled": int(count),
            "fill_rate": ratio(int(count), int(places)),
        }
        for session_id, titre, date_debut, date_fin, places, count in rows_of(engine, stmt)
    ]
    return frame_of(records, SESSION_COLUMNS)
