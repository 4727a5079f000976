"""The KPI engine's operations: the overview set (1 and 12 months) and every breakdown.

:class:`Bench` holds what every section shares: the engine, the URL, the two
periods (the last complete month of the data, and the 12 complete months
ending with it) and "now".
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, text

from benchmarks.harness import Measurement, Metrics, Operation
from data.db import create_db_engine
from data.kpis import (
    KpiQuery,
    KpiSet,
    applications_trend,
    compute_kpis,
    conversion_by,
    most_active_companies,
    placement_by_formation,
    quality_by_formation,
    revenue_by,
    session_fill_rates,
    top_formations,
)
from data.kpis.summary import summary_view

KPI_SET_1M_MS = 300.0
KPI_SET_12M_MS = 1000.0
BREAKDOWN_12M_MS = 1000.0


@dataclass
class Bench:
    """The database and the periods every section measures."""

    engine: Engine
    url: str
    month: KpiQuery
    year: KpiQuery
    now: datetime
    _expected: dict[str, KpiSet] = field(default_factory=dict)

    @classmethod
    def for_database(cls, engine: Engine, url: str) -> Bench:
        """Periods from the data: the last complete month before the latest application."""
        with engine.connect() as connection:
            latest = connection.execute(text("SELECT max(created_at) FROM candidatures")).scalar()
        last_day = (latest or datetime.now(UTC)).date()
        month_end = last_day.replace(day=1)
        month_start = _months_before(month_end, 1)
        return cls(
            engine=engine,
            url=url,
            month=KpiQuery(month_start, month_end),
            year=KpiQuery(_months_before(month_end, 12), month_end),
            now=datetime.now(UTC),
        )

    def expected(self, which: str) -> KpiSet:
        """The engine's figures for ``"month"`` or ``"year"`` (computed once, to check baselines)."""
        if which not in self._expected:
            query = self.month if which == "month" else self.year
            self._expected[which] = compute_kpis(self.engine, query, now=self.now)
        return self._expected[which]


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def operations(bench: Bench) -> list[Operation]:
    """The overview set for one month and 12 months, then each breakdown for 12 months."""
    engine, month, year, now = bench.engine, bench.month, bench.year, bench.now
    ops = [
        Operation("kpis", "summary refresh check", lambda: _refresh_check(engine), target_ms=None),
        Operation(
            "kpis",
            "kpi_set_1m",
            lambda: compute_kpis(engine, month, now=now),
            target_ms=KPI_SET_1M_MS,
        ),
        Operation(
            "kpis",
            "kpi_set_12m",
            lambda: compute_kpis(engine, year, now=now),
            target_ms=KPI_SET_12M_MS,
        ),
        Operation("kpis", "python -m data.kpis 12m", lambda: _cli_kpi_set(bench)),
        Operation(
            "kpis",
            "kpi_set_12m without summary",
            lambda: compute_kpis(engine, year, now=now, use_summary=False),
            runs=1,
        ),
    ]
    breakdowns: dict[str, Any] = {
        "conversion_by formation": lambda: conversion_by(engine, year, "formation"),
        "conversion_by source": lambda: conversion_by(engine, year, "source"),
        "conversion_by financement": lambda: conversion_by(engine, year, "financement"),
        "top_formations": lambda: top_formations(engine, year),
        "applications_trend week": lambda: applications_trend(engine, year, "week"),
        "applications_trend month": lambda: applications_trend(engine, year, "month"),
        "revenue_by financeur": lambda: revenue_by(engine, year, "financeur"),
        "revenue_by formation": lambda: revenue_by(engine, year, "formation"),
        "revenue_by month": lambda: revenue_by(engine, year, "month"),
        "placement_by_formation": lambda: placement_by_formation(engine, year, now=now),
        "quality_by_formation": lambda: quality_by_formation(engine, year),
        "session_fill_rates": lambda: session_fill_rates(engine, year),
        "most_active_companies": lambda: most_active_companies(engine, year),
    }
    ops.extend(
        Operation("breakdowns", f"{name} 12m", run, target_ms=BREAKDOWN_12M_MS)
        for name, run in breakdowns.items()
    )
    return ops


def _cli_kpi_set(bench: Bench) -> Any:
    """``python -m data.kpis`` for the 12 months, in this process (no interpreter start)."""
    from data.kpis.__main__ import main

    arguments = ["--from", bench.year.start.isoformat(), "--to", bench.year.end.isoformat()]
    with contextlib.redirect_stdout(io.StringIO()):
        status = main([*arguments, "--json"])
    if status != 0:
        raise RuntimeError(f"python -m data.kpis exited with {status}")


def on_replica(bench: Bench, analytics_url: str, sections: list[str]) -> list[Operation]:
    """The KPI operations again, on a read replica of the benchmark database (section
    ``replica``), with the same periods and "now"."""
    engine = create_db_engine(analytics_url, statement_timeout_ms=600_000)
    replica = Bench(engine, analytics_url, bench.month, bench.year, bench.now)
    return [
        replace(op, section="replica", target_ms=None)
        for op in operations(replica)
        if op.section in sections and op.name != "python -m data.kpis 12m"
    ]


def add_replica_ratios(results: list[Measurement]) -> None:
    """On each replica operation: its warm time over the primary's, as ``detail``."""
    primary = {m.name: m for m in results if m.section in ("kpis", "breakdowns")}
    for m in results:
        found = primary.get(m.name)
        if m.section != "replica" or found is None or not found.warm_ms or m.error:
            continue
        m.detail = f"{m.warm_ms / found.warm_ms:.2f}x primary"
    screens = primary.get("kpi_set_12m")
    cli = primary.get("python -m data.kpis 12m")
    if screens is not None and cli is not None and screens.warm_ms and not cli.error:
        cli.detail = f"{cli.warm_ms / screens.warm_ms:.2f}x the screens' path"


def _refresh_check(engine: Engine) -> Metrics:
    """What every KPI call pays first: read the summary's mark and gaps (it never writes)."""
    facts = summary_view(engine)
    return Metrics(detail="summary in use" if facts is not None else "no summary: events read")
