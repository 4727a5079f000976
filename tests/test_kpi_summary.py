"""The event summary of ``data.kpis.summary``: same figures as reading the events,
kept exact by its incremental refresh, safe when refreshes race or transactions
commit out of order, and never required (no tables, read-only database).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.engine import make_url

from data.db import create_db_engine
from data.kpis import KpiQuery, compute_kpis
from data.kpis.summary import (
    FACTS,
    GAPS,
    STATE,
    rebuild_application_facts,
    refresh_application_facts,
    refresh_if_behind,
    summary_lag,
    summary_view,
)
from data.models import Base
from tests.conftest import _admin_engine
from tests.kpi_data import EDGE_SLUG, NOW, DataBuilder, build_dataset, seeded_database, utc
from tests.kpi_reference import MAIN_PATH, reference_kpis, snapshot
from tests.test_kpis import assert_same_figures

T = Base.metadata.tables
EVENTS = T["candidature_events"]
APPLICATIONS = T["candidatures"]
WHOLE = KpiQuery(date(2025, 1, 1), date(2028, 1, 1))

PERIODS = {
    "first-half-2026": KpiQuery(date(2026, 1, 1), date(2026, 7, 1)),
    "december-2025": KpiQuery(date(2025, 12, 1), date(2026, 1, 1)),
    "edge-formation-2026": KpiQuery(date(2026, 1, 1), date(2027, 1, 1), formation=EDGE_SLUG),
    "domain": KpiQuery(date(2025, 6, 1), date(2027, 6, 1), domaine="Santé-social"),
    "paris-time": KpiQuery(date(2026, 3, 1), date(2026, 9, 1), timezone="Europe/Paris"),
    "empty": KpiQuery(date(2030, 1, 1), date(2030, 2, 1)),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The seeded history with its summary folded (an empty tail)."""
    with seeded_database(request, request.param) as database:
        refresh_application_facts(database.engine)
        yield database.engine


@pytest.fixture
def history(engine: Engine) -> Engine:
    """A fresh database of either kind with a small seeded history (written to by the test)."""
    build_dataset(engine, size=80)
    return engine


def expected_facts(engine: Engine) -> dict[int, tuple[int, Any]]:
    """Per application with events, straight from the events: (max rank, first response)."""
    found: dict[int, tuple[int, Any]] = {}
    with engine.connect() as connection:
        for row in connection.execute(select(EVENTS)):
            rank, first = found.get(row.candidature_id, (-1, None))
            rank = max(rank, MAIN_PATH.get(row.to_statut, -1))
            if row.from_statut == "nouvelle" and (first is None or row.changed_at < first):
                first = row.changed_at
            found[row.candidature_id] = (rank, first)
    return found


def stored_facts(engine: Engine) -> dict[int, tuple[int, Any]]:
    with engine.connect() as connection:
        return {
            row.candidature_id: (row.max_event_rank, row.first_response_at)
            for row in connection.execute(select(FACTS))
        }


def assert_paths_agree(engine: Engine, query: KpiQuery = WHOLE) -> None:
    summary = compute_kpis(engine, query, now=NOW)
    direct = compute_kpis(engine, query, now=NOW, use_summary=False)
    assert summary == direct
    expected = reference_kpis(
        engine,
        start=query.start,
        end=query.end,
        now=NOW,
        formation=query.formation,
        domaine=query.domaine,
        timezone=query.timezone,
        data=snapshot(engine),
    )
    assert_same_figures(summary, expected)


def an_application(engine: Engine, **kwargs: Any) -> int:
    """A new application (with its creation event) by a new applicant."""
    with engine.begin() as connection:
        user_id = connection.execute(
            T["users"]
            .insert()
            .values(
                email=f"{uuid.uuid4().hex}@example.test",
                password="x",
                role="stagiaire",
                prenom="Nouvelle",
                nom="Candidate",
            )
            .returning(T["users"].c.id)
        ).scalar_one()
        formation = connection.execute(select(T["formations"].c.id).limit(1)).scalar_one()
        return DataBuilder(connection).application(
            formation_id=formation, user_id=user_id, **kwargs
        )


