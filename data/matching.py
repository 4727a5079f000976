"""Match review: the website's candidate <-> job-offer suggestions, and decisions on them.

A decision writes ``statut``, ``decided_by`` and ``decided_at`` and one audit
row in one transaction. No lost update: the screen passes the ``statut`` and
``decided_at`` it displayed (the version of a match), the UPDATE is
conditional on both, and ``decided_at`` always moves strictly forward.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, Engine, exists, func, select, tuple_, update
from sqlalchemy.orm import aliased

from data import audit
from data.db import translate_errors
from data.errors import Conflict, DashboardError, InvalidInput, NotAllowed, NotFound
from data.formatting import clock
from data.models import (
    MATCH_STATUSES,
    Candidature,
    Entreprise,
    Formation,
    Matching,
    OffreEmploi,
    User,
)
from data.permissions import Actor, require
from data.settings import get_settings
from data.workflow import check_match_decision, match_label

PAGE_SIZE: Final = 50
MAX_BULK_ROWS: Final = 500
ONE_TICK: Final = timedelta(microseconds=1)

Candidate = aliased(User, name="candidate")
Decider = aliased(User, name="decider")

CRITERIA_LABELS: Final[Mapping[str, str]] = {
    "competences": "Compétences",
    "formation": "Formation",
    "distance_km": "Distance (km)",
    "experience": "Expérience",
    "experience_annees": "Expérience (années)",
    "mobilite": "Mobilité",
    "disponibilite": "Disponibilité",
    "langues": "Langues",
    "permis": "Permis",
    "domaine": "Domaine",
    "contrat": "Type de contrat",
    "salaire": "Salaire",
}

MatchCursor = tuple[Decimal, int]
"""``(score, id)`` of the last row of a page (pages go by score, highest first)."""


@dataclass(frozen=True)
class MatchFilters:
    statuses: tuple[str, ...] = ("propose",)
    formation_id: int | None = None  # the candidate applied to this formation
    offre_id: int | None = None
    entreprise_id: int | None = None
    min_score: float = 0.0


def filters_from_params(
    params: Mapping[str, str], choices: FilterOptions
) -> tuple[MatchFilters, tuple[str, ...]]:
    """Match filters from the URL; a malformed or unknown value is ignored with a notice."""
    notices: list[str] = []
    values: dict[str, Any] = {}
    if "statut" in params:
        codes = tuple(code for code in params["statut"].split(",") if code)
        if params["statut"] == "tous":
            values["statuses"] = ()
        elif codes and all(code in MATCH_STATUSES for code in codes):
            values["statuses"] = codes
        else:
            notices.append("Paramètre « statut » invalide dans l'adresse : filtre ignoré.")
    formations = {i for i, _ in choices.formations}
    for name, field in (
        ("formation", "formation_id"),
        ("offre", "offre_id"),
        ("entreprise", "entreprise_id"),
    ):
        if name in params:
            text = params[name]
            number = int(text) if text.isdigit() and 0 < len(text) < 19 else None
            if number is not None and (name != "formation" or number in formations):
                values[field] = number
            else:
                notices.append(f"Paramètre « {name} » invalide dans l'adresse : filtre ignoré.")
    if "score" in params:
        text = params["score"]
        if text.isdigit() and int(text) <= 100:
            values["min_score"] = float(int(text))
        else:
            notices.append("Paramètre « score » invalide dans l'adresse : filtre ignoré.")
    return MatchFilters(**values), tuple(notices)


def params_from_filters(filters: MatchFilters) -> dict[str, str]:
    """The URL parameters of ``filters`` (defaults left out)."""
    params: dict[str, str] = {}
    if filters.statuses != MatchFilters().statuses:
        params["statut"] = ",".join(filters.statuses) or "tous"
    for name, value in (
        ("formation", filters.formation_id),
        ("offre", filters.offre_id),
        ("entreprise", filters.entreprise_id),
    ):
        if value is not None:
            params[name] = str(value)
    if filters.min_score > 0:
        params["score"] = str(int(filters.min_score))
    return params


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


@dataclass(frozen=True)
class Breakdown:
    """``criteres`` made displayable: scores in [0, 1] as bars, everything else as facts."""

    bars: tuple[tuple[str, float], ...]  # (label, percentage 0..100)
    facts: tuple[tuple[str, str], ...]  # (label, value as text)


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


@dataclass(frozen=True)
class FilterOptions:
    formations: tuple[tuple[int, str], ...]
    companies: tuple[tuple[int, str], ...]  # those with the most proposed matches


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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, str):
        return value
    if value is None:
        return "—"
    return json.dumps(value, ensure_ascii=False, default=str)[:500]


def score_breakdown(criteres: Any) -> Breakdown:
    """The "why this match" view of ``criteres``, whatever its shape.

    Known keys get French labels, unknown keys keep their name; numbers in
    [0, 1] become percentage bars; other numbers, text, booleans, lists and
    nested objects become facts shown as text. Not a JSON object: one fact.
    """
    if isinstance(criteres, str):
        try:
            criteres = json.loads(criteres)
        except ValueError:
            return Breakdown((), (("Critères", criteres[:500]),))
    if criteres is None:
        return Breakdown((), ())
    if not isinstance(criteres, Mapping):
        return Breakdown((), (("Critères", _as_text(criteres)),))
    bars: list[tuple[str, float]] = []
    facts: list[tuple[str, str]] = []
    for key, value in criteres.items():
        label = CRITERIA_LABELS.get(str(key), str(key))
        number = _number(value)
        if number is not None and 0 <= number <= 1:
            bars.append((label, round(number * 100, 1)))
        else:
            facts.append((label, _as_text(value)))
    return Breakdown(tuple(bars), tuple(facts))


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
        return Conflict(f"Le matching n° {match_id} n'existe plus — rechargez.")
    who = f"{row[1] or ''} {row[2] or ''}".strip() or "un autre utilisateur"
    when = clock(row[0], get_settings().tz) if row[0] is not None else "?"
    return Conflict(f"Matching n° {match_id} modifié par {who} à {when} — rechargez.")


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


@dataclass(frozen=True)
class MatchBulkResult:
    outcomes: tuple[tuple[int, bool, str], ...]  # (match id, ok, message)

    @property
    def succeeded(self) -> tuple[int, ...]:
        return tuple(match_id for match_id, ok, _ in self.outcomes if ok)

    @property
    def failed(self) -> tuple[tuple[int, str], ...]:
        return tuple((match_id, msg) for match_id, ok, msg in self.outcomes if not ok)

    @property
    def summary(self) -> str:
        return f"{len(self.succeeded)} réussi(s), {len(self.failed)} en échec."


def bulk_decide(
    engine: Engine,
    *,
    actor: Actor,
    items: Sequence[MatchVersion],
    decision: str,
    now: datetime | None = None,
) -> MatchBulkResult:
    """The same decision on every selected match (bulk validate / reject), row by row."""
    require(actor, "matching.write")
    if decision not in ("valide", "rejete"):
        raise InvalidInput("En masse, seules la validation et le rejet sont possibles.")
    if not items:
        raise InvalidInput("Aucun matching sélectionné.")
    if len(items) > MAX_BULK_ROWS:
        raise InvalidInput(f"Sélection trop grande (maximum {MAX_BULK_ROWS}).")

    def decide(item: MatchVersion) -> MatchDecision:
        return decide_match(
            engine,
            actor=actor,
            match_id=item[0],
            decision=decision,
            expected_statut=item[1],
            expected_decided_at=item[2],
            now=now,
        )

    outcomes: list[tuple[int, bool, str]] = []
    for item in items:
        try:
            outcomes.append((item[0], True, decide(item).message))
        except NotAllowed:
            raise
        except DashboardError as exc:
            outcomes.append((item[0], False, exc.user_message))
    return MatchBulkResult(tuple(outcomes))
