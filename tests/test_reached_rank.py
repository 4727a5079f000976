"""The reached rank has one rule and three forms, held equal here on both databases:
the SQL expression (``reached_rank``, over the summary or the events), the
predicate (``reached_stage``) and the Python twin (``reached_rank_of``), against
the reference's reading of the definitions."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select

from data.kpis import KpiQuery
from data.kpis.sql import (
    APPLICATIONS,
    cohort_facts,
    reached_rank,
    reached_rank_of,
    reached_stage,
    stage_rank,
    with_reached_rank,
)
from data.kpis.summary import summary_view
from data.labels import RANKS
from tests.kpi_data import DataBuilder, utc
from tests.kpi_reference import rank

T0 = utc(2026, 2, 3, 13, 0)
HISTORIES: dict[str, tuple[tuple[str, ...], str | None]] = {
    # name: (event statuses in order, status override)
    "new": ((), "nouvelle"),
    "refused-after-interview": (("en_etude", "entretien", "refusee"), None),
    "withdrew-after-admission": (("en_etude", "entretien", "admise", "desistement"), None),
    "legacy-without-events": ((), "inscrite"),
    "dropped-out": (
        ("en_etude", "entretien", "admise", "inscrite", "en_formation", "abandon"),
        None,
    ),
    "completed": (
        ("en_etude", "entretien", "admise", "inscrite", "en_formation", "terminee"),
        None,
    ),
    "legacy-event-statuses": (("archivee", "transmise"), "nouvelle"),
    "status-ahead-of-its-events": (("en_etude",), "admise"),
    "events-ahead-of-status": (("en_etude", "entretien", "admise"), "en_etude"),
    "events-one-step-ahead": (("en_etude", "entretien"), "en_etude"),
}
STAGES = tuple(stage for stage, value in RANKS.items() if value >= 0)


def _seed(engine: Engine) -> dict[int, int]:
    """One application per history; returns the expected reached rank by id."""
    expected: dict[int, int] = {}
    with engine.begin() as connection:
        b = DataBuilder(connection)
        fid = b.formation("f")
        for events, statut in HISTORIES.values():
            path = [(status, T0.replace(day=4 + i)) for i, status in enumerate(events)]
            app = b.application(
                formation_id=fid, created_at=T0, path=path, statut=statut, with_events=True
            )
            final = statut or events[-1]
            expected[app] = max([rank(final), *(rank(s) for s in events)])
    return expected


@pytest.mark.parametrize("use_summary", [True, False], ids=["summary", "events"])
def test_the_three_forms_of_the_reached_rank_agree(engine: Engine, use_summary: bool) -> None:
    expected = _seed(engine)
    query = KpiQuery(date(2026, 2, 1), date(2026, 3, 1))
    facts = summary_view(engine) if use_summary else None
    assert (facts is not None) is use_summary
    facts_rows = cohort_facts(query, facts, APPLICATIONS.c.id).subquery("rows")
    by_expression = select(
        facts_rows.c.id,
        facts_rows.c.statut,
        facts_rows.c.max_event_rank,
        reached_rank(facts_rows.c.statut, facts_rows.c.max_event_rank),
    )
    drilled = with_reached_rank(select(APPLICATIONS.c.id, APPLICATIONS.c.statut), "all")
    with engine.connect() as connection:
        rows = connection.execute(by_expression).all()
        drilldown = dict(connection.execute(select(drilled.c.id, drilled.c.reached_rank)).all())
        by_predicate = {
            stage: set(
                connection.execute(
                    select(APPLICATIONS.c.id).where(reached_stage(stage, APPLICATIONS, facts))
                ).scalars()
            )
            for stage in STAGES
        }
    assert {row.id: row[3] for row in rows} == expected
    assert {row.id: reached_rank_of(row.statut, row.max_event_rank) for row in rows} == expected
    assert drilldown == expected
    for stage in STAGES:
        wanted = {i for i, value in expected.items() if value >= stage_rank(stage)}
        assert by_predicate[stage] == wanted, stage


def test_the_python_twin_ranks_unknown_statuses_minus_one() -> None:
    assert reached_rank_of("archivee", None) == -1
    assert reached_rank_of(None, 3) == 3
    assert reached_rank_of("refusee", 2) == 2
