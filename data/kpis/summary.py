"""The dashboard's summary of the event history, kept exact by an incremental refresh.

Why: an application's *reached rank* (the highest rank among its current
``statut`` and every ``to_statut`` of its events) and its first response
(the earliest event leaving ``nouvelle``) need its whole event history. On
a million applications, grouping five million events per query is what
makes the KPIs slow. ``dashboard_kpi_application_facts`` holds, per
application that has events, ``max_event_rank`` and ``first_response_at``;
the KPI queries join it instead of the events and still read the current
``statut`` live, so ``reached_rank = max(rank(statut), max_event_rank)``
stays exact even where a status changed without an event.

Assumptions (the website's contract, ``operational-schema.sql``):

- ``candidature_events`` is **append-only** history: rows are inserted,
  never updated or deleted, and their ids come from the table's sequence.
  Folding a new event only raises ``max_event_rank`` or lowers
  ``first_response_at``, so folding is idempotent and order-free. Should
  rows ever be edited or deleted, :func:`rebuild_application_facts` starts
  over from the whole history.
- An id can become visible *after* a higher one (transactions commit in any
  order), or never (rollback). On PostgreSQL, each refresh notes the ids
  missing below its high-water mark in ``dashboard_kpi_refresh_gaps`` and
  re-reads them at every refresh until they *settle*: the transaction-id
  horizon (``xmax``) is noted at the next refresh, and once every
  transaction older than it has ended, the ids exist (and have been folded)
  or never will. SQLite has a single writer: ids commit in order.

The KPI statements never write: they read the summary's rows and fold the
few events it has not folded yet, its *tail*, at query time (merge on read,
:func:`summary_view`), so the figures are exact on the primary, on a
read-only replica and in ``python -m data.kpis`` alike, however far behind the
rows are. A writer keeps the rows close to the events so the tail stays
small: the scheduler's loop every few seconds, the demo generator after a
load (:func:`refresh_if_behind`). A refresh reads only the events added since
the last one, so it costs one cheap statement when nothing changed. Two
refreshes never run at once: a lock on the state table (SQLite: its write
lock) serialises them. A database without the dashboard's migrations gets
``None`` and the KPI queries read the events directly (same figures, slower).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Table,
    Text,
    case,
    cast,
    delete,
    func,
    inspect,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from data.db import translate_errors
from data.kpis.sql import EVENTS, SummaryView, rank_of
from data.owned import OwnedBase

log = logging.getLogger(__name__)

FACTS: Table = OwnedBase.metadata.tables["dashboard_kpi_application_facts"]
STATE: Table = OwnedBase.metadata.tables["dashboard_kpi_refresh_state"]
GAPS: Table = OwnedBase.metadata.tables["dashboard_kpi_refresh_gaps"]
SUMMARY = "application_facts"
LOCK_WAIT = "60s"  # how long a refresh waits for another one to finish
REANALYZE_AFTER = 50_000  # applications folded by one refresh


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh did: the event ids it read and the applications it updated."""

    previous_seen: int
    seen: int
    applications: int


# --- Use by the KPI queries ---------------------------------------------------


def summary_installed(connection: Connection) -> bool:
    """True when the dashboard's migrations created the summary tables."""
    names = set(inspect(connection).get_table_names())
    return {FACTS.name, STATE.name, GAPS.name} <= names


def summary_view(engine: Engine) -> SummaryView | None:
    """The summary as the KPI statements read it, merged with its tail; never writes.

    None where the KPIs must read the events: a database without the
    dashboard's migrations, or whose summary was never built. A read-only
    replica and ``python -m data.kpis`` read it like the primary does.
    """
    with translate_errors(), engine.connect() as connection:
        if not summary_installed(connection):
            return None
        seen = connection.execute(
            select(STATE.c.seen_event_id).where(STATE.c.name == SUMMARY)
        ).scalar_one_or_none()
        if seen is None:
            return None
        gaps = connection.execute(
            select(GAPS.c.lo, GAPS.c.hi).where(GAPS.c.name == SUMMARY).order_by(GAPS.c.lo)
        ).all()
    return SummaryView(FACTS, int(seen), tuple((int(lo), int(hi)) for lo, hi in gaps))


