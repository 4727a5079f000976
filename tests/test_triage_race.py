"""Two people act on the same application at once, on PostgreSQL: one wins, nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event

from data import matching, triage
from data.errors import Conflict
from data.models import CandidatureEvent
from data.owned import AuditLog
from tests import factories
from tests import triage_data as td


def _race(
    engine: Engine, actions: list[Callable[[], Any]], *, table: str, interleave: bool
) -> list[Any]:
    """Run the actions in two threads; with ``interleave`` both have read the row before either writes."""
    start = threading.Barrier(len(actions), timeout=20)
    at_update = threading.Barrier(len(actions), timeout=20)

    def hold_updates(_conn, _cursor, statement: str, *_args: Any) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(f"UPDATE {table.upper()}"):
            at_update.wait()

    if interleave:
        event.listen(engine, "before_cursor_execute", hold_updates)
    results: list[Any] = [None] * len(actions)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = actions[index]()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        if interleave:
            event.remove(engine, "before_cursor_execute", hold_updates)
    return results


@pytest.mark.parametrize("interleave", [True, False], ids=["both-read-first", "simultaneous"])
def test_two_sessions_race_on_one_application(pg_engine: Engine, interleave: bool) -> None:
    w = td.world(pg_engine)
    app = td.application(pg_engine, w)
    displayed = td.version(pg_engine, app)  # both screens show this version
    results = _race(
        pg_engine,
        [
            lambda: triage.move_application(
                pg_engine,
                actor=w.admin,
                application_id=app,
                to_statut="en_etude",
                expected_updated_at=displayed,
            ),
            lambda: triage.refuse_application(
                pg_engine,
                actor=w.secretary,
                application_id=app,
                reason_code="prerequis",
                expected_updated_at=displayed,
            ),
        ],
        table="candidatures",
        interleave=interleave,
    )
    winners = [r for r in results if isinstance(r, triage.TriageResult)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    winner = winners[0]
    assert "rechargez" in losers[0].user_message and "modifiée par" in losers[0].user_message
    row = td.current(pg_engine, app)
    assert row.statut == winner.to_statut and row.updated_at == winner.updated_at
    # Exactly the winner's event and audit row were written, nothing of the loser's.
    assert td.count(pg_engine, CandidatureEvent) == 2 and td.count(pg_engine, AuditLog) == 1
    assert row.motif_refus is None if winner.to_statut == "en_etude" else row.motif_refus


def test_two_sessions_race_on_one_match(pg_engine: Engine) -> None:
    w = td.world(pg_engine)
    company = factories.company(pg_engine)
    offer = factories.offer(pg_engine, entreprise_id=company)
    match_id = td.match(pg_engine, candidat_id=w.applicant_id, offre_id=offer)
    results = _race(
        pg_engine,
        [
            lambda: matching.decide_match(
                pg_engine,
                actor=w.admin,
                match_id=match_id,
                decision="valide",
                expected_statut="propose",
                expected_decided_at=None,
            ),
            lambda: matching.decide_match(
                pg_engine,
                actor=w.secretary,
                match_id=match_id,
                decision="rejete",
                expected_statut="propose",
                expected_decided_at=None,
            ),
        ],
        table="matchings",
        interleave=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "MatchDecision"], results
    assert td.count(pg_engine, AuditLog) == 1
