"""The headline figures: one :class:`KpiSet` per period and filter.

Three SQL statements, run side by side on their own connections, compute
every figure in the database: the cohort of the period (one aggregate: the
funnel counts and the median first response), the sessions and their
outcomes, and every other figure (a one-row subquery per group). Each
figure reads only the rows of its period through its own index (migration
0003), and the event history comes from the dashboard's summary
(:mod:`data.kpis.summary`, merged with its tail) where the database has it.

Measured on 1,000,000 applications (``python -m benchmarks``): about 150 ms
for a month and under a second for 12 months on a quiet 2-core machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Subquery,
    and_,
    case,
    distinct,
    func,
    select,
    true,
)

from data.db import translate_errors
from data.kpis.query import PLACEMENT_MONTHS, KpiQuery, aware
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
    SummaryView,
    cents_sum,
    cohort_facts,
    count_if,
    date_in_period,
    finished_base,
    formation_conditions,
    hours_between,
    invoice_formation_conditions,
    money_from_cents,
    placements_in_window,
    ratio,
    reached_rank,
    reached_stage,
    read_id_bounds,
    stage_rank,
    ts_in_period,
)
from data.kpis.summary import summary_view
from data.sqlfuncs import add_months, median
from data.workflow import NEW, overdue_condition

_T = TypeVar("_T")
KPI_WORK_MEM = "64MB"
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
    "placement_closed_shift_months",
    "placement_cohort_closed",
    "placed_6m_closed",
    "placement_rate_6m_closed",
    "durable_placement_rate_6m_closed",
    "placement_cohort_open",
    "satisfaction_avg",
    "satisfaction_rate",
    "matches_proposed",
    "matches_validated",
    "match_hires",
    "offers_open",
)
"""Every id of the definitions table, in table order."""


@dataclass(frozen=True)
class KpiSet:
    """Every headline figure of one period (see ``contract/kpi-definitions.md``).

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
    placement_closed_shift_months: int
    placement_cohort_closed: int
    placed_6m_closed: int
    placement_rate_6m_closed: float | None
    durable_placement_rate_6m_closed: float | None
    placement_cohort_open: int
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


def compute_kpis(
    engine: Engine, query: KpiQuery, *, now: datetime | None = None, use_summary: bool = True
) -> KpiSet:
    """Every headline figure for ``query``; ``now`` (aware) fixes "today" and the backlog.

    Three statements, run side by side on their own connections: the cohort
    of the period (funnel counts and median first response), the sessions
    and their outcomes, and every other figure. The event history comes from
    the dashboard's summary merged with the events it has not folded yet, when
    the database has it (``use_summary=False`` reads the events directly;
    the figures are the same). Nothing is written.
    """
    now = aware(now)
    closed = query.placement_closed(now)
    outcomes = [_outcomes(query, today=query.today(now))]
    if closed is not None and closed is not query:
        outcomes.append(_outcomes(closed, prefix=CLOSED))
    with translate_errors():
        facts = summary_view(engine) if use_summary else None
        cohort, sessions, others = run_concurrently(
            engine,
            [
                lambda connection: _applications_section(connection, query, facts),
                lambda connection: _one_row(connection, [_sessions(query, facts), *outcomes]),
                lambda connection: _one_row(
                    connection,
                    [
                        _backlog(query, now),
                        _matching(query),
                        _money(query, now),
                        _quotes(query),
                        _evaluations(query),
                    ],
                ),
            ],
        )
    row = {**sessions, **others}
    if closed is query:  # the period is final: C is the period itself
        row.update({CLOSED + key: row[key] for key in _OUTCOME_COUNTS})
    figures = {**cohort, **_other_figures(row)}
    figures["placement_window_complete"] = query.placement_window_complete(now)
    figures["placement_closed_shift_months"] = query.placement_closed_shift_months(now)
    return KpiSet(**figures)


def closed_placement_figures(engine: Engine, query: KpiQuery) -> dict[str, Any]:
    """The ``*_closed`` placement figures with ``query``'s own period as the closed
    cohort period: for a period that is already final (the period before ``C``, or
    a year before it), by the same outcomes statement as :func:`compute_kpis`."""
    with translate_errors(), kpi_connection(engine) as connection:
        row = _one_row(connection, [_outcomes(query, prefix=CLOSED)])
    return _closed_placement({key: int(value or 0) for key, value in row.items()})


@contextmanager
def kpi_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for large aggregates: on PostgreSQL, enough ``work_mem`` for a
    year's cohort to hash and sort in memory (for this transaction only)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL work_mem = '{KPI_WORK_MEM}'")
        yield connection


def run_concurrently(engine: Engine, tasks: Sequence[Callable[[Connection], _T]]) -> list[_T]:
    """Run each task on its own connection at the same time (the database works on
    several cores); returns their results in order."""

    def run(task: Callable[[Connection], _T]) -> _T:
        with kpi_connection(engine) as connection:
            return task(connection)

    if len(tasks) == 1:
        return [run(tasks[0])]
    with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="kpi") as pool:
        return list(pool.map(run, tasks))


