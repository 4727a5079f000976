"""One application's file: details, status history, notes, sessions, staff to assign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Engine, Select, and_, func, select
from sqlalchemy.orm import aliased

from data.db import translate_errors
from data.errors import NotFound
from data.models import (
    STAFF_ROLES,
    Candidature,
    CandidatureEvent,
    Formation,
    SessionFormation,
    User,
)
from data.owned import TriageNote
from data.permissions import can
from data.workflow import SEAT_STATUSES, can_undo

Applicant = aliased(User, name="applicant")
Assignee = aliased(User, name="assignee")
Author = aliased(User, name="author")

SESSION_CHOICES = 100
HISTORY_COLUMNS = ("changed_at", "from_statut", "to_statut", "changed_by", "commentaire")
NOTE_COLUMNS = ("created_at", "author", "body")


@dataclass(frozen=True)
class StatusChange:
    from_statut: str | None
    to_statut: str
    changed_at: datetime
    changed_by: str | None  # None: the website or the applicant


@dataclass(frozen=True)
class ApplicationFile:
    id: int
    statut: str
    source: str
    financement: str | None
    created_at: datetime
    updated_at: datetime  # the version the screen passes back with every action
    motivation: str | None
    motif_refus: str | None
    cv_path: str | None
    applicant: str
    email: str
    telephone: str | None
    commune: str | None
    date_naissance: date | None
    formation_id: int
    formation: str
    session_id: int | None
    session_start: date | None
    session_end: date | None
    assigned_to: int | None
    assignee: str | None
    last_change: StatusChange | None

    @property
    def undo_target(self) -> str | None:
        """The status an undo would go back to, when the last change may be undone."""
        change = self.last_change
        if change is None or change.to_statut != self.statut:
            return None
        return change.from_statut if can_undo(change.from_statut, change.to_statut) else None


@dataclass(frozen=True)
class SessionOption:
    id: int
    date_debut: date
    date_fin: date
    places: int
    lieu: str | None
    taken: int

    @property
    def full(self) -> bool:
        return self.taken >= self.places


@dataclass(frozen=True)
class StaffOption:
    id: int
    name: str
    role: str


def _name(prenom: str | None, nom: str | None) -> str | None:
    if prenom is None and nom is None:
        return None
    return f"{prenom or ''} {nom or ''}".strip()


def last_status_change_statement(application_id: int) -> Select[*tuple[Any, ...]]:
    """The latest event that changed the status (assignment-only events are skipped):
    ``from_statut, to_statut, changed_at`` and its author's names. The file's undo
    button and the undo action both read it, so they always agree."""
    e = CandidatureEvent
    return (
        select(e.from_statut, e.to_statut, e.changed_at, Author.prenom, Author.nom)
        .outerjoin(Author, Author.id == e.changed_by)
        .where(e.candidature_id == application_id)
        .where(e.from_statut.is_(None) | (e.from_statut != e.to_statut))
        .order_by(e.changed_at.desc(), e.id.desc())
        .limit(1)
    )


def last_status_change(engine: Engine, application_id: int) -> StatusChange | None:
    """The latest event that changed the status (assignment-only events are skipped)."""
    with translate_errors(), engine.connect() as connection:
        row = connection.execute(last_status_change_statement(application_id)).first()
    if row is None:
        return None
    return StatusChange(row[0], row[1], row[2], _name(row[3], row[4]))


def application_file(engine: Engine, application_id: int) -> ApplicationFile:
    """Everything the file screen shows about one application; :class:`NotFound` if absent."""
    c, s = Candidature, SessionFormation
    statement = (
        select(
            c.id,
            c.statut,
            c.source,
            c.financement,
            c.created_at,
            c.updated_at,
            c.motivation,
            c.motif_refus,
            c.cv_path,
            Applicant.prenom,
            Applicant.nom,
            Applicant.email,
            Applicant.telephone,
            Applicant.commune,
            Applicant.date_naissance,
            c.formation_id,
            Formation.titre,
            c.session_id,
            s.date_debut,
            s.date_fin,
            c.assigned_to,
            Assignee.prenom,
            Assignee.nom,
        )
        .join(Applicant, Applicant.id == c.user_id)
        .join(Formation, Formation.id == c.formation_id)
        .outerjoin(s, s.id == c.session_id)
        .outerjoin(Assignee, Assignee.id == c.assigned_to)
        .where(c.id == application_id)
    )
    with translate_errors(), engine.connect() as connection:
        row = connection.execute(statement).first()
    if row is None:
        raise NotFound(f"La candidature n° {application_id} n'existe pas.")
    v = list(row)
    return ApplicationFile(
        id=v[0],
        statut=v[1],
        source=v[2],
        financement=v[3],
        created_at=v[4],
        updated_at=v[5],
        motivation=v[6],
        motif_refus=v[7],
        cv_path=v[8],
        applicant=_name(v[9], v[10]) or "",
        email=v[11],
        telephone=v[12],
        commune=v[13],
        date_naissance=v[14],
        formation_id=v[15],
        formation=v[16],
        session_id=v[17],
        session_start=v[18],
        session_end=v[19],
        assigned_to=v[20],
        assignee=_name(v[21], v[22]) if v[20] is not None else None,
        last_change=last_status_change(engine, application_id),
    )


def application_history(engine: Engine, application_id: int) -> pd.DataFrame:
    """Every event of the application, oldest first (the timeline)."""
    e = CandidatureEvent
    statement = (
        select(e.changed_at, e.from_statut, e.to_statut, Author.prenom, Author.nom, e.commentaire)
        .outerjoin(Author, Author.id == e.changed_by)
        .where(e.candidature_id == application_id)
        .order_by(e.changed_at, e.id)
    )
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement).all()
    records = [(r[0], r[1], r[2], _name(r[3], r[4]), r[5]) for r in rows]
    # dtype=object keeps None as None (pandas would turn missing text into NaN).
    return pd.DataFrame(records, columns=list(HISTORY_COLUMNS), dtype=object)


def application_notes(engine: Engine, application_id: int) -> pd.DataFrame:
    """The secretariat's internal notes on the application, newest first."""
    n = TriageNote
    statement = (
        select(n.created_at, Author.prenom, Author.nom, n.body)
        .outerjoin(Author, Author.id == n.author_id)
        .where(n.candidature_id == application_id)
        .order_by(n.created_at.desc(), n.id.desc())
    )
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement).all()
    records = [(r[0], _name(r[1], r[2]), r[3]) for r in rows]
    return pd.DataFrame(records, columns=list(NOTE_COLUMNS), dtype=object)


