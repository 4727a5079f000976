"""Test data for the KPI engine: a row builder, seeded random data and the
explicit edge cases the definitions single out.

``DataBuilder`` writes one row per call with sensible defaults (tests state
only what matters to them); ``build_dataset`` fills a database with a seeded
random history plus every edge case, and returns what the tests need to
know about it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert
from sqlalchemy.engine import make_url

from data.db import create_db_engine
from data.models import Base
from tests.conftest import _drop_database, new_pg_database, new_sqlite_database

T = Base.metadata.tables
NOW = datetime(2027, 4, 15, 16, 0, tzinfo=UTC)
"""The frozen "now" of the KPI tests (local date 2027-04-15)."""

EDGE_SLUG = "cas-limites"
INACTIVE_SLUG = "formation-sans-activite"
DOMAINS = ("Numérique", "Santé-social", "BTP")
FORMATIONS = (
    ("developpeur-web", "Développeur web et web mobile", "Numérique"),
    ("technicien-reseaux", "Technicien supérieur systèmes et réseaux", "Numérique"),
    ("assistant-vie", "Assistant de vie aux familles", "Santé-social"),
    ("secretaire-medical", "Secrétaire assistant médico-social", "Santé-social"),
    ("macon", "Maçon du bâti ancien", "BTP"),
    ("electricien", "Électricien d'équipement du bâtiment", "BTP"),
)
MAIN_PATH = ("nouvelle", "en_etude", "entretien", "admise", "inscrite", "en_formation", "terminee")
FUNDERS = ("cpf", "france_travail", "opco", "region", "employeur", "personnel")
SOURCES = (
    "site",
    "salon",
    "france_travail",
    "mission_locale",
    "entreprise",
    "prescripteur",
    "autre",
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


class DataBuilder:
    """Inserts rows one by one on an open connection, returning their ids."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._serial = 0

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def _insert(self, table: str, **values: Any) -> int:
        result = self.connection.execute(insert(T[table]).values(**values))
        return int(result.inserted_primary_key[0])

    def user(
        self, *, role: str = "stagiaire", prenom: str = "Prénom", nom: str | None = None
    ) -> int:
        n = self._next()
        return self._insert(
            "users",
            email=f"user{n}@example.test",
            password="$2b$12$" + "x" * 53,
            role=role,
            prenom=prenom,
            nom=nom or f"Nom{n}",
        )

    def formation(
        self, slug: str, *, titre: str | None = None, domaine: str = "Numérique", actif: bool = True
    ) -> int:
        return self._insert(
            "formations",
            slug=slug,
            titre=titre or slug.replace("-", " ").capitalize(),
            domaine=domaine,
            duree_heures=400,
            prix=Decimal("3500.00"),
            modalite="presentiel",
            actif=actif,
        )

    def session(self, formation_id: int, date_debut: date, date_fin: date, places: int = 12) -> int:
        return self._insert(
            "sessions_formation",
            formation_id=formation_id,
            date_debut=date_debut,
            date_fin=date_fin,
            places=places,
        )

    def application(
        self,
        *,
        formation_id: int,
        created_at: datetime,
        path: Sequence[tuple[str, datetime]] = (),
        user_id: int | None = None,
        session_id: int | None = None,
        statut: str | None = None,
        with_events: bool = True,
        source: str = "site",
        financement: str | None = None,
    ) -> int:
        """An application created at ``created_at`` that then went through ``path``
        (``(to_statut, changed_at)`` steps); its events follow unless ``with_events``
        is False (a legacy row). ``statut`` defaults to the last step."""
        final = statut or (path[-1][0] if path else "nouvelle")
        app_id = self._insert(
            "candidatures",
            user_id=user_id if user_id is not None else self.user(),
            formation_id=formation_id,
            session_id=session_id,
            statut=final,
            source=source,
            financement=financement,
            created_at=created_at,
            updated_at=path[-1][1] if path else created_at,
        )
        if with_events:
            self.event(app_id, None, "nouvelle", created_at)
            previous = "nouvelle"
            for to_statut, changed_at in path:
                self.event(app_id, previous, to_statut, changed_at)
                previous = to_statut
        return app_id

    def event(
        self, app_id: int, from_statut: str | None, to_statut: str, changed_at: datetime
    ) -> int:
        return self._insert(
            "candidature_events",
            candidature_id=app_id,
            from_statut=from_statut,
            to_statut=to_statut,
            changed_at=changed_at,
        )

    def company(self, nom: str = "Entreprise") -> int:
        return self._insert("entreprises", nom=f"{nom} {self._next()}")

    def offer(self, company_id: int, *, created_at: datetime, statut: str = "ouverte") -> int:
        return self._insert(
            "offres_emploi",
            entreprise_id=company_id,
            titre="Poste",
            type_contrat="cdi",
            statut=statut,
            created_at=created_at,
        )

    def match(
        self, user_id: int, offer_id: int, *, date_match: datetime, statut: str = "propose"
    ) -> int:
        return self._insert(
            "matchings",
            candidat_id=user_id,
            offre_id=offer_id,
            score=Decimal("75.50"),
            statut=statut,
            date_match=date_match,
        )

    def quote(
        self,
        formation_id: int,
        *,
        sent_at: datetime | None,
        statut: str = "envoye",
        montant: Decimal = Decimal("9000.00"),
        company_id: int | None = None,
    ) -> int:
        return self._insert(
            "devis",
            numero=f"D-{self._next():05d}",
            entreprise_id=company_id,
            contact_email="rh@example.test",
            formation_id=formation_id,
            nb_stagiaires=6,
            montant=montant,
            statut=statut,
            sent_at=sent_at,
            created_at=(sent_at or NOW) - timedelta(days=2),
        )

    def invoice(
        self,
        *,
        montant: Decimal,
        date_emission: date,
        candidature_id: int | None = None,
        devis_id: int | None = None,
        statut: str = "emise",
        date_paiement: date | None = None,
        date_echeance: date | None = None,
        financeur: str = "cpf",
    ) -> int:
        return self._insert(
            "factures",
            numero=f"F-{self._next():05d}",
            candidature_id=candidature_id,
            devis_id=devis_id,
            financeur=financeur,
            montant=montant,
            date_emission=date_emission,
            date_echeance=date_echeance or date_emission + timedelta(days=30),
            statut=statut,
            date_paiement=date_paiement,
        )

    def placement(
        self,
        user_id: int,
        type_contrat: str,
        date_debut: date,
        *,
        duree_mois: int | None = None,
        candidature_id: int | None = None,
    ) -> int:
        return self._insert(
            "placements",
            user_id=user_id,
            candidature_id=candidature_id,
            type_contrat=type_contrat,
            duree_mois=duree_mois,
            date_debut=date_debut,
        )

    def evaluation(self, app_id: int, note: int, created_at: datetime) -> int:
        return self._insert("evaluations", candidature_id=app_id, note=note, created_at=created_at)