def formation_exists(engine: Engine, slug: str) -> bool:
    """True when a formation has this slug."""
    stmt = select(FORMATIONS.c.id).where(FORMATIONS.c.slug == slug).limit(1)
    with translate_errors(), engine.connect() as connection:
        return connection.execute(stmt).first() is not None


def _applications_section(
    connection: Connection, query: KpiQuery, facts: SummaryView | None
) -> dict[str, Any]:
    """Cohort A in one pass: each application's reached rank and first-response hours
    computed once (an ``OFFSET 0`` subquery the planner keeps as is), then every count
    and the median in a single aggregate."""
    bounds = read_id_bounds(connection, query, facts)
    cohort = cohort_facts(query, facts, APPLICATIONS.c.created_at, bounds=bounds).subquery("cohort")
    ranked = (
        select(
            cohort.c.statut,
            reached_rank(cohort.c.statut, cohort.c.max_event_rank).label("reached"),
            hours_between(cohort.c.created_at, cohort.c.first_response_at).label("hours"),
        )
        .offset(0)
        .subquery("ranked")
    )
    stmt = select(
        func.count().label("applications"),
        *(
            count_if(ranked.c.reached >= stage_rank(stage)).label(f"reached_{stage}")
            for stage in REACHED_STAGES
        ),
        count_if(ranked.c.statut == "refusee").label("refusals"),
        median(ranked.c.hours).label("median_hours"),
    )
    row = connection.execute(stmt).mappings().one()
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


def _one_row(connection: Connection, parts: list[Subquery]) -> dict[str, Any]:
    """One statement: the one-row subqueries ``parts`` side by side, each planned on
    its own index (period first)."""
    stmt = select(*(column for part in parts for column in part.c)).select_from(parts[0])
    for part in parts[1:]:
        stmt = stmt.join(part, true())
    return dict(connection.execute(stmt).mappings().one())


def _other_figures(row: dict[str, Any]) -> dict[str, Any]:
    """The figures outside the cohort, from the raw counts and sums of :func:`_one_row`."""
    counts = {key: int(value or 0) for key, value in row.items() if key not in _NOT_COUNTS}
    completions, dropouts = counts["completions"], counts["dropouts"]
    evaluations = counts["evaluations"]
    return {
        **{key: counts[key] for key in _PLAIN_COUNTS},
        "revenue_invoiced": money_from_cents(row["invoiced"]),
        "revenue_collected": money_from_cents(row["collected"]),
        "receivables_overdue": money_from_cents(row["overdue"]),
        "quote_conversion_rate": ratio(counts["quotes_accepted"], counts["quotes_sent"]),
        "fill_rate": ratio(counts["enrolled"], counts["places"]),
        "completion_rate": ratio(completions, completions + dropouts),
        "placement_cohort": completions,
        "placed_6m": counts["placed"],
        "placement_rate_6m": ratio(counts["placed"], completions),
        "durable_placement_rate_6m": ratio(counts["durable"], completions),
        **_closed_placement(counts),
        "placement_cohort_open": counts["still_open"],
        "satisfaction_avg": ratio(counts["notes"], evaluations),
        "satisfaction_rate": ratio(counts["satisfied"], evaluations),
    }


def _closed_placement(counts: dict[str, int]) -> dict[str, Any]:
    """The placement figures over the closed cohort period ``C`` (all 0 and None
    when ``C`` is empty: no ``closed_`` counts in the row)."""
    cohort = counts.get(CLOSED + "completions", 0)
    placed = counts.get(CLOSED + "placed", 0)
    return {
        "placement_cohort_closed": cohort,
        "placed_6m_closed": placed,
        "placement_rate_6m_closed": ratio(placed, cohort),
        "durable_placement_rate_6m_closed": ratio(counts.get(CLOSED + "durable", 0), cohort),
    }


CLOSED = "closed_"
"""Prefix of the outcome counts over the closed cohort period ``C``."""
_OUTCOME_COUNTS = ("completions", "dropouts", "placed", "durable")
_NOT_COUNTS = frozenset({"invoiced", "collected", "overdue"})
_PLAIN_COUNTS = (
    "backlog_new",
    "backlog_overdue",
    "matches_proposed",
    "matches_validated",
    "match_hires",
    "offers_open",
    "quotes_sent",
    "quotes_accepted",
    "sessions_started",
    "completions",
    "dropouts",
)


def _backlog(query: KpiQuery, now: datetime) -> Subquery:
    overdue = overdue_condition(
        APPLICATIONS.c.statut, APPLICATIONS.c.created_at, now=now, sla_hours=query.sla_hours
    )
    return (
        select(
            func.count().label("backlog_new"),
            count_if(overdue).label("backlog_overdue"),
        )
        .where(
            APPLICATIONS.c.statut == NEW,
            *formation_conditions(APPLICATIONS.c.formation_id, query),
        )
        .subquery("backlog")
    )


