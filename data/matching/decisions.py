"""Match review: the website's candidate <-> job-offer suggestions, and decisions on them.

A decision writes ``statut``, ``decided_by`` and ``decided_at`` and one audit
row in one transaction. No lost update: the screen passes the ``statut`` and
``decided_at`` it displayed (the version of a match), the UPDATE is
conditional on both, and ``decided_at`` always moves strictly forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Connection, Engine, select, update

from data import audit
from data.acting import acting_account
from data.bulk import BulkResult, run_bulk
from data.conflicts import changed_meanwhile, gone_meanwhile, person
from data.db import translate_errors
from data.errors import Conflict, InvalidInput, NotFound
from data.models import (
    Matching,
    User,
)
from data.permissions import Actor, require
from data.workflow import check_match_decision, match_label

ONE_TICK: Final = timedelta(microseconds=1)


@dataclass(frozen=True)
class MatchDecision:
    match_id: int
    from_statut: str
    to_statut: str
    decided_at: datetime
    message: str


def _conflict(connection: Connection, match_id: int) -> Conflict:
    row = connection.execute(
        select(Matching.decided_at, User.prenom, User.nom)
        .outerjoin(User, User.id == Matching.decided_by)
        .where(Matching.id == match_id)
    ).first()
    if row is None:
        return gone_meanwhile(f"Le matching n° {match_id} n'existe plus")
    return changed_meanwhile(
        f"Matching n° {match_id}", "modifié", who=person(row[1], row[2]), at=row[0]
    )


def decide_match(
    engine: Engine,
    *,
    actor: Actor,
    match_id: int,
    decision: str,
    expected_statut: str,
    expected_decided_at: datetime | None,
    now: datetime | None = None,
) -> MatchDecision:
    """Validate, reject, mark interview or hired; refused if the match changed meanwhile."""
    require(actor, "matching.write")
    m = Matching
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, "matching.write")
        current = connection.execute(select(m.statut, m.decided_at).where(m.id == match_id)).first()
        if current is None:
            raise NotFound(f"Le matching n° {match_id} n'existe pas.")
        if current.statut != expected_statut or current.decided_at != expected_decided_at:
            raise _conflict(connection, match_id)
        check_match_decision(current.statut, decision)
        stamp = now or datetime.now(UTC)
        if current.decided_at is not None:
            stamp = max(stamp, current.decided_at + ONE_TICK)
        result = connection.execute(
            update(m)
            .where(m.id == match_id, m.statut == expected_statut)
            .where(
                m.decided_at.is_(None)
                if expected_decided_at is None
                else m.decided_at == expected_decided_at
            )
            .values(statut=decision, decided_by=actor.id, decided_at=stamp)
        )
        if result.rowcount != 1:
            raise _conflict(connection, match_id)
        audit.record(
            connection,
            actor=actor,
            action="matching.decide",
            entity="matchings",
            entity_id=match_id,
            details={"from_statut": current.statut, "to_statut": decision},
            at=stamp,
        )
    message = f"Matching n° {match_id} : {match_label(current.statut)} → {match_label(decision)}."
    return MatchDecision(match_id, current.statut, decision, stamp, message)


MatchVersion = tuple[int, str, datetime | None]
"""``(match id, statut, decided_at)`` as displayed."""


def bulk_decide(
    engine: Engine,
    *,
    actor: Actor,
    items: Sequence[MatchVersion],
    decision: str,
    now: datetime | None = None,
) -> BulkResult:
    """The same decision on every selected match (bulk validate / reject), row by row."""
    require(actor, "matching.write")
    if decision not in ("valide", "rejete"):
        raise InvalidInput("En masse, seules la validation et le rejet sont possibles.")

    def decide(item: MatchVersion) -> str:
        return decide_match(
            engine,
            actor=actor,
            match_id=item[0],
            decision=decision,
            expected_statut=item[1],
            expected_decided_at=item[2],
            now=now,
        ).message

    return run_bulk(
        items,
        key=lambda item: item[0],
        action=decide,
        nothing_selected="Aucun matching sélectionné.",
        feminine=False,
    )
