"""The triage queue: applications, oldest first, one page at a time.

Pages are read by keyset on ``(created_at, id)`` (never OFFSET), so the first
page and the hundredth cost the same; migration 0002 adds the indexes each
filter needs. The functions take plain parameters and can be timed directly
(``benchmarks/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Engine,
    Select,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from data.db import translate_errors
from data.errors import InvalidInput
from data.models import Candidature, Formation, User
from data.text_search import check_searchable, indexable, matches_search
from data.triage.filters import NO_FUNDING, QueueFilters
from data.workflow import is_overdue, overdue_condition

PAGE_SIZE: Final = 50
COUNT_CAP: Final = 10_000
COUNT_TIMEOUT_MS: Final = 100
QUERY_CANCELED: Final = "57014"
UNINDEXED_SEARCH_MS: Final = 2_000
TOO_VAGUE: Final = (
    "Recherche trop longue à servir : ajoutez au moins 3 lettres ou chiffres qui se suivent "
    "(par exemple « jos » ou « 0690 »)."
)
SEARCH_USER_CAP: Final = 3_000
"""Above this many matching applicants, the search walks the queue instead."""

Cursor = tuple[datetime, int]
"""``(created_at, id)`` of the last row of a page: where the next page starts."""

Applicant = aliased(User, name="applicant")
Assignee = aliased(User, name="assignee")
Searched = aliased(User, name="searched")


@dataclass(frozen=True)
class QueueRow:
    id: int
    created_at: datetime
    updated_at: datetime
    statut: str
    source: str
    financement: str | None
    formation_id: int
    formation: str
    session_id: int | None
    applicant: str
    email: str
    assigned_to: int | None
    assignee: str | None
    age_hours: float
    overdue: bool


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[QueueRow, ...]
    next_cursor: Cursor | None  # None: this is the last page
    total: int | None = None  # when asked: matching rows, capped (see queue_count)


def applicant_haystack(person: type[User] = Applicant) -> ColumnElement[str]:  # type: ignore[assignment]
    """``prenom || ' ' || nom || ' ' || email``: what the search reads.

    Written with inline spaces so it is the exact expression of the trigram
    index of migration 0002 (``ix_dash_users_search_trgm``).
    """
    space: ColumnElement[str] = literal_column("' '")
    return person.prenom.op("||")(space).op("||")(person.nom).op("||")(space).op("||")(person.email)


def status_in(statuses: tuple[str, ...]) -> ColumnElement[bool]:
    """``statut IN (...)`` with the codes written inline, so the planner can match
    the partial indexes on pending statuses whatever the plan cache does."""
    codes: BindParameter[str] = bindparam(
        "statuses", statuses, expanding=True, literal_execute=True
    )
    return Candidature.statut.in_(codes)


def filter_conditions(
    filters: QueueFilters, *, actor_id: int | None, now: datetime, sla_hours: float, tz: ZoneInfo
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of every filter but the search (see :func:`search_scope`)."""
    c = Candidature
    conditions: list[ColumnElement[bool]] = []
    if filters.statuses:
        conditions.append(status_in(filters.statuses))
    if filters.formation_id is not None:
        conditions.append(c.formation_id == filters.formation_id)
    if filters.session_id is not None:
        conditions.append(c.session_id == filters.session_id)
    if filters.source is not None:
        conditions.append(c.source == filters.source)
    if filters.financement == NO_FUNDING:
        conditions.append(c.financement.is_(None))
    elif filters.financement is not None:
        conditions.append(c.financement == filters.financement)
    if filters.assignment == "moi":
        conditions.append(c.assigned_to == (actor_id if actor_id is not None else -1))
    elif filters.assignment == "quelqu-un":
        conditions.append(c.assigned_to.is_not(None))
    elif filters.assignment == "personne":
        conditions.append(c.assigned_to.is_(None))
    if filters.overdue_only:
        conditions.append(overdue_condition(c.statut, c.created_at, now=now, sla_hours=sla_hours))
    start, end = filters.received_bounds(tz)
    if start is not None:
        conditions.append(c.created_at >= start)
    if end is not None:
        conditions.append(c.created_at < end)
    return conditions


@dataclass(frozen=True)
class SearchScope:
    """How the search restricts the queue.

    ``user_ids``: the (few) matching applicants, found first through the
    trigram index. ``walk``: so many applicants match that the queue is read
    in its own index order and each row's applicant checked by a correlated
    subquery (which the planner cannot turn into a scan of every applicant):
    a page is then found after a few hundred rows. Neither: no search.
    """

    user_ids: tuple[int, ...] | None = None
    walk: ColumnElement[bool] | None = None

    @property
    def empty(self) -> bool:
        return self.user_ids == ()


def search_scope(connection: Connection, search: str) -> SearchScope:
    """Decide how to search, by fetching matching applicants up to :data:`SEARCH_USER_CAP`."""
    condition = matches_search(applicant_haystack(), search)
    if condition is None:
        return SearchScope()
    check_searchable(search)
    ids = _matching_applicants(connection, condition, indexed=indexable(search))
    if len(ids) <= SEARCH_USER_CAP:
        return SearchScope(user_ids=ids)
    searched = matches_search(applicant_haystack(Searched), search)
    matched = (
        select(literal(True))
        .where(Searched.id == Candidature.user_id, searched)  # type: ignore[arg-type]
        .correlate(Candidature)
        .scalar_subquery()
    )
    return SearchScope(walk=matched.is_(True))


