"""Breakdowns of the headline figures: small DataFrames of aggregates.

Same definitions and filters as :mod:`data.kpis.headline`; every aggregate
is computed in the database, pandas only receives the grouped rows. Each
function's rows add up to the matching headline figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

import pandas as pd
from sqlalchemy import ColumnElement, Engine, Select, func, literal, null, select, union_all

from data import formatting
from data.db import translate_errors
from data.kpis.period import KpiQuery, aware
from data.kpis.sql import (
    APPLICATIONS,
    COMPANIES,
    EVALUATIONS,
    FORMATIONS,
    INVOICES,
    MATCHES,
    OFFERS,
    SESSIONS,
    cohort_base,
    count_if,
    date_in_period,
    finished_base,
    formation_conditions,
    invoice_formation_conditions,
    invoice_formation_id,
    invoices_with_formation,
    local_day,
    money_from_cents,
    month_start,
    placed_per_application,
    ratio,
    stage_rank,
    ts_in_period,
    week_start,
    with_reached_rank,
)
from data.labels import FUNDER_LABELS, funder_label, source_label

ConversionDimension = Literal["formation", "source", "financement"]
RevenueDimension = Literal["financeur", "formation", "month"]
Grain = Literal["week", "month"]

CONVERSION_COLUMNS = ["key", "label", "applications", "enrolments", "conversion_rate"]
REVENUE_COLUMNS = ["key", "label", "invoiced", "collected"]
TREND_COLUMNS = ["bucket", "applications", "enrolments"]
PLACEMENT_COLUMNS = [
    "key", "label", "cohort", "placed", "placement_rate", "durable", "durable_rate",
]  # fmt: skip
QUALITY_COLUMNS = [
    "key", "label", "completions", "dropouts", "completion_rate",
    "evaluations", "satisfaction_avg", "satisfaction_rate",
]  # fmt: skip
SESSION_COLUMNS = [
    "session_id", "formation", "label", "date_debut", "date_fin", "places", "enrolled", "fill_rate",
]  # fmt: skip
COMPANY_COLUMNS = ["entreprise_id", "label", "offers_posted", "hires", "activity"]


def _rows(engine: Engine, stmt: Any) -> list[Any]:
    with translate_errors(), engine.connect() as connection:
        return list(connection.execute(stmt))


def _frame(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(list(records), columns=list(columns))


def _check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def _cohort(query: KpiQuery) -> Any:
    base = cohort_base(
        query,
        APPLICATIONS.c.created_at,
        APPLICATIONS.c.formation_id,
        APPLICATIONS.c.source,
        APPLICATIONS.c.financement,
    )
    return with_reached_rank(base, "cohort")


# --- Applications -----------------------------------------------------------


def conversion_by(engine: Engine, query: KpiQuery, dimension: ConversionDimension) -> pd.DataFrame:
    """Applications of the period, enrolments and conversion per formation, source or funding."""
    _check(dimension, ("formation", "source", "financement"), "dimension")
    cohort = _cohort(query)
    enrolled = count_if(cohort.c.reached_rank >= stage_rank("inscrite"))
    if dimension == "formation":
        stmt: Select[Any] = (
            select(FORMATIONS.c.slug, FORMATIONS.c.titre, func.count(), enrolled)
            .select_from(cohort)
            .join(FORMATIONS, FORMATIONS.c.id == cohort.c.formation_id)
            .group_by(FORMATIONS.c.id, FORMATIONS.c.slug, FORMATIONS.c.titre)
        )
    else:
        key = cohort.c[dimension]
        stmt = select(key, null().label("label"), func.count(), enrolled).group_by(key)
    labeller = source_label if dimension == "source" else funder_label
    records = [
        {
            "key": key,
            "label": label if dimension == "formation" else labeller(key),
            "applications": int(applications),
            "enrolments": int(enrolments),
            "conversion_rate": ratio(int(enrolments), int(applications)),
        }
        for key, label, applications, enrolments in _rows(engine, stmt)
    ]
    records.sort(key=lambda r: (-r["applications"], r["label"]))
    return _frame(records, CONVERSION_COLUMNS)


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
        for slug, titre, count in _rows(engine, stmt)
    ]
    return _frame(records, ["key", "label", "applications"])


def applications_trend(engine: Engine, query: KpiQuery, grain: Grain) -> pd.DataFrame:
    """Applications and (eventual) enrolments per local week (Monday) or month of creation.

    Every bucket overlapping the period is present, empty ones with zeros.
    """
    _check(grain, ("week", "month"), "grain")
    cohort = _cohort(query)
    day = local_day(cohort.c.created_at, query)
    bucket_of = week_start if grain == "week" else month_start
    bucketed = select(
        bucket_of(day).label("bucket"),
        (cohort.c.reached_rank >= stage_rank("inscrite")).label("enrolled"),
    ).subquery("bucketed")
    stmt = select(bucketed.c.bucket, func.count(), count_if(bucketed.c.enrolled)).group_by(
        bucketed.c.bucket
    )
    found = {bucket: (int(a), int(e)) for bucket, a, e in _rows(engine, stmt)}
    step = _next_week if grain == "week" else _next_month
    first = _week_of(query.start) if grain == "week" else query.start.replace(day=1)
    records = []
    bucket = first
    while bucket < query.end:
        applications, enrolments = found.pop(bucket, (0, 0))
        records.append({"bucket": bucket, "applications": applications, "enrolments": enrolments})
        bucket = step(bucket)
    if found:  # impossible unless the database disagrees with Python about buckets
        raise RuntimeError(f"unexpected buckets {sorted(found)}")
    return _frame(records, TREND_COLUMNS)


def _week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _next_week(day: date) -> date:
    return day + timedelta(days=7)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


# --- Revenue ----------------------------------------------------------------


def revenue_by(engine: Engine, query: KpiQuery, dimension: RevenueDimension) -> pd.DataFrame:
    """Invoiced and collected euros (floats) per funder, formation or month.

    Invoiced counts by ``date_emission``, collected by ``date_paiement``
    (so "month" puts them in their own months). Months cover the period.
    """
    _check(dimension, ("financeur", "formation", "month"), "dimension")
    keys: dict[str, Callable[[ColumnElement[Any]], ColumnElement[Any]]] = {
        "financeur": lambda _day: INVOICES.c.financeur,
        "formation": lambda _day: invoice_formation_id(),
        "month": month_start,
    }
    parts = _revenue_parts(query, keys[dimension]).subquery("parts")
    totals = [func.sum(parts.c.invoiced), func.sum(parts.c.collected)]
    if dimension == "formation":
        stmt: Select[Any] = (
            select(FORMATIONS.c.slug, FORMATIONS.c.titre, *totals)
            .select_from(parts)
            .join(FORMATIONS, FORMATIONS.c.id == parts.c.key)
            .group_by(FORMATIONS.c.id, FORMATIONS.c.slug, FORMATIONS.c.titre)
        )
    else:
        stmt = select(parts.c.key, null().label("label"), *totals).group_by(parts.c.key)
    found = {
        key: (label, float(money_from_cents(invoiced)), float(money_from_cents(collected)))
        for key, label, invoiced, collected in _rows(engine, stmt)
    }
    if dimension == "month":
        return _revenue_months(query, found)
    records = [
        {
            "key": key,
            "label": label if dimension == "formation" else FUNDER_LABELS.get(key, key),
            "invoiced": invoiced,
            "collected": collected,
        }
        for key, (label, invoiced, collected) in found.items()
    ]
    records.sort(key=lambda r: (-r["invoiced"], -r["collected"], r["label"]))
    return _frame(records, REVENUE_COLUMNS)


def _revenue_parts(
    query: KpiQuery, key_of: Callable[[ColumnElement[Any]], ColumnElement[Any]]
) -> Any:
    cents = func.round(INVOICES.c.montant * 100)
    zero = literal(0)
    scope = invoice_formation_conditions(query)
    invoiced = (
        select(
            key_of(INVOICES.c.date_emission).label("key"),
            cents.label("invoiced"),
            zero.label("collected"),
        )
        .select_from(invoices_with_formation())
        .where(
            INVOICES.c.statut != "annulee",
            date_in_period(INVOICES.c.date_emission, query),
            *scope,
        )
    )
    collected = (
        select(
            key_of(INVOICES.c.date_paiement).label("key"),
            zero.label("invoiced"),
            cents.label("collected"),
        )
        .select_from(invoices_with_formation())
        .where(
            INVOICES.c.statut == "payee",
            date_in_period(INVOICES.c.date_paiement, query),
            *scope,
        )
    )
    return union_all(invoiced, collected)


def _revenue_months(query: KpiQuery, found: dict[Any, tuple[Any, float, float]]) -> pd.DataFrame:
    records = []
    month = query.start.replace(day=1)
    while month < query.end:
        _label, invoiced, collected = found.pop(month, (None, 0.0, 0.0))
        records.append(
            {
                "key": month,
                "label": formatting.month_label(month),
                "invoiced": invoiced,
                "collected": collected,
            }
        )
        month = _next_month(month)
    if found:
        raise RuntimeError(f"unexpected months {sorted(found)}")
    return _frame(records, REVENUE_COLUMNS)


# --- Outcomes ---------------------------------------------------------------


def placement_by_formation(
    engine: Engine, query: KpiQuery, *, now: datetime | None = None
) -> pd.DataFrame:
    """Placement cohort, placed and durably placed within 6 months, per formation.

    ``now`` is accepted for symmetry with :func:`compute_kpis`; the rates do
    not depend on it (see ``placement_window_complete`` for their finality).
    """
    aware(now)
    finished = finished_base(query, APPLICATIONS.c.formation_id).cte("finished")
    placed = placed_per_application(finished, finished.c.formation_id).subquery("placed")
    cohort = (
        select(finished.c.formation_id, count_if(finished.c.statut == "terminee").label("cohort"))
        .group_by(finished.c.formation_id)
        .subquery("per_formation")
    )
    placed_totals = (
        select(
            placed.c.formation_id,
            func.count().label("placed"),
            func.sum(placed.c.durable).label("durable"),
        )
        .group_by(placed.c.formation_id)
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
        for slug, titre, size, placed_count, durable in _rows(engine, stmt)
    ]
    records.sort(key=lambda r: (-r["cohort"], r["label"]))
    return _frame(records, PLACEMENT_COLUMNS)


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
    with translate_errors(), engine.connect() as connection:
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
    return _frame(records, QUALITY_COLUMNS)


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
    started = (
        select(SESSIONS.c.id)
        .where(
            date_in_period(SESSIONS.c.date_debut, query),
            *formation_conditions(SESSIONS.c.formation_id, query),
        )
        .scalar_subquery()
    )
    attached = with_reached_rank(
        select(APPLICATIONS.c.id, APPLICATIONS.c.statut, APPLICATIONS.c.session_id).where(
            APPLICATIONS.c.session_id.in_(started)
        ),
        "attached",
    )
    enrolled = (
        select(
            attached.c.session_id,
            count_if(attached.c.reached_rank >= stage_rank("inscrite")).label("n"),
        )
        .group_by(attached.c.session_id)
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
        for session_id, titre, date_debut, date_fin, places, count in _rows(engine, stmt)
    ]
    return _frame(records, SESSION_COLUMNS)


# --- Companies --------------------------------------------------------------


def most_active_companies(engine: Engine, query: KpiQuery, limit: int = 10) -> pd.DataFrame:
    """Companies by job offers posted in the period plus hires from its matches.

    Job-offer and matching figures ignore the formation filter.
    """
    one, zero = literal(1), literal(0)
    posted = select(
        OFFERS.c.entreprise_id.label("entreprise_id"), one.label("offer"), zero.label("hire")
    ).where(ts_in_period(OFFERS.c.created_at, query))
    hired = (
        select(
            OFFERS.c.entreprise_id.label("entreprise_id"), zero.label("offer"), one.label("hire")
        )
        .select_from(MATCHES.join(OFFERS, OFFERS.c.id == MATCHES.c.offre_id))
        .where(ts_in_period(MATCHES.c.date_match, query), MATCHES.c.statut == "embauche")
    )
    parts = union_all(posted, hired).subquery("parts")
    activity = (func.sum(parts.c.offer) + func.sum(parts.c.hire)).label("activity")
    stmt = (
        select(
            COMPANIES.c.id,
            COMPANIES.c.nom,
            func.sum(parts.c.offer),
            func.sum(parts.c.hire),
            activity,
        )
        .select_from(parts)
        .join(COMPANIES, COMPANIES.c.id == parts.c.entreprise_id)
        .group_by(COMPANIES.c.id, COMPANIES.c.nom)
        .order_by(activity.desc(), COMPANIES.c.nom, COMPANIES.c.id)
        .limit(limit)
    )
    records = [
        {
            "entreprise_id": int(company_id),
            "label": nom,
            "offers_posted": int(offers),
            "hires": int(hires),
            "activity": int(total),
        }
        for company_id, nom, offers, hires, total in _rows(engine, stmt)
    ]
    return _frame(records, COMPANY_COLUMNS)


__all__ = [
    "applications_trend",
    "conversion_by",
    "most_active_companies",
    "placement_by_formation",
    "quality_by_formation",
    "revenue_by",
    "session_fill_rates",
    "top_formations",
]