@dataclass
class Dataset:
    """What the tests need to know about :func:`build_dataset`'s rows."""

    formation_ids: dict[str, int] = field(default_factory=dict)
    edge: dict[str, int] = field(default_factory=dict)


def build_dataset(engine: Engine, *, seed: int = 20261125, size: int = 400) -> Dataset:
    """Seeded random history (2025-06 .. 2027-03) plus every edge case."""
    dataset = Dataset()
    with engine.begin() as connection:
        builder = DataBuilder(connection)
        for slug, titre, domaine in FORMATIONS:
            dataset.formation_ids[slug] = builder.formation(slug, titre=titre, domaine=domaine)
        dataset.formation_ids[INACTIVE_SLUG] = builder.formation(
            INACTIVE_SLUG, titre="Formation sans activité", domaine="BTP", actif=False
        )
        _RandomHistory(builder, random.Random(seed), dataset).fill(size)
        add_edge_cases(builder, dataset)
    return dataset


class _RandomHistory:
    def __init__(self, builder: DataBuilder, rng: random.Random, dataset: Dataset) -> None:
        self.b, self.rng, self.dataset = builder, rng, dataset
        self.sessions: dict[int, list[tuple[int, date, date]]] = {}
        self.users = [builder.user(prenom=f"Stagiaire{i}") for i in range(120)]

    def moment(self, lo: datetime, hi: datetime) -> datetime:
        seconds = self.rng.randrange(int((hi - lo).total_seconds()))
        micro = self.rng.choice((0, 0, self.rng.randrange(1_000_000)))
        return lo + timedelta(seconds=seconds, microseconds=micro)

    def fill(self, size: int) -> None:
        for slug, formation_id in self.dataset.formation_ids.items():
            if slug != INACTIVE_SLUG:
                self.sessions[formation_id] = self.make_sessions(formation_id)
        for _ in range(size):
            self.one_application()
        self.quotes(40)
        self.matching()

    def make_sessions(self, formation_id: int) -> list[tuple[int, date, date]]:
        rows = []
        start = date(2025, 6, 2) + timedelta(days=self.rng.randrange(60))
        while start < date(2027, 3, 1):
            end = start + timedelta(days=self.rng.randrange(60, 200))
            places = self.rng.randrange(8, 21)
            rows.append((self.b.session(formation_id, start, end, places), start, end))
            start += timedelta(days=self.rng.randrange(70, 150))
        return rows

    def path(self, created: datetime) -> list[tuple[str, datetime]]:
        steps: list[tuple[str, datetime]] = []
        when = created
        depth = self.rng.choice((0, 1, 2, 3, 4, 5, 6, 6, 6))
        for status in MAIN_PATH[1 : depth + 1]:
            when += timedelta(hours=self.rng.randrange(1, 24 * 20), seconds=self.rng.randrange(60))
            steps.append((status, when))
        exit_roll = self.rng.random()
        when += timedelta(days=self.rng.randrange(1, 10))
        if 1 <= depth <= 3 and exit_roll < 0.4:
            steps.append(("refusee", when))
        elif 2 <= depth <= 4 and exit_roll < 0.55:
            steps.append(("desistement", when))
        elif depth == 5 and exit_roll < 0.5:
            steps.append(("abandon", when))
        return steps

    def one_application(self) -> None:
        rng = self.rng
        formation_id = rng.choice(list(self.sessions))
        created = self.moment(utc(2025, 6, 1), utc(2027, 3, 31))
        steps = self.path(created)
        reached_enrolment = any(s in ("inscrite", "en_formation", "abandon") for s, _ in steps)
        session_id = None
        session_end = None
        if reached_enrolment or rng.random() < 0.05:
            pool_formation = formation_id if rng.random() < 0.9 else rng.choice(list(self.sessions))
            session_id, _, session_end = rng.choice(self.sessions[pool_formation])
        legacy = rng.random() < 0.08
        app_id = self.b.application(
            formation_id=formation_id,
            created_at=created,
            path=steps,
            user_id=rng.choice(self.users),
            session_id=session_id,
            with_events=not legacy,
            source=rng.choice(SOURCES),
            financement=rng.choice((*FUNDERS, None)),
        )
        if not legacy and rng.random() < 0.05:
            self.b.event(app_id, "nouvelle", rng.choice(("archivee", "transmise")), created)
        if reached_enrolment:
            self.invoice_for(app_id, created)
        final = steps[-1][0] if steps else "nouvelle"
        if final in ("terminee", "abandon") and session_end is not None:
            self.outcome(app_id, final, session_end)

    def invoice_for(self, app_id: int, created: datetime) -> None:
        rng = self.rng
        emitted = created.date() + timedelta(days=rng.randrange(10, 90))
        status = rng.choice(("emise", "payee", "payee", "annulee"))
        paid = emitted + timedelta(days=rng.randrange(5, 120)) if status == "payee" else None
        cents = rng.randrange(50_000, 600_000)
        self.b.invoice(
            montant=Decimal(cents) / 100,
            date_emission=emitted,
            candidature_id=app_id,
            statut=status,
            date_paiement=paid,
            financeur=rng.choice(FUNDERS),
        )

    def outcome(self, app_id: int, final: str, session_end: date) -> None:
        rng = self.rng
        user_id = self._user_of(app_id)
        if rng.random() < 0.7:
            moment = datetime.combine(session_end, datetime.min.time(), tzinfo=UTC)
            self.b.evaluation(
                app_id, rng.randrange(1, 6), moment + timedelta(hours=rng.randrange(0, 240))
            )
        if final == "terminee":
            for _ in range(rng.choice((0, 1, 1, 2))):
                kind = rng.choice(
                    ("cdi", "cdd", "interim", "alternance", "creation_entreprise", "formation")
                )
                months = (
                    rng.choice((3, 5, 6, 12)) if kind in ("cdd", "interim", "alternance") else None
                )
                start = session_end + timedelta(days=rng.randrange(-30, 260))
                self.b.placement(user_id, kind, start, duree_mois=months)

    def _user_of(self, app_id: int) -> int:
        row = self.b.connection.execute(
            T["candidatures"].select().where(T["candidatures"].c.id == app_id)
        ).one()
        return int(row.user_id)

    def quotes(self, count: int) -> None:
        rng = self.rng
        companies = [self.b.company() for _ in range(5)]
        for _ in range(count):
            statut = rng.choice(("brouillon", "envoye", "accepte", "accepte", "refuse", "expire"))
            sent = None if statut == "brouillon" else self.moment(utc(2025, 6, 1), utc(2027, 3, 31))
            quote_id = self.b.quote(
                rng.choice(list(self.sessions)),
                sent_at=sent,
                statut=statut,
                montant=Decimal(rng.randrange(200_000, 2_000_000)) / 100,
                company_id=rng.choice(companies),
            )
            if statut == "accepte" and sent is not None:
                status = rng.choice(("emise", "payee", "annulee"))
                emitted = sent.date() + timedelta(days=rng.randrange(1, 60))
                self.b.invoice(
                    montant=Decimal(rng.randrange(200_000, 2_000_000)) / 100,
                    date_emission=emitted,
                    devis_id=quote_id,
                    statut=status,
                    date_paiement=emitted + timedelta(days=40) if status == "payee" else None,
                    financeur=rng.choice(("opco", "employeur")),
                )

    def matching(self) -> None:
        rng = self.rng
        companies = [self.b.company("Recruteur") for _ in range(8)]
        offers = [
            self.b.offer(
                rng.choice(companies),
                created_at=self.moment(utc(2025, 6, 1), utc(2027, 3, 31)),
                statut=rng.choice(("ouverte", "ouverte", "pourvue", "fermee")),
            )
            for _ in range(25)
        ]
        pairs = rng.sample([(u, o) for u in self.users[:40] for o in offers], 80)
        for user_id, offer_id in pairs:
            self.b.match(
                user_id,
                offer_id,
                date_match=self.moment(utc(2025, 6, 1), utc(2027, 3, 31)),
                statut=rng.choice(("propose", "valide", "rejete", "entretien", "embauche")),
            )


