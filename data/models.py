"""SQLAlchemy models of the operational database, exactly as
``contract/operational-schema.sql`` defines it.

The website owns these tables. On PostgreSQL they are created by that SQL
file, never by us; these models are used to query them and, only for the
embedded demo database, to create them. ``tests/test_contract.py`` checks
that they agree with a database built from the contract.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    false,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from data.types import JSONDocument, UTCDateTime

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")

STAFF_ROLES = ("admin", "direction", "secretariat")
USER_ROLES = (*STAFF_ROLES, "formateur", "stagiaire", "recruteur")
APPLICATION_STATUSES = (
    "nouvelle",
    "en_etude",
    "entretien",
    "admise",
    "refusee",
    "desistement",
    "inscrite",
    "en_formation",
    "abandon",
    "terminee",
)
APPLICATION_SOURCES = (
    "site",
    "salon",
    "france_travail",
    "mission_locale",
    "entreprise",
    "prescripteur",
    "autre",
)
FUNDERS = ("cpf", "france_travail", "opco", "region", "employeur", "personnel")
OFFER_CONTRACTS = ("cdi", "cdd", "interim", "alternance", "stage")
PLACEMENT_CONTRACTS = ("cdi", "cdd", "interim", "alternance", "creation_entreprise", "formation")
MATCH_STATUSES = ("propose", "valide", "rejete", "entretien", "embauche")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base of the website's tables."""


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", USER_ROLES)),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    password: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    prenom: Mapped[str] = mapped_column(Text)
    nom: Mapped[str] = mapped_column(Text)
    telephone: Mapped[str | None] = mapped_column(Text)
    commune: Mapped[str | None] = mapped_column(Text)
    date_naissance: Mapped[date | None] = mapped_column(Date)
    email_verifie: Mapped[bool] = mapped_column(Boolean, server_default=false())
    actif: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class Formation(Base):
    __tablename__ = "formations"
    __table_args__ = (
        CheckConstraint("duree_heures > 0"),
        CheckConstraint("prix >= 0"),
        CheckConstraint(_in("modalite", ("presentiel", "distanciel", "hybride"))),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    titre: Mapped[str] = mapped_column(Text)
    domaine: Mapped[str] = mapped_column(Text)
    duree_heures: Mapped[int] = mapped_column(Integer)
    prix: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    modalite: Mapped[str] = mapped_column(Text)
    lieu: Mapped[str | None] = mapped_column(Text)
    code_rncp: Mapped[str | None] = mapped_column(Text)
    actif: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class SessionFormation(Base):
    __tablename__ = "sessions_formation"
    __table_args__ = (CheckConstraint("places > 0"), CheckConstraint("date_fin >= date_debut"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    formation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("formations.id"))
    date_debut: Mapped[date] = mapped_column(Date)
    date_fin: Mapped[date] = mapped_column(Date)
    places: Mapped[int] = mapped_column(Integer)
    lieu: Mapped[str | None] = mapped_column(Text)
    formateur_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))


class Candidature(Base):
    __tablename__ = "candidatures"
    __table_args__ = (
        CheckConstraint(_in("statut", APPLICATION_STATUSES)),
        CheckConstraint(_in("source", APPLICATION_SOURCES)),
        CheckConstraint(_in("financement", FUNDERS)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    formation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("formations.id"))
    session_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("sessions_formation.id"))
    statut: Mapped[str] = mapped_column(Text, server_default="nouvelle")
    source: Mapped[str] = mapped_column(Text, server_default="site")
    financement: Mapped[str | None] = mapped_column(Text)
    cv_path: Mapped[str | None] = mapped_column(Text)
    motivation: Mapped[str | None] = mapped_column(Text)
    motif_refus: Mapped[str | None] = mapped_column(Text)
    assigned_to: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class CandidatureEvent(Base):
    __tablename__ = "candidature_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    candidature_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("candidatures.id"))
    from_statut: Mapped[str | None] = mapped_column(Text)
    to_statut: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    commentaire: Mapped[str | None] = mapped_column(Text)


