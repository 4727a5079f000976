"""Placement at 6 months over the last closed cohort (``kpi-definitions.md``,
"Placement: final figures first"): the shift ``k``, the closed cohort period
``C``, the ``*_closed`` figures and the members still inside their window.

The worked example of the definitions has today frozen at 2026-12-03.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from data.kpis import KpiQuery, KpiSet, compute_kpis
from tests.kpi_data import DataBuilder, utc
from tests.kpi_reference import months_later, reference_kpis, six_months_after

TODAY = date(2026, 12, 3)
NOW = utc(2026, 12, 3, 16, 0)  # 12:00 in Guadeloupe, 2026-12-03 local
DONE = ("en_etude", "entretien", "admise", "inscrite", "en_formation", "terminee")


def local_noon(day: date) -> datetime:
    """Noon in Guadeloupe (UTC-4) of ``day``: its local date is ``day``."""
    return datetime(day.year, day.month, day.day, 16, 0, tzinfo=UTC)


# --- The shift k and the closed cohort period C (no database) ----------------


def test_worked_example_of_the_definitions() -> None:
    query = KpiQuery(date(2025, 12, 1), date(2026, 12, 1))
    assert query.placement_closed_shift_months(NOW) == 6
    assert query.placement_closed_bounds(NOW) == (date(2025, 6, 1), date(2026, 6, 1))
    assert query.placement_final_on() == date(2027, 5, 31)  # 2026-11-30 + 6 months + 1 day


@pytest.mark.parametrize(
    ("start", "end", "today", "k", "closed"),
    [
        # last day 31 March: 2026-03-31 + 6 months = 2026-09-30
        (
            date(2026, 3, 1),
            date(2026, 4, 1),
            date(2026, 9, 30),
            1,
            (date(2026, 2, 1), date(2026, 3, 1)),
        ),
        (
            date(2026, 3, 1),
            date(2026, 4, 1),
            date(2026, 10, 1),
            0,
            (date(2026, 3, 1), date(2026, 4, 1)),
        ),
        # ``to`` = 31 March: one month back is 28 February (clamped), so C ends there
        (
            date(2026, 3, 1),
            date(2026, 3, 31),
            date(2026, 9, 15),
            1,
            (date(2026, 2, 1), date(2026, 2, 28)),
        ),
        # last day 31 August: 2026-08-31 + 6 months = 2027-02-28 (clamped)
        (
            date(2026, 8, 1),
            date(2026, 9, 1),
            date(2027, 3, 1),
            0,
            (date(2026, 8, 1), date(2026, 9, 1)),
        ),
        (
            date(2026, 8, 1),
            date(2026, 9, 1),
            date(2027, 2, 28),
            1,
            (date(2026, 7, 1), date(2026, 8, 1)),
        ),
        # ``to`` = 31 August: 30 August + 6 months = 28 February (clamped); one month
        # back, 30 July + 6 months = 30 January
        (
            date(2026, 8, 1),
            date(2026, 8, 31),
            date(2027, 3, 1),
            0,
            (date(2026, 8, 1), date(2026, 8, 31)),
        ),
        (
            date(2026, 8, 1),
            date(2026, 8, 31),
            date(2027, 2, 28),
            1,
            (date(2026, 7, 1), date(2026, 7, 31)),
        ),
        (
            date(2026, 8, 1),
            date(2026, 8, 31),
            date(2027, 1, 30),
            2,
            (date(2026, 6, 1), date(2026, 6, 30)),
        ),
    ],
)
def test_month_end_clamping(
    start: date, end: date, today: date, k: int, closed: tuple[date, date]
) -> None:
    query = KpiQuery(start, end)
    now = local_noon(today)
    assert query.placement_closed_shift_months(now) == k
    assert query.placement_closed_bounds(now) == closed
    assert query.placement_window_complete(now) is (k == 0)


def _closes(end: date, k: int, today: date) -> bool:
    """The condition of the definition, written out with the reference's arithmetic."""
    return six_months_after(months_later(end, -k) - timedelta(days=1)) < today


@pytest.mark.parametrize("today", [date(2026, 12, 3), date(2027, 2, 28), date(2027, 8, 31)])
def test_k_is_the_smallest_shift_that_closes_the_window(today: date) -> None:
    now = local_noon(today)
    checked = 0
    for offset in range(0, 700, 3):
        end = date(2026, 1, 1) + timedelta(days=offset)
        query = KpiQuery(end - timedelta(days=30), end)
        k = query.placement_closed_shift_months(now)
        assert _closes(end, k, today), (end, k)
        assert k == 0 or not _closes(end, k - 1, today), (end, k)
        checked += 1
    assert checked > 200


def test_a_final_period_is_its_own_closed_cohort() -> None:
    query = KpiQuery(date(2025, 1, 1), date(2025, 7, 1))
    assert query.placement_closed_shift_months(NOW) == 0
    assert query.placement_closed(NOW) is query


def test_clamping_can_make_the_closed_period_empty() -> None:
    query = KpiQuery(date(2026, 3, 30), date(2026, 3, 31))
    now = local_noon(date(2026, 9, 15))
    assert query.placement_closed_bounds(now) == (date(2026, 2, 28), date(2026, 2, 28))
    assert query.placement_closed(now) is None


# --- The figures (SQLite and PostgreSQL) --------------------------------------


@contextmanager
def build(engine: Engine) -> Iterator[DataBuilder]:
    with engine.begin() as connection:
        yield DataBuilder(connection)