def summary_lag(engine: Engine) -> int | None:
    """How many event ids the summary's rows are behind (None: no summary)."""
    with translate_errors(), engine.connect() as connection:
        if not summary_installed(connection):
            return None
        seen, top = connection.execute(
            select(
                select(STATE.c.seen_event_id).where(STATE.c.name == SUMMARY).scalar_subquery(),
                select(func.max(EVENTS.c.id)).scalar_subquery(),
            )
        ).one()
    return None if seen is None else max(int(top or 0) - int(seen), 0)


def refresh_if_behind(engine: Engine) -> RefreshResult | None:
    """Fold what is new, when anything is (one cheap statement otherwise); None when
    nothing was to be done. For a writer's loop (the scheduler, the live demo)."""
    with translate_errors():
        with engine.connect() as connection:
            if not summary_installed(connection) or not _needs_refresh(connection):
                return None
        return _refresh(engine)


def _needs_refresh(connection: Connection) -> bool:
    """One statement: are there events past the mark, or ids still to re-read?"""
    stmt = select(
        select(STATE.c.seen_event_id).where(STATE.c.name == SUMMARY).scalar_subquery(),
        select(func.max(EVENTS.c.id)).scalar_subquery(),
        select(func.count()).select_from(GAPS).where(GAPS.c.name == SUMMARY).scalar_subquery(),
    )
    seen, top, gaps = connection.execute(stmt).one()
    return seen is None or (top or 0) > seen or gaps > 0


# --- The refresh ----------------------------------------------------------------


def refresh_application_facts(engine: Engine) -> RefreshResult:
    """Fold the events added since the last refresh into the facts (idempotent)."""
    with translate_errors():
        return _refresh(engine)


def _refresh(engine: Engine) -> RefreshResult:
    if engine.dialect.name == "postgresql":
        return _refresh_postgresql(engine)
    return _refresh_single_writer(engine)


def rebuild_application_facts(engine: Engine) -> RefreshResult:
    """Forget the summary and fold the whole event history again."""
    with translate_errors(), engine.begin() as connection:
        connection.execute(delete(FACTS))
        connection.execute(delete(GAPS).where(GAPS.c.name == SUMMARY))
        connection.execute(delete(STATE).where(STATE.c.name == SUMMARY))
    return refresh_application_facts(engine)


def _refresh_postgresql(engine: Engine) -> RefreshResult:
    # REPEATABLE READ takes its snapshot at the first query, which comes after
    # the lock (the documented LOCK-first pattern): a refresh that waited for
    # another one sees everything that one wrote. The lock mode conflicts with
    # itself only, so KPI reads of the state are never blocked.
    with engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
            connection.exec_driver_sql(f"LOCK TABLE {STATE.name} IN SHARE ROW EXCLUSIVE MODE")
            return _refresh_in_snapshot(connection)


def _refresh_in_snapshot(connection: Connection) -> RefreshResult:
    """PostgreSQL, one REPEATABLE READ snapshot: fold new ids and open gaps, note new gaps."""
    snapshot = func.pg_current_snapshot()
    horizon = cast(cast(func.pg_snapshot_xmin(snapshot), Text), BigInteger)
    xmax = cast(cast(func.pg_snapshot_xmax(snapshot), Text), BigInteger)
    stmt = select(
        select(STATE.c.seen_event_id).where(STATE.c.name == SUMMARY).scalar_subquery(),
        select(func.coalesce(func.max(EVENTS.c.id), 0)).scalar_subquery(),
        horizon,
        xmax,
    )
    stored, top, oldest_running, next_xid = connection.execute(stmt).one()
    seen = stored or 0
    top = max(top, seen)
    in_gaps = select(EVENTS).join(GAPS, EVENTS.c.id.between(GAPS.c.lo, GAPS.c.hi))
    new_events = select(EVENTS).where(EVENTS.c.id > seen, EVENTS.c.id <= top)
    changed = _fold(connection, union_all(new_events, in_gaps.where(GAPS.c.name == SUMMARY)))
    mine = GAPS.c.name == SUMMARY
    # Settled gaps were just read in full: drop them. Gaps seen by the last
    # refresh get their horizon now (their writers all hold an xid by now).
    connection.execute(delete(GAPS).where(mine, GAPS.c.horizon <= oldest_running))
    connection.execute(update(GAPS).where(mine, GAPS.c.horizon.is_(None)).values(horizon=next_xid))
    connection.execute(
        GAPS.insert().from_select(["name", "lo", "hi", "horizon"], _holes(seen, top))
    )
    _save_mark(connection, stored, top)
    if changed >= REANALYZE_AFTER:
        # A large fold (first build, rebuild) changes the table's statistics
        # more than autovacuum's next pass may come soon enough to notice.
        connection.exec_driver_sql(f"ANALYZE {FACTS.name}")
    return RefreshResult(seen, top, changed)