def _matching(query: KpiQuery) -> Subquery:
    matches = (
        select(
            func.count().label("matches_proposed"),
            count_if(MATCHES.c.statut.in_(VALIDATED_MATCH_STATUSES)).label("matches_validated"),
            count_if(MATCHES.c.statut == "embauche").label("match_hires"),
        )
        .where(ts_in_period(MATCHES.c.date_match, query))
        .subquery("matches")
    )
    offers = select(func.count()).where(OFFERS.c.statut == "ouverte").scalar_subquery()
    return select(*matches.c, offers.label("offers_open")).subquery("matching")


def _money(query: KpiQuery, now: datetime) -> Subquery:
    """Each sum reads only its own rows: by issue date, payment date, or due invoices."""
    scope = invoice_formation_conditions(query)

    def total(*conditions: ColumnElement[bool]) -> Any:
        return select(cents_sum(INVOICES.c.montant)).where(*conditions, *scope).scalar_subquery()

    return select(
        total(
            INVOICES.c.statut != "annulee", date_in_period(INVOICES.c.date_emission, query)
        ).label("invoiced"),
        total(INVOICES.c.statut == "payee", date_in_period(INVOICES.c.date_paiement, query)).label(
            "collected"
        ),
        total(INVOICES.c.statut == "emise", INVOICES.c.date_echeance < query.today(now)).label(
            "overdue"
        ),
    ).subquery("money")


def _quotes(query: KpiQuery) -> Subquery:
    return (
        select(
            func.count().label("quotes_sent"),
            count_if(QUOTES.c.statut == "accepte").label("quotes_accepted"),
        )
        .where(
            ts_in_period(QUOTES.c.sent_at, query),
            *formation_conditions(QUOTES.c.formation_id, query),
        )
        .subquery("quotes")
    )


def _sessions(query: KpiQuery, facts: SummaryView | None) -> Subquery:
    """Sessions starting in the period, their places, and the applications attached
    to them that reached ``inscrite`` (whatever the applications' own formation)."""
    in_period = [
        date_in_period(SESSIONS.c.date_debut, query),
        *formation_conditions(SESSIONS.c.formation_id, query),
    ]
    started = (
        select(
            func.count().label("sessions_started"),
            func.coalesce(func.sum(SESSIONS.c.places), 0).label("places"),
        )
        .where(*in_period)
        .subquery("started")
    )
    enrolled = (
        select(func.count())
        .select_from(APPLICATIONS)
        .where(
            APPLICATIONS.c.session_id.in_(select(SESSIONS.c.id).where(*in_period)),
            reached_stage("inscrite", APPLICATIONS, facts),
        )
        .scalar_subquery()
    )
    return select(*started.c, enrolled.label("enrolled")).subquery("sessions")


def _outcomes(query: KpiQuery, *, today: date | None = None, prefix: str = "") -> Subquery:
    """Completions and dropouts of sessions ending in the period; of the completions,
    those placed (durably) within 6 months, in one join with the placements; with
    ``today``, the completions still inside their 6-month window (``still_open``).
    Every label starts with ``prefix`` (the same statement serves the period and
    the closed cohort period side by side)."""
    finished = finished_base(query).subquery(f"{prefix}finished")
    counts = [
        count_if(finished.c.statut == "terminee").label(f"{prefix}completions"),
        count_if(finished.c.statut == "abandon").label(f"{prefix}dropouts"),
    ]
    if today is not None:
        window_end = add_months(finished.c.date_fin, PLACEMENT_MONTHS)
        still_open = and_(finished.c.statut == "terminee", window_end >= today)
        counts.append(count_if(still_open).label(f"{prefix}still_open"))
    ended = select(*counts).subquery(f"{prefix}ended")
    joined = placements_in_window(query).subquery(f"{prefix}joined")
    placed = select(
        func.count(distinct(joined.c.id)).label(f"{prefix}placed"),
        func.count(distinct(case((joined.c.durable == 1, joined.c.id)))).label(f"{prefix}durable"),
    ).subquery(f"{prefix}placed")
    return (
        select(*ended.c, *placed.c)
        .select_from(ended.join(placed, true()))
        .subquery(f"{prefix}outcomes")
    )


def _evaluations(query: KpiQuery) -> Subquery:
    conditions = [ts_in_period(EVALUATIONS.c.created_at, query)]
    if query.filtered:
        in_scope = select(APPLICATIONS.c.id).where(
            *formation_conditions(APPLICATIONS.c.formation_id, query)
        )
        conditions.append(EVALUATIONS.c.candidature_id.in_(in_scope))
    return (
        select(
            func.count().label("evaluations"),
            func.coalesce(func.sum(EVALUATIONS.c.note), 0).label("notes"),
            count_if(EVALUATIONS.c.note >= 4).label("satisfied"),
        )
        .where(*conditions)
        .subquery("evaluations")
    )
