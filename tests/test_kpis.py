"""The KPI engine against the pure-Python reference, and each definition's edge cases.

Three groups: (1) every figure equals ``tests/kpi_reference.py`` on a
seeded history, for several periods and filters, on SQLite and PostgreSQL;
(2) breakdowns and drill-downs add up to the headline figures; (3) one small
test per rule of ``contract/kpi-definitions.md`` on a database holding just
the rows that rule is about.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event

from data.errors import InvalidInput
from data.kpis import (
    KPI_IDS,
    KpiQuery,
    KpiSet,
    applications_in_period,
    applications_trend,
    compute_kpis,
    conversion_by,
    formation_exists,
    most_active_companies,
    overdue_invoices,
    placement_by_formation,
    quality_by_formation,
    revenue_by,
    session_fill_rates,
    top_formations,
)
from data.labels import RANKS, STATUS_LABELS
from data.schema import CONTRACT_DIR
from data.settings import load_settings
from tests.kpi_data import (
    EDGE_SLUG,
    INACTIVE_SLUG,
    NOW,
    DataBuilder,
    SeededDatabase,
    seeded_database,
    utc,
)
from tests.kpi_reference import Snapshot, reference_kpis, snapshot

# --- Seeded history, shared by the module (read only) -----------------------


class Seeded:
    """The seeded database, with a snapshot of its rows for the reference."""

    def __init__(self, seeded: SeededDatabase) -> None:
        self.engine, self.dataset = seeded.engine, seeded.dataset
        self._snapshot: Snapshot | None = None

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = snapshot(self.engine)
        return self._snapshot


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest) -> Iterator[Seeded]:
    with seeded_database(request, request.param) as database:
        yield Seeded(database)


PERIODS = {
    "first-half-2026": (date(2026, 1, 1), date(2026, 7, 1)),
    "december-2025": (date(2025, 12, 1), date(2026, 1, 1)),
    "second-half-2026": (date(2026, 7, 1), date(2027, 1, 1)),
    "everything": (date(2025, 1, 1), date(2028, 1, 1)),
    "one-day": (date(2026, 8, 31), date(2026, 9, 1)),
    "empty-2030": (date(2030, 1, 1), date(2030, 2, 1)),
}
FILTERS: dict[str, dict[str, str]] = {
    "all": {},
    "edge-formation": {"formation": EDGE_SLUG},
    "one-formation": {"formation": "assistant-vie"},
    "inactive-formation": {"formation": INACTIVE_SLUG},
    "unknown-formation": {"formation": "n-existe-pas"},
    "domain": {"domaine": "Santé-social"},
    "domain-and-formation": {"domaine": "Numérique", "formation": "developpeur-web"},
}


def assert_same_figures(actual: KpiSet, expected: dict[str, Any]) -> None:
    values = actual.as_dict()
    assert list(values) == list(KPI_IDS)
    for kpi_id in KPI_IDS:
        got, want = values[kpi_id], expected[kpi_id]
        if isinstance(want, float) and isinstance(got, float):
            assert math.isclose(got, want, rel_tol=1e-12), (kpi_id, got, want)
        else:
            assert got == want, (kpi_id, got, want)
            assert type(got) is type(want) or isinstance(want, Decimal), (kpi_id, got, want)


@pytest.mark.parametrize("period", PERIODS.values(), ids=PERIODS.keys())
@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
def test_every_figure_matches_the_reference(
    seeded: Seeded, period: tuple[date, date], filters: dict[str, str]
) -> None:
    start, end = period
    actual = compute_kpis(seeded.engine, KpiQuery(start, end, **filters), now=NOW)
    expected = reference_kpis(
        seeded.engine, start=start, end=end, now=NOW, data=seeded.snapshot, **filters
    )
    assert_same_figures(actual, expected)


@pytest.mark.parametrize(
    ("timezone", "sla_hours"),
    [("Europe/Paris", 48.0), ("Pacific/Kiritimati", 12.0), ("UTC", 200.0)],
)
def test_other_time_zones_and_slas_match_the_reference(
    seeded: Seeded, timezone: str, sla_hours: float
) -> None:
    query = KpiQuery(date(2026, 1, 1), date(2026, 7, 1), timezone=timezone, sla_hours=sla_hours)
    expected = reference_kpis(
        seeded.engine,
        start=query.start,
        end=query.end,
        now=NOW,
        timezone=timezone,
        sla_hours=sla_hours,
        data=seeded.snapshot,
    )
    assert_same_figures(compute_kpis(seeded.engine, query, now=NOW), expected)


def test_seeded_history_is_not_trivial(seeded: Seeded) -> None:
    kpis = compute_kpis(seeded.engine, KpiQuery(date(2026, 1, 1), date(2026, 7, 1)), now=NOW)
    assert kpis.applications > 50 and kpis.completions > 10 and kpis.placed_6m > 5
    assert kpis.revenue_collected > 0 and kpis.quotes_sent > 3 and kpis.match_hires > 0
    assert 0 < kpis.reached_terminee < kpis.reached_inscrite < kpis.applications


def test_headline_takes_a_handful_of_statements(seeded: Seeded) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(seeded.engine, "before_cursor_execute", count)
    try:
        compute_kpis(
            seeded.engine, KpiQuery(date(2026, 1, 1), date(2026, 7, 1), formation=EDGE_SLUG)
        )
    finally:
        event.remove(seeded.engine, "before_cursor_execute", count)
    assert (
        1 <= len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]) <= 8
    )


def test_seeded_edge_cases_land_where_the_definitions_say(seeded: Seeded) -> None:
    edge = seeded.dataset.edge
    december = KpiQuery(date(2025, 12, 1), date(2026, 1, 1), formation=EDGE_SLUG)
    assert applications_in_period(seeded.engine, december)["id"].tolist() == [edge["new_year_eve"]]
    summer = KpiQuery(date(2026, 7, 1), date(2027, 1, 1), formation=EDGE_SLUG)
    placement = placement_by_formation(seeded.engine, summer, now=NOW)
    assert placement[["cohort", "placed", "durable"]].values.tolist() == [[6, 3, 2]]
    kpis = compute_kpis(seeded.engine, summer, now=NOW)
    assert (kpis.completions, kpis.dropouts, kpis.placement_window_complete) == (6, 1, False)
    funnel = applications_in_period(
        seeded.engine,
        KpiQuery(date(2026, 2, 1), date(2026, 3, 1), formation=EDGE_SLUG),
        reached="entretien",
    )
    assert {edge["refused_after_interview"], edge["withdrew_after_admission"]} <= set(funnel["id"])
    assert edge["legacy_event_statuses"] not in set(funnel["id"])


# --- Breakdowns add up to the headline -------------------------------------

BREAKDOWN_CASES = {
    "first-half-2026": (date(2026, 1, 1), date(2026, 7, 1), {}),
    "edge-2026": (date(2026, 1, 1), date(2027, 1, 1), {"formation": EDGE_SLUG}),
    "domain-everything": (date(2025, 1, 1), date(2028, 1, 1), {"domaine": "BTP"}),
}


@pytest.fixture(params=BREAKDOWN_CASES.values(), ids=BREAKDOWN_CASES.keys())
def case(request: pytest.FixtureRequest, seeded: Seeded) -> tuple[Engine, KpiQuery, KpiSet]:
    start, end, filters = request.param
    query = KpiQuery(start, end, **filters)
    return seeded.engine, query, compute_kpis(seeded.engine, query, now=NOW)


@pytest.mark.parametrize("dimension", ["formation", "source", "financement"])
def test_conversion_breakdown_adds_up(
    case: tuple[Engine, KpiQuery, KpiSet], dimension: Any
) -> None:
    engine, query, kpis = case
    frame = conversion_by(engine, query, dimension)
    assert list(frame.columns) == ["key", "label", "applications", "enrolments", "conversion_rate"]
    assert frame["applications"].sum() == kpis.applications
    assert frame["enrolments"].sum() == kpis.enrolments
    assert frame["label"].notna().all()
    for row in frame.itertuples():
        assert row.conversion_rate == pytest.approx(row.enrolments / row.applications)


@pytest.mark.parametrize("dimension", ["financeur", "formation", "month"])
def test_revenue_breakdown_adds_up(case: tuple[Engine, KpiQuery, KpiSet], dimension: Any) -> None:
    engine, query, kpis = case
    frame = revenue_by(engine, query, dimension)
    assert list(frame.columns) == ["key", "label", "invoiced", "collected"]
    assert round(frame["invoiced"].sum(), 2) == float(kpis.revenue_invoiced)
    assert round(frame["collected"].sum(), 2) == float(kpis.revenue_collected)


def test_revenue_by_month_lists_every_month_of_the_period(seeded: Seeded) -> None:
    frame = revenue_by(seeded.engine, KpiQuery(date(2026, 1, 15), date(2026, 4, 2)), "month")
    assert frame["key"].tolist() == [date(2026, m, 1) for m in (1, 2, 3, 4)]
    assert frame["label"].tolist() == ["janvier 2026", "février 2026", "mars 2026", "avril 2026"]


@pytest.mark.parametrize("grain", ["week", "month"])
def test_applications_trend_adds_up(case: tuple[Engine, KpiQuery, KpiSet], grain: Any) -> None:
    engine, query, kpis = case
    frame = applications_trend(engine, query, grain)
    assert frame["applications"].sum() == kpis.applications
    assert frame["enrolments"].sum() == kpis.enrolments
    buckets = frame["bucket"].tolist()
    assert buckets == sorted(buckets) and buckets[0] <= query.start < buckets[1]
    if grain == "week":
        assert all(b.weekday() == 0 for b in buckets)


def test_placement_breakdown_adds_up(case: tuple[Engine, KpiQuery, KpiSet]) -> None:
    engine, query, kpis = case
    frame = placement_by_formation(engine, query, now=NOW)
    assert frame["cohort"].sum() == kpis.placement_cohort
    assert frame["placed"].sum() == kpis.placed_6m
    durable_rate = frame["durable"].sum() / kpis.placement_cohort if kpis.placement_cohort else None
    assert durable_rate == pytest.approx(kpis.durable_placement_rate_6m)


def test_quality_breakdown_adds_up(case: tuple[Engine, KpiQuery, KpiSet]) -> None:
    engine, query, kpis = case
    frame = quality_by_formation(engine, query)
    assert frame["completions"].sum() == kpis.completions
    assert frame["dropouts"].sum() == kpis.dropouts
    if kpis.satisfaction_avg is not None:
        weighted = (frame["satisfaction_avg"].fillna(0) * frame["evaluations"]).sum()
        assert weighted / frame["evaluations"].sum() == pytest.approx(kpis.satisfaction_avg)


def test_session_fill_rates_add_up(case: tuple[Engine, KpiQuery, KpiSet]) -> None:
    engine, query, kpis = case
    frame = session_fill_rates(engine, query)
    assert len(frame) == kpis.sessions_started
    if kpis.fill_rate is not None:
        assert frame["enrolled"].sum() / frame["places"].sum() == pytest.approx(kpis.fill_rate)
    assert frame["date_debut"].between(query.start, query.end - timedelta(days=1)).all()


def test_top_formations_are_the_largest_conversion_rows(
    case: tuple[Engine, KpiQuery, KpiSet],
) -> None:
    engine, query, _ = case
    top = top_formations(engine, query, limit=3)
    by_formation = conversion_by(engine, query, "formation")
    assert len(top) == min(3, len(by_formation))
    assert top["applications"].tolist() == by_formation["applications"].head(3).tolist()


def test_most_active_companies_add_up_to_match_hires(case: tuple[Engine, KpiQuery, KpiSet]) -> None:
    engine, query, kpis = case
    frame = most_active_companies(engine, query, limit=1000)
    assert frame["hires"].sum() == kpis.match_hires
    assert (frame["activity"] == frame["offers_posted"] + frame["hires"]).all()
    assert frame["activity"].is_monotonic_decreasing
    assert len(most_active_companies(engine, query, limit=2)) <= 2


@pytest.mark.parametrize("stage", [None, "en_etude", "entretien", "admise", "inscrite", "terminee"])
def test_applications_drilldown_matches_the_funnel(
    case: tuple[Engine, KpiQuery, KpiSet], stage: str | None
) -> None:
    engine, query, kpis = case
    frame = applications_in_period(engine, query, reached=stage)
    expected = kpis.applications if stage is None else getattr(kpis, f"reached_{stage}")
    assert len(frame) == expected
    assert list(frame.columns) == [
        "id",
        "created_at",
        "applicant",
        "email",
        "formation",
        "statut",
        "source",
        "financement",
    ]


def test_overdue_invoices_add_up_to_receivables(case: tuple[Engine, KpiQuery, KpiSet]) -> None:
    engine, query, kpis = case
    frame = overdue_invoices(engine, query, now=NOW)
    assert round(frame["montant"].sum(), 2) == float(kpis.receivables_overdue)
    assert (frame["days_overdue"] > 0).all()


def test_breakdowns_of_the_inactive_formation_are_empty(seeded: Seeded) -> None:
    query = KpiQuery(date(2025, 1, 1), date(2028, 1, 1), formation=INACTIVE_SLUG)
    assert conversion_by(seeded.engine, query, "formation").empty
    assert revenue_by(seeded.engine, query, "financeur").empty
    assert placement_by_formation(seeded.engine, query).empty
    assert quality_by_formation(seeded.engine, query).empty
    assert session_fill_rates(seeded.engine, query).empty
    assert applications_in_period(seeded.engine, query).empty
    assert applications_trend(seeded.engine, query, "month")["applications"].sum() == 0


def test_drilldown_limit_caps_the_rows(seeded: Seeded) -> None:
    query = KpiQuery(date(2025, 1, 1), date(2028, 1, 1))
    frame = applications_in_period(seeded.engine, query, limit=7)
    assert len(frame) == 7 and frame["created_at"].is_monotonic_decreasing


def test_unknown_drilldown_stage_is_refused(seeded: Seeded) -> None:
    with pytest.raises(InvalidInput):
        applications_in_period(
            seeded.engine, KpiQuery(date(2026, 1, 1), date(2026, 2, 1)), reached="refusee"
        )


def test_formation_exists(seeded: Seeded) -> None:
    assert formation_exists(seeded.engine, EDGE_SLUG)
    assert formation_exists(seeded.engine, INACTIVE_SLUG)
    assert not formation_exists(seeded.engine, "n-existe-pas")


# --- The definitions, one rule at a time ------------------------------------


def figures(
    engine: Engine, start: date, end: date, *, now: datetime = NOW, **filters: Any
) -> KpiSet:
    return compute_kpis(engine, KpiQuery(start, end, **filters), now=now)


@contextmanager
def build(engine: Engine) -> Iterator[DataBuilder]:
    """Rows written in one transaction, committed before the test reads them."""
    with engine.begin() as connection:
        yield DataBuilder(connection)


H1 = (date(2026, 1, 1), date(2026, 7, 1))
H2 = (date(2026, 7, 1), date(2027, 1, 1))
EMPTY = (date(2030, 1, 1), date(2030, 2, 1))


@pytest.mark.parametrize(
    ("created_at", "in_december", "in_january"),
    [
        (utc(2026, 1, 1, 2, 30), 1, 0),
        (datetime(2026, 1, 1, 3, 59, 59, 999999, tzinfo=UTC), 1, 0),
        (utc(2026, 1, 1, 4, 0), 0, 1),
        (utc(2025, 12, 1, 3, 59), 0, 0),
    ],
)
def test_applications_count_by_local_creation_date(
    engine: Engine, created_at: datetime, in_december: int, in_january: int
) -> None:
    with build(engine) as b:
        b.application(formation_id=b.formation("f"), created_at=created_at)
    assert figures(engine, date(2025, 12, 1), date(2026, 1, 1)).applications == in_december
    assert figures(engine, date(2026, 1, 1), date(2026, 2, 1)).applications == in_january


T0 = utc(2026, 2, 3, 13, 0)


def steps(*statuses: str) -> list[tuple[str, datetime]]:
    return [(s, T0 + timedelta(days=i + 1)) for i, s in enumerate(statuses)]


FUNNEL_CASES = {
    # name: (path, statut override, with events, reached en_etude..terminee, refused)
    "refused-after-interview": (
        steps("en_etude", "entretien", "refusee"),
        None,
        True,
        (1, 1, 0, 0, 0),
        1,
    ),
    "withdrew-after-admission": (
        steps("en_etude", "entretien", "admise", "desistement"),
        None,
        True,
        (1, 1, 1, 0, 0),
        0,
    ),
    "legacy-without-events": ((), "inscrite", False, (1, 1, 1, 1, 0), 0),
    "legacy-refused-without-events": ((), "refusee", False, (0, 0, 0, 0, 0), 1),
    "abandon-during-training": (
        steps("en_etude", "entretien", "admise", "inscrite", "en_formation", "abandon"),
        None,
        True,
        (1, 1, 1, 1, 0),
        0,
    ),
    "completed": (
        steps("en_etude", "entretien", "admise", "inscrite", "en_formation", "terminee"),
        None,
        True,
        (1, 1, 1, 1, 1),
        0,
    ),
    "legacy-event-statuses": (steps("archivee", "transmise"), "nouvelle", True, (0, 0, 0, 0, 0), 0),
    "status-ahead-of-its-events": (steps("en_etude"), "admise", True, (1, 1, 1, 0, 0), 0),
}


@pytest.mark.parametrize(
    ("path", "statut", "with_events", "reached", "refused"),
    FUNNEL_CASES.values(),
    ids=FUNNEL_CASES.keys(),
)
def test_reached_stage_is_the_highest_rank_of_status_and_events(
    engine: Engine,
    path: list[tuple[str, datetime]],
    statut: str | None,
    with_events: bool,
    reached: tuple[int, ...],
    refused: int,
) -> None:
    with build(engine) as b:
        b.application(
            formation_id=b.formation("f"),
            created_at=T0,
            path=path,
            statut=statut,
            with_events=with_events,
        )
    kpis = figures(engine, *H1)
    funnel = (
        kpis.reached_en_etude,
        kpis.reached_entretien,
        kpis.reached_admise,
        kpis.reached_inscrite,
        kpis.reached_terminee,
    )
    assert funnel == reached
    assert kpis.applications == 1 and kpis.enrolments == kpis.reached_inscrite
    assert kpis.conversion_rate == float(kpis.reached_inscrite)
    assert kpis.refusal_rate == float(refused)


def test_first_response_is_the_median_of_hours_to_the_earliest_event_from_nouvelle(
    engine: Engine,
) -> None:
    with build(engine) as b:
        fid = b.formation("f")
        quick = b.application(formation_id=fid, created_at=T0)
        b.event(quick, "nouvelle", "en_etude", T0 + timedelta(hours=2))
        b.event(quick, "nouvelle", "en_etude", T0 + timedelta(hours=1))  # the earliest wins
        slow = b.application(
            formation_id=fid, created_at=T0, path=[("en_etude", T0 + timedelta(hours=6))]
        )
        b.event(slow, "en_etude", "entretien", T0 + timedelta(minutes=1))  # not from nouvelle
        b.application(formation_id=fid, created_at=T0)  # no answer yet: not counted
        b.application(formation_id=fid, created_at=T0, statut="en_etude", with_events=False)
        late = b.application(formation_id=fid, created_at=utc(2026, 7, 1, 4))  # next period
        b.event(late, "nouvelle", "refusee", utc(2026, 7, 2))
    assert figures(engine, *H1).median_first_response_hours == pytest.approx(3.5)  # (1 + 6) / 2
    assert figures(engine, *H2).median_first_response_hours == 20.0
    assert figures(engine, *EMPTY).median_first_response_hours is None


def test_first_response_median_of_an_odd_count_is_the_middle_value(engine: Engine) -> None:
    with build(engine) as b:
        fid = b.formation("f")
        for minutes in (90, 30, 45):
            b.application(
                formation_id=fid,
                created_at=T0,
                path=[("en_etude", T0 + timedelta(minutes=minutes))],
            )
    assert figures(engine, *H1).median_first_response_hours == 0.75


@pytest.mark.parametrize(("sla_hours", "overdue"), [(48.0, 2), (24.0, 4), (100.0, 1), (0.5, 4)])
def test_backlog_counts_new_applications_now_and_those_older_than_the_sla(
    engine: Engine, sla_hours: float, overdue: int
) -> None:
    with build(engine) as b:
        fid, other = b.formation("f"), b.formation("autre")
        for age in (
            timedelta(hours=47),
            timedelta(hours=48),
            timedelta(hours=49),
            timedelta(days=200),
        ):
            b.application(formation_id=fid, created_at=NOW - age)
        b.application(formation_id=fid, created_at=NOW - timedelta(days=9), path=steps("en_etude"))
        b.application(formation_id=other, created_at=NOW - timedelta(days=9))
    kpis = figures(engine, *EMPTY, formation="f", sla_hours=sla_hours)
    assert kpis.backlog_new == 4  # exactly 48 hours old is not "more than" 48 hours
    assert kpis.backlog_overdue == overdue
    assert figures(engine, *EMPTY).backlog_new == 5


def test_revenue_invoiced_excludes_cancelled_invoices(engine: Engine) -> None:
    with build(engine) as b:
        app = b.application(formation_id=b.formation("f"), created_at=T0)
        b.invoice(
            montant=Decimal("1234.56"),
            date_emission=date(2026, 6, 1),
            candidature_id=app,
            statut="annulee",
        )
        b.invoice(montant=Decimal("100.10"), date_emission=date(2026, 6, 30), candidature_id=app)
        b.invoice(montant=Decimal("7.00"), date_emission=date(2026, 7, 1), candidature_id=app)
    assert figures(engine, *H1).revenue_invoiced == Decimal("100.10")


def test_invoice_paid_in_the_next_period_is_collected_there(engine: Engine) -> None:
    with build(engine) as b:
        app = b.application(formation_id=b.formation("f"), created_at=T0)
        b.invoice(
            montant=Decimal("2500.10"),
            date_emission=date(2026, 6, 20),
            candidature_id=app,
            statut="payee",
            date_paiement=date(2026, 7, 10),
        )
    first, second = figures(engine, *H1), figures(engine, *H2)
    assert (first.revenue_invoiced, first.revenue_collected) == (
        Decimal("2500.10"),
        Decimal("0.00"),
    )
    assert (second.revenue_invoiced, second.revenue_collected) == (
        Decimal("0.00"),
        Decimal("2500.10"),
    )


def test_quote_invoices_follow_the_quote_formation(engine: Engine) -> None:
    with build(engine) as b:
        trainees, companies = b.formation("individuels"), b.formation("groupes")
        app = b.application(formation_id=trainees, created_at=T0)
        b.invoice(montant=Decimal("1000.00"), date_emission=date(2026, 3, 1), candidature_id=app)
        quote = b.quote(companies, sent_at=T0, statut="accepte")
        b.invoice(
            montant=Decimal("9000.00"),
            date_emission=date(2026, 3, 2),
            devis_id=quote,
            financeur="opco",
        )
    assert figures(engine, *H1, formation="groupes").revenue_invoiced == Decimal("9000.00")
    assert figures(engine, *H1, formation="individuels").revenue_invoiced == Decimal("1000.00")
    assert figures(engine, *H1).revenue_invoiced == Decimal("10000.00")
    assert revenue_by(engine, KpiQuery(*H1), "formation")["key"].tolist() == [
        "groupes",
        "individuels",
    ]


def test_receivables_overdue_are_issued_invoices_due_before_today_whatever_the_period(
    engine: Engine,
) -> None:
    today = NOW.date()
    with build(engine) as b:
        app = b.application(formation_id=b.formation("f"), created_at=T0)
        due = {"yesterday": today - timedelta(days=1), "today": today}
        b.invoice(
            montant=Decimal("800.05"),
            date_emission=date(2026, 1, 5),
            candidature_id=app,
            date_echeance=due["yesterday"],
        )
        b.invoice(
            montant=Decimal("99.99"),
            date_emission=date(2026, 1, 5),
            candidature_id=app,
            date_echeance=due["today"],
        )
        b.invoice(
            montant=Decimal("50.00"),
            date_emission=date(2026, 1, 5),
            candidature_id=app,
            date_echeance=date(2026, 2, 1),
            statut="annulee",
        )
        b.invoice(
            montant=Decimal("60.00"),
            date_emission=date(2026, 1, 5),
            candidature_id=app,
            date_echeance=date(2026, 2, 1),
            statut="payee",
            date_paiement=date(2026, 3, 1),
        )
    assert figures(engine, *EMPTY).receivables_overdue == Decimal("800.05")
    assert figures(engine, *EMPTY, now=NOW + timedelta(days=1)).receivables_overdue == Decimal(
        "900.04"
    )
    frame = overdue_invoices(engine, KpiQuery(*EMPTY), now=NOW)
    assert frame["days_overdue"].tolist() == [1] and frame["formation"].tolist() == ["F"]


def test_money_is_exact_decimal_with_two_places(engine: Engine) -> None:
    with build(engine) as b:
        app = b.application(formation_id=b.formation("f"), created_at=T0)
        for cents in ("0.10", "0.20", "1234567.89", "0.01"):
            b.invoice(montant=Decimal(cents), date_emission=date(2026, 2, 1), candidature_id=app)
    kpis = figures(engine, *H1)
    assert kpis.revenue_invoiced == Decimal("1234568.20")
    assert str(kpis.revenue_collected) == "0.00"
    assert kpis.as_json_dict()["revenue_invoiced"] == 1234568.2


def test_quotes_count_by_local_date_of_sending(engine: Engine) -> None:
    with build(engine) as b:
        fid = b.formation("f")
        b.quote(fid, sent_at=utc(2026, 4, 1, 3, 0), statut="accepte")  # 31 March, local
        b.quote(fid, sent_at=utc(2026, 4, 1, 5, 0), statut="refuse")
        b.quote(fid, sent_at=None, statut="brouillon")
    march = figures(engine, date(2026, 3, 1), date(2026, 4, 1))
    april = figures(engine, date(2026, 4, 1), date(2026, 5, 1))
    assert (march.quotes_sent, march.quotes_accepted, march.quote_conversion_rate) == (1, 1, 1.0)
    assert (april.quotes_sent, april.quotes_accepted, april.quote_conversion_rate) == (1, 0, 0.0)


def test_fill_rate_counts_every_enrolled_application_of_the_session(engine: Engine) -> None:
    with build(engine) as b:
        fid, other = b.formation("f"), b.formation("autre")
        session = b.session(fid, date(2026, 3, 2), date(2026, 6, 30), places=10)
        b.session(fid, date(2026, 7, 1), date(2026, 9, 30), places=99)  # starts next period
        enrolled = steps("en_etude", "entretien", "admise", "inscrite")
        b.application(formation_id=fid, created_at=T0, path=enrolled, session_id=session)
        b.application(formation_id=other, created_at=T0, path=enrolled, session_id=session)
        b.application(
            formation_id=fid,
            created_at=utc(2025, 1, 5),
            path=[*enrolled, ("desistement", T0)],
            session_id=session,
        )
        b.application(formation_id=fid, created_at=T0, path=steps("en_etude"), session_id=session)
    kpis = figures(engine, *H1, formation="f")
    assert (kpis.sessions_started, kpis.fill_rate) == (1, 0.3)
    assert figures(engine, *H1, formation="autre").fill_rate is None
    rates = session_fill_rates(engine, KpiQuery(*H1))
    assert rates[["places", "enrolled", "fill_rate"]].values.tolist() == [[10, 3, 0.3]]


SUMMER_END = date(2026, 8, 31)
PLACEMENT_CASES = {
    "on-the-last-day-of-training": ("cdi", SUMMER_END, None, 1, 1),
    "six-months-after-clamped-to-february": ("cdd", date(2027, 2, 28), 6, 1, 1),
    "one-day-after-six-months": ("cdi", date(2027, 3, 1), None, 0, 0),
    "the-day-before-the-end": ("cdi", date(2026, 8, 30), None, 0, 0),
    "further-studies": ("formation", date(2026, 9, 15), None, 0, 0),
    "cdd-of-five-months": ("cdd", date(2026, 10, 1), 5, 1, 0),
    "interim-of-unknown-length": ("interim", date(2026, 10, 1), None, 1, 0),
    "alternance-of-a-year": ("alternance", date(2026, 10, 1), 12, 1, 1),
    "business-creation": ("creation_entreprise", date(2026, 12, 1), None, 1, 1),
}


@pytest.mark.parametrize(
    ("kind", "start", "months", "placed", "durable"),
    PLACEMENT_CASES.values(),
    ids=PLACEMENT_CASES.keys(),
)
def test_placement_within_six_months_of_the_session_end(
    engine: Engine, kind: str, start: date, months: int | None, placed: int, durable: int
) -> None:
    with build(engine) as b:
        fid = b.formation("f")
        session = b.session(fid, date(2026, 3, 2), SUMMER_END)
        user = b.user()
        b.application(
            formation_id=fid,
            created_at=T0,
            user_id=user,
            session_id=session,
            path=steps("en_etude", "entretien", "admise", "inscrite", "en_formation", "terminee"),
        )
        b.placement(user, kind, start, duree_mois=months)
    kpis = figures(engine, *H2)
    assert (kpis.placement_cohort, kpis.placed_6m) == (1, placed)
    assert (kpis.placement_rate_6m, kpis.durable_placement_rate_6m) == (
        float(placed),
        float(durable),
    )


def test_placement_cohort_counts_applications_and_any_placement_of_the_person(
    engine: Engine,
) -> None:
    done = steps("en_etude", "entretien", "admise", "inscrite", "en_formation", "terminee")
    with build(engine) as b:
        fid = b.formation("f")
        session = b.session(fid, date(2026, 3, 2), SUMMER_END)
        twice, once, dropout = b.user(), b.user(), b.user()
        first = b.application(
            formation_id=fid, created_at=T0, user_id=twice, session_id=session, path=done
        )
        b.application(formation_id=fid, created_at=T0, user_id=twice, session_id=session, path=done)
        b.application(formation_id=fid, created_at=T0, user_id=once, session_id=session, path=done)
        b.application(
            formation_id=fid,
            created_at=T0,
            user_id=dropout,
            session_id=session,
            path=[*done[:5], ("abandon", T0 + timedelta(days=40))],
        )
        b.application(
            formation_id=fid, created_at=T0, user_id=once, path=done
        )  # no session: no end date
        b.placement(twice, "cdd", date(2026, 9, 1), duree_mois=3, candidature_id=first)
        b.placement(twice, "cdi", date(2026, 11, 1))  # recorded against no application
        b.placement(dropout, "cdi", date(2026, 9, 1))
    kpis = figures(engine, *H2)
    assert (kpis.completions, kpis.dropouts, kpis.placement_cohort, kpis.placed_6m) == (3, 1, 3, 2)
    assert kpis.completion_rate == 0.75
    assert kpis.durable_placement_rate_6m == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("end", "now", "complete"),
    [
        (date(2026, 7, 1), utc(2026, 12, 31, 4, 0), True),  # 2026-06-30 + 6 months = 2026-12-30
        (date(2026, 7, 1), utc(2026, 12, 31, 3, 59), False),  # still the 30th, local
        (date(2026, 9, 1), utc(2027, 3, 1, 12), True),  # 2026-08-31 + 6 months = 2027-02-28
        (date(2026, 9, 1), utc(2027, 2, 28, 12), False),
    ],
)
def test_placement_window_is_complete_once_six_months_after_the_last_day_have_passed(
    engine: Engine, end: date, now: datetime, complete: bool
) -> None:
    assert figures(engine, date(2026, 1, 1), end, now=now).placement_window_complete is complete


@pytest.mark.parametrize(
    ("created_at", "june", "july"),
    [
        (utc(2026, 7, 1, 3, 59, 59), (5.0, 1.0), (None, None)),
        (utc(2026, 7, 1, 4, 0), (None, None), (5.0, 1.0)),
    ],
)
def test_evaluations_count_by_local_date(
    engine: Engine, created_at: datetime, june: tuple[Any, Any], july: tuple[Any, Any]
) -> None:
    with build(engine) as b:
        app = b.application(formation_id=b.formation("f"), created_at=T0)
        b.evaluation(app, 5, created_at)
    june_kpis = figures(engine, date(2026, 6, 1), date(2026, 7, 1))
    july_kpis = figures(engine, date(2026, 7, 1), date(2026, 8, 1))
    assert (june_kpis.satisfaction_avg, june_kpis.satisfaction_rate) == june
    assert (july_kpis.satisfaction_avg, july_kpis.satisfaction_rate) == july


def test_satisfaction_is_the_mean_note_and_the_share_of_fours_and_fives(engine: Engine) -> None:
    with build(engine) as b:
        fid, other = b.formation("f"), b.formation("autre")
        app, other_app = (
            b.application(formation_id=fid, created_at=T0),
            b.application(formation_id=other, created_at=T0),
        )
        for note in (5, 4, 3, 1):
            b.evaluation(app, note, T0)
        b.evaluation(other_app, 5, T0)
    kpis = figures(engine, *H1, formation="f")
    assert (kpis.satisfaction_avg, kpis.satisfaction_rate) == (3.25, 0.5)


def test_matching_and_offers_ignore_the_formation_filter(engine: Engine) -> None:
    with build(engine) as b:
        b.formation("f")
        company, user = b.company(), b.user()
        offers = [
            b.offer(company, created_at=T0, statut=s) for s in ("ouverte", "ouverte", "pourvue")
        ]
        for offer, statut in zip(offers, ("valide", "embauche", "rejete"), strict=True):
            b.match(user, offer, date_match=T0, statut=statut)
        b.match(b.user(), offers[0], date_match=utc(2026, 7, 1, 4), statut="entretien")
    kpis = figures(engine, *H1, formation="f")
    assert (kpis.matches_proposed, kpis.matches_validated, kpis.match_hires) == (3, 2, 1)
    assert figures(engine, *EMPTY).offers_open == 2
    active = most_active_companies(engine, KpiQuery(*H1))
    assert active[["offers_posted", "hires", "activity"]].values.tolist() == [[3, 1, 4]]


def test_domain_filter_restricts_to_the_formations_of_that_domain(engine: Engine) -> None:
    with build(engine) as b:
        web = b.formation("web", domaine="Numérique")
        network = b.formation("reseaux", domaine="Numérique")
        care = b.formation("soins", domaine="Santé-social")
        for fid in (web, network, network, care):
            b.application(formation_id=fid, created_at=T0)
    assert figures(engine, *H1, domaine="Numérique").applications == 3
    assert figures(engine, *H1, domaine="Santé-social").applications == 1
    assert figures(engine, *H1, domaine="Numérique", formation="soins").applications == 0


@pytest.mark.parametrize(
    "filters", [{"formation": "inactive"}, {}], ids=["inactive-formation", "no-filter"]
)
def test_a_period_or_formation_without_activity_gives_zeros_and_nulls(
    engine: Engine, filters: dict[str, str]
) -> None:
    with build(engine) as b:
        b.formation("inactive", actif=False)
        busy = b.formation("busy")
        session = b.session(busy, date(2026, 1, 5), date(2026, 3, 1))
        app = b.application(
            formation_id=busy,
            created_at=T0,
            session_id=session,
            path=steps("en_etude", "entretien", "admise", "inscrite", "en_formation", "terminee"),
        )
        b.evaluation(app, 4, T0)
    period = H1 if filters else EMPTY
    values = figures(engine, *period, **filters).as_dict()
    for kpi_id, value in values.items():
        if kpi_id in ("placement_window_complete", "placement_closed_shift_months"):
            continue  # about the calendar, not about activity
        if isinstance(value, Decimal):
            assert value == Decimal("0.00"), kpi_id
        else:
            assert value in (0, None) and not isinstance(value, float), kpi_id
    assert values["conversion_rate"] is None and values["median_first_response_hours"] is None


# --- The query object, the ids, the labels ----------------------------------


def test_period_bounds_are_local_midnights_in_utc() -> None:
    assert KpiQuery(*H1).utc_bounds() == (utc(2026, 1, 1, 4), utc(2026, 7, 1, 4))
    paris = KpiQuery(date(2026, 3, 29), date(2026, 10, 26), timezone="Europe/Paris")
    assert paris.utc_bounds() == (utc(2026, 3, 28, 23), utc(2026, 10, 25, 23))


@pytest.mark.parametrize(
    ("start", "end", "previous", "year_before"),
    [
        (
            date(2026, 1, 1),
            date(2026, 7, 1),
            (date(2025, 7, 4), date(2026, 1, 1)),
            (date(2025, 1, 1), date(2025, 7, 1)),
        ),
        (
            date(2028, 2, 29),
            date(2028, 3, 1),
            (date(2028, 2, 28), date(2028, 2, 29)),
            (date(2027, 2, 28), date(2027, 3, 1)),
        ),
    ],
)
def test_previous_period_and_year_before(
    start: date, end: date, previous: tuple[date, date], year_before: tuple[date, date]
) -> None:
    query = KpiQuery(start, end, formation="f", sla_hours=12)
    assert (query.previous().start, query.previous().end) == previous
    assert (query.year_before().start, query.year_before().end) == year_before
    assert query.previous().formation == "f" and query.year_before().sla_hours == 12


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": date(2026, 2, 1), "end": date(2026, 2, 1)},
        {"start": date(2026, 3, 1), "end": date(2026, 2, 1)},
        {"start": date(2026, 1, 1), "end": date(2026, 2, 1), "timezone": "Mars/Olympus"},
        {"start": datetime(2026, 1, 1, tzinfo=UTC), "end": date(2026, 2, 1)},
    ],
)
def test_invalid_queries_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        KpiQuery(**kwargs)


def test_query_from_settings_takes_time_zone_and_sla() -> None:
    settings = load_settings(TIMEZONE="Europe/Paris", TRIAGE_SLA_HOURS=24)
    query = KpiQuery.from_settings(settings, *H1, formation="f")
    assert (query.timezone, query.sla_hours, query.formation) == ("Europe/Paris", 24.0, "f")
    assert KpiQuery.from_settings(load_settings(), *H1).timezone == "America/Guadeloupe"


def test_kpi_ids_are_the_definitions_table_in_order() -> None:
    definitions = CONTRACT_DIR / "kpi-definitions.md"
    ids: list[str] = []
    for line in definitions.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            ids += re.findall(r"`([a-z0-9_]+)`", line.split("|")[1])
    assert tuple(ids) == KPI_IDS


def test_json_dict_has_plain_json_types(engine: Engine) -> None:
    values = figures(engine, *H1).as_json_dict()
    assert list(values) == list(KPI_IDS)
    assert values["revenue_invoiced"] == 0.0 and isinstance(values["revenue_invoiced"], float)
    assert values["placement_window_complete"] is True and values["conversion_rate"] is None


def test_labels_cover_every_status_and_rank_the_main_path() -> None:
    from data.models import APPLICATION_STATUSES

    assert set(STATUS_LABELS) == set(APPLICATION_STATUSES) == set(RANKS)
    assert STATUS_LABELS["en_etude"] == "En étude" and STATUS_LABELS["refusee"] == "Refusée"
    assert [RANKS[s] for s in ("nouvelle", "admise", "abandon", "terminee", "desistement")] == [
        0,
        3,
        5,
        6,
        -1,
    ]
