"""The review list: one page of matches by score, and the filters' options."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Engine, exists, func, select, tuple_
from sqlalchemy.orm import aliased

from data.db import translate_errors
from data.matching.filters import FilterOptions, MatchFilters
from data.models import (
    Candidature,
    Entreprise,
    Formation,
    Matching,
    OffreEmploi,
    User,
)

PAGE_SIZE: Final = 50

Candidate = aliased(User, name="candidate")
Decider = aliased(User, name="decider")

MatchCursor = tuple[Decimal, int]
"""``(score, id)`` of the last row of a page (pages go by score, highest first)."""


@dataclass(frozen=True)
class MatchRow:
    id: int
    score: Decimal
    statut: str
    date_match: datetime
    decided_at: datetime | None
    decided_by: str | None
    candidate: str
    candidate_email: str
    offer: str
    offre_id: int
    company: str
    contract: str
    place: str | None
    criteres: Any  # the JSON document as stored (any shape)


@dataclass(frozen=True)
class MatchPage:
    rows: tuple[MatchRow, ...]
    next_cursor: MatchCursor | None


def _conditions(filters: MatchFilters) -> list[Any]:
    m = Matching
    conditions: list[Any] = []
    if filters.statuses:
        conditions.append(m.statut.in_(filters.statuses))
    if filters.offre_id is not None:
        conditions.append(m.offre_id == filters.offre_id)
    if filters.entreprise_id is not None:
        conditions.append(OffreEmploi.entreprise_id == filters.entreprise_id)
    if filters.min_score > 0:
        conditions.append(m.score >= Decimal(str(filters.min_score)))
    if filters.formation_id is not None:
        c = Candidature
        conditions.append(
            exists().where(c.user_id == m.candidat_id, c.formation_id == filters.formation_id)
        )
    return conditions


def match_page(
    engine: Engine,
    filters: MatchFilters,
    *,
    after: MatchCursor | None = None,
    limit: int = PAGE_SIZE,
) -> MatchPage:
    """Matches by score, highest first (ties by id), one keyset page."""
    m = Matching
    statement = (
        select(
            m.id,
            m.score,
            m.statut,
            m.date_match,
            m.decided_at,
            Decider.prenom,
            Decider.nom,
            Candidate.prenom,
            Candidate.nom,
            Candidate.email,
            OffreEmploi.titre,
            m.offre_id,
            Entreprise.nom,
            OffreEmploi.type_contrat,
            OffreEmploi.lieu,
            m.criteres,
        )
        .join(Candidate, Candidate.id == m.candidat_id)
        .join(OffreEmploi, OffreEmploi.id == m.offre_id)
        .join(Entreprise, Entreprise.id == OffreEmploi.entreprise_id)
        .outerjoin(Decider, Decider.id == m.decided_by)
        .where(*_conditions(filters))
        .order_by(m.score.desc(), m.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(tuple_(m.score, m.id) < tuple_(*after))
    with translate_errors(), engine.connect() as connection:
        fetched = connection.execute(statement).all()
    rows = tuple(_row(values) for values in fetched[:limit])
    more = len(fetched) > limit and rows
    return MatchPage(rows, (rows[-1].score, rows[-1].id) if more else None)


def _row(v: Any) -> MatchRow:
    decided_by = f"{v[5] or ''} {v[6] or ''}".strip() or None
    return MatchRow(
        id=v[0],
        score=v[1],
        statut=v[2],
        date_match=v[3],
        decided_at=v[4],
        decided_by=decided_by,
        candidate=f"{v[7]} {v[8]}".strip(),
        candidate_email=v[9],
        offer=v[10],
        offre_id=v[11],
        company=v[12],
        contract=v[13],
        place=v[14],
        criteres=v[15],
    )


COMPANY_CHOICES: Final = 300


def match_filter_options(engine: Engine) -> FilterOptions:
    """Formations, and the companies with the most proposed matches (by name)."""
    m, o, e = Matching, OffreEmploi, Entreprise
    busiest = (
        select(e.id, e.nom)
        .join(o, o.entreprise_id == e.id)
        .join(m, m.offre_id == o.id)
        .where(m.statut == "propose")
        .group_by(e.id, e.nom)
        .order_by(func.count().desc(), e.id)
        .limit(COMPANY_CHOICES)
        .subquery()
    )
    with translate_errors(), engine.connect() as connection:
        formations = connection.execute(
            select(Formation.id, Formation.titre).order_by(Formation.titre)
        ).all()
        companies = connection.execute(select(busiest).order_by(busiest.c.nom, busiest.c.id)).all()
    return FilterOptions(
        tuple((r[0], r[1]) for r in formations), tuple((r[0], r[1]) for r in companies)
    )


def company_offers(engine: Engine, entreprise_id: int) -> tuple[tuple[int, str], ...]:
    """The offers of one company that have matches, by title."""
    o = OffreEmploi
    statement = (
        select(o.id, o.titre)
        .where(o.entreprise_id == entreprise_id, exists().where(Matching.offre_id == o.id))
        .order_by(o.titre, o.id)
    )
    with translate_errors(), engine.connect() as connection:
        return tuple((r[0], r[1]) for r in connection.execute(statement))
