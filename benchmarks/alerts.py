"""Alerts (``data.alerts``): one evaluation of every rule, and each rule's read alone.

Target: one evaluation of every rule (the scheduler's job, every minute) under
1 s of database time on the 1,000,000-application database: the time spent
executing statements (SQLAlchemy's cursor events), the part that loads the
shared server; the wall time beside it adds the Python that builds and
compares each rule's subjects in the scheduler's own process. The first
(cold) run opens the alerts the data calls for and writes their notices; the
warm runs are the steady state the scheduler sees minute after minute.
A KPI goal line (conversion rate over 30 days below 55 %) is added once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, select

from benchmarks.harness import Metrics, Operation
from benchmarks.kpis import Bench
from data.alerts.evaluate import effective_params, ensure_builtin_rules, evaluate_all
from data.alerts.rules import RULE_KINDS, RuleContext
from data.owned import AlertRule
from data.settings import get_settings

EVALUATION_MS = 1000.0
GOAL = {"kpi_id": "conversion_rate", "direction": "below", "value": 0.55, "window_days": 30}


@contextmanager
def database_time(engine: Engine) -> Iterator[list[float]]:
    """Seconds spent executing statements on ``engine`` within the block (one-item list)."""
    spent = [0.0]
    started: dict[int, float] = {}

    def before(
        conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any
    ) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any) -> None:
        spent[0] += time.perf_counter() - started.pop(id(cursor), time.perf_counter())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield spent
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def _ensure_goal_line(engine: Engine) -> None:
    ensure_builtin_rules(engine)
    with engine.begin() as connection:
        present = connection.execute(
            select(AlertRule.id).where(AlertRule.key == "bench_kpi_goal")
        ).first()
        if present is None:
            connection.execute(
                AlertRule.__table__.insert().values(
                    key="bench_kpi_goal",
                    kind="kpi_goal",
                    title="Taux de conversion sur 30 jours sous 55 %",
                    roles=["direction"],
                    params=GOAL,
                    for_minutes=0,
                    quiet_minutes=1440,
                )
            )


def operations(bench: Bench) -> list[Operation]:
    settings = get_settings()
    _ensure_goal_line(bench.engine)

    def evaluate() -> Metrics:
        with database_time(bench.engine) as spent:
            result = evaluate_all(bench.engine, settings, bench.now)
        return Metrics(
            database_ms=spent[0] * 1000,
            detail=(
                f"database {spent[0] * 1000:.0f} ms; {result.summary()}; "
                + ", ".join(f"{o.key}={o.subjects}" for o in result.outcomes)
            ),
        )

    def read_of(kind: str, params: dict[str, Any]) -> Callable[[], Metrics]:
        def run() -> Metrics:
            context = RuleContext(params, bench.now, settings, bench.engine, {})
            with bench.engine.connect() as connection:
                subjects = RULE_KINDS[kind].evaluate(connection, context)
            return Metrics(detail=f"{len(subjects)} subject(s)")

        return run

    with bench.engine.connect() as connection:
        rules = connection.execute(
            select(AlertRule.key, AlertRule.kind, AlertRule.params).order_by(AlertRule.id)
        ).all()
    ops = [
        Operation("alerts", "evaluate every rule", evaluate, target_database_ms=EVALUATION_MS),
    ]
    ops += [
        Operation(
            "alerts", f"read: {row.key}", read_of(row.kind, effective_params(row.key, row.params))
        )
        for row in rules
    ]
    return ops
