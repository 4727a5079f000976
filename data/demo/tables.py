"""The tables the generator fills, their columns and how each value is encoded.

Rows are plain tuples in column order. Value kinds:

- ``int``: an integer or ``None``;
- ``text``: a string or ``None``;
- ``ts``: a UTC timestamp as seconds since 1970 (``None`` allowed);
- ``day``: a calendar date as a day number since 1970-01-01;
- ``money``: euro cents (``int``);
- ``bool``: ``True``/``False``;
- ``json``: a JSON document, already serialised (``str``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from data.demo.clock import Formats

Row = tuple[Any, ...]


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, str], ...]  # (column, kind)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


def _spec(name: str, columns: str) -> TableSpec:
    pairs = tuple(tuple(item.split(":")) for item in columns.split())
    return TableSpec(name, pairs)  # type: ignore[arg-type]


# In foreign-key order: a table only references the ones above it.
TABLES: tuple[TableSpec, ...] = (
    _spec(
        "users",
        "id:int email:text password:text role:text prenom:text nom:text telephone:text "
        "commune:text date_naissance:day email_verifie:bool actif:bool created_at:ts",
    ),
    _spec(
        "formations",
        "id:int slug:text titre:text domaine:text duree_heures:int prix:money modalite:text "
        "lieu:text code_rncp:text actif:bool created_at:ts",
    ),
    _spec(
        "sessions_formation",
        "id:int formation_id:int date_debut:day date_fin:day places:int lieu:text formateur_id:int",
    ),
    _spec("entreprises", "id:int nom:text siret:text secteur:text commune:text created_at:ts"),
    _spec(
        "offres_emploi",
        "id:int entreprise_id:int titre:text type_contrat:text duree_mois:int salaire:money "
        "lieu:text domaine:text statut:text created_at:ts",
    ),
    _spec(
        "devis",
        "id:int numero:text entreprise_id:int contact_email:text formation_id:int "
        "nb_stagiaires:int montant:money statut:text created_at:ts sent_at:ts decided_at:ts",
    ),
    _spec(
        "candidatures",
        "id:int user_id:int formation_id:int session_id:int statut:text source:text "
        "financement:text cv_path:text motivation:text motif_refus:text assigned_to:int "
        "created_at:ts updated_at:ts",
    ),
    _spec(
        "candidature_events",
        "id:int candidature_id:int from_statut:text to_statut:text changed_by:int "
        "changed_at:ts commentaire:text",
    ),
    _spec(
        "factures",
        "id:int numero:text candidature_id:int devis_id:int financeur:text montant:money "
        "date_emission:day date_echeance:day statut:text date_paiement:day",
    ),
    _spec(
        "placements",
        "id:int user_id:int candidature_id:int entreprise_id:int offre_id:int "
        "type_contrat:text duree_mois:int date_debut:day source:text created_at:ts",
    ),
    _spec("evaluations", "id:int candidature_id:int note:int commentaire:text created_at:ts"),
    _spec(
        "matchings",
        "id:int candidat_id:int offre_id:int score:money criteres:json statut:text "
        "date_match:ts decided_by:int decided_at:ts",
    ),
    _spec(
        "contacts",
        "id:int nom:text email:text telephone:text sujet:text message:text created_at:ts "
        "traite_par:int traite_at:ts",
    ),
)
TABLE_BY_NAME: dict[str, TableSpec] = {spec.name: spec for spec in TABLES}
TABLE_NAMES: tuple[str, ...] = tuple(spec.name for spec in TABLES)

# Encoders -------------------------------------------------------------------

PG_NULL = "\\N"
_PG_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def pg_escape(value: str | None) -> str:
    """A value in COPY text format: backslash, tab, newline and CR escaped."""
    if value is None:
        return PG_NULL
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_PG_ESCAPES)
    return value


def _pg_converter(kind: str, formats: Formats) -> Callable[[Any], str]:
    if kind == "int":
        return lambda v: PG_NULL if v is None else str(v)
    if kind == "text":
        return pg_escape
    if kind == "ts":
        return lambda v: PG_NULL if v is None else formats.pg_ts(v)
    if kind == "day":
        return lambda v: PG_NULL if v is None else formats.day(v)
    if kind == "money":
        return lambda v: PG_NULL if v is None else f"{v // 100}.{v % 100:02d}"
    if kind == "bool":
        return lambda v: PG_NULL if v is None else ("t" if v else "f")
    if kind == "json":
        return pg_escape
    raise ValueError(kind)


def _sqlite_converter(kind: str, formats: Formats) -> Callable[[Any], Any] | None:
    if kind in ("int", "text", "json"):
        return None
    if kind == "ts":
        return lambda v: None if v is None else formats.sqlite_ts(v)
    if kind == "day":
        return lambda v: None if v is None else formats.day(v)
    if kind == "money":
        return lambda v: None if v is None else v / 100
    if kind == "bool":
        return lambda v: None if v is None else int(v)
    raise ValueError(kind)


def pg_copy_encoder(spec: TableSpec, formats: Formats) -> Callable[[Sequence[Row]], bytes]:
    """Rows -> PostgreSQL ``COPY ... FROM STDIN`` text format."""
    converters = [_pg_converter(kind, formats) for _, kind in spec.columns]

    def encode(rows: Sequence[Row]) -> bytes:
        lines = ["\t".join([c(v) for c, v in zip(converters, row, strict=True)]) for row in rows]
        lines.append("")
        return "\n".join(lines).encode()

    return encode


def sqlite_encoder(spec: TableSpec, formats: Formats) -> Callable[[Sequence[Row]], list[Row]]:
    """Rows -> parameter tuples as SQLAlchemy would bind them on SQLite."""
    converters = [_sqlite_converter(kind, formats) for _, kind in spec.columns]
    active = [(i, c) for i, c in enumerate(converters) if c is not None]

    def encode(rows: Sequence[Row]) -> list[Row]:
        out = []
        for row in rows:
            values = list(row)
            for i, convert in active:
                values[i] = convert(values[i])
            out.append(tuple(values))
        return out

    return encode


def insert_sql(spec: TableSpec) -> str:
    columns = ", ".join(spec.column_names)
    marks = ", ".join("?" for _ in spec.columns)
    return f"INSERT INTO {spec.name} ({columns}) VALUES ({marks})"


def copy_sql(spec: TableSpec) -> str:
    return f"COPY {spec.name} ({', '.join(spec.column_names)}) FROM STDIN"
