"""Live counts shown at the top of the overview (a cheap, always-fresh strip)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from data.db import translate_errors
from data.models import Candidature, Contact, OffreEmploi
from data.workflow import NEW, overdue_condition


@dataclass(frozen=True)
class LiveCounts:
    applications_total: int
    applications_new: int
    applications_overdue: int
    offers_open: int
    contacts_untreated: int


def live_counts(engine: Engine, *, now: datetime, sla_hours: float) -> LiveCounts:
    """Counts as they are now, in one round trip."""
    overdue = overdue_condition(
        Candidature.statut, Candidature.created_at, now=now, sla_hours=sla_hours
    )
    statement = select(
        select(func.count()).select_from(Candidature).scalar_subquery(),
        select(func.count()).where(Candidature.statut == NEW).scalar_subquery(),
        select(func.count()).where(overdue).scalar_subquery(),
        select(func.count()).where(OffreEmploi.statut == "ouverte").scalar_subquery(),
        select(func.count()).where(Contact.traite_at.is_(None)).scalar_subquery(),
    )
    with translate_errors(), engine.connect() as connection:
        row = connection.execute(statement).one()
    return LiveCounts(*(int(value) for value in row))
