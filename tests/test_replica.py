"""The KPIs read on a real streaming replica (read-only, never refreshed there) are
exact, before and after the primary folds the new events into its summary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from data.db import create_db_engine
from data.kpis import KpiQuery, compute_kpis, conversion_by, session_fill_rates
from data.kpis.summary import refresh_application_facts, summary_lag, summary_view
from data.migrate import upgrade
from data.schema import create_operational_tables
from tests.kpi_data import NOW, build_dataset, utc
from tests.kpi_reference import reference_kpis
from tests.replica import Pair, streaming_pair, wait_for_replay
from tests.test_kpi_summary import APPLICATIONS, add_event, an_application
from tests.test_kpis import assert_same_figures

QUERIES = (
    KpiQuery(date(2025, 1, 1), date(2028, 1, 1)),
    KpiQuery(date(2026, 1, 1), date(2026, 7, 1)),
    KpiQuery(date(2026, 3, 1), date(2026, 9, 1), domaine="Santé-social"),
)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with streaming_pair() as pair:
        yield pair


@pytest.fixture(scope="module")
def engines(pair: Pair) -> Iterator[tuple[Engine, Engine]]:
    primary, replica = create_db_engine(pair.primary_url), create_db_engine(pair.replica_url)
    create_operational_tables(primary)
    upgrade(primary)
    build_dataset(primary, size=120)
    refresh_application_facts(primary)
    wait_for_replay(primary, replica)
    yield primary, replica
    primary.dispose()
    replica.dispose()


def assert_exact_on_the_replica(primary: Engine, replica: Engine) -> None:
    for query in QUERIES:
        on_replica = compute_kpis(replica, query, now=NOW)
        assert on_replica == compute_kpis(primary, query, now=NOW, use_summary=False)
        expected = reference_kpis(
            replica, start=query.start, end=query.end, now=NOW, domaine=query.domaine
        )
        assert_same_figures(on_replica, expected)
    query = QUERIES[0]
    for dimension in ("formation", "source"):
        assert conversion_by(replica, query, dimension).equals(
            conversion_by(primary, query, dimension)
        )
    assert session_fill_rates(replica, query).equals(session_fill_rates(primary, query))


def test_the_replica_is_read_only_and_has_the_summary(engines: tuple[Engine, Engine]) -> None:
    primary, replica = engines
    with replica.connect() as connection:
        assert connection.exec_driver_sql("SELECT pg_is_in_recovery()").scalar_one() is True
    view = summary_view(replica)
    assert view is not None and view.seen > 0
    assert summary_lag(replica) == 0
    assert_exact_on_the_replica(primary, replica)


def test_kpis_on_the_replica_stay_exact_before_and_after_the_refresh(
    engines: tuple[Engine, Engine],
) -> None:
    primary, replica = engines
    app = an_application(primary, created_at=utc(2026, 4, 1, 14, 0))
    add_event(primary, app, "nouvelle", "en_etude", utc(2026, 4, 1, 18, 0))
    add_event(primary, app, "en_etude", "admise", utc(2026, 4, 3, 9, 0))
    other = an_application(primary, created_at=utc(2026, 4, 2, 14, 0))
    with primary.begin() as connection:  # a status changed behind the dashboard's back
        connection.execute(
            update(APPLICATIONS).where(APPLICATIONS.c.id == other).values(statut="inscrite")
        )
    wait_for_replay(primary, replica)
    lag = summary_lag(replica)
    assert lag is not None and lag >= 3  # the tail is read on the replica, never folded there
    assert_exact_on_the_replica(primary, replica)
    refresh_application_facts(primary)
    wait_for_replay(primary, replica)
    assert summary_lag(replica) == 0
    assert_exact_on_the_replica(primary, replica)


def test_the_pair_is_private(pair: Pair) -> None:
    assert Path(pair.primary_dir).is_dir() and Path(pair.replica_dir).is_dir()
    assert pair.primary_url != pair.replica_url