def add_edge_cases(builder: DataBuilder, dataset: Dataset) -> None:
    """The cases the definitions single out, all in formation ``cas-limites``."""
    b, edge = builder, dataset.edge
    fid = b.formation(EDGE_SLUG, titre="Cas limites", domaine="Numérique")
    dataset.formation_ids[EDGE_SLUG] = fid
    summer = b.session(fid, date(2026, 3, 2), date(2026, 8, 31), places=10)
    spring = b.session(fid, date(2026, 1, 5), date(2026, 6, 30), places=8)
    edge["session_aug31"], edge["session_jun30"] = summer, spring

    # 2026-01-01 02:30 UTC is still 2025-12-31 22:30 in Guadeloupe.
    edge["new_year_eve"] = b.application(formation_id=fid, created_at=utc(2026, 1, 1, 2, 30))
    edge["first_local_day"] = b.application(formation_id=fid, created_at=utc(2026, 1, 1, 4, 0))
    t0 = utc(2026, 2, 3, 13, 0)
    edge["refused_after_interview"] = b.application(
        formation_id=fid,
        created_at=t0,
        path=[
            ("en_etude", t0 + timedelta(hours=5)),
            ("entretien", t0 + timedelta(days=4)),
            ("refusee", t0 + timedelta(days=9)),
        ],
    )
    edge["withdrew_after_admission"] = b.application(
        formation_id=fid,
        created_at=t0 + timedelta(days=1),
        path=[
            ("en_etude", t0 + timedelta(days=1, hours=30)),
            ("entretien", t0 + timedelta(days=6)),
            ("admise", t0 + timedelta(days=8)),
            ("desistement", t0 + timedelta(days=15)),
        ],
    )
    edge["legacy_enrolled"] = b.application(
        formation_id=fid,
        created_at=t0 + timedelta(days=2),
        statut="inscrite",
        with_events=False,
        session_id=summer,
    )
    legacy_events = b.application(formation_id=fid, created_at=t0 + timedelta(days=3))
    b.event(legacy_events, "nouvelle", "archivee", t0 + timedelta(days=3, hours=2))
    b.event(legacy_events, "archivee", "transmise", t0 + timedelta(days=4))
    edge["legacy_event_statuses"] = legacy_events
    _edge_outcomes(b, edge, fid, summer, spring, t0)
    _edge_money(b, edge, fid)
    _edge_backlog(b, edge, fid)