def session_options(
    engine: Engine,
    formation_id: int,
    *,
    ending_from: date | None = None,
    include: int | None = None,
    limit: int = SESSION_CHOICES,
) -> tuple[SessionOption, ...]:
    """Sessions of a formation, latest first, with the places already taken.

    ``ending_from``: only sessions not finished before that day (to attach an
    application); ``include``: a session to list whatever its dates (the one
    an application is attached to). At most ``limit`` sessions.
    """
    s, c = SessionFormation, Candidature
    taken = (
        select(func.count())
        .where(and_(c.session_id == s.id, c.statut.in_(SEAT_STATUSES)))
        .correlate(s)
        .scalar_subquery()
    )
    statement = select(s.id, s.date_debut, s.date_fin, s.places, s.lieu, taken).where(
        s.formation_id == formation_id
    )
    if ending_from is not None:
        current = s.date_fin >= ending_from
        statement = statement.where(current | (s.id == include) if include else current)
    statement = statement.order_by(s.date_debut.desc(), s.id.desc()).limit(limit)
    with translate_errors(), engine.connect() as connection:
        return tuple(SessionOption(*row) for row in connection.execute(statement))


def may_receive_applications(capability: str = "triage.write") -> ColumnElement[bool]:
    """SQL on ``users``: an active staff account whose role grants ``capability``.

    The one rule for the assignee picker and an assignment ("triage.write") and
    for "Répartir" ("triage.dispatched": the secretariat, not the admins)."""
    roles = tuple(role for role in STAFF_ROLES if can(role, capability))
    return and_(User.role.in_(roles), User.actif.is_(True))


def assignable_staff(engine: Engine) -> tuple[StaffOption, ...]:
    """Active staff members who may be given applications (they can triage)."""
    statement = (
        select(User.id, User.prenom, User.nom, User.role)
        .where(may_receive_applications())
        .order_by(User.nom, User.prenom, User.id)
    )
    with translate_errors(), engine.connect() as connection:
        return tuple(
            StaffOption(row[0], _name(row[1], row[2]) or "", row[3])
            for row in connection.execute(statement)
        )


@dataclass(frozen=True)
class FormationChoice:
    id: int
    slug: str
    titre: str


def formation_choices(engine: Engine) -> tuple[FormationChoice, ...]:
    """Every formation (active first, by title), for the queue's filter."""
    statement = select(Formation.id, Formation.slug, Formation.titre).order_by(
        Formation.actif.desc(), Formation.titre, Formation.id
    )
    with translate_errors(), engine.connect() as connection:
        return tuple(FormationChoice(*row) for row in connection.execute(statement))