def add_event(engine: Engine, app_id: int, from_statut: str | None, to_statut: str, at: Any) -> int:
    with engine.begin() as connection:
        event_id = DataBuilder(connection).event(app_id, from_statut, to_statut, at)
        connection.execute(
            update(APPLICATIONS).where(APPLICATIONS.c.id == app_id).values(statut=to_statut)
        )
    return event_id


# --- Same figures either way ---------------------------------------------------------


@pytest.mark.parametrize("query", PERIODS.values(), ids=PERIODS.keys())
def test_summary_and_event_paths_give_identical_figures(seeded: Engine, query: KpiQuery) -> None:
    summary = compute_kpis(seeded, query, now=NOW)
    assert summary == compute_kpis(seeded, query, now=NOW, use_summary=False)


def test_the_seeded_history_has_the_cases_the_summary_must_get_right(seeded: Engine) -> None:
    view = summary_view(seeded)
    assert view is not None and view.gaps == ()
    facts = stored_facts(seeded)
    assert facts == expected_facts(seeded)
    ranks = [rank for rank, _ in facts.values()]
    assert 0 in ranks and 6 in ranks  # never left nouvelle (or only to legacy statuses), finished
    with seeded.connect() as connection:
        legacy = connection.execute(
            select(APPLICATIONS.c.id).where(
                APPLICATIONS.c.id.not_in(select(EVENTS.c.candidature_id))
            )
        ).all()
    assert legacy and not {row.id for row in legacy} & set(facts)


# --- The refresh ------------------------------------------------------------------


def test_events_past_the_mark_are_merged_on_read_then_folded(history: Engine) -> None:
    refresh_application_facts(history)
    assert_paths_agree(history)
    app = an_application(history, created_at=utc(2026, 4, 1, 14, 0))
    add_event(history, app, "nouvelle", "en_etude", utc(2026, 4, 1, 18, 0))
    add_event(history, app, "en_etude", "entretien", utc(2026, 4, 3, 9, 0))
    add_event(history, app, "entretien", "refusee", utc(2026, 4, 9, 9, 0))
    before = stored_facts(history)
    assert_paths_agree(history)  # the tail, folded by the statement itself
    assert stored_facts(history) == before and app not in before  # nothing written
    refresh_application_facts(history)
    assert stored_facts(history)[app] == (2, utc(2026, 4, 1, 18, 0))
    assert_paths_agree(history)
    add_event(history, app, None, "nouvelle", utc(2026, 3, 30, 9, 0))  # a late, earlier event
    add_event(history, app, "nouvelle", "en_etude", utc(2026, 4, 1, 16, 0))
    assert_paths_agree(history)  # the rows say 18:00, the tail says 16:00
    refresh_application_facts(history)
    assert stored_facts(history)[app] == (2, utc(2026, 4, 1, 16, 0))
    assert_paths_agree(history)
    assert stored_facts(history) == expected_facts(history)


def test_a_kpi_computation_never_writes(history: Engine) -> None:
    refresh_application_facts(history)
    app = an_application(history, created_at=utc(2026, 4, 2, 14, 0))
    add_event(history, app, "nouvelle", "admise", utc(2026, 4, 3, 9, 0))
    with history.connect() as connection:
        mark = connection.execute(select(STATE.c.seen_event_id)).scalar_one()
    compute_kpis(history, WHOLE, now=NOW)
    with history.connect() as connection:
        assert connection.execute(select(STATE.c.seen_event_id)).scalar_one() == mark
    assert app not in stored_facts(history)
    assert summary_lag(history) == 2  # the creation event and the move to admise
    assert refresh_if_behind(history) is not None
    assert refresh_if_behind(history) is None  # nothing new: one cheap statement
    assert summary_lag(history) == 0