def _edge_outcomes(
    b: DataBuilder, edge: dict[str, int], fid: int, summer: int, spring: int, t0: datetime
) -> None:
    def trainee(session_id: int, final: str, created: datetime) -> tuple[int, int]:
        user_id = b.user(prenom="Cas")
        steps = [(s, created + timedelta(days=i + 1)) for i, s in enumerate(MAIN_PATH[1:6])]
        if final != "en_formation":
            steps.append((final, created + timedelta(days=30)))
        app_id = b.application(
            formation_id=fid, created_at=created, path=steps, user_id=user_id, session_id=session_id
        )
        return app_id, user_id

    created = t0 - timedelta(days=20)
    app, user = trainee(summer, "terminee", created)
    b.placement(user, "cdi", date(2026, 8, 31))  # exactly at date_fin: placed, durable
    edge["placed_at_date_fin"] = app
    app, user = trainee(summer, "terminee", created)
    b.placement(user, "cdd", date(2027, 2, 28), duree_mois=6)  # 6 months after, clamped: in
    edge["placed_at_six_months"] = app
    app, user = trainee(summer, "terminee", created)
    b.placement(user, "cdi", date(2027, 3, 1))  # one day too late
    edge["placed_too_late"] = app
    app, user = trainee(summer, "terminee", created)
    b.placement(user, "formation", date(2026, 9, 15))  # further studies: not a placement
    edge["further_studies"] = app
    app, user = trainee(summer, "terminee", created)
    b.placement(user, "cdd", date(2026, 10, 1), duree_mois=5)  # placed, not durable
    edge["cdd_five_months"] = app
    app, user = trainee(summer, "terminee", created)
    b.placement(user, "interim", date(2026, 8, 30))  # the day before date_fin: out
    edge["placed_before_end"] = app
    edge["abandon"], _ = trainee(summer, "abandon", created)
    edge["in_training"], _ = trainee(summer, "en_formation", created)
    app, _ = trainee(spring, "terminee", created)
    edge["spring_completion"] = app
    # Evaluations either side of the local midnight opening 2026-07-01.
    edge["eval_june_30_local"] = b.evaluation(app, 5, utc(2026, 7, 1, 3, 59, 59))
    edge["eval_july_1_local"] = b.evaluation(app, 2, utc(2026, 7, 1, 4, 0))