class Entreprise(Base):
    __tablename__ = "entreprises"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    siret: Mapped[str | None] = mapped_column(Text, unique=True)
    secteur: Mapped[str | None] = mapped_column(Text)
    commune: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class OffreEmploi(Base):
    __tablename__ = "offres_emploi"
    __table_args__ = (
        CheckConstraint(_in("type_contrat", OFFER_CONTRACTS)),
        CheckConstraint(_in("statut", ("ouverte", "pourvue", "fermee"))),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entreprise_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("entreprises.id"))
    titre: Mapped[str] = mapped_column(Text)
    type_contrat: Mapped[str] = mapped_column(Text)
    duree_mois: Mapped[int | None] = mapped_column(Integer)
    salaire: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    lieu: Mapped[str | None] = mapped_column(Text)
    domaine: Mapped[str | None] = mapped_column(Text)
    statut: Mapped[str] = mapped_column(Text, server_default="ouverte")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class Matching(Base):
    __tablename__ = "matchings"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 100"),
        CheckConstraint(_in("statut", MATCH_STATUSES)),
        UniqueConstraint("candidat_id", "offre_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    candidat_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    offre_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("offres_emploi.id"))
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    criteres: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    statut: Mapped[str] = mapped_column(Text, server_default="propose")
    date_match: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    decided_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Devis(Base):
    __tablename__ = "devis"
    __table_args__ = (
        CheckConstraint("nb_stagiaires > 0"),
        CheckConstraint("montant >= 0"),
        CheckConstraint(_in("statut", ("brouillon", "envoye", "accepte", "refuse", "expire"))),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    numero: Mapped[str] = mapped_column(Text, unique=True)
    entreprise_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("entreprises.id"))
    contact_email: Mapped[str] = mapped_column(Text)
    formation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("formations.id"))
    nb_stagiaires: Mapped[int] = mapped_column(Integer)
    montant: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    statut: Mapped[str] = mapped_column(Text, server_default="brouillon")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Facture(Base):
    __tablename__ = "factures"
    __table_args__ = (
        CheckConstraint(_in("financeur", FUNDERS)),
        CheckConstraint("montant >= 0"),
        CheckConstraint(_in("statut", ("emise", "payee", "annulee"))),
        CheckConstraint("(candidature_id IS NULL) <> (devis_id IS NULL)"),
        CheckConstraint("(statut = 'payee') = (date_paiement IS NOT NULL)"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    numero: Mapped[str] = mapped_column(Text, unique=True)
    candidature_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("candidatures.id"))
    devis_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("devis.id"))
    financeur: Mapped[str] = mapped_column(Text)
    montant: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    date_emission: Mapped[date] = mapped_column(Date)
    date_echeance: Mapped[date] = mapped_column(Date)
    statut: Mapped[str] = mapped_column(Text, server_default="emise")
    date_paiement: Mapped[date | None] = mapped_column(Date)


class Placement(Base):
    __tablename__ = "placements"
    __table_args__ = (
        CheckConstraint(_in("type_contrat", PLACEMENT_CONTRACTS)),
        CheckConstraint(_in("source", ("enquete", "declaratif", "matching", "entreprise"))),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    candidature_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("candidatures.id"))
    entreprise_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("entreprises.id"))
    offre_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("offres_emploi.id"))
    type_contrat: Mapped[str] = mapped_column(Text)
    duree_mois: Mapped[int | None] = mapped_column(Integer)
    date_debut: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text, server_default="enquete")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class Evaluation(Base):
    __tablename__ = "evaluations"
    __table_args__ = (CheckConstraint("note BETWEEN 1 AND 5"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    candidature_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("candidatures.id"))
    note: Mapped[int] = mapped_column(SmallInteger)
    commentaire: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    nom: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    telephone: Mapped[str | None] = mapped_column(Text)
    sujet: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    traite_par: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    traite_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
