"""Writes of the triage: one function per action, one transaction each.

Every action writes the new ``candidatures`` values, one ``candidature_events``
row and one audit row, in one ``engine.begin()`` block. An action that does
not change the status (assignment, session) still writes an event, with
``to_statut`` equal to the unchanged status and a comment saying what
changed: the schema wants every triage write paired with an event, and "the
last event's ``to_statut`` equals ``statut``" stays true.

No lost update: the caller passes the ``updated_at`` it displayed; the
UPDATE is conditional on it (and on the status the checks were made
against), so a change made meanwhile by anyone refuses the action with
"modifiée par X à HH:MM — rechargez" and nothing is written. Every write
sets ``updated_at`` to a strictly newer instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from data import audit
from data.acting import acting_account
from data.conflicts import ANOTHER_USER, changed_meanwhile, person
from data.db import translate_errors
from data.errors import Conflict, InvalidInput, NotFound
from data.formatting import day
from data.labels import status_label
from data.models import Candidature, CandidatureEvent, SessionFormation, User
from data.owned import TriageNote
from data.permissions import Actor, require
from data.triage.dossier import last_status_change_statement, may_receive_applications
from data.workflow import (
    REFUSED,
    SEAT_STATUSES,
    can_undo,
    check_move,
    clean_comment,
    refusal_text,
)

ONE_TICK = timedelta(microseconds=1)
SESSION_LOCKED_STATUSES = frozenset(
    {"en_formation", "terminee", "abandon", "refusee", "desistement"}
)
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class TriageResult:
    """What an action did, for the screen and the tests."""

    application_id: int
    from_statut: str
    to_statut: str
    updated_at: datetime  # the new version
    message: str
    warning: str | None = None


@dataclass(frozen=True)
class _Current:
    id: int
    statut: str
    updated_at: datetime
    formation_id: int
    session_id: int | None
    assigned_to: int | None
    motif_refus: str | None


def _label(application_id: int) -> str:
    return f"Candidature n° {application_id}"


def _sentence(application_id: int, comment: str) -> str:
    return f"{_label(application_id)} : {comment[:1].lower()}{comment[1:]}."


def conflict_for(connection: Connection, application_id: int) -> Conflict:
    """The "changed meanwhile" error, naming who made the latest change and when."""
    e = CandidatureEvent
    row = connection.execute(
        select(e.changed_at, e.changed_by, User.prenom, User.nom)
        .outerjoin(User, User.id == e.changed_by)
        .where(e.candidature_id == application_id)
        .order_by(e.changed_at.desc(), e.id.desc())
        .limit(1)
    ).first()
    if row is None:
        at = connection.execute(
            select(Candidature.updated_at).where(Candidature.id == application_id)
        ).scalar_one_or_none()
        who = ANOTHER_USER
    else:
        at = row[0]
        who = person(row[2], row[3]) if row[1] is not None else "le site web"
    return changed_meanwhile(_label(application_id), "modifiée", who=who, at=at)


def _load(connection: Connection, application_id: int, expected_updated_at: datetime) -> _Current:
    c = Candidature
    row = connection.execute(
        select(
            c.id, c.statut, c.updated_at, c.formation_id, c.session_id, c.assigned_to, c.motif_refus
        ).where(c.id == application_id)
    ).first()
    if row is None:
        raise NotFound(f"La candidature n° {application_id} n'existe pas.")
    current = _Current(*row)
    if current.updated_at != expected_updated_at:
        raise conflict_for(connection, application_id)
    return current


def _commit(
    connection: Connection,
    *,
    actor: Actor,
    current: _Current,
    values: dict[str, Any],
    comment: str | None,
    action: str,
    details: dict[str, Any],
    now: datetime | None,
) -> datetime:
    """Conditional UPDATE + event + audit; returns the new ``updated_at``."""
    stamp = max(now or datetime.now(UTC), current.updated_at + ONE_TICK)
    c = Candidature
    result = connection.execute(
        update(c)
        .where(c.id == current.id, c.updated_at == current.updated_at, c.statut == current.statut)
        .values(**values, updated_at=stamp)
    )
    if result.rowcount != 1:
        raise conflict_for(connection, current.id)
    to_statut = values.get("statut", current.statut)
    connection.execute(
        insert(CandidatureEvent).values(
            candidature_id=current.id,
            from_statut=current.statut,
            to_statut=to_statut,
            changed_by=actor.id,
            changed_at=stamp,
            commentaire=comment,
        )
    )
    audit.record(
        connection,
        actor=actor,
        action=action,
        entity="candidatures",
        entity_id=current.id,
        details={"from_statut": current.statut, "to_statut": to_statut, **details},
        at=stamp,
    )
    return stamp


def move_application(
    engine: Engine,
    *,
    actor: Actor,
    application_id: int,
    to_statut: str,
    expected_updated_at: datetime,
    comment: str | None = None,
    now: datetime | None = None,
) -> TriageResult:
    """Move an application to an allowed next status (a refusal goes through :func:`refuse_application`)."""
    require(actor, "triage.write")
    if to_statut == REFUSED:
        raise InvalidInput("Un refus passe par l'action « Refuser », avec un motif.")
    text = clean_comment(comment)
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, "triage.write")
        current = _load(connection, application_id, expected_updated_at)
        check_move(current.statut, to_statut)
        stamp = _commit(
            connection,
            actor=actor,
            current=current,
            values={"statut": to_statut},
            comment=text,
            action="candidature.move",
            details={"comment": text},
            now=now,
        )
    message = (
        f"{_label(application_id)} : {status_label(current.statut)} → {status_label(to_statut)}."
    )
    return TriageResult(application_id, current.statut, to_statut, stamp, message)


def refuse_application(
    engine: Engine,
    *,
    actor: Actor,
    application_id: int,
    reason_code: str,
    detail: str | None = None,
    expected_updated_at: datetime,
    now: datetime | None = None,
) -> TriageResult:
    """Refuse with a reason from the list (and an optional free text) written to ``motif_refus``."""
    require(actor, "triage.write")
    motive = refusal_text(reason_code, detail)
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, "triage.write")
        current = _load(connection, application_id, expected_updated_at)
        check_move(current.statut, REFUSED)
        stamp = _commit(
            connection,
            actor=actor,
            current=current,
            values={"statut": REFUSED, "motif_refus": motive},
            comment=f"Refus : {motive}",
            action="candidature.refuse",
            details={
                "reason": reason_code,
                "motif_refus": motive,
                "previous_motif": current.motif_refus,
            },
            now=now,
        )
    message = f"{_label(application_id)} refusée ({motive})."
    return TriageResult(application_id, current.statut, REFUSED, stamp, message)


def _assignee_name(connection: Connection, assignee_id: int) -> str:
    row = connection.execute(
        select(User.prenom, User.nom).where(User.id == assignee_id, may_receive_applications())
    ).first()
    if row is None:
        raise InvalidInput(
            "Cette personne ne peut pas recevoir de candidatures (compte inactif ou rôle)."
        )
    return f"{row[0]} {row[1]}".strip()


def assign_application(
    engine: Engine,
    *,
    actor: Actor,
    application_id: int,
    assignee_id: int | None,
    expected_updated_at: datetime,
    now: datetime | None = None,
) -> TriageResult:
    """Assign to an active staff member who triages (``None``: nobody)."""
    require(actor, "triage.write")
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, "triage.write")
        current = _load(connection, application_id, expected_updated_at)
        if current.assigned_to == assignee_id:
            raise InvalidInput(f"{_label(application_id)} : déjà assignée ainsi.")
        name = _assignee_name(connection, assignee_id) if assignee_id is not None else None
        comment = f"Assignée à {name}" if name is not None else "Assignation retirée"
        stamp = _commit(
            connection,
            actor=actor,
            current=current,
            values={"assigned_to": assignee_id},
            comment=comment,
            action="candidature.assign",
            details={"from_assigned_to": current.assigned_to, "to_assigned_to": assignee_id},
            now=now,
        )
    return TriageResult(
        application_id, current.statut, current.statut, stamp, _sentence(application_id, comment)
    )


def _session_warning(connection: Connection, session: Any, application_id: int) -> str | None:
    c = Candidature
    taken = connection.execute(
        select(func.count()).where(
            c.session_id == session.id, c.statut.in_(SEAT_STATUSES), c.id != application_id
        )
    ).scalar_one()
    if taken >= session.places:
        return f"Attention : cette session est complète ({taken} places occupées sur {session.places})."
    return None


def attach_session(
    engine: Engine,
    *,
    actor: Actor,
    application_id: int,
    session_id: int | None,
    expected_updated_at: datetime,
    now: datetime | None = None,
) -> TriageResult:
    """Attach to a session of the application's own formation (``None``: detach).

    A full session is accepted with a warning in the result.
    """
    require(actor, "triage.write")
    s = SessionFormation
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, "triage.write")
        current = _load(connection, application_id, expected_updated_at)
        if current.statut in SESSION_LOCKED_STATUSES:
            raise InvalidInput(
                f"La session ne se change plus au statut « {status_label(current.statut)} »."
            )
        if current.session_id == session_id:
            raise InvalidInput(f"{_label(application_id)} : déjà rattachée ainsi.")
        warning, comment = None, "Détachée de sa session"
        if session_id is not None:
            session = connection.execute(
                select(s.id, s.formation_id, s.places, s.date_debut, s.date_fin).where(
                    s.id == session_id
                )
            ).first()
            if session is None or session.formation_id != current.formation_id:
                raise InvalidInput("Cette session n'appartient pas à la formation demandée.")
            warning = _session_warning(connection, session, application_id)
            comment = (
                f"Rattachée à la session du {day(session.date_debut)} au {day(session.date_fin)}"
            )
        stamp = _commit(
            connection,
            actor=actor,
            current=current,
            values={"session_id": session_id},
            comment=comment,
            action="candidature.session",
            details={
                "from_session_id": current.session_id,
                "to_session_id": session_id,
                "session_full": warning is not None,
            },
            now=now,
        )
    message = _sentence(application_id, comment)
    return TriageResult(application_id, current.statut, current.statut, stamp, message, warning)


def undo_last_status_change(
    engine: Engine,
    *,
    actor: Actor,
    application_id: int,
    expected_updated_at: datetime,
    now: datetime | None = None,
) -> TriageResult:
    """Go back to the status before the last change, as a new event (history is kept).

    Allowed only where :func:`data.workflow.can_undo` says so; undoing a
    refusal clears ``motif_refus``.
    """
    require(actor, "triage.write")
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, "triage.write")
        current = _load(connection, application_id, expected_updated_at)
        last = connection.execute(last_status_change_statement(application_id)).first()
        if (
            last is None
            or last.to_statut != current.statut
            or not can_undo(last.from_statut, last.to_statut)
        ):
            raise InvalidInput("Le dernier changement de statut ne peut pas être annulé.")
        target = last.from_statut
        values: dict[str, Any] = {"statut": target}
        if current.statut == REFUSED:
            values["motif_refus"] = None
        comment = f"Annulation : retour à « {status_label(target)} »"
        stamp = _commit(
            connection,
            actor=actor,
            current=current,
            values=values,
            comment=comment,
            action="candidature.undo",
            details={"undone_motif_refus": current.motif_refus},
            now=now,
        )
    message = f"{_label(application_id)} : retour à « {status_label(target)} »."
    return TriageResult(application_id, current.statut, target, stamp, message)


@dataclass(frozen=True)
class NoteResult:
    note_id: int
    application_id: int
    created_at: datetime


def add_note(
    engine: Engine, *, actor: Actor, application_id: int, body: str, now: datetime | None = None
) -> NoteResult:
    """An internal note on an application (dashboard table; audited, no event)."""
    require(actor, "triage.write")
    text = (body or "").replace("\x00", "").strip()
    if not text:
        raise InvalidInput("La note est vide.")
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(f"Note trop longue ({len(text)} caractères, maximum {MAX_NOTE_CHARS}).")
    stamp = now or datetime.now(UTC)
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, "triage.write")
        exists = connection.execute(
            select(Candidature.id).where(Candidature.id == application_id)
        ).first()
        if exists is None:
            raise NotFound(f"La candidature n° {application_id} n'existe pas.")
        note_id = connection.execute(
            insert(TriageNote)
            .values(candidature_id=application_id, author_id=actor.id, body=text, created_at=stamp)
            .returning(TriageNote.id)
        ).scalar_one()
        audit.record(
            connection,
            actor=actor,
            action="candidature.note",
            entity="candidatures",
            entity_id=application_id,
            details={"note_id": note_id, "length": len(text)},
            at=stamp,
        )
    return NoteResult(int(note_id), application_id, stamp)
