"""Breakdowns of the headline figures: small DataFrames of aggregates.

Same definitions and filters as :mod:`data.kpis.headline`; every aggregate
is computed in the database, pandas only receives the grouped rows. Each
function's rows add up to the matching headline figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    case,
    distinct,
    func,
    literal,
    null,
    select,
    union_all,
)

from data import formatting
from data.db import translate_errors
from data.kpis.headline import kpi_connection
from data.kpis.period import KpiQuery, aware, local_midnight_utc
from data.kpis.sql import (
    APPLICATIONS,
    COMPANIES,
    EVALUATIONS,
    FORMATIONS,
    INVOICES,
    MATCHES,
    OFFERS,
    SESSIONS,
    cents_sum,
    cohort_base,
    cohort_facts,
    count_if,
    date_in_period,
    finished_base,
    formation_conditions,
    invoice_formation_conditions,
    invoice_formation_id,
    invoices_with_formation,
    money_from_cents,
    placements_in_window,
    ratio,
    reached_rank_of,
    reached_stage,
    read_id_bounds,
    stage_rank,
    ts_in_period,
)
from data.kpis.summary import ready_facts
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
    with translate_errors(), kpi_connection(engine) as connection:
        return list(connection.execute(stmt))


def _frame(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(list(records), columns=list(columns))


def _check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def _cohort_groups(engine: Engine, query: KpiQuery, key: ColumnElement[Any]) -> list[Any]:
    """Cohort A grouped by ``key``, ``statut`` and ``max_event_rank``: rows of
    (key, statut, max_event_rank, n), from which enrolments are counted."""
    with translate_errors():
        facts = ready_facts(engine)
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
    _check(dimension, ("formation", "source", "financement"), "dimension")
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
    return _frame(records, CONVERSION_COLUMNS)


def _formation_titles(engine: Engine, ids: Iterable[Any]) -> dict[Any, tuple[str, str]]:
    """``formation id -> (slug, titre)`` for the given ids."""
    wanted = [key for key in ids if key is not None]
    if not wanted:
        return {}
    stmt = select(FORMATIONS.c.id, FORMATIONS.c.slug, FORMATIONS.c.titre).where(
        FORMATIONS.c.id.in_(wanted)
    )
    return {fid: (slug, titre) for fid, slug, titre in _rows(engine, stmt)}


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
    step = _next_week if grain == "week" else _next_month
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
    return _frame(records, TREND_COLUMNS)


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


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


# --- Revenue ----------------------------------------------------------------


def revenue_by(engine: Engine, query: KpiQuery, dimension: RevenueDimension) -> pd.DataFrame:
    """Invoiced and collected euros (floats) per funder, formation or month.

    Invoiced counts by ``date_emission``, collected by ``date_paiement``
    (so "month" puts them in their own months). Months cover the period.
    """
    _check(dimension, ("financeur", "formation", "month"), "dimension")
    if dimension == "month":
        return _revenue_months(query, _rows(engine, _revenue_by_day(query)))
    stmt = _revenue_by_key(query, dimension)
    found = {
        key: (label, float(money_from_cents(invoiced)), float(money_from_cents(collected)))
        for key, label, invoiced, collected in _rows(engine, stmt)
    }
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


def _invoiced(query: KpiQuery) -> ColumnElement[bool]:
    return (INVOICES.c.statut != "annulee") & date_in_period(INVOICES.c.date_emission, query)


def _collected(query: KpiQuery) -> ColumnElement[bool]:
    return (INVOICES.c.statut == "payee") & date_in_period(INVOICES.c.date_paiement, query)


def _revenue_by_key(query: KpiQuery, dimension: str) -> Select[Any]:
    """One pass over the invoices issued or paid in the period (each looked up once
    in its application or quote for its formation), summed per funder or formation."""
    invoiced, collected = _invoiced(query), _collected(query)
    totals = [cents_sum(INVOICES.c.montant, invoiced), cents_sum(INVOICES.c.montant, collected)]
    conditions = [invoiced | collected, *invoice_formation_conditions(query)]
    if dimension == "financeur":
        return (
            select(INVOICES.c.financeur, null().label("label"), *totals)
            .where(*conditions)
            .group_by(INVOICES.c.financeur)
        )
    per_formation = (
        select(
            invoice_formation_id().label("key"), *(t.label(f"t{i}") for i, t in enumerate(totals))
        )
        .select_from(invoices_with_formation())
        .where(*conditions)
        .group_by(invoice_formation_id())
        .subquery("per_formation")
    )
    return select(
        FORMATIONS.c.slug, FORMATIONS.c.titre, per_formation.c.t0, per_formation.c.t1
    ).join_from(per_formation, FORMATIONS, FORMATIONS.c.id == per_formation.c.key)


def _revenue_by_day(query: KpiQuery) -> Any:
    """Cents invoiced per issue day and collected per payment day (each sum read from
    its own index in date order); :func:`_revenue_months` adds the days up."""
    scope = invoice_formation_conditions(query)
    zero = literal(0)
    invoiced = (
        select(INVOICES.c.date_emission, cents_sum(INVOICES.c.montant), zero)
        .where(_invoiced(query), *scope)
        .group_by(INVOICES.c.date_emission)
    )
    collected = (
        select(INVOICES.c.date_paiement, zero, cents_sum(INVOICES.c.montant))
        .where(_collected(query), *scope)
        .group_by(INVOICES.c.date_paiement)
    )
    return union_all(invoiced, collected)


def _revenue_months(query: KpiQuery, days: Iterable[Any]) -> pd.DataFrame:
    """Every month of the period, with the cents of its days summed exactly."""
    found: dict[date, list[Any]] = {}
    for day, invoiced, collected in days:
        totals = found.setdefault(day.replace(day=1), [0, 0])
        totals[0] += Decimal(invoiced or 0)
        totals[1] += Decimal(collected or 0)
    records = []
    month = query.start.replace(day=1)
    while month < query.end:
        invoiced, collected = found.pop(month, (0, 0))
        records.append(
            {
                "key": month,
                "label": formatting.month_label(month),
                "invoiced": float(money_from_cents(invoiced)),
                "collected": float(money_from_cents(collected)),
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
    with translate_errors():
        facts = ready_facts(engine)
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