def test_a_status_changed_without_an_event_counts_at_once(history: Engine) -> None:
    app = an_application(history, created_at=utc(2026, 5, 5, 15, 0))
    query = KpiQuery(date(2026, 5, 1), date(2026, 6, 1))
    before = compute_kpis(history, query, now=NOW)
    with history.begin() as connection:
        connection.execute(
            update(APPLICATIONS).where(APPLICATIONS.c.id == app).values(statut="inscrite")
        )
    after = compute_kpis(history, query, now=NOW)
    assert after.reached_inscrite == before.reached_inscrite + 1
    assert_paths_agree(history, query)


def test_refresh_reads_only_what_is_new(history: Engine) -> None:
    refresh_application_facts(history)
    idle = refresh_application_facts(history)
    assert idle.applications == 0 and idle.seen == idle.previous_seen
    first = an_application(history, created_at=utc(2026, 6, 1, 12, 0))
    second = an_application(history, created_at=utc(2026, 6, 2, 12, 0))
    add_event(history, second, "nouvelle", "en_etude", utc(2026, 6, 3, 12, 0))
    result = refresh_application_facts(history)
    assert result.applications == 2 and result.seen > result.previous_seen
    assert set(stored_facts(history)) >= {first, second}
    with history.connect() as connection:
        mark = connection.execute(select(STATE.c.seen_event_id)).scalar_one()
        top = connection.execute(select(EVENTS.c.id).order_by(EVENTS.c.id.desc()).limit(1))
        assert mark == top.scalar_one()


def test_rebuild_gives_the_same_summary(history: Engine) -> None:
    refresh_application_facts(history)
    before = stored_facts(history)
    result = rebuild_application_facts(history)
    assert result.previous_seen == 0 and result.applications == len(before)
    assert stored_facts(history) == before == expected_facts(history)


def test_a_summary_lost_with_its_mark_is_rebuilt_from_the_events(history: Engine) -> None:
    refresh_application_facts(history)
    with history.begin() as connection:  # e.g. the demo's --reset empties every dashboard table
        connection.execute(delete(FACTS))
        connection.execute(delete(STATE))
    assert summary_view(history) is None  # no mark: the events are read
    assert_paths_agree(history)
    refresh_application_facts(history)
    assert stored_facts(history) == expected_facts(history)


