"""SQL building blocks shared by the headline figures, breakdowns and drill-downs.

Everything here builds SQLAlchemy Core expressions; nothing executes. The
definitions of ``shared/kpi-definitions.md`` are encoded once here (stage
ranks, the reached rank, period and formation filters, the placement
window) and reused by every query of the package.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Date,
    Float,
    Select,
    Subquery,
    Table,
    and_,
    case,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from data.kpis.period import KpiQuery
from data.labels import RANKS, UNRANKED
from data.models import Base
from data.sqlfuncs import add_months, epoch_seconds, local_date

USERS: Table = Base.metadata.tables["users"]
FORMATIONS: Table = Base.metadata.tables["formations"]
SESSIONS: Table = Base.metadata.tables["sessions_formation"]
APPLICATIONS: Table = Base.metadata.tables["candidatures"]
EVENTS: Table = Base.metadata.tables["candidature_events"]
COMPANIES: Table = Base.metadata.tables["entreprises"]
OFFERS: Table = Base.metadata.tables["offres_emploi"]
MATCHES: Table = Base.metadata.tables["matchings"]
QUOTES: Table = Base.metadata.tables["devis"]
INVOICES: Table = Base.metadata.tables["factures"]
PLACEMENTS: Table = Base.metadata.tables["placements"]
EVALUATIONS: Table = Base.metadata.tables["evaluations"]

VALIDATED_MATCH_STATUSES = ("valide", "entretien", "embauche")
DURABLE_ALWAYS = ("cdi", "creation_entreprise")
DURABLE_IF_SIX_MONTHS = ("cdd", "interim", "alternance")
PLACEMENT_MONTHS = 6
CENT = Decimal("0.01")


# --- Counting helpers -------------------------------------------------------


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """``COUNT(CASE WHEN condition THEN 1 END)``: 0 on an empty set."""
    return func.count(case((condition, 1)))


def cents_sum(amount: ColumnElement[Any], condition: ColumnElement[bool] | None = None) -> Any:
    """Sum of a money column in integer cents (exact on SQLite's floats too)."""
    cents = func.round(amount * 100)
    return func.sum(cents if condition is None else case((condition, cents)))


def money_from_cents(value: Any) -> Decimal:
    """A database sum of cents (Decimal, float, int or NULL) as euros, 2 places."""
    if value is None:
        return Decimal("0.00")
    return (Decimal(round(value)) / 100).quantize(CENT)


def ratio(numerator: int | float | Decimal, denominator: int | float | Decimal) -> float | None:
    """``numerator / denominator`` as a float; None when the denominator is 0."""
    if not denominator:
        return None
    return float(numerator) / float(denominator)


# --- Periods and filters ----------------------------------------------------


def ts_in_period(column: ColumnElement[Any], query: KpiQuery) -> ColumnElement[bool]:
    """A timestamp column whose local date is in ``[start, end)``."""
    lo, hi = query.utc_bounds()
    return and_(column >= lo, column < hi)


def date_in_period(column: ColumnElement[Any], query: KpiQuery) -> ColumnElement[bool]:
    """A date column in ``[start, end)``, compared as is."""
    return and_(column >= query.start, column < query.end)


def formation_ids(query: KpiQuery) -> Select[Any] | None:
    """The ids of the formations the query is restricted to; None: no filter."""
    if not query.filtered:
        return None
    stmt = select(FORMATIONS.c.id).correlate(None)
    if query.formation is not None:
        stmt = stmt.where(FORMATIONS.c.slug == query.formation)
    if query.domaine is not None:
        stmt = stmt.where(FORMATIONS.c.domaine == query.domaine)
    return stmt


def formation_conditions(column: ColumnElement[Any], query: KpiQuery) -> list[ColumnElement[bool]]:
    """``[column IN (filtered formation ids)]``, or ``[]`` without a filter."""
    ids = formation_ids(query)
    return [] if ids is None else [column.in_(ids)]


def invoice_formation_conditions(query: KpiQuery) -> list[ColumnElement[bool]]:
    """Invoices through their application's formation or their quote's formation."""
    ids = formation_ids(query)
    if ids is None:
        return []
    by_application = (
        select(APPLICATIONS.c.id).where(APPLICATIONS.c.formation_id.in_(ids)).correlate(None)
    )
    by_quote = select(QUOTES.c.id).where(QUOTES.c.formation_id.in_(ids)).correlate(None)
    return [
        or_(
            INVOICES.c.candidature_id.in_(by_application),
            INVOICES.c.devis_id.in_(by_quote),
        )
    ]


def invoice_formation_id() -> ColumnElement[Any]:
    """The formation of an invoice (needs the outer joins of :func:`invoices_with_formation`)."""
    return func.coalesce(APPLICATIONS.c.formation_id, QUOTES.c.formation_id)


def invoices_with_formation() -> Any:
    """``factures`` outer-joined to its application and its quote."""
    return INVOICES.outerjoin(
        APPLICATIONS, APPLICATIONS.c.id == INVOICES.c.candidature_id
    ).outerjoin(QUOTES, QUOTES.c.id == INVOICES.c.devis_id)


# --- Stages -----------------------------------------------------------------


def rank_of(status: ColumnElement[Any]) -> ColumnElement[int]:
    """The stage rank of a status column; anything unknown (or NULL) ranks -1."""
    return case(dict(RANKS), value=status, else_=UNRANKED)


def stage_rank(stage: str) -> int:
    """The rank of a stage that can be reached (ranked >= 0)."""
    rank = RANKS.get(stage, UNRANKED)
    if rank < 0:
        raise ValueError(f"{stage!r} is not a stage of the main path")
    return rank


def with_reached_rank(base: Select[Any], name: str, *aggregates: Any) -> Subquery:
    """``base`` (a select of applications with ``id`` and ``statut``) plus ``reached_rank``.

    The reached rank is the highest rank among the current ``statut`` and
    every ``to_statut`` of the application's events. One pass: the
    applications of ``base`` outer-joined to their events, grouped per
    application. ``aggregates`` (labelled aggregates over ``EVENTS``, e.g.
    :func:`first_response_at`) are computed in the same pass.
    """
    apps = base.subquery(f"{name}_apps")
    event_rank = func.max(rank_of(EVENTS.c.to_statut))  # NULL without events
    status_rank = rank_of(apps.c.statut)
    reached = case(
        (func.coalesce(event_rank, UNRANKED) > status_rank, event_rank), else_=status_rank
    )
    return (
        select(*apps.c, reached.label("reached_rank"), *aggregates)
        .select_from(apps.outerjoin(EVENTS, EVENTS.c.candidature_id == apps.c.id))
        .group_by(*apps.c)
        .subquery(name)
    )


def cohort_base(query: KpiQuery, *columns: ColumnElement[Any]) -> Select[Any]:
    """Applications created in the period (cohort A), with the formation filter."""
    return select(APPLICATIONS.c.id, APPLICATIONS.c.statut, *columns).where(
        ts_in_period(APPLICATIONS.c.created_at, query),
        *formation_conditions(APPLICATIONS.c.formation_id, query),
    )


def first_response_at() -> Any:
    """Aggregate over an application's events: the earliest ``changed_at`` of an
    event from ``nouvelle`` (NULL when there is none). For :func:`with_reached_rank`."""
    return func.min(case((EVENTS.c.from_statut == "nouvelle", EVENTS.c.changed_at))).label(
        "first_response_at"
    )


def hours_between(earlier: ColumnElement[Any], later: ColumnElement[Any]) -> ColumnElement[float]:
    """``later - earlier`` in hours (float); NULL if either is NULL."""
    return cast((epoch_seconds(later) - epoch_seconds(earlier)) / 3600.0, Float)


# --- Completions and placements ---------------------------------------------


def finished_base(query: KpiQuery, *columns: ColumnElement[Any]) -> Select[Any]:
    """Applications ``terminee`` or ``abandon`` whose session ends in the period."""
    return (
        select(
            APPLICATIONS.c.id,
            APPLICATIONS.c.statut,
            APPLICATIONS.c.user_id,
            SESSIONS.c.date_fin,
            *columns,
        )
        .join(SESSIONS, SESSIONS.c.id == APPLICATIONS.c.session_id)
        .where(
            APPLICATIONS.c.statut.in_(("terminee", "abandon")),
            date_in_period(SESSIONS.c.date_fin, query),
            *formation_conditions(APPLICATIONS.c.formation_id, query),
        )
    )


def durable_placement() -> ColumnElement[bool]:
    """A placement of a durable kind (cdi, business creation, or >= 6 months)."""
    return or_(
        PLACEMENTS.c.type_contrat.in_(DURABLE_ALWAYS),
        and_(
            PLACEMENTS.c.type_contrat.in_(DURABLE_IF_SIX_MONTHS),
            PLACEMENTS.c.duree_mois >= PLACEMENT_MONTHS,
        ),
    )


def placed_per_application(finished: CTE, *keys: ColumnElement[Any]) -> Select[Any]:
    """One row per completed application of ``finished`` with a placement of its
    applicant starting within 6 months of its session's end; ``durable`` 1/0."""
    window = and_(
        PLACEMENTS.c.user_id == finished.c.user_id,
        PLACEMENTS.c.type_contrat != "formation",
        PLACEMENTS.c.date_debut >= finished.c.date_fin,
        PLACEMENTS.c.date_debut <= add_months(finished.c.date_fin, PLACEMENT_MONTHS),
    )
    durable = func.max(case((durable_placement(), 1), else_=0))
    return (
        select(finished.c.id, *keys, durable.label("durable"))
        .join(PLACEMENTS, window)
        .where(finished.c.statut == "terminee")
        .group_by(finished.c.id, *keys)
    )


# --- Calendar buckets -------------------------------------------------------


class week_start(FunctionElement[Any]):  # noqa: N801 - reads as SQL
    """The Monday on or before a date (ISO week start)."""

    type = Date()
    inherit_cache = True
    name = "week_start"


@compiles(week_start, "postgresql")
def _week_start_pg(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    day = compiler.process(element.clauses, **kw)
    return f"CAST(date_trunc('week', CAST({day} AS timestamp)) AS DATE)"


@compiles(week_start, "sqlite")
def _week_start_sqlite(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '-6 days', 'weekday 1')"


class month_start(FunctionElement[Any]):  # noqa: N801 - reads as SQL
    """The first day of a date's month."""

    type = Date()
    inherit_cache = True
    name = "month_start"


@compiles(month_start, "postgresql")
def _month_start_pg(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    day = compiler.process(element.clauses, **kw)
    return f"CAST(date_trunc('month', CAST({day} AS timestamp)) AS DATE)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


def local_day(column: ColumnElement[Any], query: KpiQuery) -> ColumnElement[Any]:
    """The local calendar date of a timestamp column."""
    return local_date(column, query.timezone)
