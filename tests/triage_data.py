"""Small seeded worlds for the secretariat's tests (triage, matches, messages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, insert, select

from data.models import Candidature, CandidatureEvent, Matching
from data.owned import AuditLog
from data.permissions import Actor
from tests import factories
from tests.factories import T0


@dataclass(frozen=True)
class World:
    admin: Actor
    secretary: Actor
    director: Actor
    applicant_id: int
    formation_id: int
    other_formation_id: int


def actor(engine: Engine, role: str, email: str, prenom: str, nom: str, **values: Any) -> Actor:
    user_id = factories.user(engine, role=role, email=email, prenom=prenom, nom=nom, **values)
    return Actor(user_id, email, role, prenom, nom)


def world(engine: Engine) -> World:
    admin = actor(engine, "admin", "admin@demo.cipfaro.fr", "Ada", "Admin")
    secretary = actor(engine, "secretariat", "secretariat@demo.cipfaro.fr", "Sonia", "Séraphin")
    director = actor(engine, "direction", "direction@demo.cipfaro.fr", "Denis", "Directeur")
    applicant = factories.user(engine, prenom="José", nom="Hippolyte", email="jose.h@exemple.fr")
    formation = factories.formation(engine, titre="Développeur web")
    other = factories.formation(engine, titre="Aide-soignant")
    return World(admin, secretary, director, applicant, formation, other)


def application(engine: Engine, w: World, **values: Any) -> int:
    return factories.application(
        engine,
        user_id=values.pop("user_id", w.applicant_id),
        formation_id=values.pop("formation_id", w.formation_id),
        **values,
    )


def match(engine: Engine, *, candidat_id: int, offre_id: int, **values: Any) -> int:
    """A match (default: proposed, score 80, a typical breakdown)."""
    row = {
        "candidat_id": candidat_id,
        "offre_id": offre_id,
        "score": Decimal("80.00"),
        "criteres": {"competences": 0.82, "distance_km": 14, "formation": "developpeur-web"},
        "statut": "propose",
        "date_match": T0,
    } | values
    with engine.begin() as connection:
        return int(connection.execute(insert(Matching).returning(Matching.id), row).scalar_one())


def current(engine: Engine, application_id: int) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(Candidature).where(Candidature.id == application_id)).one()


def events(engine: Engine, application_id: int) -> list[Any]:
    e = CandidatureEvent
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(e.from_statut, e.to_statut, e.changed_by, e.changed_at, e.commentaire)
                .where(e.candidature_id == application_id)
                .order_by(e.changed_at, e.id)
            )
        )


def audits(engine: Engine, entity: str | None = None) -> list[Any]:
    a = AuditLog
    statement = select(a.actor_id, a.action, a.entity, a.entity_id, a.details).order_by(a.id)
    if entity is not None:
        statement = statement.where(a.entity == entity)
    with engine.connect() as connection:
        return list(connection.execute(statement))


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def version(engine: Engine, application_id: int) -> datetime:
    return current(engine, application_id).updated_at


__all__ = [
    "T0",
    "World",
    "actor",
    "application",
    "audits",
    "count",
    "current",
    "events",
    "match",
    "world",
]
