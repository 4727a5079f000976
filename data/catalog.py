"""The formations catalogue, for filters and labels."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from data.db import translate_errors
from data.models import Formation


@dataclass(frozen=True)
class FormationOption:
    slug: str
    titre: str
    domaine: str
    actif: bool


def formation_options(engine: Engine) -> tuple[FormationOption, ...]:
    """Every formation, active first, by title."""
    statement = select(
        Formation.slug, Formation.titre, Formation.domaine, Formation.actif
    ).order_by(Formation.actif.desc(), Formation.titre)
    with translate_errors(), engine.connect() as connection:
        return tuple(FormationOption(*row) for row in connection.execute(statement))
