"""Small, explicit row builders for tests (insert exactly what a test needs).

Each returns the new row's id. Timestamps must be timezone-aware.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import bcrypt
from sqlalchemy import Engine, insert

from data.models import (
    Candidature,
    CandidatureEvent,
    Contact,
    Entreprise,
    Formation,
    OffreEmploi,
    SessionFormation,
    User,
)

_counter = itertools.count(1)
_FAST_HASH = bcrypt.hashpw(b"secret-de-test", bcrypt.gensalt(rounds=4)).decode()
T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def _insert(engine: Engine, model: Any, values: dict[str, Any]) -> int:
    with engine.begin() as connection:
        return int(connection.execute(insert(model).returning(model.id), values).scalar_one())


def user(
    engine: Engine, *, role: str = "stagiaire", password: str | None = None, **values: Any
) -> int:
    n = next(_counter)
    hashed = (
        bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        if password
        else _FAST_HASH
    )
    row = {
        "email": f"personne{n}@exemple.fr",
        "password": hashed,
        "role": role,
        "prenom": "Marie",
        "nom": f"Célestin{n}",
        "created_at": T0,
    } | values
    return _insert(engine, User, row)


def formation(engine: Engine, **values: Any) -> int:
    n = next(_counter)
    row = {
        "slug": f"formation-{n}",
        "titre": f"Formation {n}",
        "domaine": "Numérique",
        "duree_heures": 400,
        "prix": Decimal("3500.00"),
        "modalite": "presentiel",
        "created_at": T0,
    } | values
    return _insert(engine, Formation, row)


def session(engine: Engine, *, formation_id: int, **values: Any) -> int:
    row = {
        "formation_id": formation_id,
        "date_debut": date(2026, 1, 5),
        "date_fin": date(2026, 6, 30),
        "places": 12,
    } | values
    return _insert(engine, SessionFormation, row)


def application(
    engine: Engine, *, user_id: int, formation_id: int, with_event: bool = True, **values: Any
) -> int:
    """An application; by default with its creation event (NULL -> nouvelle)."""
    row = {
        "user_id": user_id,
        "formation_id": formation_id,
        "statut": "nouvelle",
        "source": "site",
        "created_at": T0,
        "updated_at": T0,
    } | values
    new_id = _insert(engine, Candidature, row)
    if with_event:
        event(
            engine,
            candidature_id=new_id,
            from_statut=None,
            to_statut="nouvelle",
            changed_at=row["created_at"],
        )
    return new_id


def event(engine: Engine, *, candidature_id: int, to_statut: str, **values: Any) -> int:
    row = {"candidature_id": candidature_id, "to_statut": to_statut, "changed_at": T0} | values
    return _insert(engine, CandidatureEvent, row)


def company(engine: Engine, **values: Any) -> int:
    n = next(_counter)
    return _insert(engine, Entreprise, {"nom": f"Entreprise {n}", "created_at": T0} | values)


def offer(engine: Engine, *, entreprise_id: int, **values: Any) -> int:
    row = {
        "entreprise_id": entreprise_id,
        "titre": "Développeur web",
        "type_contrat": "cdi",
        "statut": "ouverte",
        "created_at": T0,
    } | values
    return _insert(engine, OffreEmploi, row)


def contact(engine: Engine, **values: Any) -> int:
    row = {
        "nom": "Jean Dupont",
        "email": "jean@exemple.fr",
        "sujet": "Renseignements",
        "message": "Bonjour",
        "created_at": T0,
    } | values
    return _insert(engine, Contact, row)