def completed(
    b: DataBuilder,
    formation_id: int,
    date_fin: date,
    placed_on: date | None,
    kind: str = "cdi",
    months: int | None = None,
) -> None:
    """One application that finished a session ending on ``date_fin``, and its
    placement starting on ``placed_on`` (none when None)."""
    session = b.session(formation_id, date_fin - timedelta(days=120), date_fin)
    user = b.user()
    created = local_noon(date_fin - timedelta(days=200))
    path = [(s, created + timedelta(days=i + 1)) for i, s in enumerate(DONE)]
    b.application(
        formation_id=formation_id, created_at=created, user_id=user, session_id=session, path=path
    )
    if placed_on is not None:
        b.placement(user, kind, placed_on, duree_mois=months)


def figures(engine: Engine, start: date, end: date, **filters: str) -> KpiSet:
    kpis = compute_kpis(engine, KpiQuery(start, end, **filters), now=NOW)
    expected = reference_kpis(engine, start=start, end=end, now=NOW, **filters)
    for kpi_id, value in kpis.as_dict().items():
        assert value == pytest.approx(expected[kpi_id]), kpi_id
    return kpis


def test_the_worked_example_counts_the_closed_cohort(engine: Engine) -> None:
    with build(engine) as b:
        fid = b.formation("f")
        # In C = [2025-06-01, 2026-06-01): 3 completions, 2 placed, 1 durably.
        completed(b, fid, date(2025, 6, 1), date(2025, 9, 1))  # cdi: durable
        completed(b, fid, date(2026, 5, 31), date(2026, 6, 15), "cdd", 3)
        completed(b, fid, date(2025, 12, 15), None)
        # Before C and after it: not in the closed cohort.
        completed(b, fid, date(2025, 5, 31), date(2025, 7, 1))
        # In the period, after C: the provisional figures; the last two are
        # still inside their window on 2026-12-03 (6 months after 2026-06-03).
        completed(b, fid, date(2026, 6, 2), date(2026, 7, 1))
        completed(b, fid, date(2026, 6, 3), None)
        completed(b, fid, date(2026, 11, 30), None)
    kpis = figures(engine, date(2025, 12, 1), date(2026, 12, 1))
    assert kpis.placement_closed_shift_months == 6
    assert (kpis.placement_cohort_closed, kpis.placed_6m_closed) == (3, 2)
    assert kpis.placement_rate_6m_closed == pytest.approx(2 / 3)
    assert kpis.durable_placement_rate_6m_closed == pytest.approx(1 / 3)
    # The selected period: completions from 2025-12-01 to 2026-11-30.
    assert (kpis.placement_cohort, kpis.placed_6m) == (5, 2)
    assert kpis.placement_cohort_open == 2
    assert kpis.placement_window_complete is False


def test_a_final_period_gives_its_own_figures_as_the_closed_ones(engine: Engine) -> None:
    with build(engine) as b:
        fid = b.formation("f")
        completed(b, fid, date(2025, 2, 1), date(2025, 3, 1))
        completed(b, fid, date(2025, 3, 1), None)
    kpis = figures(engine, date(2025, 1, 1), date(2025, 7, 1))
    assert kpis.placement_closed_shift_months == 0 and kpis.placement_window_complete
    assert (kpis.placement_cohort_closed, kpis.placed_6m_closed) == (2, 1)
    assert kpis.placement_rate_6m_closed == kpis.placement_rate_6m == 0.5
    assert kpis.durable_placement_rate_6m_closed == kpis.durable_placement_rate_6m
    assert kpis.placement_cohort_open == 0


def test_the_formation_filter_applies_to_the_closed_cohort(engine: Engine) -> None:
    with build(engine) as b:
        kept, other = b.formation("kept"), b.formation("other")
        completed(b, kept, date(2025, 8, 1), date(2025, 9, 1))
        completed(b, other, date(2025, 8, 1), None)
        completed(b, other, date(2025, 9, 1), None)
    everything = figures(engine, date(2025, 12, 1), date(2026, 12, 1))
    assert (everything.placement_cohort_closed, everything.placed_6m_closed) == (3, 1)
    kpis = figures(engine, date(2025, 12, 1), date(2026, 12, 1), formation="kept")
    assert (kpis.placement_cohort_closed, kpis.placed_6m_closed) == (1, 1)
    assert kpis.placement_rate_6m_closed == 1.0


def test_an_empty_closed_cohort_gives_zero_and_no_rate(engine: Engine) -> None:
    with build(engine) as b:
        fid = b.formation("f")
        completed(b, fid, date(2026, 10, 1), date(2026, 10, 15))  # in the period, not in C
    kpis = figures(engine, date(2025, 12, 1), date(2026, 12, 1))
    assert (kpis.placement_cohort_closed, kpis.placed_6m_closed) == (0, 0)
    assert kpis.placement_rate_6m_closed is None
    assert kpis.durable_placement_rate_6m_closed is None
    assert (kpis.placement_cohort, kpis.placement_cohort_open) == (1, 1)


def test_a_closed_period_emptied_by_clamping_counts_nothing(engine: Engine) -> None:
    with build(engine) as b:
        completed(b, b.formation("f"), date(2026, 2, 28), date(2026, 3, 2))
    query = KpiQuery(date(2026, 3, 30), date(2026, 3, 31))
    kpis = compute_kpis(engine, query, now=local_noon(date(2026, 9, 15)))
    assert kpis.placement_closed_shift_months == 1
    assert (kpis.placement_cohort_closed, kpis.placement_rate_6m_closed) == (0, None)