def _matching_applicants(
    connection: Connection, condition: ColumnElement[bool], *, indexed: bool
) -> tuple[int, ...]:
    """Ids of matching applicants, up to the cap plus one.

    A search no trigram index can serve (no 3 letters or digits in a row, e.g.
    "a_b") reads the applicants in order, stops at the cap, and is given
    :data:`UNINDEXED_SEARCH_MS` on PostgreSQL before a clear refusal.
    """
    statement = select(Applicant.id).where(condition).limit(SEARCH_USER_CAP + 1)
    if indexed or connection.dialect.name != "postgresql":
        return tuple(connection.execute(statement).scalars())
    savepoint = connection.begin_nested()  # its rollback undoes the SET LOCALs below
    try:
        # A GIN scan without trigrams would read the whole index: read the table.
        connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {UNINDEXED_SEARCH_MS}")
        return tuple(connection.execute(statement).scalars())
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == QUERY_CANCELED:
            raise InvalidInput(TOO_VAGUE) from None
        raise
    finally:
        savepoint.rollback()


def _scoped(conditions: list[ColumnElement[bool]], scope: SearchScope) -> list[ColumnElement[bool]]:
    if scope.user_ids is not None:
        return [*conditions, Candidature.user_id.in_(scope.user_ids)]
    if scope.walk is not None:
        return [*conditions, scope.walk]
    return conditions


def _page_statement(
    conditions: list[ColumnElement[bool]], after: Cursor | None, limit: int
) -> Select:  # type: ignore[type-arg]
    c = Candidature
    statement = (
        select(
            c.id,
            c.created_at,
            c.updated_at,
            c.statut,
            c.source,
            c.financement,
            c.formation_id,
            Formation.titre,
            c.session_id,
            Applicant.prenom,
            Applicant.nom,
            Applicant.email,
            c.assigned_to,
            Assignee.prenom,
            Assignee.nom,
        )
        .join(Applicant, Applicant.id == c.user_id)
        .join(Formation, Formation.id == c.formation_id)
        .outerjoin(Assignee, Assignee.id == c.assigned_to)
        .where(*conditions)
        .order_by(c.created_at, c.id)
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(tuple_(c.created_at, c.id) > tuple_(*after))
    return statement


def queue_page(
    engine: Engine,
    filters: QueueFilters,
    *,
    actor_id: int | None,
    now: datetime,
    sla_hours: float,
    tz: ZoneInfo,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
    with_total: bool = False,
) -> QueuePage:
    """One page of the queue, oldest first, starting after ``after``.

    ``with_total`` also counts the matching applications (up to
    :data:`COUNT_CAP`; None when a broad search makes counting costly).
    Raises :class:`~data.errors.InvalidInput` for a search too short to index.
    """
    conditions = filter_conditions(filters, actor_id=actor_id, now=now, sla_hours=sla_hours, tz=tz)
    with translate_errors(), engine.connect() as connection:
        scope = search_scope(connection, filters.search)
        if scope.empty:
            return QueuePage((), None, 0 if with_total else None)
        scoped = _scoped(conditions, scope)
        fetched = connection.execute(_page_statement(scoped, after, limit)).all()
        total = _count(connection, scoped, scope) if with_total else None
    rows = tuple(_row(values, now, sla_hours) for values in fetched[:limit])
    has_more = len(fetched) > limit
    next_cursor = (rows[-1].created_at, rows[-1].id) if has_more and rows else None
    return QueuePage(rows, next_cursor, total)


def _count(
    connection: Connection, scoped: list[ColumnElement[bool]], scope: SearchScope
) -> int | None:
    """The count behind the caption: best effort, never slower than the page itself.

    None when a broad search walks the queue, or (PostgreSQL) when counting
    takes more than :data:`COUNT_TIMEOUT_MS`.
    """
    if scope.walk is not None:
        return None
    inner = select(Candidature.id).where(*scoped).limit(COUNT_CAP + 1)
    statement = select(func.count()).select_from(inner.subquery())
    if connection.dialect.name != "postgresql":
        return int(connection.execute(statement).scalar_one())
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {COUNT_TIMEOUT_MS}")
            return int(connection.execute(statement).scalar_one())
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == QUERY_CANCELED:
            return None
        raise


def queue_count(
    engine: Engine,
    filters: QueueFilters,
    *,
    actor_id: int | None,
    now: datetime,
    sla_hours: float,
    tz: ZoneInfo,
) -> int | None:
    """How many applications match, up to :data:`COUNT_CAP` (+1 means "more");
    None when counting would be slow (see :func:`_count`)."""
    conditions = filter_conditions(filters, actor_id=actor_id, now=now, sla_hours=sla_hours, tz=tz)
    with translate_errors(), engine.connect() as connection:
        scope = search_scope(connection, filters.search)
        if scope.empty:
            return 0
        return _count(connection, _scoped(conditions, scope), scope)


def _row(values: tuple, now: datetime, sla_hours: float) -> QueueRow:  # type: ignore[type-arg]
    (
        id_,
        created,
        updated,
        statut,
        source,
        financement,
        formation_id,
        formation,
        session_id,
        prenom,
        nom,
        email,
        assigned_to,
        a_prenom,
        a_nom,
    ) = values
    assignee = f"{a_prenom} {a_nom}".strip() if assigned_to is not None else None
    return QueueRow(
        id=id_,
        created_at=created,
        updated_at=updated,
        statut=statut,
        source=source,
        financement=financement,
        formation_id=formation_id,
        formation=formation,
        session_id=session_id,
        applicant=f"{prenom} {nom}".strip(),
        email=email,
        assigned_to=assigned_to,
        assignee=assignee,
        age_hours=max((now - created).total_seconds() / 3600, 0.0),
        overdue=is_overdue(statut, created, now=now, sla_hours=sla_hours),
    )