@pytest.mark.parametrize("refreshes", [2, 4])
def test_concurrent_refreshes_leave_an_exact_summary(history: Engine, refreshes: int) -> None:
    refresh_application_facts(history)
    apps = [an_application(history, created_at=utc(2026, 7, 1 + i, 10, 0)) for i in range(6)]
    for i, app in enumerate(apps):
        add_event(history, app, "nouvelle", "en_etude", utc(2026, 7, 2 + i, 10, 0))
        add_event(history, app, "en_etude", "admise", utc(2026, 7, 3 + i, 10, 0))
    errors: list[BaseException] = []
    start = threading.Barrier(refreshes)

    def run() -> None:
        try:
            start.wait()
            refresh_application_facts(history)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(refreshes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert stored_facts(history) == expected_facts(history)
    assert_paths_agree(history)


# --- Out-of-order commits (PostgreSQL) ---------------------------------------------


def test_an_event_committed_after_a_higher_one_is_folded_in(pg_engine: Engine) -> None:
    build_dataset(pg_engine, size=30)
    refresh_application_facts(pg_engine)
    late_app = an_application(pg_engine, created_at=utc(2026, 8, 3, 12, 0))
    other_app = an_application(pg_engine, created_at=utc(2026, 8, 4, 12, 0))
    refresh_application_facts(pg_engine)
    with pg_engine.connect() as slow:
        # The slow transaction takes its id first but commits last.
        late_id = slow.execute(
            EVENTS.insert()
            .values(
                candidature_id=late_app,
                from_statut="nouvelle",
                to_statut="admise",
                changed_at=utc(2026, 8, 5, 12, 0),
            )
            .returning(EVENTS.c.id)
        ).scalar_one()
        higher = add_event(pg_engine, other_app, "nouvelle", "en_etude", utc(2026, 8, 5, 13, 0))
        assert higher > late_id
        refresh_application_facts(pg_engine)
        with pg_engine.connect() as connection:
            gap = connection.execute(select(GAPS.c.lo, GAPS.c.hi)).all()
        assert [(late_id, late_id)] == [tuple(row) for row in gap]
        assert stored_facts(pg_engine)[late_app] == (0, None)  # its creation event only
        slow.commit()
    # The gap is part of the tail: read at once, before any refresh folds it.
    compute = compute_kpis(pg_engine, WHOLE, now=NOW)
    assert compute == compute_kpis(pg_engine, WHOLE, now=NOW, use_summary=False)
    refresh_application_facts(pg_engine)
    assert stored_facts(pg_engine)[late_app] == (3, utc(2026, 8, 5, 12, 0))
    assert_gaps_settle(pg_engine)


def assert_gaps_settle(engine: Engine, within_seconds: float = 30.0) -> None:
    """Gaps go once every transaction older than their horizon has ended."""
    deadline = time.monotonic() + within_seconds
    while True:
        refresh_application_facts(engine)
        with engine.connect() as connection:
            left = connection.execute(select(GAPS)).all()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == []


def test_a_rolled_back_event_leaves_a_gap_that_settles(pg_engine: Engine) -> None:
    build_dataset(pg_engine, size=20)
    app = an_application(pg_engine, created_at=utc(2026, 9, 1, 12, 0))
    with pg_engine.connect() as connection:
        connection.execute(
            EVENTS.insert().values(
                candidature_id=app,
                from_statut="nouvelle",
                to_statut="terminee",
                changed_at=utc(2026, 9, 2),
            )
        )
        connection.rollback()
    add_event(pg_engine, app, "nouvelle", "en_etude", utc(2026, 9, 3, 12, 0))
    refresh_application_facts(pg_engine)
    with pg_engine.connect() as connection:
        assert connection.execute(select(GAPS)).all() != []
    assert_gaps_settle(pg_engine)
    assert stored_facts(pg_engine)[app] == (1, utc(2026, 9, 3, 12, 0))


# --- Without the summary ----------------------------------------------------------


def test_without_the_summary_tables_the_events_are_read(history: Engine) -> None:
    with history.begin() as connection:
        connection.execute(text(f"DROP TABLE {FACTS.name}"))
    assert summary_view(history) is None
    assert_paths_agree(history)


def test_a_read_only_database_reads_the_summary_and_its_tail(pg_url: str) -> None:
    writer = create_db_engine(pg_url)
    try:
        build_dataset(writer, size=40)
        refresh_application_facts(writer)
        app = an_application(writer, created_at=utc(2026, 4, 2, 14, 0))
        add_event(writer, app, "nouvelle", "inscrite", utc(2026, 4, 3, 9, 0))
        expected = compute_kpis(writer, WHOLE, now=NOW, use_summary=False)
        name = make_url(pg_url).database
        with _admin_engine().connect() as admin:
            admin.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    finally:
        writer.dispose()
    reader = create_db_engine(pg_url)
    try:
        view = summary_view(reader)
        assert view is not None and view.seen > 0  # read, though it cannot be refreshed
        assert compute_kpis(reader, WHOLE, now=NOW) == expected
    finally:
        reader.dispose()
        with _admin_engine().connect() as admin:
            admin.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))


def test_the_first_response_uses_the_earliest_event_leaving_nouvelle(history: Engine) -> None:
    created = utc(2026, 10, 5, 12, 0)
    app = an_application(history, created_at=created)
    add_event(history, app, "nouvelle", "en_etude", created + timedelta(hours=30))
    add_event(history, app, "en_etude", "nouvelle", created + timedelta(hours=31))
    add_event(history, app, "nouvelle", "en_etude", created + timedelta(hours=40))
    refresh_application_facts(history)
    assert stored_facts(history)[app] == (1, created + timedelta(hours=30))
    assert_paths_agree(history, KpiQuery(date(2026, 10, 1), date(2026, 11, 1)))