def _holes(seen: int, top: int) -> Any:
    """``(name, lo, hi, NULL)`` for each run of ids in ``(seen, top]`` with no visible
    event (``top`` itself is the highest visible id, so runs end below it)."""
    previous = func.lag(EVENTS.c.id, 1, literal(seen, BigInteger())).over(order_by=EVENTS.c.id)
    ids = (
        select((previous + 1).label("lo"), (EVENTS.c.id - 1).label("hi"))
        .where(EVENTS.c.id > seen, EVENTS.c.id <= top)
        .subquery("ids")
    )
    return select(literal(SUMMARY), ids.c.lo, ids.c.hi, cast(literal(None), BigInteger)).where(
        ids.c.hi >= ids.c.lo
    )


def _refresh_single_writer(engine: Engine) -> RefreshResult:
    """SQLite: the first write takes the database's write lock for the whole refresh."""
    with engine.begin() as connection:
        touched = connection.execute(
            update(STATE).where(STATE.c.name == SUMMARY).values(seen_event_id=STATE.c.seen_event_id)
        ).rowcount
        stored = (
            connection.execute(
                select(STATE.c.seen_event_id).where(STATE.c.name == SUMMARY)
            ).scalar_one()
            if touched
            else None
        )
        seen = stored or 0
        top = connection.execute(select(func.coalesce(func.max(EVENTS.c.id), 0))).scalar_one()
        top = max(top, seen)
        changed = _fold(connection, select(EVENTS).where(EVENTS.c.id > seen, EVENTS.c.id <= top))
        _save_mark(connection, stored, top)
    return RefreshResult(seen, top, changed)


def _save_mark(connection: Connection, stored: int | None, top: int) -> None:
    now = datetime.now(UTC)
    if stored is None:
        connection.execute(STATE.insert().values(name=SUMMARY, seen_event_id=top, refreshed_at=now))
    else:
        connection.execute(
            update(STATE).where(STATE.c.name == SUMMARY).values(seen_event_id=top, refreshed_at=now)
        )


def _fold(connection: Connection, events: Any) -> int:
    """Upsert the facts of every application with an event in ``events``; returns how many."""
    rows = events.subquery("events")
    grouped = (
        select(
            rows.c.candidature_id,
            func.max(rank_of(rows.c.to_statut)).label("max_event_rank"),
            func.min(case((rows.c.from_statut == "nouvelle", rows.c.changed_at))).label(
                "first_response_at"
            ),
        )
        .where(rows.c.candidature_id.isnot(None))  # SQLite's upsert needs a WHERE here
        .group_by(rows.c.candidature_id)
    )
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(FACTS).from_select(
        ["candidature_id", "max_event_rank", "first_response_at"], grouped
    )
    stored, new = FACTS.c, stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[FACTS.c.candidature_id],
        set_={
            "max_event_rank": case(
                (new.max_event_rank > stored.max_event_rank, new.max_event_rank),
                else_=stored.max_event_rank,
            ),
            "first_response_at": case(
                (new.first_response_at.is_(None), stored.first_response_at),
                (stored.first_response_at.is_(None), new.first_response_at),
                (new.first_response_at < stored.first_response_at, new.first_response_at),
                else_=stored.first_response_at,
            ),
        },
    )
    result = connection.execute(stmt, execution_options={"preserve_rowcount": True})
    return max(int(result.rowcount or 0), 0)


__all__ = [
    "FACTS",
    "RefreshResult",
    "SummaryView",
    "rebuild_application_facts",
    "refresh_application_facts",
    "refresh_if_behind",
    "summary_installed",
    "summary_lag",
    "summary_view",
]
