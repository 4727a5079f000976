"""Bulk triage: the same single-row actions over a selection, through :func:`data.bulk.run_bulk`.

Each row succeeds or fails on its own (a colleague may have changed one of
them meanwhile); the result says, row by row, what happened. Nothing is
half-written: a row either has its update, event and audit row, or none.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from data.bulk import MAX_BULK_ROWS, BulkResult, run_bulk
from data.db import translate_errors
from data.errors import DashboardError, InvalidInput
from data.models import Candidature, User
from data.permissions import Actor, require
from data.triage.actions import (
    TriageResult,
    assign_application,
    move_application,
    refuse_application,
)
from data.triage.dossier import may_receive_applications
from data.triage.queue import status_in
from data.workflow import PENDING_STATUSES, refusal_text

Version = tuple[int, datetime]
"""``(application id, updated_at as displayed)``."""


def _run(items: Sequence[Version], action: Callable[[int, datetime], TriageResult]) -> BulkResult:
    return run_bulk(
        items,
        key=lambda item: item[0],
        action=lambda item: action(*item).message,
        nothing_selected="Aucune candidature sélectionnée.",
    )


def bulk_assign(
    engine: Engine,
    *,
    actor: Actor,
    items: Sequence[Version],
    assignee_id: int | None,
    now: datetime | None = None,
) -> BulkResult:
    """Assign every selected application to one staff member."""
    require(actor, "triage.write")
    return _run(
        items,
        lambda app_id, expected: assign_application(
            engine,
            actor=actor,
            application_id=app_id,
            assignee_id=assignee_id,
            expected_updated_at=expected,
            now=now,
        ),
    )


def bulk_move(
    engine: Engine,
    *,
    actor: Actor,
    items: Sequence[Version],
    to_statut: str = "en_etude",
    now: datetime | None = None,
) -> BulkResult:
    """Move every selected application to one status (rows where it is not allowed fail)."""
    require(actor, "triage.write")
    return _run(
        items,
        lambda app_id, expected: move_application(
            engine,
            actor=actor,
            application_id=app_id,
            to_statut=to_statut,
            expected_updated_at=expected,
            now=now,
        ),
    )


def bulk_refuse(
    engine: Engine,
    *,
    actor: Actor,
    items: Sequence[Version],
    reason_code: str,
    detail: str | None = None,
    now: datetime | None = None,
) -> BulkResult:
    """Refuse every selected application with one reason."""
    require(actor, "triage.write")
    refusal_text(reason_code, detail)  # a bad reason fails the whole request, before any row
    return _run(
        items,
        lambda app_id, expected: refuse_application(
            engine,
            actor=actor,
            application_id=app_id,
            reason_code=reason_code,
            detail=detail,
            expected_updated_at=expected,
            now=now,
        ),
    )


@dataclass(frozen=True)
class Distribution:
    result: BulkResult
    per_member: tuple[tuple[str, int], ...]  # (name, applications given) for each member
    remaining: int  # unassigned new applications left beyond the limit


def secretariat_loads(engine: Engine) -> list[tuple[int, int, str]]:
    """``(open applications, user id, name)`` of every active member "Répartir" serves."""
    c = Candidature
    load = (
        select(func.count())
        .where(c.assigned_to == User.id, status_in(PENDING_STATUSES))
        .correlate(User)
        .scalar_subquery()
    )
    statement = (
        select(load, User.id, User.prenom, User.nom)
        .where(may_receive_applications("triage.dispatched"))
        .order_by(User.id)
    )
    with translate_errors(), engine.connect() as connection:
        return [(int(r[0]), r[1], f"{r[2]} {r[3]}".strip()) for r in connection.execute(statement)]


def unassigned_new(engine: Engine, *, limit: int) -> tuple[list[Version], int]:
    """The oldest unassigned new applications (up to ``limit``) and how many there are."""
    c = Candidature
    where = (c.statut == "nouvelle", c.assigned_to.is_(None))
    page = select(c.id, c.updated_at).where(*where).order_by(c.created_at, c.id).limit(limit)
    with translate_errors(), engine.connect() as connection:
        rows = [(r[0], r[1]) for r in connection.execute(page)]
        total = connection.execute(select(func.count()).where(*where)).scalar_one()
    return rows, int(total)


def distribute_unassigned(
    engine: Engine, *, actor: Actor, limit: int = MAX_BULK_ROWS, now: datetime | None = None
) -> Distribution:
    """ "Répartir": unassigned new applications, oldest first, each to the least-loaded member.

    Load = the member's open applications (pending statuses); ties go to the
    lowest id. Each assignment is its own transaction and checks the version
    read here, so an application taken meanwhile is reported, not overwritten.
    """
    require(actor, "triage.write")
    members = secretariat_loads(engine)
    if not members:
        raise InvalidInput("Aucun membre actif du secrétariat à qui répartir les candidatures.")
    items, total = unassigned_new(engine, limit=limit)
    if not items:
        raise InvalidInput("Aucune nouvelle candidature non assignée.")
    heap = [(load, user_id, name) for load, user_id, name in members]
    heapq.heapify(heap)
    given = {user_id: 0 for _load, user_id, _name in members}
    names = {user_id: name for _load, user_id, name in members}

    def give(item: Version) -> str:
        """To the least-loaded member; a row that fails leaves the member's load as it was."""
        load, user_id, name = heapq.heappop(heap)
        try:
            result = assign_application(
                engine,
                actor=actor,
                application_id=item[0],
                assignee_id=user_id,
                expected_updated_at=item[1],
                now=now,
            )
        except DashboardError:
            heapq.heappush(heap, (load, user_id, name))
            raise
        given[user_id] += 1
        heapq.heappush(heap, (load + 1, user_id, name))
        return result.message

    result = run_bulk(
        items,
        key=lambda item: item[0],
        action=give,
        nothing_selected="Aucune nouvelle candidature non assignée.",
    )
    per_member = tuple((names[user_id], count) for user_id, count in given.items())
    return Distribution(result, per_member, max(total - len(items), 0))
