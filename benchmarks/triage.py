"""The secretariat's triage queue (``data.triage``): first pages and the search.

Targets: the first page of any filter combination under 50 ms, a search
under 300 ms. The filter values (a busy formation, a session with
applicants, a common surname...) are read from the database first.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from benchmarks.harness import Metrics, Operation
from benchmarks.kpis import Bench
from data.settings import get_settings
from data.triage import QueueFilters, queue_page

PAGE_MS = 50.0
SEARCH_MS = 300.0
STAFF_EMAIL = "admin@demo.cipfaro.fr"


def _sample(bench: Bench) -> dict[str, Any]:
    """Real values to filter on."""
    queries = {
        "actor": "SELECT id FROM users WHERE email = :email",
        "formation": "SELECT formation_id FROM candidatures GROUP BY formation_id "
        "ORDER BY count(*) DESC LIMIT 1",
        "session": "SELECT session_id FROM candidatures WHERE session_id IS NOT NULL "
        "ORDER BY id DESC LIMIT 1",
        "surname": "SELECT nom FROM users WHERE role = 'stagiaire' GROUP BY nom "
        "ORDER BY count(*) DESC LIMIT 1",
        "email": "SELECT split_part(email, '@', 1) FROM users WHERE role = 'stagiaire' "
        "ORDER BY id DESC LIMIT 1",
    }
    with bench.engine.connect() as connection:
        return {
            key: connection.execute(text(sql), {"email": STAFF_EMAIL}).scalar()
            for key, sql in queries.items()
        }


def operations(bench: Bench) -> list[Operation]:
    sample = _sample(bench)
    settings = get_settings()
    today = bench.now.astimezone(settings.tz).date()
    pages: dict[str, QueueFilters] = {
        "default (pending)": QueueFilters(),
        "every status": QueueFilters(statuses=()),
        "formation": QueueFilters(formation_id=sample["formation"]),
        "source + funding": QueueFilters(source="france_travail", financement="cpf"),
        "unassigned": QueueFilters(assignment="personne"),
        "assigned to me": QueueFilters(assignment="moi"),
        "overdue only": QueueFilters(overdue_only=True),
        "received last 30 days, every status": QueueFilters(
            statuses=(), received_from=today - timedelta(days=30), received_to=today
        ),
        "session": QueueFilters(statuses=(), session_id=sample["session"]),
    }
    searches = {
        "search surname": QueueFilters(statuses=(), search=str(sample["surname"] or "martin")),
        "search email": QueueFilters(statuses=(), search=str(sample["email"] or "user")),
        "search accented first name": QueueFilters(statuses=(), search="josé"),
    }
    total = "with_total" in inspect.signature(queue_page).parameters

    def page(filters: QueueFilters, **extra: Any) -> Metrics:
        result = queue_page(
            bench.engine,
            filters,
            actor_id=sample["actor"],
            now=bench.now,
            sla_hours=settings.TRIAGE_SLA_HOURS,
            tz=settings.tz,
            **extra,
        )
        return Metrics(detail=f"{len(result.rows)} rows")

    def page_of(filters: QueueFilters) -> Callable[[], Metrics]:
        return lambda: page(filters)

    ops = [
        Operation("triage", f"first page: {name}", page_of(filters), target_ms=PAGE_MS)
        for name, filters in pages.items()
    ]
    if total:
        ops.append(
            Operation(
                "triage",
                "first page + count: default",
                lambda: page(QueueFilters(), with_total=True),
                target_ms=PAGE_MS,
            )
        )
    ops.extend(
        Operation("triage", name, page_of(filters), target_ms=SEARCH_MS)
        for name, filters in searches.items()
    )
    return ops
