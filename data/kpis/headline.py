"""The headline figures: one :class:`KpiSet` per period and filter.

Each section below is one SQL statement (one round trip) computing a group
of figures entirely in the database; :func:`compute_kpis` runs the six of
them on one connection and assembles the result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from data.db import translate_errors
from data.kpis.period import KpiQuery, aware
from data.kpis.sql import (
    APPLICATIONS,
    EVALUATIONS,
    FORMATIONS,
    INVOICES,
    MATCHES,
    OFFERS,
    QUOTES,
    SESSIONS,
    VALIDATED_MATCH_STATUSES,
    cents_sum,
    cohort_base,
    count_if,
    date_in_period,
    finished_base,
    first_response_at,
    formation_conditions,
    hours_between,
    invoice_formation_conditions,
    money_from_cents,
    placed_per_application,
    ratio,
    stage_rank,
    ts_in_period,
    with_reached_rank,
)
from data.sqlfuncs import median

REACHED_STAGES = ("en_etude", "entretien", "admise", "inscrite", "terminee")

KPI_IDS: tuple[str, ...] = (
    "applications",
    "reached_en_etude",
    "reached_entretien",
    "reached_admise",
    "reached_inscrite",
    "reached_terminee",
    "enrolments",
    "conversion_rate",
    "refusal_rate",
    "median_first_response_hours",
    "backlog_new",
    "backlog_overdue",
    "revenue_invoiced",
    "revenue_collected",
    "receivables_overdue",
    "quotes_sent",
    "quotes_accepted",
    "quote_conversion_rate",
    "sessions_started",
    "fill_rate",
    "completions",
    "dropouts",
    "completion_rate",
    "placement_cohort",
    "placed_6m",
    "placement_rate_6m",
    "durable_placement_rate_6m",
    "placement_window_complete",
    "satisfaction_avg",
    "satisfaction_rate",
    "matches_proposed",
    "matches_validated",
    "match_hires",
    "offers_open",
)
"""Every id of the definitions table, in table order."""

MONEY_KPIS = frozenset({"revenue_invoiced", "revenue_collected", "receivables_overdue"})
RATE_KPIS = frozenset(
    {
        "conversion_rate",
        "refusal_rate",
        "quote_conversion_rate",
        "fill_rate",
        "completion_rate",
        "placement_rate_6m",
        "durable_placement_rate_6m",
        "satisfaction_rate",
    }
)


@dataclass(frozen=True)
class KpiSet:
    """Every headline figure of one period (see ``shared/kpi-definitions.md``).

    Counts are ``int``, money ``Decimal`` (2 places), rates ``float`` in
    [0, 1] or None when their denominator is 0, the mean and the median
    ``float`` or None on an empty set.
    """

    applications: int
    reached_en_etude: int
    reached_entretien: int
    reached_admise: int
    reached_inscrite: int
    reached_terminee: int
    enrolments: int
    conversion_rate: float | None
    refusal_rate: float | None
    median_first_response_hours: float | None
    backlog_new: int
    backlog_overdue: int
    revenue_invoiced: Decimal
    revenue_collected: Decimal
    receivables_overdue: Decimal
    quotes_sent: int
    quotes_accepted: int
    quote_conversion_rate: float | None
    sessions_started: int
    fill_rate: float | None
    completions: int
    dropouts: int
    completion_rate: float | None
    placement_cohort: int
    placed_6m: int
    placement_rate_6m: float | None
    durable_placement_rate_6m: float | None
    placement_window_complete: bool
    satisfaction_avg: float | None
    satisfaction_rate: float | None
    matches_proposed: int
    matches_validated: int
    match_hires: int
    offers_open: int

    def as_dict(self) -> dict[str, int | float | Decimal | bool | None]:
        """Every figure by id, in :data:`KPI_IDS` order (money stays Decimal)."""
        return asdict(self)

    def as_json_dict(self) -> dict[str, int | float | bool | None]:
        """Every figure by id, money as a float of euros (for JSON)."""
        return {
            key: float(value) if isinstance(value, Decimal) else value
            for key, value in self.as_dict().items()
        }


assert tuple(f.name for f in fields(KpiSet)) == KPI_IDS


def compute_kpis(engine: Engine, query: KpiQuery, *, now: datetime | None = None) -> KpiSet:
    """Every headline figure for ``query``; ``now`` (aware) fixes "today" and the backlog."""
    now = aware(now)
    with translate_errors(), engine.connect() as connection:
        figures: dict[str, Any] = {}
        figures.update(_applications_section(connection, query))
        figures.update(_backlog_and_matching_section(connection, query, now))
        figures.update(_money_section(connection, query, now))
        figures.update(_sessions_section(connection, query))
        figures.update(_outcomes_section(connection, query))
        figures.update(_evaluations_section(connection, query))
    figures["placement_window_complete"] = query.placement_window_complete(now)
    return KpiSet(**figures)


def formation_exists(engine: Engine, slug: str) -> bool:
    """True when a formation has this slug."""
    stmt = select(FORMATIONS.c.id).where(FORMATIONS.c.slug == slug).limit(1)
    with translate_errors(), engine.connect() as connection:
        return connection.execute(stmt).first() is not None


def _one_row(connection: Connection, stmt: Any) -> dict[str, Any]:
    return dict(connection.execute(stmt).mappings().one())


def _applications_section(connection: Connection, query: KpiQuery) -> dict[str, Any]:
    cohort = with_reached_rank(
        cohort_base(query, APPLICATIONS.c.created_at), "cohort", first_response_at()
    )
    stmt = select(
        func.count().label("applications"),
        *(
            count_if(cohort.c.reached_rank >= stage_rank(stage)).label(f"reached_{stage}")
            for stage in REACHED_STAGES
        ),
        count_if(cohort.c.statut == "refusee").label("refusals"),
        median(hours_between(cohort.c.created_at, cohort.c.first_response_at)).label(
            "median_hours"
        ),
    ).select_from(cohort)
    row = _one_row(connection, stmt)
    applications = int(row["applications"])
    enrolments = int(row["reached_inscrite"])
    median_hours = row["median_hours"]
    return {
        "applications": applications,
        **{f"reached_{stage}": int(row[f"reached_{stage}"]) for stage in REACHED_STAGES},
        "enrolments": enrolments,
        "conversion_rate": ratio(enrolments, applications),
        "refusal_rate": ratio(int(row["refusals"]), applications),
        "median_first_response_hours": None if median_hours is None else float(median_hours),
    }


def _count(*conditions: Any, table: Any) -> Any:
    return select(func.count()).select_from(table).where(*conditions).scalar_subquery()


def _backlog_and_matching_section(
    connection: Connection, query: KpiQuery, now: datetime
) -> dict[str, Any]:
    new = [
        APPLICATIONS.c.statut == "nouvelle",
        *formation_conditions(APPLICATIONS.c.formation_id, query),
    ]
    overdue_before = now - timedelta(hours=query.sla_hours)
    matched = ts_in_period(MATCHES.c.date_match, query)
    stmt = select(
        _count(*new, table=APPLICATIONS).label("backlog_new"),
        _count(*new, APPLICATIONS.c.created_at < overdue_before, table=APPLICATIONS).label(
            "backlog_overdue"
        ),
        _count(matched, table=MATCHES).label("matches_proposed"),
        _count(matched, MATCHES.c.statut.in_(VALIDATED_MATCH_STATUSES), table=MATCHES).label(
            "matches_validated"
        ),
        _count(matched, MATCHES.c.statut == "embauche", table=MATCHES).label("match_hires"),
        _count(OFFERS.c.statut == "ouverte", table=OFFERS).label("offers_open"),
    )
    return {key: int(value) for key, value in _one_row(connection, stmt).items()}


def _money_section(connection: Connection, query: KpiQuery, now: datetime) -> dict[str, Any]:
    amount = INVOICES.c.montant
    sent = [
        ts_in_period(QUOTES.c.sent_at, query),
        *formation_conditions(QUOTES.c.formation_id, query),
    ]
    stmt = select(
        cents_sum(
            amount,
            (INVOICES.c.statut != "annulee") & date_in_period(INVOICES.c.date_emission, query),
        ).label("invoiced"),
        cents_sum(
            amount,
            (INVOICES.c.statut == "payee") & date_in_period(INVOICES.c.date_paiement, query),
        ).label("collected"),
        cents_sum(
            amount,
            (INVOICES.c.statut == "emise") & (INVOICES.c.date_echeance < query.today(now)),
        ).label("overdue"),
        _count(*sent, table=QUOTES).label("quotes_sent"),
        _count(*sent, QUOTES.c.statut == "accepte", table=QUOTES).label("quotes_accepted"),
    ).where(*invoice_formation_conditions(query))
    row = _one_row(connection, stmt)
    sent_count, accepted = int(row["quotes_sent"]), int(row["quotes_accepted"])
    return {
        "revenue_invoiced": money_from_cents(row["invoiced"]),
        "revenue_collected": money_from_cents(row["collected"]),
        "receivables_overdue": money_from_cents(row["overdue"]),
        "quotes_sent": sent_count,
        "quotes_accepted": accepted,
        "quote_conversion_rate": ratio(accepted, sent_count),
    }


def _sessions_section(connection: Connection, query: KpiQuery) -> dict[str, Any]:
    started = (
        select(SESSIONS.c.id, SESSIONS.c.places)
        .where(
            date_in_period(SESSIONS.c.date_debut, query),
            *formation_conditions(SESSIONS.c.formation_id, query),
        )
        .cte("started")
    )
    attached = with_reached_rank(
        select(APPLICATIONS.c.id, APPLICATIONS.c.statut).where(
            APPLICATIONS.c.session_id.in_(select(started.c.id))
        ),
        "attached",
    )
    stmt = select(
        select(func.count()).select_from(started).scalar_subquery().label("sessions"),
        select(func.sum(started.c.places)).scalar_subquery().label("places"),
        select(count_if(attached.c.reached_rank >= stage_rank("inscrite")))
        .scalar_subquery()
        .label("enrolled"),
    )
    row = _one_row(connection, stmt)
    return {
        "sessions_started": int(row["sessions"]),
        "fill_rate": ratio(int(row["enrolled"]), int(row["places"] or 0)),
    }


def _outcomes_section(connection: Connection, query: KpiQuery) -> dict[str, Any]:
    finished = finished_base(query).cte("finished")
    placed = placed_per_application(finished).subquery("placed")
    stmt = select(
        count_if(finished.c.statut == "terminee").label("completions"),
        count_if(finished.c.statut == "abandon").label("dropouts"),
        select(func.count()).select_from(placed).scalar_subquery().label("placed"),
        select(func.coalesce(func.sum(placed.c.durable), 0)).scalar_subquery().label("durable"),
    ).select_from(finished)
    row = _one_row(connection, stmt)
    completions, dropouts = int(row["completions"]), int(row["dropouts"])
    placed_count = int(row["placed"])
    return {
        "completions": completions,
        "dropouts": dropouts,
        "completion_rate": ratio(completions, completions + dropouts),
        "placement_cohort": completions,
        "placed_6m": placed_count,
        "placement_rate_6m": ratio(placed_count, completions),
        "durable_placement_rate_6m": ratio(int(row["durable"]), completions),
    }


def _evaluations_section(connection: Connection, query: KpiQuery) -> dict[str, Any]:
    in_scope = select(APPLICATIONS.c.id).where(
        *formation_conditions(APPLICATIONS.c.formation_id, query)
    )
    conditions = [ts_in_period(EVALUATIONS.c.created_at, query)]
    if query.filtered:
        conditions.append(EVALUATIONS.c.candidature_id.in_(in_scope))
    stmt = select(
        func.count().label("evaluations"),
        func.sum(EVALUATIONS.c.note).label("total"),
        count_if(EVALUATIONS.c.note >= 4).label("satisfied"),
    ).where(*conditions)
    row = _one_row(connection, stmt)
    evaluations = int(row["evaluations"])
    return {
        "satisfaction_avg": ratio(int(row["total"] or 0), evaluations),
        "satisfaction_rate": ratio(int(row["satisfied"]), evaluations),
    }
