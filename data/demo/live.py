"""``--live``: keep the demo moving so the live screens can be seen working.

Every few seconds, in one transaction: one or two new applications arrive
from the website (with their user and their creation event), one or two
pending applications move one step along the workflow (event, and audit row
for the staff member who "did" it, flagged as a simulation), and now and
then a contact message arrives. After each tick the KPI summary folds what
is new, as the scheduler's loop does in production.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, Row, func, insert, select, update

from data.alerts.evaluate import evaluate_all
from data.db import translate_errors
from data.demo.accounts import DEMO_ACCOUNTS, UNUSABLE_PASSWORD_HASH
from data.demo.people import PeopleFactory, WeightedChoice
from data.demo.vocab import CONTACT_SUBJECTS, FUNDING_BY_DOMAIN, REFUSAL_REASONS, SOURCES
from data.kpis.summary import refresh_if_behind
from data.models import (
    Candidature,
    CandidatureEvent,
    Contact,
    Formation,
    SessionFormation,
    User,
)
from data.owned import AuditLog
from data.settings import get_settings

# Next step of a pending application, with weights.
NEXT_STEPS: dict[str, tuple[tuple[str, float], ...]] = {
    "nouvelle": (("en_etude", 9), ("desistement", 1)),
    "en_etude": (("entretien", 6), ("admise", 1), ("refusee", 2), ("desistement", 1)),
    "entretien": (("admise", 6), ("refusee", 3), ("desistement", 1)),
    "admise": (("inscrite", 8), ("desistement", 2)),
}
PENDING = tuple(NEXT_STEPS)
RECENT_WINDOW = 200


@dataclass(frozen=True)
class _Staff:
    id: int
    email: str


def run_live(
    engine: Engine,
    *,
    interval_seconds: float = 3.0,
    seed: int | None = None,
    stop: threading.Event | None = None,
    iterations: int | None = None,
    alerts_every_seconds: float = 60.0,
) -> None:
    """Adds applications and status changes every ``interval_seconds`` until
    ``stop`` is set or ``iterations`` ticks have run (forever by default); the
    alert rules are evaluated at the first tick and every ``alerts_every_seconds``."""
    rng = random.Random(seed)  # demo activity, not security
    people = PeopleFactory(rng)
    stop = stop or threading.Event()
    staff = _staff(engine)
    done = 0
    evaluated_at: float | None = None
    while not stop.is_set():
        with translate_errors(), engine.begin() as connection:
            _tick(connection, rng, people, staff, datetime.now(UTC))
        # What the scheduler's loop does in production: keep the KPI summary's
        # tail short (the demo runs no scheduler).
        refresh_if_behind(engine)
        if evaluated_at is None or time.monotonic() - evaluated_at >= alerts_every_seconds:
            evaluate_all(engine, get_settings(), datetime.now(UTC))  # the scheduler's job too
            evaluated_at = time.monotonic()
        done += 1
        if iterations is not None and done >= iterations:
            return
        stop.wait(interval_seconds)


def _staff(engine: Engine) -> list[_Staff]:
    emails = [a.email for a in DEMO_ACCOUNTS if a.actif and a.role == "secretariat"]
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(
            select(User.id, User.email).where(User.email.in_(emails)).order_by(User.id)
        ).all()
    return [_Staff(row.id, row.email) for row in rows]


def _tick(
    connection: Connection,
    rng: random.Random,
    people: PeopleFactory,
    staff: list[_Staff],
    now: datetime,
) -> None:
    for _ in range(1 + (rng.random() < 0.5)):
        _new_application(connection, rng, people, now)
    pending = connection.execute(
        select(Candidature.id, Candidature.statut, Candidature.formation_id)
        .where(Candidature.statut.in_(PENDING))
        .order_by(Candidature.created_at.desc())
        .limit(RECENT_WINDOW)
    ).all()
    for row in rng.sample(pending, min(len(pending), 1 + (rng.random() < 0.5))):
        _advance(connection, rng, staff, row, now)
    if rng.random() < 0.15:
        _contact(connection, rng, people, now)


def _new_application(
    connection: Connection, rng: random.Random, people: PeopleFactory, now: datetime
) -> None:
    formations = connection.execute(
        select(Formation.id, Formation.domaine).where(Formation.actif).order_by(Formation.id)
    ).all()
    if not formations:
        return
    formation = formations[int(rng.random() * len(formations))]
    next_user = (connection.execute(select(func.max(User.id))).scalar() or 0) + 1
    prenom, nom = people.name()
    user_id = connection.execute(
        insert(User)
        .values(
            email=people.email(prenom, nom, next_user * 1000 + int(rng.random() * 1000)),
            password=UNUSABLE_PASSWORD_HASH,
            role="stagiaire",
            prenom=prenom,
            nom=nom,
            telephone=people.phone(),
            commune=people.commune(),
            date_naissance=date.fromordinal(
                now.date().toordinal() - 7000 - int(rng.random() * 9000)
            ),
            email_verifie=False,
            actif=True,
            created_at=now - timedelta(minutes=3),
        )
        .returning(User.id)
    ).scalar_one()
    funding = WeightedChoice(FUNDING_BY_DOMAIN.get(formation.domaine, FUNDING_BY_DOMAIN["default"]))
    application_id = connection.execute(
        insert(Candidature)
        .values(
            user_id=user_id,
            formation_id=formation.id,
            statut="nouvelle",
            source=WeightedChoice(SOURCES).pick(rng.random()),
            financement=funding.pick(rng.random()) if rng.random() < 0.85 else None,
            motivation="Candidature déposée à l'instant (démonstration en direct).",
            created_at=now,
            updated_at=now,
        )
        .returning(Candidature.id)
    ).scalar_one()
    connection.execute(
        insert(CandidatureEvent).values(
            candidature_id=application_id,
            from_statut=None,
            to_statut="nouvelle",
            changed_by=None,
            changed_at=now,
        )
    )


def _advance(
    connection: Connection,
    rng: random.Random,
    staff: list[_Staff],
    row: Row[int, str, int],
    now: datetime,
) -> None:
    application_id: int = row.id
    statut: str = row.statut
    formation_id: int = row.formation_id
    target = WeightedChoice(NEXT_STEPS[statut]).pick(rng.random())
    values: dict[str, object] = {"statut": target, "updated_at": now}
    if target == "inscrite":
        session_id = connection.execute(
            select(SessionFormation.id)
            .where(SessionFormation.formation_id == formation_id)
            .where(SessionFormation.date_debut > now.date())
            .order_by(SessionFormation.date_debut, SessionFormation.id)
            .limit(1)
        ).scalar()
        if session_id is None:
            return  # no upcoming session: stays admitted
        values["session_id"] = session_id
    actor = staff[int(rng.random() * len(staff))] if staff else None
    if target == "refusee":
        values["motif_refus"] = REFUSAL_REASONS[int(rng.random() * len(REFUSAL_REASONS))]
    if actor is not None and statut == "nouvelle":
        values["assigned_to"] = actor.id
    changed_by = None if target == "desistement" or actor is None else actor.id
    connection.execute(update(Candidature).where(Candidature.id == application_id).values(values))
    connection.execute(
        insert(CandidatureEvent).values(
            candidature_id=application_id,
            from_statut=statut,
            to_statut=target,
            changed_by=changed_by,
            changed_at=now,
            commentaire=values.get("motif_refus"),
        )
    )
    if changed_by is not None and actor is not None:
        connection.execute(
            insert(AuditLog).values(
                created_at=now,
                actor_id=actor.id,
                actor_email=actor.email,
                action="candidature.refuse" if target == "refusee" else "candidature.move",
                entity="candidatures",
                entity_id=str(application_id),
                details={"from_statut": statut, "to_statut": target, "simulation": True},
            )
        )


def _contact(
    connection: Connection, rng: random.Random, people: PeopleFactory, now: datetime
) -> None:
    prenom, nom = people.name()
    subject, message = CONTACT_SUBJECTS[int(rng.random() * len(CONTACT_SUBJECTS))]
    connection.execute(
        insert(Contact).values(
            nom=f"{prenom} {nom}",
            email=people.email(prenom, nom, int(now.timestamp())),
            telephone=people.phone(),
            sujet=subject,
            message=message,
            created_at=now,
        )
    )
