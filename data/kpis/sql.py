"""SQL building blocks shared by the headline figures, breakdowns and drill-downs.

Everything here builds SQLAlchemy Core expressions (only :func:`read_id_bounds`
executes one small statement). The definitions of ``contract/kpi-definitions.md``
are encoded once here (stage ranks, the reached rank, period and formation
filters, the placement window) and reused by every query of the package.

An application's event history is read through :func:`event_facts`: the
dashboard's summary table when the database has it (``data.kpis.summary``),
else the events themselves grouped per application; both give the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
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

from data.kpis.query import PLACEMENT_MONTHS, KpiQuery
from data.labels import RANKS, UNRANKED
from data.models import Base
from data.sqlfuncs import add_months, add_months_to, epoch_seconds

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
CENT = Decimal("0.01")


# --- Counting helpers -------------------------------------------------------


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """``COUNT(CASE WHEN condition THEN 1 END)``: 0 on an empty set."""
    return func.count(case((condition, 1)))


def cents_sum(amount: ColumnElement[Any], condition: ColumnElement[bool] | None = None) -> Any:
    """Sum of a money column in integer cents (exact on SQLite's floats too)."""
    return _cents_sum(amount if condition is None else case((condition, amount)))


class _cents_sum(FunctionElement[Any]):  # noqa: N801 - reads as SQL
    """``sum(amount) * 100`` on PostgreSQL (numeric: exact, one product per sum);
    ``sum(round(amount * 100))`` on SQLite, whose money columns are floats."""

    inherit_cache = True
    name = "cents_sum"


@compiles(_cents_sum, "postgresql")
def _cents_sum_pg(element: _cents_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(sum({compiler.process(element.clauses, **kw)}) * 100)"


@compiles(_cents_sum)
def _cents_sum_default(element: _cents_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sum(round(({compiler.process(element.clauses, **kw)}) * 100))"


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


def reached_rank(statut: ColumnElement[Any], max_event_rank: ColumnElement[Any]) -> Any:
    """An application's reached rank (the definitions' rule, in SQL): the highest of
    its current status's rank and ``max_event_rank``, the highest rank among its
    events (NULL without events). :func:`reached_rank_of` is its Python twin and
    :func:`reached_stage` the same rule as a predicate; the tests hold the three
    equal."""
    status_rank = rank_of(statut)
    return case(
        (func.coalesce(max_event_rank, UNRANKED) > status_rank, max_event_rank),
        else_=status_rank,
    )


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
    return (
        select(*apps.c, reached_rank(apps.c.statut, event_rank).label("reached_rank"), *aggregates)
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
    return _elapsed_hours(earlier, later)


class _elapsed_hours(FunctionElement[float]):  # noqa: N801 - reads as SQL
    """Hours from the first timestamp to the second, as a float.

    PostgreSQL: ``date_part('epoch', later - earlier) / 3600`` (double
    precision on the exact interval; ``EXTRACT`` would compute in numeric,
    several times slower on a large cohort). Elsewhere: epoch seconds.
    """

    type = Float()
    inherit_cache = True
    name = "elapsed_hours"


@compiles(_elapsed_hours, "postgresql")
def _elapsed_hours_pg(element: _elapsed_hours, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"(date_part('epoch', ({later}) - ({earlier})) / 3600.0)"


@compiles(_elapsed_hours)
def _elapsed_hours_default(element: _elapsed_hours, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = element.clauses
    seconds = epoch_seconds(later) - epoch_seconds(earlier)
    return compiler.process(cast(seconds / 3600.0, Float), **kw)


# --- Event facts: from the summary (merged with its tail) or from the events -----


@dataclass(frozen=True)
class SummaryView:
    """The dashboard's event summary as a KPI statement reads it, without writing:
    its rows fold every event up to ``seen`` except the ids of ``gaps`` (ids that
    were not visible when it was refreshed); the events past ``seen`` and in the
    gaps, the *tail*, are folded in by the statement itself (merge on read).
    Folding is idempotent (a maximum and a minimum), so an event counted by both
    the rows and the tail changes nothing."""

    table: Table
    seen: int
    gaps: tuple[tuple[int, int], ...] = ()


def statuses_ranked_at_least(rank: int) -> tuple[str, ...]:
    """The statuses whose rank is ``rank`` or more (unknown statuses rank -1)."""
    return tuple(status for status, value in RANKS.items() if value >= rank)


def in_tail(view: SummaryView) -> ColumnElement[bool]:
    """The events the summary's rows may not hold yet: past ``seen``, or in a gap."""
    return or_(EVENTS.c.id > view.seen, *(EVENTS.c.id.between(lo, hi) for lo, hi in view.gaps))


def event_facts(
    facts: SummaryView | None, ids: Select[Any] | None = None, *, name: str = "event_facts"
) -> Any:
    """The events grouped per application: ``candidature_id``, ``max_event_rank``
    (the highest rank of its events' ``to_statut``) and ``first_response_at``;
    with a summary, only its tail; with ``ids``, only those applications."""
    stmt = select(
        EVENTS.c.candidature_id,
        func.max(rank_of(EVENTS.c.to_statut)).label("max_event_rank"),
        first_response_at(),
    ).group_by(EVENTS.c.candidature_id)
    if facts is not None:
        stmt = stmt.where(in_tail(facts))
    if ids is not None:
        stmt = stmt.where(EVENTS.c.candidature_id.in_(ids))
    return stmt.subquery(name)


def _higher(a: ColumnElement[Any], b: ColumnElement[Any]) -> Any:
    """The higher of two nullable values (NULL only when both are)."""
    return case((b.is_(None), a), (a.is_(None), b), (b > a, b), else_=a)


def _earlier(a: ColumnElement[Any], b: ColumnElement[Any]) -> Any:
    """The earlier of two nullable instants (NULL only when both are)."""
    return case((b.is_(None), a), (a.is_(None), b), (b < a, b), else_=a)


def reached_stage(stage: str, application: Any, facts: SummaryView | None) -> ColumnElement[bool]:
    """Whether the application row ``application`` (with ``id`` and ``statut``)
    reached ``stage``: its status ranks that high, or one of its events does
    (in the summary's rows or its tail, or in the events when there is none).

    The status is tested first, so the event history (or the summary) is
    only looked up for the applications whose status ranks lower.
    """
    rank = stage_rank(stage)
    statuses = statuses_ranked_at_least(rank)
    in_events = [EVENTS.c.candidature_id == application.c.id, EVENTS.c.to_statut.in_(statuses)]
    if facts is None:
        return or_(
            application.c.statut.in_(statuses), select(EVENTS.c.id).where(*in_events).exists()
        )
    table = facts.table
    by_rows = (
        select(table.c.candidature_id)
        .where(table.c.candidature_id == application.c.id, table.c.max_event_rank >= rank)
        .exists()
    )
    by_tail = select(EVENTS.c.id).where(*in_events, in_tail(facts)).exists()
    return or_(application.c.statut.in_(statuses), by_rows, by_tail)


IdBounds = tuple[int, int] | None
"""The lowest and highest id of the applications of a period (None: no bound)."""


def cohort_conditions(query: KpiQuery) -> list[ColumnElement[bool]]:
    """Cohort A: applications created in the period, with the formation filter."""
    return [
        ts_in_period(APPLICATIONS.c.created_at, query),
        *formation_conditions(APPLICATIONS.c.formation_id, query),
    ]


def cohort_id_bounds(query: KpiQuery) -> Select[Any]:
    """``(lowest, highest)`` application id of cohort A (NULLs when it is empty).

    Ids grow with time, so a period's applications have neighbouring ids: the
    summary is then read by a range of its primary key rather than in full.
    Literal bounds (a separate statement) let the planner size that range.
    """
    shifted = APPLICATIONS.c.id + 0  # not answered by walking the primary key
    return select(func.min(shifted), func.max(shifted)).where(*cohort_conditions(query))


def cohort_facts(
    query: KpiQuery,
    facts: SummaryView | None,
    *columns: ColumnElement[Any],
    bounds: IdBounds = None,
) -> Select[Any]:
    """One row per application of cohort A: its ``statut``, ``max_event_rank`` (NULL
    without events), ``first_response_at`` and ``columns`` of ``candidatures``.

    With a summary, its rows are merged with its tail (the few events it has not
    folded yet). ``bounds`` (from :func:`cohort_id_bounds`) restricts both tables
    to that id range: implied by the cohort and the join, it changes no result.
    """
    in_cohort = cohort_conditions(query)
    if facts is None:
        known = event_facts(None, select(APPLICATIONS.c.id).where(*in_cohort))
        return (
            select(
                APPLICATIONS.c.statut, known.c.max_event_rank, known.c.first_response_at, *columns
            )
            .select_from(APPLICATIONS.outerjoin(known, known.c.candidature_id == APPLICATIONS.c.id))
            .where(*in_cohort)
        )
    rows = facts.table
    join = rows.c.candidature_id == APPLICATIONS.c.id
    if bounds is not None:
        # Both sides in id order over the same range: a merge join of two
        # index-only scans (migration 0003's covering indexes).
        join = and_(join, rows.c.candidature_id.between(*bounds))
        in_cohort.append(APPLICATIONS.c.id.between(*bounds))
    tail = event_facts(facts, name="tail")
    return (
        select(
            APPLICATIONS.c.statut,
            _higher(rows.c.max_event_rank, tail.c.max_event_rank).label("max_event_rank"),
            _earlier(rows.c.first_response_at, tail.c.first_response_at).label("first_response_at"),
            *columns,
        )
        .select_from(
            APPLICATIONS.outerjoin(rows, join).outerjoin(
                tail, tail.c.candidature_id == APPLICATIONS.c.id
            )
        )
        .where(*in_cohort)
    )


def read_id_bounds(connection: Connection, query: KpiQuery, facts: SummaryView | None) -> IdBounds:
    """The id range of cohort A when the summary is read (one cheap statement)."""
    if facts is None:
        return None
    lowest, highest = connection.execute(cohort_id_bounds(query)).one()
    return None if lowest is None else (int(lowest), int(highest))


def reached_rank_of(statut: str | None, max_event_rank: int | None) -> int:
    """The Python twin of :func:`reached_rank`, for rows grouped by
    (statut, max_event_rank)."""
    status_rank = RANKS.get(statut, UNRANKED) if statut is not None else UNRANKED
    return max(status_rank, UNRANKED if max_event_rank is None else int(max_event_rank))


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


def placements_in_window(query: KpiQuery, *keys: ColumnElement[Any]) -> Select[Any]:
    """Completed applications of sessions ending in the period (with the formation
    filter) joined to each placement of their applicant (of any application, or
    none), not further training, starting between the session's ``date_fin`` and
    6 months after it, both included: ``id`` (repeated per placement), ``keys``,
    ``durable`` 1/0. Count ``DISTINCT id`` for the applications placed."""
    window = and_(
        PLACEMENTS.c.user_id == APPLICATIONS.c.user_id,
        PLACEMENTS.c.type_contrat != "formation",
        PLACEMENTS.c.date_debut >= SESSIONS.c.date_fin,
        PLACEMENTS.c.date_debut <= add_months(SESSIONS.c.date_fin, PLACEMENT_MONTHS),
    )
    return (
        select(
            APPLICATIONS.c.id,
            *keys,
            case((durable_placement(), 1), else_=0).label("durable"),
        )
        .select_from(
            APPLICATIONS.join(SESSIONS, SESSIONS.c.id == APPLICATIONS.c.session_id).join(
                PLACEMENTS, window
            )
        )
        .where(
            APPLICATIONS.c.statut == "terminee",
            date_in_period(SESSIONS.c.date_fin, query),
            *formation_conditions(APPLICATIONS.c.formation_id, query),
            # Implied by the window (date_fin is in the period): lets the
            # placements be cut down to those dates before the join.
            PLACEMENTS.c.date_debut >= query.start,
            PLACEMENTS.c.date_debut
            <= add_months_to(query.end - timedelta(days=1), PLACEMENT_MONTHS),
        )
    )