def _edge_money(b: DataBuilder, edge: dict[str, int], fid: int) -> None:
    payer = b.application(formation_id=fid, created_at=utc(2026, 5, 2, 15, 0), financement="region")
    edge["cancelled_invoice"] = b.invoice(
        montant=Decimal("1234.56"),
        date_emission=date(2026, 6, 1),
        candidature_id=payer,
        statut="annulee",
    )
    edge["paid_next_period"] = b.invoice(
        montant=Decimal("2500.10"),
        date_emission=date(2026, 6, 20),
        candidature_id=payer,
        statut="payee",
        date_paiement=date(2026, 7, 10),
        financeur="region",
    )
    edge["overdue_invoice"] = b.invoice(
        montant=Decimal("800.05"),
        date_emission=date(2027, 2, 1),
        candidature_id=payer,
        date_echeance=date(2027, 4, 14),
    )
    edge["due_today_invoice"] = b.invoice(
        montant=Decimal("99.99"),
        date_emission=date(2027, 3, 1),
        candidature_id=payer,
        date_echeance=date(2027, 4, 15),
    )
    company = b.company("Client")
    quote = b.quote(fid, sent_at=utc(2026, 4, 1, 3, 0), statut="accepte", company_id=company)
    edge["quote_march_31_local"] = quote
    edge["quote_invoice"] = b.invoice(
        montant=Decimal("9000.00"),
        date_emission=date(2026, 4, 10),
        devis_id=quote,
        statut="payee",
        date_paiement=date(2026, 5, 10),
        financeur="opco",
    )


def _edge_backlog(b: DataBuilder, edge: dict[str, int], fid: int) -> None:
    edge["backlog_47h"] = b.application(formation_id=fid, created_at=NOW - timedelta(hours=47))
    edge["backlog_49h"] = b.application(formation_id=fid, created_at=NOW - timedelta(hours=49))
    first = utc(2026, 3, 10, 12, 0)
    edge["first_response"] = b.application(
        formation_id=fid,
        created_at=first,
        path=[
            ("en_etude", first + timedelta(hours=7, minutes=30)),
            ("entretien", first + timedelta(days=3)),
        ],
    )


@dataclass
class SeededDatabase:
    """A database filled by :func:`build_dataset`, read only for the tests using it."""

    backend: str
    url: str
    engine: Engine
    dataset: Dataset


@contextmanager
def seeded_database(request: pytest.FixtureRequest, backend: str) -> Iterator[SeededDatabase]:
    """For module-scoped fixtures: a fresh database of ``backend``, seeded once, dropped after."""
    if backend == "sqlite":
        tmp = request.getfixturevalue("tmp_path_factory").mktemp("kpis")
        url = new_sqlite_database(tmp)
    else:
        url = new_pg_database(request.getfixturevalue("pg_template"))
    engine = create_db_engine(url)
    try:
        yield SeededDatabase(backend, url, engine, build_dataset(engine))
    finally:
        engine.dispose()
        if backend == "postgresql":
            _drop_database(make_url(url).database or "")
