"""Searching applicants: accents and case ignored, wildcards and quotes as plain text."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, Select, literal, select, text

from data import triage
from data.alerts.evaluate import role_members_statement
from data.models import User
from data.settings import PROJECT_ROOT
from data.sqlfuncs import fold, fold_text
from data.text_search import (
    contains_pattern,
    escape_like,
    matches_search,
    normalise_search,
    search_terms,
)
from data.triage import QueueFilters
from data.triage.dossier import may_receive_applications
from data.triage.queue import Applicant, _page_statement, applicant_haystack, filter_conditions
from tests import factories
from tests import triage_data as td

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MIGRATION = PROJECT_ROOT / "migrations" / "versions" / "0002_triage_indexes.py"
TZ = ZoneInfo("America/Guadeloupe")

PEOPLE = {  # plus "jose": the world's applicant, José Hippolyte <jose.h@exemple.fr>
    "ndiaye": ("Aïssatou", "N'Diaye", "a.ndiaye@exemple.fr"),
    "percent": ("Promo", "50%_off", "promo@exemple.fr"),
    "plain": ("Promo", "50 Xoff", "promo2@exemple.fr"),
    "backslash": ("Back", "sla\\sh", "bs@exemple.fr"),
    "hostile": ("<script>alert(1)</script>", "**Gras**", "x@exemple.fr"),
    "oeuvre": ("Cœur", "ÉLÉONORE", "COEUR@Exemple.FR"),
}


@pytest.fixture
def people(engine: Engine) -> dict[str, int]:
    w = td.world(engine)
    ids = {"jose": td.application(engine, w)}
    for key, (prenom, nom, email) in PEOPLE.items():
        user = factories.user(engine, prenom=prenom, nom=nom, email=email)
        ids[key] = td.application(engine, w, user_id=user)
    return ids


def _found(engine: Engine, search: str) -> set[int]:
    page = triage.queue_page(
        engine, QueueFilters(search=search), actor_id=None, now=NOW, sla_hours=48, tz=TZ, limit=100
    )
    return {row.id for row in page.rows}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("jose", {"jose"}),
        ("JOSÉ", {"jose"}),
        ("josé hippo", {"jose"}),
        ("hippolyte jose", {"jose"}),
        ("jose.h@exemple", {"jose"}),
        ("n'diaye", {"ndiaye"}),
        ("aissatou", {"ndiaye"}),
        ("50%_off", {"percent"}),
        ("50_xoff", set()),  # _ is plain text: "50 Xoff" does not match
        ("50%off", set()),  # % is plain text: "50%_off" does not match
        ("sla\\sh", {"backslash"}),
        ("<script>", {"hostile"}),
        ("**gras**", {"hostile"}),
        ("eleonore", {"oeuvre"}),
        ("coeur@exemple.fr", {"oeuvre"}),
        ("personne-inconnue", set()),
        ("'; DROP TABLE users; --", set()),
        ("jose\x00", {"jose"}),
    ],
)
def test_search_ignores_accents_and_case_and_treats_wildcards_as_text(
    engine: Engine, people: dict[str, int], search: str, expected: set[str]
) -> None:
    assert _found(engine, search) == {people[key] for key in expected}


def test_a_very_long_search_is_cut_and_harmless(engine: Engine, people: dict[str, int]) -> None:
    assert _found(engine, "é" * 10_000) == set()
    assert _found(engine, "jose " * 2_000) == {people["jose"]}


def test_blank_search_filters_nothing(engine: Engine, people: dict[str, int]) -> None:
    assert _found(engine, "   ") == set(people.values())


def test_search_helpers() -> None:
    assert escape_like("50%_\\") == "50\\%\\_\\\\"
    assert contains_pattern("a_b") == "%a\\_b%"
    assert normalise_search("  a\x00b   c ") == "ab c"
    assert search_terms("jo jo  da") == ("jo", "da")
    assert fold("ÉLÉONORE Œuvre Çà") == "eleonore oeuvre ca"


FRENCH = "ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ àâäçéèêëîïôöùûüÿ Ñ ñ José N'Diaye Hélène D'ALEMBERT"


def test_python_and_postgresql_folds_agree(pg_engine: Engine) -> None:
    sample = FRENCH + " Œuvre Æsop Straße"
    with pg_engine.connect() as connection:
        folded = connection.execute(select(fold_text(literal(sample)))).scalar_one()
    assert (
        folded
        == fold(sample)
        == (
            "aaaceeeeiioouuuy aaaceeeeiioouuuy n n jose n'diaye helene d'alembert oeuvre aesop strasse"
        )
    )


def test_fallback_fold_without_unaccent_agrees_on_french(pg_engine: Engine) -> None:
    """Where the unaccent extension is missing, migration 0002 folds with translate()."""
    spec = importlib.util.spec_from_file_location("migration_0002", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    body = f"SELECT lower(translate($1, '{migration.FOLD_FROM}', '{migration.FOLD_TO}'))"
    with pg_engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE FUNCTION fold_fallback(text) RETURNS text LANGUAGE sql IMMUTABLE AS $f${body}$f$"
        )
        folded = connection.execute(text("SELECT fold_fallback(:s)"), {"s": FRENCH}).scalar_one()
    assert folded == fold(FRENCH)


def _plan(engine: Engine, statement: Select) -> str:  # type: ignore[type-arg]
    """EXPLAIN of a statement as the app runs it, sequential scans discouraged."""
    compiled = statement.compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    with engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars()
        return "\n".join(rows)


def test_postgresql_search_expression_is_the_trigram_index(pg_engine: Engine) -> None:
    condition = matches_search(applicant_haystack(), "hippolyte")
    assert condition is not None
    plan = _plan(pg_engine, select(Applicant.id).where(condition))
    assert "ix_dash_users_search_trgm" in plan, plan


def test_postgresql_default_queue_uses_the_pending_index(pg_engine: Engine) -> None:
    conditions = filter_conditions(QueueFilters(), actor_id=None, now=NOW, sla_hours=48, tz=TZ)
    plan = _plan(pg_engine, _page_statement(conditions, (NOW, 5), 50))
    assert "ix_dash_candidatures_pending_queue" in plan, plan


def test_postgresql_staff_reads_use_the_staff_index(pg_engine: Engine) -> None:
    """The staff by role (an alert's recipients, who may receive applications) are read
    on migration 0009's partial index, not by scanning every trainee and recruiter."""
    for statement in (
        role_members_statement(["secretariat"]),
        select(User.id).where(may_receive_applications()),
        select(User.id).where(may_receive_applications("triage.dispatched")),
    ):
        plan = _plan(pg_engine, statement)
        assert "ix_dash_users_staff" in plan, plan
